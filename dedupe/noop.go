package dedupe

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"
)

// Noop is a [Store] that never reports a duplicate: every Claim returns
// Claimed and every Arrive returns a fresh epoch, so every delivery is
// processed. Use it in tests or to opt out of deduplication. It is safe for
// concurrent use and, like every Store, returns [ErrClosed] after Close.
type Noop struct {
	closed atomic.Bool
	epochs atomic.Int64
}

var _ Store = (*Noop)(nil)

// Claim always returns Claimed.
func (n *Noop) Claim(_ context.Context, _ string, _ time.Duration) (State, error) {
	if n.closed.Load() {
		return 0, ErrClosed
	}
	return Claimed, nil
}

// Commit does nothing.
func (n *Noop) Commit(_ context.Context, _ string, _ time.Duration) error {
	if n.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Release does nothing.
func (n *Noop) Release(_ context.Context, _ string) error {
	if n.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Arrive returns ordinal 1 in a new epoch on every call, so no two
// arrivals are ever paired.
func (n *Noop) Arrive(_ context.Context, _, _, _ string, _ time.Duration) (int64, string, error) {
	if n.closed.Load() {
		return 0, "", ErrClosed
	}
	return 1, "noop" + strconv.FormatInt(n.epochs.Add(1), 36), nil
}

// Close marks the store closed. It is idempotent.
func (n *Noop) Close(_ context.Context) error {
	n.closed.Store(true)
	return nil
}
