package dedupetest

import (
	"errors"
	"strconv"
	"testing"

	"github.com/codathook/codathook/dedupe"
)

// Rules for a batch's dependencies, [dedupe.Op.Gate] and
// [dedupe.Op.SlotPrefix], for a [dedupe.BatchStore]. Each runs twice: with
// keys of no group, and with keys of one group (as the Deduper sends them,
// so that a store can run the batch whole).

// groups are the key prefixes the dependency rules run with.
var groups = []string{"", "{g1}"}

func batchStore(t *testing.T, h *harness) (dedupe.Store, dedupe.BatchStore) {
	s := h.store(t)
	bs, ok := s.(dedupe.BatchStore)
	if !ok {
		t.Skip("the store does not implement dedupe.BatchStore")
	}
	return s, bs
}

func (c checker) do(bs dedupe.BatchStore, ops []dedupe.Op) {
	c.t.Helper()
	if err := bs.Do(c.t.Context(), ops); err != nil {
		c.t.Fatalf("%s: Do error: %v", c.rule, err)
	}
}

func testBatchGate(t *testing.T, h *harness) {
	c := rule(t, "the ops after a Gate claim run only when it returns Claimed")
	s, bs := batchStore(t, h)
	for _, g := range groups {
		c.commit(s, g+"done", long)
		c.claim(s, g+"held", long, dedupe.Claimed)
		for _, gate := range []struct {
			key  string
			want dedupe.State
		}{{"done", dedupe.Done}, {"held", dedupe.Pending}} {
			ops := []dedupe.Op{
				{Kind: dedupe.OpClaim, Key: g + gate.key, TTL: long, Gate: true},
				{Kind: dedupe.OpClaim, Key: g + "after-" + gate.key, TTL: long},
				{Kind: dedupe.OpArrive, Key: g + "occ-" + gate.key, Arrival: arrival("legacy", "m", 0), SlotPrefix: g + "slot#", TTL: long},
				{Kind: dedupe.OpCommit, Key: g + "commit-" + gate.key, TTL: long},
			}
			c.do(bs, ops)
			if ops[0].Err != nil || ops[0].State != gate.want {
				t.Errorf("%s: gate %s%s = %v, %v; want %v", c.rule, g, gate.key, ops[0].State, ops[0].Err, gate.want)
			}
			for _, o := range ops[1:] {
				if !errors.Is(o.Err, dedupe.ErrNotRun) {
					t.Errorf("%s: after gate %s%s: op %s error = %v, want ErrNotRun", c.rule, g, gate.key, short(o.Key), o.Err)
				}
			}
			// Nothing after the gate happened.
			c.claim(s, g+"after-"+gate.key, long, dedupe.Claimed)
			c.claim(s, g+"commit-"+gate.key, long, dedupe.Claimed)
			if p := c.arrive(s, g+"occ-"+gate.key, arrival("new", "n", 0)); p.Paired {
				t.Errorf("%s: after gate %s%s: a new arrival paired (%+v): the gated legacy arrival was recorded", c.rule, g, gate.key, p)
			}
		}

		ops := []dedupe.Op{
			{Kind: dedupe.OpClaim, Key: g + "new", TTL: long, Gate: true},
			{Kind: dedupe.OpClaim, Key: g + "done", TTL: long},
			{Kind: dedupe.OpClaim, Key: g + "next", TTL: long},
		}
		c.do(bs, ops)
		for i, want := range []dedupe.State{dedupe.Claimed, dedupe.Done, dedupe.Claimed} {
			if ops[i].Err != nil || ops[i].State != want {
				t.Errorf("%s: gate claimed: op %s = %v, %v; want %v", c.rule, short(ops[i].Key), ops[i].State, ops[i].Err, want)
			}
		}
		c.claim(s, g+"next", long, dedupe.Pending)
	}
}

func testBatchSlotClaim(t *testing.T, h *harness) {
	c := rule(t, "an arrival with a SlotPrefix claims its slot's key")
	s, bs := batchStore(t, h)
	for _, g := range groups {
		prefix := g + "o:K#"
		legacy := dedupe.Op{Kind: dedupe.OpArrive, Key: g + "K", Arrival: arrival("legacy", "a", 0), SlotPrefix: prefix, TTL: long}
		ops := []dedupe.Op{{Kind: dedupe.OpClaim, Key: g + "d:a", TTL: long, Gate: true}, legacy}
		c.do(bs, ops)
		first := ops[1]
		if first.Err != nil || first.Pairing.Epoch == "" || first.Pairing.Paired || first.State != dedupe.Claimed {
			t.Fatalf("%s: first arrival = %+v, %v, %v; want a fresh slot, Claimed", c.rule, first.Pairing, first.State, first.Err)
		}
		slot := slotKey(prefix, first.Pairing)
		c.claim(s, slot, long, dedupe.Pending) // the batch claimed it

		// The twin pairs and finds its slot held; once committed, Done.
		twin := []dedupe.Op{{Kind: dedupe.OpArrive, Key: g + "K", Arrival: arrival("new", "b", 0), SlotPrefix: prefix, TTL: long}}
		c.do(bs, twin)
		if twin[0].Err != nil || !twin[0].Pairing.Paired || slotOf(twin[0].Pairing) != slotOf(first.Pairing) || twin[0].State != dedupe.Pending {
			t.Errorf("%s: twin = %+v, %v, %v; want paired in %v, Pending", c.rule, twin[0].Pairing, twin[0].State, twin[0].Err, slotOf(first.Pairing))
		}
		c.commit(s, slot, long)
		retry := []dedupe.Op{legacy}
		c.do(bs, retry)
		if retry[0].Err != nil || slotOf(retry[0].Pairing) != slotOf(first.Pairing) || retry[0].State != dedupe.Done {
			t.Errorf("%s: retry = %+v, %v, %v; want slot %v, Done", c.rule, retry[0].Pairing, retry[0].State, retry[0].Err, slotOf(first.Pairing))
		}

		// Over the limit nothing is recorded and nothing claimed.
		full := legacy
		full.Key, full.Arrival.Member, full.Arrival.Limit = g+"L", "x", 1
		over := full
		over.Arrival.Member = "y"
		ops = []dedupe.Op{full}
		c.do(bs, ops)
		ops = []dedupe.Op{over}
		c.do(bs, ops)
		if ops[0].Err != nil || ops[0].Pairing.Epoch != "" || ops[0].State != 0 {
			t.Errorf("%s: over the limit = %+v, %v, %v; want no slot, State 0", c.rule, ops[0].Pairing, ops[0].State, ops[0].Err)
		}

		// Without a SlotPrefix, an arrival claims nothing.
		plain := []dedupe.Op{{Kind: dedupe.OpArrive, Key: g + "P", Arrival: arrival("legacy", "a", 0)}}
		c.do(bs, plain)
		if plain[0].Err != nil || plain[0].State != 0 {
			t.Errorf("%s: arrival without SlotPrefix: State %v, %v; want 0", c.rule, plain[0].State, plain[0].Err)
		}
		c.claim(s, slotKey(g+"o:P#", plain[0].Pairing), long, dedupe.Claimed)
	}
}

// slotKey is the key an arrival with SlotPrefix prefix claims for p's slot.
func slotKey(prefix string, p dedupe.Pairing) string {
	return prefix + p.Epoch + "#" + strconv.FormatInt(p.Slot, 10)
}
