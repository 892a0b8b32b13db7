package dedupe_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
)

func TestLRUConformance(t *testing.T) {
	t.Parallel()
	dedupetest.Run(t,
		func(t *testing.T) dedupe.Store { return dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000}) },
		&dedupetest.Config{Clock: func(t *testing.T, now func() time.Time) dedupe.Store {
			return dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000, Now: now})
		}},
	)
}

func BenchmarkLRU(b *testing.B) {
	dedupetest.RunBenchmarks(b, func(b *testing.B) dedupe.Store { return dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1 << 20}) })
}

// clock is a hand-moved clock for the package's tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLRUEvictionOfLiveEntryIsCountedAndLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ttl      time.Duration
		advance  time.Duration
		wantLive uint64
		wantLogs int
	}{
		{name: "evicting unexpired entries counts each and logs once per interval", ttl: time.Hour, advance: 0, wantLive: 2, wantLogs: 1},
		{name: "evicting expired entries is silent", ttl: time.Minute, advance: 2 * time.Minute, wantLive: 0, wantLogs: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			clk := newClock()
			s := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 3, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			ctx := t.Context()
			for _, k := range []string{"a", "b", "c"} {
				if _, err := s.Claim(ctx, k, tt.ttl); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(tt.advance)
			for _, k := range []string{"d", "e"} {
				if _, err := s.Claim(ctx, k, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.LiveEvictions(); got != tt.wantLive {
				t.Errorf("LiveEvictions() = %d, want %d", got, tt.wantLive)
			}
			if got, want := strings.Count(buf.String(), "evicted an entry before it expired"), tt.wantLogs; got != want {
				t.Errorf("eviction log lines = %d, want %d; log:\n%s", got, want, buf.String())
			}
			if got, want := s.Len(), 3; got != want {
				t.Errorf("Len() = %d, want %d (capacity)", got, want)
			}
			// The oldest key was evicted, so it can be claimed again.
			if st, _ := s.Claim(ctx, "a", time.Hour); st != dedupe.Claimed {
				t.Errorf("Claim(evicted a) = %v, want claimed", st)
			}
			if tt.wantLogs > 0 {
				// The next warning comes after the interval, with the total.
				clk.Advance(dedupe.EvictionWarnInterval)
				if _, err := s.Claim(ctx, "f", time.Hour); err != nil {
					t.Fatal(err)
				}
				if got, want := strings.Count(buf.String(), "evicted an entry before it expired"), tt.wantLogs+1; got != want {
					t.Errorf("after the interval: eviction log lines = %d, want %d", got, want)
				}
				if !strings.Contains(buf.String(), "live_evictions_total=4") {
					t.Errorf("the second warning does not carry the running total:\n%s", buf.String())
				}
			}
		})
	}
}

func TestLRUDefaultCapacity(t *testing.T) {
	t.Parallel()
	s := dedupe.NewLRU(dedupe.LRUConfig{})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	for i := range 1000 {
		if err := s.Commit(t.Context(), fmt.Sprint(i), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.Len(), 1000; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
}

// TestLRUMemoryPerEntry measures the heap cost of a full store; the number
// is the one DefaultCapacity's documentation quotes. Run with -v to see it.
// Not parallel: it measures the whole heap.
func TestLRUMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100k entries")
	}
	const n = 100_000
	// Pre-build the keys (36 bytes, like a UUID) so only the store's own
	// overhead is measured.
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("d:%034d", i)
	}
	measure := func(fill func(s *dedupe.LRU)) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := dedupe.NewLRU(dedupe.LRUConfig{Capacity: n})
		fill(s)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(s)
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	ctx := context.Background()
	claim := measure(func(s *dedupe.LRU) {
		for _, k := range keys {
			_, _ = s.Claim(ctx, k, time.Hour)
		}
	})
	arrive := measure(func(s *dedupe.LRU) {
		for _, k := range keys {
			_, _ = s.Arrive(ctx, k, dedupe.Arrival{Side: "new", Member: k, At: time.Unix(1_700_000_000, 0), Window: 10 * time.Minute, TTL: time.Hour, Limit: 64})
		}
	})
	t.Logf("LRU heap per entry: claim %.0f B, occurrence record with one arrival %.0f B (keys excluded)", claim, arrive)
	if claim > 300 {
		t.Errorf("claim entry costs %.0f B, want <= 300 (update the documented figure)", claim)
	}
	if arrive > 900 {
		t.Errorf("arrival record costs %.0f B, want <= 900 (update the documented figure)", arrive)
	}
}

// benchArrival is a new-format arrival of member at a fixed time.
func benchArrival(member string) dedupe.Arrival {
	return dedupe.Arrival{Side: "new", Member: member, At: time.Unix(1_700_000_000, 0), Window: 10 * time.Minute, TTL: time.Hour, Limit: 64}
}

// BenchmarkLRUFull measures one batch of the shape a new delivery sends
// (claim, claim, arrive, claim, then three commits) against a store already
// full at DefaultCapacity, so that every insert evicts: the steady state of
// a busy receiver, where the map and list are cold.
func BenchmarkLRUFull(b *testing.B) {
	s := dedupe.NewLRU(dedupe.LRUConfig{Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()
	keys := func(i int) (d, id, p, o string) {
		n := strconv.Itoa(i)
		return "d:msg:msg_2sZ3mX0bC" + n, "i:evt-" + n, "p:14:read.completed5:co-" + n, "o:14:read.completed5:co-" + n + "#a#1"
	}
	for i := range dedupe.DefaultCapacity / 4 {
		d, id, p, o := keys(-i - 1)
		_ = s.Do(ctx, []dedupe.Op{{Kind: dedupe.OpClaim, Key: d, TTL: time.Hour}, {Kind: dedupe.OpClaim, Key: id, TTL: time.Hour},
			{Kind: dedupe.OpArrive, Key: p, Arrival: benchArrival(d)}, {Kind: dedupe.OpClaim, Key: o, TTL: time.Hour}})
	}
	pre := make([][4]string, 1<<16)
	for i := range pre {
		d, id, p, o := keys(i)
		pre[i] = [4]string{d, id, p, o}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := &pre[i%len(pre)]
		i++
		ops := [4]dedupe.Op{{Kind: dedupe.OpClaim, Key: k[0], TTL: time.Hour}, {Kind: dedupe.OpClaim, Key: k[1], TTL: time.Hour},
			{Kind: dedupe.OpArrive, Key: k[2], Arrival: benchArrival(k[0])}, {Kind: dedupe.OpClaim, Key: k[3], TTL: time.Hour}}
		_ = s.Do(ctx, ops[:])
		commits := [3]dedupe.Op{{Kind: dedupe.OpCommit, Key: k[0], TTL: time.Hour}, {Kind: dedupe.OpCommit, Key: k[1], TTL: time.Hour},
			{Kind: dedupe.OpCommit, Key: k[3], TTL: time.Hour}}
		_ = s.Do(ctx, commits[:])
	}
}
