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
// A key may start with a group: "{", at least one byte other than braces,
// "}". The Deduper gives every key of one delivery, and every key its
// retries and its twin in the other format touch, the same group (derived
// from the company), so that a store spreading keys over servers can keep
// them together: redisstore uses the group as the Redis Cluster hash tag,
// so that one script runs a delivery's whole batch. A group is part of the
// key like any other bytes; stores that do not spread keys ignore it.
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

	// Arrive records the arrival a under the occurrence key key and pairs
	// it with at most one arrival of another side, as [Arrival] describes,
	// atomically with every other Arrive of key.
	Arrive(ctx context.Context, key string, a Arrival) (Pairing, error)

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
	OpArrive                    // Store.Arrive(Key, Arrival): sets Pairing
)

// Op is one [Store] call in a [BatchStore] batch: its arguments, and after
// the batch ran, its results. Err is the error the single call would have
// returned; the other results are meaningful only when Err is nil.
type Op struct {
	Kind    OpKind
	Key     string
	TTL     time.Duration // OpClaim and OpCommit; OpArrive: its slot claim's (SlotPrefix)
	Arrival Arrival       // OpArrive

	// Gate (OpClaim) makes the ops after this one in the batch depend on
	// it: they run after it, and only when it returns Claimed; otherwise
	// each of them gets Err [ErrNotRun]. With it one round trip claims a
	// delivery's own key and, only when the delivery is new, everything
	// else it needs.
	Gate bool
	// SlotPrefix (OpArrive), when not empty, makes the op also claim the
	// arrival's slot once Arrive has returned its Pairing: the claim key
	// SlotPrefix + Epoch + "#" + Slot (in decimal), for TTL, with State
	// set as an OpClaim of that key would set it. The claim need not be
	// atomic with the arrival. An arrival that was not recorded (Epoch "")
	// claims nothing and leaves State zero.
	SlotPrefix string

	State   State   // OpClaim result; OpArrive: its slot claim's (SlotPrefix)
	Pairing Pairing // OpArrive result
	Err     error
}

// ErrNotRun is the Err of each op of a batch that did not run because a
// [Op.Gate] claim before it did not return Claimed.
var ErrNotRun = errors.New("dedupe: not run: an earlier gate claim was not Claimed")

// Arrival is one delivery's arrival under an occurrence key, for
// [Store.Arrive]. A store keeps, per occurrence key, the arrivals it
// recorded, each with its side, member, occurrence time and slot, and
// whether it is paired. Times are compared in whole milliseconds since the
// Unix epoch (At.UnixMilli(); Window rounded up to a millisecond).
//
// Arrive applies the first rule that matches:
//
//  1. Retry: if Member already arrived on Side under the key at an
//     occurrence time at most Window from At, Arrive records nothing and
//     returns that arrival's pairing (its slot; Paired as it is now). Of
//     several such arrivals, the nearest to At wins, then the earlier.
//  2. Limit: if Limit arrivals of Side are already recorded under the key
//     whose times fall in the same window-aligned interval as At (the
//     interval [k*Window, (k+1)*Window) that holds At), Arrive records
//     nothing and returns the zero Pairing (Epoch "").
//  3. Twin: among the unpaired arrivals of other sides whose times are at
//     most Window from At, the nearest (then the earlier time, then the
//     first recorded) becomes paired with this one: the arrival is
//     recorded, paired, with that arrival's slot, and Paired is true.
//  4. Otherwise the arrival is recorded, unpaired, with a new slot, one that
//     no other arrival of the key ever had (also after earlier records of
//     the key expired).
//
// So two arrivals of one side never share a slot, an arrival shares its
// slot with at most one of another side, and an arrival is affected only by
// arrivals whose times are at most Window from its own.
//
// A recorded arrival is kept at least TTL from the store's now, and at most
// until Window after that; an expired arrival is as if it never arrived.
type Arrival struct {
	Side   string        // the format the delivery came in ("legacy", "new")
	Member string        // the delivery on its side; a retry is the same member
	At     time.Time     // the occurrence time
	Window time.Duration // the pairing window (> 0)
	TTL    time.Duration // how long the arrival must be kept, from now
	Limit  int           // the most arrivals of one side per window-aligned interval (> 0)
}

// Pairing is the result of [Store.Arrive]. Epoch and Slot name the
// arrival's slot, unique among the slots of its key: the claim that
// processes the occurrence once, whichever side gets there first. Epoch is
// empty when the arrival was not recorded (the Limit rule).
type Pairing struct {
	Epoch  string
	Slot   int64
	Paired bool // the slot is shared with an arrival of another side
}

// BatchStore is implemented by a [Store] that can run several calls in one
// round trip (for example a Redis pipeline). The [Deduper] uses it, when the
// store has it, to claim a delivery's keys, record its arrivals and settle
// its lease with fewer round trips; the result is the same as calling the
// Store methods one by one.
type BatchStore interface {
	Store

	// Do runs every op as the Store method its Kind names would, and fills
	// in the op's results and Err, honouring [Op.Gate] and
	// [Op.SlotPrefix]. Each op is atomic on its own; the batch as a whole
	// is not, and the ops may run in any order except that a Gate claim
	// runs before the ops after it (the Deduper never puts the same key of
	// one namespace twice in a batch). Do returns a non-nil error only
	// when the batch as a whole failed; every op's outcome is then unknown
	// and its Err is set. A store that runs a batch as one pipeline can
	// honour Gate and SlotPrefix with [DoInSteps].
	Do(ctx context.Context, ops []Op) error
}
