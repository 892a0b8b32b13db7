package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisAddr returns REDIS_ADDR. Without it the test is skipped, except on CI
// (CI=true), where a missing Redis is a failure: scripts/test.sh starts one.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("REDIS_ADDR is unset on CI; start redis-server and export REDIS_ADDR")
		}
		t.Skip("REDIS_ADDR is unset; start redis-server and export REDIS_ADDR=host:port to run")
	}
	return addr
}

func TestRunProcessesEveryOccurrenceOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	tests := []struct {
		name        string
		occurrences int
		copies      int
		work        time.Duration
	}{
		{name: "one copy and its legacy twin per occurrence", occurrences: 20, copies: 1, work: time.Millisecond},
		{name: "three overlapping copies and a twin per occurrence", occurrences: 40, copies: 3, work: 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			sum, err := run(t.Context(), config{RedisAddr: addr, Occurrences: tt.occurrences, Copies: tt.copies, Work: tt.work, Stdout: &out})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			t.Log("\n" + out.String())
			if got, want := sum.Callbacks, int64(tt.occurrences); got != want {
				t.Errorf("callbacks = %d, want %d", got, want)
			}
			if sum.Missing != 0 || sum.Twice != 0 {
				t.Errorf("missing, twice = %d, %d; want 0, 0", sum.Missing, sum.Twice)
			}
			var processed, callbacks, answered int64
			for _, r := range sum.Replicas {
				processed += r.Processed.Load()
				callbacks += r.Callbacks.Load()
				answered += r.Processed.Load() + r.Duplicate.Load() + r.InFlight.Load() + r.Other.Load()
			}
			if got, want := processed, int64(tt.occurrences); got != want {
				t.Errorf("deliveries answered processed = %d, want %d", got, want)
			}
			if got, want := callbacks, sum.Callbacks; got != want {
				t.Errorf("per-replica callbacks add up to %d, want %d", got, want)
			}
			if got, want := answered, sum.Requests; got != want {
				t.Errorf("observed outcomes = %d, want one per request (%d)", got, want)
			}
			if got, want := sum.Requests, int64(tt.occurrences*(tt.copies+1))+sum.Retries; got != want {
				t.Errorf("requests = %d, want %d (every copy plus every retry)", got, want)
			}
			if !strings.Contains(out.String(), "every occurrence processed exactly once") {
				t.Errorf("output lacks the verdict:\n%s", out.String())
			}
		})
	}
}

func TestRunDeletesItsKeys(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	var out bytes.Buffer
	if _, err := run(t.Context(), config{RedisAddr: addr, Occurrences: 5, Copies: 1, Stdout: &out}); err != nil {
		t.Fatalf("run: %v", err)
	}
	_, rest, _ := strings.Cut(out.String(), "(key prefix ")
	prefix, _, ok := strings.Cut(rest, ")")
	if !ok || prefix == "" {
		t.Fatalf("no key prefix in the output:\n%s", out.String())
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("keys left under %s: %d, want 0", prefix, len(keys))
	}
}

func TestRunFailsWithoutRedis(t *testing.T) {
	t.Parallel()
	_, err := run(t.Context(), config{RedisAddr: "127.0.0.1:1", Occurrences: 1, Copies: 1, Stdout: &bytes.Buffer{}})
	if err == nil {
		t.Errorf("run against a closed port: err = nil, want an error")
	}
}

func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sum  summary
		want bool
	}{
		{name: "one callback per occurrence is exactly once", sum: summary{Occurrences: 3, Callbacks: 3}, want: true},
		{name: "a missing occurrence is not", sum: summary{Occurrences: 3, Callbacks: 2, Missing: 1}, want: false},
		{name: "an occurrence processed twice is not", sum: summary{Occurrences: 3, Callbacks: 4, Twice: 1}, want: false},
		{name: "a callback count that does not match is not", sum: summary{Occurrences: 3, Callbacks: 4}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.sum.ExactlyOnce(); got != tt.want {
				t.Errorf("ExactlyOnce() = %v, want %v", got, tt.want)
			}
		})
	}
}
