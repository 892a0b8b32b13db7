package dedupetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// Rules for the optional interfaces, a Peek method (as dedupe.LRU has) and dedupe.BatchStore.

// testBatch runs only for a [dedupe.BatchStore]: one batch of every kind of
// op must give each op the result its single call would, and leave the
// same state behind.
func testPeek(t *testing.T, h *harness) {
	c := rule(t, "peek reports a claim key's state and changes nothing")
	s, ttl, pass := h.timed(t)
	p, ok := s.(peeker)
	if !ok {
		t.Skip("the store has no Peek method")
	}
	ctx := t.Context()
	peek := func(key string, want dedupe.State) {
		t.Helper()
		got, err := p.Peek(ctx, key)
		if err != nil || got != want {
			t.Errorf("%s: Peek(%q) = %v, %v; want %v", c.rule, key, got, err, want)
		}
	}
	peek("k", 0)
	c.claim(s, "k", long, dedupe.Claimed) // the peek did not claim it
	peek("k", dedupe.Pending)
	c.claim(s, "k", long, dedupe.Pending)
	c.release(s, "k")
	peek("k", 0)
	c.claim(s, "k", long, dedupe.Claimed)
	c.commit(s, "k", ttl)
	peek("k", dedupe.Done)
	c.fresh(s, "a", arrival("new", "m", 0))
	peek("a", 0) // arrival keys are another namespace
	pass(ttl + ttl/2)
	peek("k", 0)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Peek(ctx, "k"); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: Peek after Close error = %v, want ErrClosed", c.rule, err)
	}
}

func testBatch(t *testing.T, h *harness) {
	c := rule(t, "a batch gives every op the result of its single call")
	s := h.store(t)
	bs, ok := s.(dedupe.BatchStore)
	if !ok {
		t.Skip("the store does not implement dedupe.BatchStore")
	}
	ctx := t.Context()
	c.claim(s, "held", long, dedupe.Claimed)
	c.commit(s, "done", long)
	c.claim(s, "pending", long, dedupe.Claimed)
	x := c.fresh(s, "A", arrival("legacy", "x", 0))
	ops := []dedupe.Op{
		{Kind: dedupe.OpClaim, Key: "new", TTL: long},
		{Kind: dedupe.OpClaim, Key: "held", TTL: long},
		{Kind: dedupe.OpClaim, Key: "done", TTL: long},
		{Kind: dedupe.OpCommit, Key: "committed", TTL: long},
		{Kind: dedupe.OpRelease, Key: "pending"},
		{Kind: dedupe.OpRelease, Key: "absent"},
		{Kind: dedupe.OpArrive, Key: "A", Arrival: arrival("legacy", "y", 0)},
		{Kind: dedupe.OpArrive, Key: "A", Arrival: arrival("new", "z", time.Second)},
		{Kind: dedupe.OpArrive, Key: "B", Arrival: arrival("legacy", "x", 0)},
	}
	if err := bs.Do(ctx, ops); err != nil {
		t.Fatalf("%s: Do error: %v", c.rule, err)
	}
	for i, o := range ops {
		if o.Err != nil {
			t.Fatalf("%s: op %d (%s) error: %v", c.rule, i, o.Key, o.Err)
		}
	}
	for i, want := range []dedupe.State{dedupe.Claimed, dedupe.Pending, dedupe.Done} {
		if got := ops[i].State; got != want {
			t.Errorf("%s: OpClaim(%q) = %v, want %v", c.rule, ops[i].Key, got, want)
		}
	}
	y, z, b := ops[6].Pairing, ops[7].Pairing, ops[8].Pairing
	if y.Epoch == "" || y.Paired || slotOf(y) == x {
		t.Errorf("%s: OpArrive(A, legacy, y) = %+v, want a slot of its own", c.rule, y)
	}
	if !z.Paired || slotOf(z) != x && slotOf(z) != slotOf(y) {
		t.Errorf("%s: OpArrive(A, new, z) = %+v, want paired with x %v or y %v", c.rule, z, x, slotOf(y))
	}
	if b.Epoch == "" || b.Paired {
		t.Errorf("%s: OpArrive(B, legacy, x) = %+v, want a slot of its own", c.rule, b)
	}
	c.claim(s, "new", long, dedupe.Pending)
	c.claim(s, "committed", long, dedupe.Done)
	c.claim(s, "pending", long, dedupe.Claimed)
	if p := c.arrive(s, "A", arrival("legacy", "y", 0)); slotOf(p) != slotOf(y) {
		t.Errorf("%s: retry of y after the batch = %+v, want slot %v", c.rule, p, slotOf(y))
	}

	// A closed store fails every op of a batch with ErrClosed.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ops = []dedupe.Op{{Kind: dedupe.OpClaim, Key: "k", TTL: long}, {Kind: dedupe.OpArrive, Key: "A", Arrival: arrival("new", "m", 0)}}
	err := bs.Do(ctx, ops)
	for i, o := range ops {
		if !errors.Is(o.Err, dedupe.ErrClosed) {
			t.Errorf("%s: closed store: op %d error = %v, want ErrClosed", c.rule, i, o.Err)
		}
	}
	if !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: closed store: Do error = %v, want ErrClosed", c.rule, err)
	}
}

// peeker is a store that can read a claim key's state without changing it.
type peeker interface {
	Peek(ctx context.Context, key string) (dedupe.State, error)
}
