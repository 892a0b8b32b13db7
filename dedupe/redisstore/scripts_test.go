package redisstore_test

import (
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestScriptsLoadOnFirstUse runs the store's script (one, for batches,
// releases and arrivals) on a server that does not have it (a fresh one,
// then after SCRIPT FLUSH): EVALSHA's NOSCRIPT costs one more round trip,
// the ops' results are those of a loaded server, and the next batch is
// one round trip again.
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
	flush := func() {
		t.Helper()
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	batch("fresh", 2)  // EVALSHA answered NOSCRIPT, resent as EVAL
	batch("loaded", 1) // EVALSHA
	flush()
	batch("flushed", 2)
	flush()
	before := c.n.Load()
	if err := s.Release(ctx, "flushed"); err != nil {
		t.Fatalf("Release after SCRIPT FLUSH: %v", err)
	}
	if got := c.n.Load() - before; got != 2 {
		t.Errorf("Release after SCRIPT FLUSH: %d round trips, want 2 (EVALSHA, EVAL)", got)
	}
	batch("after the release", 1) // the release loaded the one script
}

// TestLuaClaimFallback starts a store on a server that rejects SET NX GET
// (Redis < 7.0). On one server a batch runs whole in the script, which
// claims with GET and SET; a single Claim is SET NX GET, rejected, and
// resent as a program of one claim in one more round trip, which every
// later claim then uses. On a cluster, a batch whose keys are on several
// slots goes out as a pipeline: its claims are resent likewise.
func TestLuaClaimFallback(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	type step struct {
		keys   []string // claimed in one batch
		states []dedupe.State
		trips  int64
	}
	run := func(t *testing.T, rdb redis.UniversalClient, s *redisstore.Store, steps []step) {
		t.Helper()
		rdb.AddHook(rejectSetNXGet{})
		var n counter
		rdb.AddHook(&n)
		// Dial first: a new connection's HELLO is not the store's.
		if err := rdb.Ping(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		for i, st := range steps {
			ops := make([]dedupe.Op, len(st.keys))
			for j, k := range st.keys {
				ops[j] = dedupe.Op{Kind: dedupe.OpClaim, Key: k, TTL: time.Hour}
			}
			before := n.n.Load()
			if err := s.Do(t.Context(), ops); err != nil {
				t.Fatalf("step %d: Do: %v", i, err)
			}
			if got := n.n.Load() - before; got != st.trips {
				t.Errorf("step %d (%d claims): %d round trips, want %d", i, len(ops), got, st.trips)
			}
			for j, op := range ops {
				if op.Err != nil || op.State != st.states[j] {
					t.Errorf("step %d: claim %q = %v, %v; want %v", i, op.Key, op.State, op.Err, st.states[j])
				}
			}
		}
	}
	claimed, pending := dedupe.Claimed, dedupe.Pending
	t.Run("one server", func(t *testing.T) {
		t.Parallel()
		rdb := startServer(t, durable...).client(t) // a server without the script
		s, err := redisstore.New(t.Context(), rdb)
		if err != nil {
			t.Fatal(err)
		}
		run(t, rdb, s, []step{
			{[]string{"a", "b"}, []dedupe.State{claimed, claimed}, 2}, // the script: NOSCRIPT, then EVAL
			{[]string{"a"}, []dedupe.State{pending}, 2},               // SET NX GET rejected, then EVALSHA
			{[]string{"c"}, []dedupe.State{claimed}, 1},               // EVALSHA
			{[]string{"a", "d"}, []dedupe.State{pending, claimed}, 1}, // the script
		})
	})
	t.Run("cluster, keys on several slots", func(t *testing.T) {
		t.Parallel()
		cc := c.client(t, nil)
		// Keys without a hash tag: a pipeline, split by node. The second
		// step claims the same keys, on the masters that loaded the
		// script in the first.
		run(t, cc, clusterStore(t, cc), []step{
			{[]string{"a", "b"}, []dedupe.State{claimed, claimed}, 2}, // SET NX GET rejected, then EVAL
			{[]string{"b", "a"}, []dedupe.State{pending, pending}, 1}, // EVALSHA
		})
	})
}
