package dedupe_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
)

// stepped is a BatchStore whose own batch runs plain ops one Store call at
// a time and counts its calls; DoInSteps gives it Gate and SlotPrefix.
type stepped struct {
	*dedupe.LRU
	calls int
}

func (s *stepped) Do(ctx context.Context, ops []dedupe.Op) error {
	return dedupe.DoInSteps(ctx, ops, s.plain)
}

// plain runs ops ignoring Gate and SlotPrefix, as a pipeline would.
func (s *stepped) plain(ctx context.Context, ops []dedupe.Op) error {
	s.calls++
	for i := range ops {
		o := &ops[i]
		switch o.Kind {
		case dedupe.OpClaim:
			o.State, o.Err = s.LRU.Claim(ctx, o.Key, o.TTL)
		case dedupe.OpCommit:
			o.Err = s.LRU.Commit(ctx, o.Key, o.TTL)
		case dedupe.OpRelease:
			o.Err = s.LRU.Release(ctx, o.Key)
		case dedupe.OpArrive:
			o.Pairing, o.Err = s.LRU.Arrive(ctx, o.Key, o.Arrival)
		}
	}
	if ops[0].Err != nil && errors.Is(ops[0].Err, dedupe.ErrClosed) {
		return dedupe.ErrClosed
	}
	return nil
}

func TestDoInStepsConformance(t *testing.T) {
	t.Parallel()
	dedupetest.Run(t,
		func(t *testing.T) dedupe.Store { return &stepped{LRU: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})} },
		&dedupetest.Config{Clock: func(t *testing.T, now func() time.Time) dedupe.Store {
			return &stepped{LRU: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000, Now: now})}
		}},
	)
}

// TestDoInStepsCalls counts the calls of a delivery's batch: the gate; the
// rest; the slot claims. A gate that is not Claimed ends the batch at one.
func TestDoInStepsCalls(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := &stepped{LRU: dedupe.NewLRU(dedupe.LRUConfig{})}
	a := dedupe.Arrival{Side: "new", Member: "m", At: time.Now(), Window: time.Minute, TTL: time.Hour, Limit: 8}
	batch := func() []dedupe.Op {
		return []dedupe.Op{
			{Kind: dedupe.OpClaim, Key: "{g}d:1", TTL: time.Minute, Gate: true},
			{Kind: dedupe.OpClaim, Key: "{g}i:1", TTL: time.Minute},
			{Kind: dedupe.OpArrive, Key: "{g}p:K", Arrival: a, SlotPrefix: "{g}o:K#", TTL: time.Minute},
		}
	}
	for _, tt := range []struct {
		name  string
		calls int
		state dedupe.State
	}{{"new", 3, dedupe.Claimed}, {"again", 1, dedupe.Pending}} {
		s.calls = 0
		ops := batch()
		if err := s.Do(ctx, ops); err != nil {
			t.Fatal(err)
		}
		if s.calls != tt.calls || ops[0].State != tt.state {
			t.Errorf("%s: %d calls, gate %v; want %d, %v", tt.name, s.calls, ops[0].State, tt.calls, tt.state)
		}
	}
}
