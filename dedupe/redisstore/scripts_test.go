package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/redisstore"
)

// TestScriptsLoadOnFirstUse runs the scripts on a server that does not
// have them (a fresh one, then after SCRIPT FLUSH): EVALSHA's NOSCRIPT
// costs one more round trip, the ops' results are those of a loaded
// server, and the next batch is one round trip again.
func TestScriptsLoadOnFirstUse(t *testing.T) {
	t.Parallel()
	srv := startServer(t, durable...)
	rdb := srv.client(t)
	var c counter
	rdb.AddHook(&c)
	s, err := redisstore.New(t.Context(), rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	arrival := func(side, member string) dedupe.Arrival {
		return dedupe.Arrival{Side: side, Member: member, At: at, Window: time.Minute, TTL: time.Hour, Limit: 8}
	}
	batch := func(name string, n int) {
		t.Helper()
		if _, err := s.Claim(ctx, name+"-pending", time.Hour); err != nil {
			t.Fatal(err)
		}
		ops := []dedupe.Op{
			{Kind: dedupe.OpClaim, Key: name + "-new", TTL: time.Hour},
			{Kind: dedupe.OpRelease, Key: name + "-pending"},
			{Kind: dedupe.OpArrive, Key: name, Arrival: arrival("legacy", "l")},
			{Kind: dedupe.OpArrive, Key: name + "-other", Arrival: arrival("new", "n")},
		}
		before := c.n.Load()
		if err := s.Do(ctx, ops); err != nil {
			t.Fatalf("%s: Do: %v", name, err)
		}
		if got := c.n.Load() - before; got != int64(n) {
			t.Errorf("%s: %d round trips, want %d", name, got, n)
		}
		for i, op := range ops {
			if op.Err != nil {
				t.Fatalf("%s: op %d: %v", name, i, op.Err)
			}
		}
		if ops[0].State != dedupe.Claimed || ops[2].Pairing.Epoch == "" || ops[2].Pairing.Paired {
			t.Errorf("%s: claim %v, arrival %+v; want claimed and a slot of its own", name, ops[0].State, ops[2].Pairing)
		}
		if st, err := s.Claim(ctx, name+"-pending", time.Hour); err != nil || st != dedupe.Claimed {
			t.Errorf("%s: claim after the release = %v, %v; want claimed", name, st, err)
		}
		p, err := s.Arrive(ctx, name, arrival("new", "n"))
		if err != nil || !p.Paired || p.Slot != ops[2].Pairing.Slot || p.Epoch != ops[2].Pairing.Epoch {
			t.Errorf("%s: twin = %+v, %v; want paired with %+v", name, p, err, ops[2].Pairing)
		}
	}
	batch("fresh", 2)  // NOSCRIPT for release and arrive, resent as EVAL
	batch("loaded", 1) // one pipeline
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := c.n.Load()
	if err := s.Release(ctx, "flushed"); err != nil {
		t.Fatalf("Release after SCRIPT FLUSH: %v", err)
	}
	if got := c.n.Load() - before; got != 2 {
		t.Errorf("Release after SCRIPT FLUSH: %d round trips, want 2 (EVALSHA, EVAL)", got)
	}
	batch("flushed", 2)
}

// TestLuaClaimInABatch starts a store with a batch on a server that rejects
// SET NX GET (Redis < 7.0): its claims are resent as the claim script in
// one more round trip, and later batches use the script from the start.
func TestLuaClaimInABatch(t *testing.T) {
	t.Parallel()
	rdb := newClient(t)
	rdb.AddHook(rejectSetNXGet{})
	var c counter
	rdb.AddHook(&c)
	s := newStore(t, rdb)
	ctx := t.Context()
	for i, want := range []struct {
		states []dedupe.State
		trips  int64
	}{
		{[]dedupe.State{dedupe.Claimed, dedupe.Claimed}, 2}, // SET NX GET rejected, then EVAL
		{[]dedupe.State{dedupe.Pending, dedupe.Claimed}, 1}, // EVALSHA
	} {
		ops := []dedupe.Op{
			{Kind: dedupe.OpClaim, Key: "a", TTL: time.Hour},
			{Kind: dedupe.OpClaim, Key: fmt.Sprint("b", i), TTL: time.Hour},
		}
		before := c.n.Load()
		if err := s.Do(ctx, ops); err != nil {
			t.Fatalf("batch %d: Do: %v", i, err)
		}
		if got := c.n.Load() - before; got != want.trips {
			t.Errorf("batch %d: %d round trips, want %d", i, got, want.trips)
		}
		for j, op := range ops {
			if op.Err != nil || op.State != want.states[j] {
				t.Errorf("batch %d: claim %q = %v, %v; want %v", i, op.Key, op.State, op.Err, want.states[j])
			}
		}
	}
}
