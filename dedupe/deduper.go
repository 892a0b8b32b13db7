package dedupe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/codathook/codathook/normalize"
)

// Defaults for [Config].
const (
	// DefaultRetention covers Svix's retry horizon (about 28 hours) with
	// margin: a retry of a processed delivery is still a duplicate.
	DefaultRetention = 30 * time.Hour
	// DefaultWindow is how long after its last arrival an occurrence key
	// still pairs a legacy delivery with its new twin.
	DefaultWindow = 30 * time.Hour
	// DefaultLease is how long a claim holds a key before it expires, so the
	// claim of a crashed process does not block the occurrence forever.
	DefaultLease = 2 * time.Minute
)

// Config tunes a [Deduper]. The zero value and a nil *Config select the
// defaults.
type Config struct {
	// Retention is how long committed keys are remembered (default
	// DefaultRetention).
	Retention time.Duration
	// Window is the sliding pairing window (default DefaultWindow).
	Window time.Duration
	// Lease is the TTL of a claim (default DefaultLease). A callback that
	// runs longer than Lease may run twice: the receiver's callback timeout
	// must be shorter than Lease.
	Lease time.Duration
	// Logger receives store errors the Deduper cannot return and commits
	// made after their lease expired (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for lease deadlines (default time.Now). Stores keep
	// their own clocks for expiry.
	Now func() time.Time
}

// Deduper decides, per delivery, whether its occurrences still need
// processing, using a [Store] shared by every replica. It is safe for
// concurrent use. The package documentation describes the keys and the
// pairing rules.
type Deduper struct {
	store     Store
	retention time.Duration
	window    time.Duration
	lease     time.Duration
	logger    *slog.Logger
	now       func() time.Time
}

// New returns a Deduper over store. It fails on a nil store or a negative
// duration in cfg; a nil cfg selects the defaults.
func New(store Store, cfg *Config) (*Deduper, error) {
	if store == nil {
		return nil, errors.New("dedupe: nil store")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Retention < 0 || c.Window < 0 || c.Lease < 0 {
		return nil, fmt.Errorf("dedupe: negative duration in config (retention %v, window %v, lease %v)", c.Retention, c.Window, c.Lease)
	}
	d := &Deduper{
		store:     store,
		retention: cmpOr(c.Retention, DefaultRetention),
		window:    cmpOr(c.Window, DefaultWindow),
		lease:     cmpOr(c.Lease, DefaultLease),
		logger:    c.Logger,
		now:       c.Now,
	}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Delivery is one received webhook as the Deduper sees it.
type Delivery struct {
	// Key is the delivery key: the webhook-id (or svix-id) header, stable
	// over Svix retries, resends and replays; else the body id or AlertId.
	// When empty, Event.ID is used, and failing that a digest of Event.Body.
	Key string
	// Event is the normalized delivery; its Format is the pairing side.
	Event *normalize.Event
}

// Outcome is what [Deduper.Begin] decided for a delivery.
type Outcome int

const (
	// Process means the lease holds the delivery's keys: run the callbacks,
	// then Commit on success or Release on failure.
	Process Outcome = iota + 1
	// Duplicate means the delivery, or every occurrence it carries, was
	// already processed: acknowledge it (2xx) without running callbacks.
	Duplicate
	// InFlight means another holder (a concurrent copy, possibly on another
	// replica) is processing it now: answer 503 with Retry-After.
	InFlight
)

// String returns the outcome's lower-case name.
func (o Outcome) String() string {
	switch o {
	case Process:
		return "process"
	case Duplicate:
		return "duplicate"
	case InFlight:
		return "in-flight"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Lease is the result of [Deduper.Begin]: an outcome and, for Process, the
// keys claimed for the delivery. Exactly one of Commit or Release should be
// called for a Process lease; the first call settles the lease and later
// calls do nothing. A Lease is not safe for concurrent use.
type Lease struct {
	d        *Deduper
	outcome  Outcome
	held     []claim
	elements []int
	deadline time.Time
	settled  bool
}

// Settled leases shared by every retried duplicate and in-flight copy
// decided at the delivery key: they hold nothing and are never written.
var (
	duplicateLease = &Lease{outcome: Duplicate, settled: true}
	inFlightLease  = &Lease{outcome: InFlight, settled: true}
)

// Outcome reports the decision.
func (l *Lease) Outcome() Outcome { return l.outcome }

// Elements lists, for a read.completed or read.completed.initial delivery,
// the indexes into Payload.DataTypes still to process, in order. nil means
// all of them (and is the answer for every other event type). It is only
// meaningful when Outcome is Process.
func (l *Lease) Elements() []int { return l.elements }

// Deadline is when the lease's claims expire (zero for a lease that holds
// nothing). Processing that ends later may overlap with another holder's.
func (l *Lease) Deadline() time.Time { return l.deadline }

// Commit marks every key the lease claimed Done, so retries and twins of
// the delivery are duplicates. It tries every key and joins the errors.
// Use a context that is not already cancelled (for example
// context.WithoutCancel of the request's, with a timeout).
func (l *Lease) Commit(ctx context.Context) error {
	if l == nil || l.settled {
		return nil
	}
	l.settled = true
	if late := l.d.now().Sub(l.deadline); late > 0 && len(l.held) > 0 {
		l.d.logger.Warn("dedupe: commit after the lease expired; another holder may have processed the delivery too (raise Config.Lease or shorten the callback timeout)",
			slog.Duration("late", late))
	}
	return l.d.commit(ctx, l.held)
}

// Release forgets every key the lease claimed, so a retry of the delivery
// processes it. Arrival ordinals are kept: a retry pairs as before. It
// tries every key and joins the errors. Use a context that is not already
// cancelled.
func (l *Lease) Release(ctx context.Context) error {
	if l == nil || l.settled {
		return nil
	}
	l.settled = true
	return l.d.release(ctx, l.held)
}

func (d *Deduper) commit(ctx context.Context, keys []claim) error {
	var errs []error
	for _, k := range keys {
		if err := d.store.Commit(ctx, k.key, k.ttl); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("dedupe: commit: %w", errors.Join(errs...))
	}
	return nil
}

func (d *Deduper) release(ctx context.Context, keys []claim) error {
	var errs []error
	for _, k := range keys {
		if err := d.store.Release(ctx, k.key); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("dedupe: release: %w", errors.Join(errs...))
	}
	return nil
}

// Begin claims del's delivery key, then its exact occurrence keys, then its
// paired occurrence slots, and returns the decision:
//
//   - the delivery key is Done: Duplicate, nothing held;
//   - any key is Pending elsewhere: InFlight, and whatever Begin claimed is
//     released again;
//   - an exact key or every slot is Done: Duplicate, and the keys Begin
//     claimed (the delivery key among them) are committed, so retries of
//     this delivery are cheap duplicates;
//   - otherwise Process, holding the claimed keys until Commit or Release.
//
// On a store error Begin releases what it claimed and returns the error
// (the receiver answers 503); the returned Lease is then nil.
func (d *Deduper) Begin(ctx context.Context, del Delivery) (*Lease, error) {
	// The delivery key alone decides retries, so it is claimed before the
	// other keys are derived: a retried duplicate costs one claim.
	dk := deliveryKey(del)
	first := d.deliveryClaim(del, dk)
	switch st, err := d.store.Claim(ctx, first.key, d.lease); {
	case err != nil:
		return nil, fmt.Errorf("dedupe: claim: %w", err)
	case st == Done:
		return duplicateLease, nil
	case st == Pending:
		return inFlightLease, nil
	}
	p := d.plan(del, dk, first)
	l := &Lease{d: d, outcome: Process, deadline: d.now().Add(d.lease), held: []claim{first}}
	fail := func(err error) (*Lease, error) {
		if rerr := d.release(context.WithoutCancel(ctx), l.held); rerr != nil {
			d.logger.Warn("dedupe: releasing claims after a store error failed; they expire with their lease",
				slog.Any("error", rerr))
		}
		return nil, err
	}
	settle := func(o Outcome) (*Lease, error) {
		l.outcome, l.settled, l.elements = o, true, nil
		var err error
		if o == Duplicate {
			// Only the delivery's own key becomes Done. The other keys it
			// holds were claimed on behalf of an occurrence that turned out
			// to be processed through another key (its twin's exact id or a
			// paired slot); committing them would mark a different
			// occurrence processed when pairing and exact ids disagree.
			err = errors.Join(d.commit(ctx, l.held[:1]), d.release(ctx, l.held[1:]))
		} else {
			err = d.release(ctx, l.held)
		}
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	// arrive records the delivery's arrivals for pairing and returns the
	// slot keys.
	arrive := func() ([]string, error) {
		slots := make([]string, len(p.pairs))
		for i, pr := range p.pairs {
			ord, epoch, err := d.store.Arrive(ctx, pr.occ, p.side, pr.member, d.window)
			if err != nil {
				return nil, fmt.Errorf("dedupe: arrive: %w", err)
			}
			slots[i] = slotKey(pr.slot, epoch, ord)
		}
		return slots, nil
	}
	for _, c := range p.claims[1:] {
		st, err := d.store.Claim(ctx, c.key, d.lease)
		if err != nil {
			return fail(fmt.Errorf("dedupe: claim: %w", err))
		}
		switch st {
		case Claimed:
			l.held = append(l.held, c)
		case Done:
			// Processed through an exact key. The arrival still counts for
			// pairing, so the two formats stay aligned.
			if _, err := arrive(); err != nil {
				return fail(err)
			}
			return settle(Duplicate)
		default:
			return settle(InFlight)
		}
	}
	if len(p.pairs) == 0 {
		return l, nil
	}
	// Record every arrival before claiming any slot, so that an early
	// InFlight exit leaves no element of this delivery uncounted: ordinals
	// follow arrival order on each side, not the order of retries.
	slots, err := arrive()
	if err != nil {
		return fail(err)
	}
	slotTTL := max(d.retention, d.window)
	claimed, readsClaimed := 0, 0
	var elements []int
	for i, pr := range p.pairs {
		st, err := d.store.Claim(ctx, slots[i], d.lease)
		if err != nil {
			return fail(fmt.Errorf("dedupe: claim: %w", err))
		}
		switch st {
		case Claimed:
			l.held = append(l.held, claim{slots[i], slotTTL})
			claimed++
			if pr.element >= 0 {
				readsClaimed++
				elements = append(elements, pr.element)
			}
		case Done:
			// This occurrence (or element) was processed through its twin.
		default:
			return settle(InFlight)
		}
	}
	if claimed == 0 {
		return settle(Duplicate)
	}
	if readsClaimed < p.reads {
		l.elements = elements
	}
	return l, nil
}

// Skip records the arrival of a delivery that a flag switched off, without
// claiming anything: its occurrences take their ordinals, so the formats
// stay aligned when the other endpoint processes their twins, and a later
// replay of the same delivery is processed (under its remembered ordinals).
func (d *Deduper) Skip(ctx context.Context, del Delivery) error {
	dk := deliveryKey(del)
	p := d.plan(del, dk, d.deliveryClaim(del, dk))
	for _, pr := range p.pairs {
		if _, _, err := d.store.Arrive(ctx, pr.occ, p.side, pr.member, d.window); err != nil {
			return fmt.Errorf("dedupe: skip: %w", err)
		}
	}
	return nil
}
