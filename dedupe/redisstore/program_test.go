package redisstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// group is the key group of the batches below: six base64url bytes, as
// the Deduper derives one from a company.
const group = "{AbC12x}"

// slotKey is the key an arrival with SlotPrefix prefix claims for p's
// slot (dedupe.Op.SlotPrefix).
func slotKey(prefix string, p dedupe.Pairing) string {
	return prefix + p.Epoch + "#" + strconv.FormatInt(p.Slot, 10)
}

// beginBatch is the batch a Deduper sends for a new delivery id on a
// shared store, every key of group g: its delivery key, the gate; an
// exact key; its arrival for pairing, which claims its slot for the
// lease; and its audit arrival.
func beginBatch(g, id string, at time.Time) []dedupe.Op {
	const lease = time.Minute
	a := dedupe.Arrival{Side: "new", Member: "msg_" + id, At: at, Window: 10 * time.Minute, TTL: 34 * time.Hour, Limit: 64}
	return []dedupe.Op{
		{Kind: dedupe.OpClaim, Key: g + "d:msg_" + id, TTL: lease, Gate: true},
		{Kind: dedupe.OpClaim, Key: g + "i:evt_" + id, TTL: lease},
		{Kind: dedupe.OpArrive, Key: g + "p:" + id, Arrival: a, SlotPrefix: g + "o:" + id + "#", TTL: lease},
		{Kind: dedupe.OpArrive, Key: g + "a:" + id, Arrival: a},
	}
}

// settleBatch commits what beginBatch(g, id, ...) claimed, its delivery
// key, exact key and slot (pairing p), and releases two keys.
func settleBatch(g, id string, p dedupe.Pairing) []dedupe.Op {
	return []dedupe.Op{
		{Kind: dedupe.OpCommit, Key: g + "d:msg_" + id, TTL: time.Hour},
		{Kind: dedupe.OpCommit, Key: g + "i:evt_" + id, TTL: time.Hour},
		{Kind: dedupe.OpCommit, Key: slotKey(g+"o:"+id+"#", p), TTL: time.Hour},
		{Kind: dedupe.OpRelease, Key: g + "i:other_" + id},
		{Kind: dedupe.OpRelease, Key: g + "i:another_" + id},
	}
}

// checkBegin fails t unless ops, a beginBatch, ran as a new delivery's:
// every claim Claimed, the arrivals recorded, the slot claimed.
func checkBegin(t *testing.T, name string, ops []dedupe.Op) {
	t.Helper()
	for i, o := range ops {
		if o.Err != nil {
			t.Fatalf("%s: op %d (%s): %v", name, i, o.Key, o.Err)
		}
	}
	if ops[0].State != dedupe.Claimed || ops[1].State != dedupe.Claimed {
		t.Errorf("%s: claims %v, %v; want claimed", name, ops[0].State, ops[1].State)
	}
	if p := ops[2].Pairing; p.Epoch == "" || p.Paired || ops[2].State != dedupe.Claimed {
		t.Errorf("%s: arrival %+v, slot %v; want a fresh slot, claimed", name, p, ops[2].State)
	}
	if p := ops[3].Pairing; p.Epoch == "" || ops[3].State != 0 {
		t.Errorf("%s: audit arrival %+v, state %v; want recorded, no slot claim", name, p, ops[3].State)
	}
}

// checkDuplicate fails t unless ops, a beginBatch, stopped at its gate
// (Done): every later op ErrNotRun.
func checkDuplicate(t *testing.T, name string, ops []dedupe.Op) {
	t.Helper()
	if ops[0].Err != nil || ops[0].State != dedupe.Done {
		t.Errorf("%s: gate %v, %v; want done", name, ops[0].State, ops[0].Err)
	}
	for i, o := range ops[1:] {
		if !errors.Is(o.Err, dedupe.ErrNotRun) {
			t.Errorf("%s: op %d (%s) error %v, want ErrNotRun", name, i+1, o.Key, o.Err)
		}
	}
}

// batchTrips runs a new delivery's begin batch, its settle batch, and the
// begin batch of its retry (the gate Done) on s, all keys of group g, and
// checks that each took want round trips as trips counts them.
func batchTrips(t *testing.T, s *redisstore.Store, g string, trips func() int64, want int64) {
	t.Helper()
	ctx := t.Context()
	// Load the script where the group's keys live (NOSCRIPT would cost
	// one more round trip) and dial: neither is what is counted.
	if err := s.Do(ctx, []dedupe.Op{{Kind: dedupe.OpRelease, Key: g + "warm"}, {Kind: dedupe.OpRelease, Key: g + "warm2"}}); err != nil {
		t.Fatal(err)
	}
	run := func(name string, ops []dedupe.Op) {
		t.Helper()
		before := trips()
		if err := s.Do(ctx, ops); err != nil {
			t.Fatalf("%s: Do: %v", name, err)
		}
		if got := trips() - before; got != want {
			t.Errorf("%s (%d ops): %d round trips, want %d", name, len(ops), got, want)
		}
	}
	begin := beginBatch(g, "1", time.Now())
	run("a new delivery's begin", begin)
	checkBegin(t, "a new delivery's begin", begin)
	slot := slotKey(g+"o:1#", begin[2].Pairing)
	if st, err := s.Claim(ctx, slot, time.Minute); err != nil || st != dedupe.Pending {
		t.Errorf("the begin's slot %q: %v, %v; want pending (claimed by the begin)", slot, st, err)
	}
	settle := settleBatch(g, "1", begin[2].Pairing)
	run("its settle", settle)
	for i, o := range settle {
		if o.Err != nil {
			t.Errorf("settle op %d (%s): %v", i, o.Key, o.Err)
		}
	}
	retry := beginBatch(g, "1", time.Now())
	run("its retry's begin", retry)
	checkDuplicate(t, "its retry's begin", retry)
	if st, err := s.Claim(ctx, slot, time.Minute); err != nil || st != dedupe.Done {
		t.Errorf("the begin's slot after the settle: %v, %v; want done", st, err)
	}
}

// TestBatchRoundTrips counts the round trips of a delivery's batches on
// one server: its begin batch (a gate, an exact claim, an arrival that
// claims its slot, an audit arrival), its settle (commits and releases)
// and its retry's begin (the gate Done) are each one script call, with
// keys of one group or of none.
func TestBatchRoundTrips(t *testing.T) {
	t.Parallel()
	for _, g := range []string{group, ""} {
		t.Run("group "+strconv.Quote(g), func(t *testing.T) {
			t.Parallel()
			rdb := newClient(t)
			var c counter
			rdb.AddHook(&c)
			batchTrips(t, newStore(t, rdb), g, c.n.Load, 1)
		})
	}
}

// TestClusterBatchRoundTrips counts the same batches on the cluster, as
// round trips to the nodes: with keys of one group each is one script
// call on the group's master. Keys of no group spread over the slots: the
// begin batch goes in dedupe.DoInSteps's steps (the gate; the exact claim
// and the arrivals, a pipeline split by node; the slot claim) with the
// same results, and a gate that is not Claimed still stops the rest. So
// does a grouped arrival whose slot prefix has no group: its slot key
// could be on another master.
func TestClusterBatchRoundTrips(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	t.Run("one group", func(t *testing.T) {
		t.Parallel()
		var wire nodeCounter
		cc := c.client(t, func(n *redis.Client) { n.AddHook(&wire) })
		batchTrips(t, clusterStore(t, cc), group, wire.n.Load, 1)
	})
	t.Run("no group", func(t *testing.T) {
		t.Parallel()
		cc := c.client(t, nil)
		var steps counter
		cc.AddHook(&steps)
		s := clusterStore(t, cc)
		ctx := t.Context()
		begin := beginBatch("", "1", time.Now())
		before := steps.n.Load()
		if err := s.Do(ctx, begin); err != nil {
			t.Fatal(err)
		}
		checkBegin(t, "a new delivery's begin", begin)
		n := steps.n.Load() - before
		if n < 3 {
			t.Errorf("the begin took %d round trips as the store sees them, want at least 3: the steps of dedupe.DoInSteps", n)
		}
		t.Logf("a begin of keys of no group: %d round trips as the store sees them", n)
		if st, err := s.Claim(ctx, slotKey("o:1#", begin[2].Pairing), time.Minute); err != nil || st != dedupe.Pending {
			t.Errorf("the begin's slot: %v, %v; want pending (claimed by the begin)", st, err)
		}
		held := beginBatch("", "1", time.Now())
		if err := s.Do(ctx, held); err != nil {
			t.Fatal(err)
		}
		if held[0].Err != nil || held[0].State != dedupe.Pending {
			t.Errorf("the gate of a held delivery: %v, %v; want pending", held[0].State, held[0].Err)
		}
		for i, o := range held[1:] {
			if !errors.Is(o.Err, dedupe.ErrNotRun) {
				t.Errorf("op %d (%s) after a pending gate: error %v, want ErrNotRun", i+1, o.Key, o.Err)
			}
		}
		settle := settleBatch("", "1", begin[2].Pairing)
		if err := s.Do(ctx, settle); err != nil {
			t.Fatal(err)
		}
		retry := beginBatch("", "1", time.Now())
		if err := s.Do(ctx, retry); err != nil {
			t.Fatal(err)
		}
		checkDuplicate(t, "its retry's begin", retry)
	})
	t.Run("slot prefix of no group", func(t *testing.T) {
		t.Parallel()
		cc := c.client(t, nil)
		var rec recorder
		cc.AddHook(&rec)
		s := clusterStore(t, cc)
		a := beginBatch(group, "1", time.Now())[2]
		a.SlotPrefix = "o:1#"
		ops := []dedupe.Op{a}
		if err := s.Do(t.Context(), ops); err != nil {
			t.Fatal(err)
		}
		if ops[0].Err != nil || ops[0].Pairing.Epoch == "" || ops[0].State != dedupe.Claimed {
			t.Errorf("the arrival: %+v, %v, %v; want a fresh slot, claimed", ops[0].Pairing, ops[0].State, ops[0].Err)
		}
		var sent []string // the first key of each command
		for _, b := range rec.take() {
			for _, keys := range b {
				sent = append(sent, keys[0])
			}
		}
		// The arrival (again after NOSCRIPT, on a master that had not
		// loaded the script yet), then its slot claim.
		ok := len(sent) >= 2 && strings.HasSuffix(sent[len(sent)-1], slotKey("c:o:1#", ops[0].Pairing))
		for _, k := range sent[:max(len(sent)-1, 0)] {
			ok = ok && k == sent[0] && strings.Contains(k, ":a:"+group)
		}
		if !ok {
			t.Errorf("commands sent for keys %q, want the arrival's, then its slot claim", sent)
		}
	})
}

// TestRing runs the conformance suite on a store on a *redis.Ring of two
// servers, whose shards follow hash tags as a cluster's slots do, and
// counts a delivery's batches of one group there: one round trip each.
func TestRing(t *testing.T) {
	t.Parallel()
	addrs := map[string]string{"a": startServer(t, durable...).Addr(), "b": startServer(t, durable...).Addr()}
	newRing := func(t *testing.T) *redis.Ring {
		ring := redis.NewRing(&redis.RingOptions{Addrs: addrs})
		t.Cleanup(func() { _ = ring.Close() })
		return ring
	}
	newStore := func(t *testing.T, ring *redis.Ring) *redisstore.Store {
		s, err := redisstore.New(t.Context(), ring, redisstore.WithPrefix(fmt.Sprintf("codathook-test:%x:", rand.Uint64())))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("conformance", func(t *testing.T) {
		t.Parallel()
		ring := newRing(t)
		dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, ring) }, &dedupetest.Config{RealTTL: time.Second})
	})
	t.Run("round trips", func(t *testing.T) {
		t.Parallel()
		ring := newRing(t)
		var c counter
		ring.AddHook(&c)
		batchTrips(t, newStore(t, ring), group, c.n.Load, 1)
	})
}

// TestBatchFailure sends a begin batch to a Redis that is down. Failing
// closed, every op has the error (no ErrNotRun: the gate never answered)
// and Do returns it; failing open, every op has the answer that lets
// processing go on: the claims Claimed (so the gate lets the rest run),
// the arrivals slots of their own, the slot claim Claimed.
func TestBatchFailure(t *testing.T) {
	t.Parallel()
	t.Run("fail-closed", func(t *testing.T) {
		t.Parallel()
		s := goesDown(t)
		ops := beginBatch(group, "1", time.Now())
		if err := s.Do(t.Context(), ops); !errors.Is(err, errDown) {
			t.Errorf("Do error = %v, want the round trip's", err)
		}
		for i, o := range ops {
			if !errors.Is(o.Err, errDown) || !strings.HasPrefix(o.Err.Error(), "redisstore: ") {
				t.Errorf("op %d (%s) error = %v, want the round trip's, wrapped", i, o.Key, o.Err)
			}
		}
	})
	t.Run("fail-open", func(t *testing.T) {
		t.Parallel()
		s := goesDown(t, redisstore.WithFailOpen())
		ops := beginBatch(group, "1", time.Now())
		if err := s.Do(t.Context(), ops); err != nil {
			t.Errorf("Do error = %v, want none", err)
		}
		checkBegin(t, "fail-open begin", ops)
		if ops[2].Pairing == ops[3].Pairing || !strings.HasPrefix(ops[2].Pairing.Epoch, "failopen-") {
			t.Errorf("fail-open arrivals %+v, %+v; want two slots of their own", ops[2].Pairing, ops[3].Pairing)
		}
		if got := s.FailOpenErrors(); got != uint64(len(ops)) {
			t.Errorf("FailOpenErrors() = %d, want %d (one per op)", got, len(ops))
		}
	})
}
