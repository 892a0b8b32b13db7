package dedupe

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrClosed is returned by every [Store] method called after the store's
// Close. Match it with errors.Is.
var ErrClosed = errors.New("dedupe: store closed")

// State is the result of [Store.Claim]: who holds a key.
type State int

const (
	// Claimed means the key was absent (or expired) and the caller now holds
	// it: the key is Pending until the caller commits or releases it, or until
	// the claim's TTL (the lease) runs out.
	Claimed State = iota + 1
	// Pending means someone else holds the key and has neither committed nor
	// released it yet.
	Pending
	// Done means the key was committed: whatever it names was processed.
	Done
)

// String returns the state's lower-case name.
func (s State) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Pending:
		return "pending"
	case Done:
		return "done"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Store is the storage contract behind a [Deduper]. Implementations must be
// safe for concurrent use, and each method must be atomic with respect to all
// others on the same key, including callers in other processes that share the
// backend. Keys are arbitrary strings (empty, long, non-ASCII and binary keys
// included). Claim keys (Claim, Commit, Release) and arrival keys (Arrive)
// are separate namespaces: the same string may be used in both without
// interference.
//
// A TTL is a duration from the store's own clock; a store rounds it up to its
// resolution, and a TTL <= 0 is treated as the smallest TTL the store
// supports. An expired key is indistinguishable from an absent one.
//
// Every method takes a context first. A store that does I/O must return
// promptly once ctx is done, with an error that matches ctx.Err(); in-memory
// stores may ignore ctx. After Close every method returns an error matching
// [ErrClosed]; Close itself is idempotent.
//
// The package's dedupetest sub-package is the executable form of this
// contract: every Store must pass dedupetest.Run.
type Store interface {
	// Claim atomically takes key if it is absent: the key becomes Pending
	// for ttl and Claim returns Claimed. Otherwise Claim changes nothing and
	// returns Pending (someone else holds it) or Done (it was committed).
	Claim(ctx context.Context, key string, ttl time.Duration) (State, error)

	// Commit marks key Done for ttl, whatever its current state.
	Commit(ctx context.Context, key string, ttl time.Duration) error

	// Release forgets a Pending key so that the next Claim of it succeeds. A
	// Done key stays Done (a late Release cannot undo a commit); releasing
	// an absent key is not an error.
	Release(ctx context.Context, key string) error

	// Arrive records that member arrived on side under the arrival key key
	// and returns member's 1-based ordinal among the distinct members that
	// arrived on that side, in arrival order. The ordinal is stable: the
	// same member on the same side always gets the same ordinal while the
	// record lives. Sides are independent counters. The record (all sides'
	// counters and members) expires ttl after the LAST arrival; epoch
	// identifies one lifetime of the record, so a record created after
	// expiry has a different epoch and restarts the ordinals at 1.
	Arrive(ctx context.Context, key, side, member string, ttl time.Duration) (ordinal int64, epoch string, err error)

	// Close releases the store's resources. It is idempotent; afterwards
	// every method returns an error matching ErrClosed.
	Close(ctx context.Context) error
}

// OpKind names the [Store] method an [Op] stands for.
type OpKind uint8

// The kinds of [Op].
const (
	OpClaim   OpKind = iota + 1 // Store.Claim(Key, TTL): sets State
	OpCommit                    // Store.Commit(Key, TTL)
	OpRelease                   // Store.Release(Key)
	OpArrive                    // Store.Arrive(Key, Side, Member, TTL): sets Ordinal and Epoch
)

// Op is one [Store] call in a [BatchStore] batch: its arguments, and after
// the batch ran, its results. Err is the error the single call would have
// returned; the other results are meaningful only when Err is nil.
type Op struct {
	Kind   OpKind
	Key    string
	Side   string // OpArrive only
	Member string // OpArrive only
	TTL    time.Duration

	State   State  // OpClaim result
	Ordinal int64  // OpArrive result
	Epoch   string // OpArrive result
	Err     error
}

// BatchStore is implemented by a [Store] that can run several calls in one
// round trip (for example a Redis pipeline). The [Deduper] uses it, when the
// store has it, to claim a delivery's keys, record its arrivals and settle
// its lease with fewer round trips; the result is the same as calling the
// Store methods one by one.
type BatchStore interface {
	Store

	// Do runs every op as the Store method its Kind names would, and fills
	// in the op's results and Err. Each op is atomic on its own; the batch
	// as a whole is not, and the ops may run in any order (the Deduper
	// never puts the same key of one namespace twice in a batch). Do
	// returns a non-nil error only when the batch as a whole failed; every
	// op's outcome is then unknown and its Err is set.
	Do(ctx context.Context, ops []Op) error
}

// Peeker is implemented by a [Store] that can read a claim key's state
// locally and cheaply. The [Deduper] uses it to recognise a retry of a
// processed delivery from its delivery key alone ([Deduper.Processed]),
// before the delivery's body is parsed. A store that needs a round trip for
// it should not implement Peeker: every new delivery would pay one more.
type Peeker interface {
	Store

	// Peek returns key's state without changing it or its recency: Pending,
	// Done, or 0 when the key is absent or expired.
	Peek(ctx context.Context, key string) (State, error)
}
