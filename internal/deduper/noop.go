package deduper

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// Noop is a [Store] that never reports a duplicate: every Claim returns
// Claimed and every Arrive returns a new slot, so every delivery is
// processed. Use it in tests or to opt out of deduplication. It is safe for
// concurrent use and, like every Store, returns [ErrClosed] after Close.
type Noop struct {
	closed atomic.Bool
	epochs atomic.Int64
}

var _ dedupe.Store = (*Noop)(nil)

// Claim always returns Claimed.
func (n *Noop) Claim(_ context.Context, _ string, _ time.Duration) (dedupe.State, error) {
	if n.closed.Load() {
		return 0, dedupe.ErrClosed
	}
	return dedupe.Claimed, nil
}

// Commit does nothing.
func (n *Noop) Commit(_ context.Context, _ string, _ time.Duration) error {
	if n.closed.Load() {
		return dedupe.ErrClosed
	}
	return nil
}

// Release does nothing.
func (n *Noop) Release(_ context.Context, _ string) error {
	if n.closed.Load() {
		return dedupe.ErrClosed
	}
	return nil
}

// Arrive returns a new slot on every call, so no two arrivals are ever
// paired.
func (n *Noop) Arrive(_ context.Context, _ string, _ dedupe.Arrival) (dedupe.Pairing, error) {
	if n.closed.Load() {
		return dedupe.Pairing{}, dedupe.ErrClosed
	}
	return dedupe.Pairing{Epoch: "noop", Slot: n.epochs.Add(1)}, nil
}

// Close marks the store closed. It is idempotent.
func (n *Noop) Close(_ context.Context) error {
	n.closed.Store(true)
	return nil
}
