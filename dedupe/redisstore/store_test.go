package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// redisAddr returns REDIS_ADDR. Without it the test is skipped, except on
// CI (CI=true), where a missing Redis is a failure: CI must run these tests.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("REDIS_ADDR is unset on CI; start redis-server and export REDIS_ADDR")
		}
		tb.Skip("REDIS_ADDR is unset; start redis-server and export REDIS_ADDR=host:port to run")
	}
	return addr
}

// counter is a go-redis hook counting round trips (a pipeline is one).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// newClient returns a client for REDIS_ADDR, closed with tb.
func newClient(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(tb)})
	tb.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("REDIS_ADDR=%s: %v", os.Getenv("REDIS_ADDR"), err)
	}
	return rdb
}

// newStore returns a store on its own random key prefix, so tests sharing a
// server never see each other's keys; the keys are deleted afterwards.
func newStore(tb testing.TB, rdb *redis.Client, opts ...redisstore.Option) *redisstore.Store {
	tb.Helper()
	prefix := fmt.Sprintf("codathook-test:%x:", rand.Uint64())
	s, err := redisstore.New(tb.Context(), rdb, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	rdb := newClient(t)
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, rdb) }, &dedupetest.Config{RealTTL: time.Second})
}

func TestConformanceLuaClaim(t *testing.T) {
	t.Parallel()
	// Force the Lua Claim path used with Redis < 7.0 by making the server
	// reject SET NX GET, through a hook that answers as such a server would.
	rdb := newClient(t)
	rdb.AddHook(rejectSetNXGet{})
	if err := rdb.Do(t.Context(), "SET", "codathook-test:probe", "P", "NX", "GET").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR syntax error") {
		t.Fatalf("SET NX GET through the hook: error %v, want ERR syntax error", err)
	}
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, rdb) }, &dedupetest.Config{RealTTL: time.Second})
}

// rejectSetNXGet makes SET NX GET fail as on Redis < 7.0: it replaces the
// GET argument with one the server rejects ("ERR syntax error"), for single
// commands and pipelines alike.
type rejectSetNXGet struct{}

func (rejectSetNXGet) DialHook(next redis.DialHook) redis.DialHook { return next }

func (rejectSetNXGet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			breakSetNXGet(cmd)
		}
		return next(ctx, cmds)
	}
}

func (rejectSetNXGet) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		breakSetNXGet(cmd)
		return next(ctx, cmd)
	}
}

func breakSetNXGet(cmd redis.Cmder) {
	if cmd.Name() != "set" || !hasArgs(cmd.Args(), "nx", "get") {
		return
	}
	for i, a := range cmd.Args() {
		if s, ok := a.(string); ok && strings.EqualFold(s, "get") {
			cmd.Args()[i] = "NOTANOPTION"
		}
	}
}

func hasArgs(args []any, want ...string) bool {
	n := 0
	for _, w := range want {
		for _, a := range args {
			if s, ok := a.(string); ok && strings.EqualFold(s, w) {
				n++
				break
			}
		}
	}
	return n == len(want)
}

func BenchmarkRedis(b *testing.B) {
	rdb := newClient(b)
	dedupetest.RunBenchmarks(b, func(b *testing.B) dedupe.Store { return newStore(b, rdb) })
}

// unreachable returns a client whose every command fails fast.
func unreachable(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// errDown is every command's error once a down hook is on.
var errDown = errors.New("dial tcp: connection refused (Redis is down)")

// downErr is the error a client returns for a command on ctx while Redis
// is down: ctx's if it ended, as go-redis's dial would, else errDown.
func downErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errDown
}

// down is a go-redis hook that fails every command with errDown while on:
// Redis going down after the store was created.
type down struct{ on atomic.Bool }

func (d *down) DialHook(next redis.DialHook) redis.DialHook { return next }

func (d *down) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if d.on.Load() {
			err := downErr(ctx)
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (d *down) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if d.on.Load() {
			err := downErr(ctx)
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// goesDown returns a store on REDIS_ADDR, made with opts, whose Redis then
// goes down: every later command fails.
func goesDown(t *testing.T, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	rdb := newClient(t)
	var d down
	rdb.AddHook(&d)
	s := newStore(t, rdb, opts...)
	d.on.Store(true)
	return s
}

func TestFailureModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []redisstore.Option
		wantErr  bool
		wantOpen uint64
	}{
		{name: "fail-closed (default) returns every Redis error", wantErr: true},
		{name: "fail-open reports success and counts the errors", opts: []redisstore.Option{redisstore.WithFailOpen()}, wantOpen: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := goesDown(t, tt.opts...)
			ctx := t.Context()
			st, err := s.Claim(ctx, "k", time.Minute)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("Claim error = %v, want error: %v", err, tt.wantErr)
			}
			if !tt.wantErr && st != dedupe.Claimed {
				t.Errorf("fail-open Claim = %v, want claimed", st)
			}
			if err := s.Commit(ctx, "k", time.Minute); (err != nil) != tt.wantErr {
				t.Errorf("Commit error = %v, want error: %v", err, tt.wantErr)
			}
			if err := s.Release(ctx, "k"); (err != nil) != tt.wantErr {
				t.Errorf("Release error = %v, want error: %v", err, tt.wantErr)
			}
			a := dedupe.Arrival{Side: "new", Member: "m", At: time.Now(), Window: time.Minute, TTL: time.Minute, Limit: 8}
			p1, err := s.Arrive(ctx, "k", a)
			if (err != nil) != tt.wantErr {
				t.Errorf("Arrive error = %v, want error: %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				a.Side, a.Member = "legacy", "m2"
				p2, _ := s.Arrive(ctx, "k", a)
				if p1.Epoch == "" || p2.Epoch == "" || p1 == p2 || p1.Paired || p2.Paired {
					t.Errorf("fail-open Arrive = %+v, %+v; want two distinct unpaired slots", p1, p2)
				}
			}
			if got := s.FailOpenErrors(); got != tt.wantOpen && got != tt.wantOpen+1 {
				t.Errorf("FailOpenErrors() = %d, want %d (+1 for the second Arrive)", got, tt.wantOpen)
			}
		})
	}
	t.Run("a cancelled context is an error even when failing open", func(t *testing.T) {
		t.Parallel()
		s := goesDown(t, redisstore.WithFailOpen())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Claim(ctx, "k", time.Minute); !errors.Is(err, context.Canceled) {
			t.Errorf("Claim error = %v, want context.Canceled", err)
		}
	})
}

func TestNewRefusesNilClient(t *testing.T) {
	t.Parallel()
	if _, err := redisstore.New(t.Context(), nil); err == nil {
		t.Error("New(ctx, nil) error = nil, want an error")
	}
}

func connBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":"c-%s"},"connection":{"id":"conn","status":"Linked"}}}`, id, generated(), id)
}

// generated is a generatedDate of now: the occurrence time pairing compares.
func generated() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// readBody is a read.completed of three data types (three occurrences) for
// company id.
func readBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"eventType":"read.completed","generatedDate":%q,"payload":{"referenceCompany":{"id":"c-%s"},"dataTypes":[`+
		`{"connectionId":"k","dataType":"invoices","status":"Complete"},{"connectionId":"k","dataType":"bills","status":"Complete"},{"connectionId":"k","dataType":"customers","status":"Complete"}]}}`, id, generated(), id)
}

// TestRoundTripsPerDelivery counts, with a go-redis hook, the Redis round
// trips of each delivery through a receiver. A Redis store cannot peek, so
// the receiver's early duplicate check (before the body is parsed) costs
// none: every round trip is the dedupe claim, pairing and commit. The
// receiver's delivery keys are "msg:" + the webhook-id for signed deliveries
// and "id:" + the AlertId for legacy ones.
func TestRoundTripsPerDelivery(t *testing.T) {
	t.Parallel()
	rdb := newClient(t)
	var c counter
	rdb.AddHook(&c)
	r := newReplica(t, newStore(t, rdb), nil)
	count := func(deliver func() codathook.Outcome) (codathook.Outcome, int64) {
		t.Helper()
		before := c.n.Load()
		o := deliver()
		return o, c.n.Load() - before
	}
	newDelivery := func(msgID string, body []byte) func() codathook.Outcome {
		return func() codathook.Outcome { return r.deliverNew(msgID, body) }
	}
	legacyDelivery := func(body []byte) func() codathook.Outcome {
		return func() codathook.Outcome { return r.deliverLegacy(body) }
	}
	if o := r.deliverNew("msg_warm", connBody("warm")); o.Result != codathook.ResultProcessed { // loads the scripts (EVALSHA misses once)
		t.Fatalf("warm-up delivery: %q (%v), want processed", o.Result, o.Err)
	}
	// Before batching (one call per key) the first case took 7 round trips
	// and the read.completed with three elements 13 (claim d:, claim i:, 3
	// arrivals, 3 slot claims; 5 commits); with batches as pipelines, 4
	// each (delivery key; exact keys and arrivals; slots; commit). Now
	// Begin's batch is one script call.
	tests := []struct {
		name        string
		deliver     func() codathook.Outcome
		want        codathook.Result
		wantTrips   int64
		explanation string
	}{
		{"a new paired delivery", newDelivery("msg_1", connBody("1")), codathook.ResultProcessed, 2,
			"one script: claim d:msg:msg_1 (the gate), claim i:1, arrive and claim the slot; commit d:, i:, slot"},
		{"its retry", newDelivery("msg_1", connBody("1")), codathook.ResultDuplicate, 1, "claim d:msg:msg_1 (Done)"},
		{"a read.completed with three elements", newDelivery("msg_2", readBody("2")), codathook.ResultProcessed, 2,
			"one script: claim d:, claim i:, 3 arrivals and their slots; 5 commits"},
		{"a legacy twin of the first delivery", legacyDelivery(legacyTwinBody("a1", "1")), codathook.ResultDuplicate, 2,
			"one script: claim d:id:a1, claim i:a1, arrive (paired), its slot Done; commit d:id:a1 + release i:a1"},
	}
	for _, tt := range tests {
		got, trips := count(tt.deliver)
		if got.Result != tt.want {
			t.Errorf("%s: result = %q (%v), want %q", tt.name, got.Result, got.Err, tt.want)
		}
		if trips != tt.wantTrips {
			t.Errorf("%s: %d round trips, want %d (%s)", tt.name, trips, tt.wantTrips, tt.explanation)
		}
		t.Logf("%s: %d Redis round trips", tt.name, trips)
	}
	if n := r.commitFailures(); n != 0 {
		t.Errorf("%d commits failed, want none", n)
	}
}

// BenchmarkReceiverRedis measures deliveries through a receiver on a Redis
// store, for a new delivery and for a retried duplicate, reporting Redis
// round trips per delivery. It measures more than the dedupe store: each
// iteration also builds and signs the request, and the receiver verifies
// the signature, parses and normalizes the body and runs an empty callback.
// bench/ has no Redis row, so this is the receiver-over-Redis benchmark.
func BenchmarkReceiverRedis(b *testing.B) {
	// setup returns a receiver on a fresh key prefix and its round-trip counter.
	setup := func(b *testing.B) (*replica, *counter) {
		rdb := newClient(b)
		c := &counter{}
		rdb.AddHook(c)
		return newReplica(b, newStore(b, rdb), nil), c
	}
	b.Run("New", func(b *testing.B) {
		r, c := setup(b)
		tmpl := connBody("e1")
		b.ReportAllocs()
		var i int
		start := c.n.Load()
		for b.Loop() {
			n := fmt.Sprint(i)
			i++
			// A fresh message id, event id and company each time: a new
			// occurrence, not a twin or retry of an earlier one.
			body := bytes.Replace(bytes.Replace(tmpl, []byte(`"e1"`), []byte(`"e`+n+`"`), 1), []byte(`"c-e1"`), []byte(`"c`+n+`"`), 1)
			if o := r.deliverNew("msg_"+n, body); o.Result != codathook.ResultProcessed {
				b.Fatalf("delivery %d: %q (%v), want processed", i, o.Result, o.Err)
			}
		}
		b.ReportMetric(float64(c.n.Load()-start)/float64(i), "roundtrips/op")
	})
	b.Run("Duplicate", func(b *testing.B) {
		r, c := setup(b)
		body := connBody("e1")
		if o := r.deliverNew("msg_dup", body); o.Result != codathook.ResultProcessed {
			b.Fatalf("first delivery: %q (%v), want processed", o.Result, o.Err)
		}
		b.ReportAllocs()
		var n int
		start := c.n.Load()
		for b.Loop() {
			n++
			if o := r.deliverNew("msg_dup", body); o.Result != codathook.ResultDuplicate {
				b.Fatalf("retry %d: %q (%v), want duplicate", n, o.Result, o.Err)
			}
		}
		b.ReportMetric(float64(c.n.Load()-start)/float64(n), "roundtrips/op")
	})
}
