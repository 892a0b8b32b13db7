package dedupe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/normalize"
)

// Defaults for [Config].
const (
	// DefaultRetention covers Svix's retry horizon (about 28 hours) with
	// margin: a retry of a processed delivery is still a duplicate.
	DefaultRetention = 30 * time.Hour
	// DefaultWindow is the pairing window: a legacy and a new arrival of one
	// occurrence key are twins when their occurrence times are at most this
	// far apart. A new event's time is its generatedDate, exact; a legacy
	// delivery's is its first arrival, which follows the occurrence by
	// Codat's queueing and, when the first attempt failed, by up to about
	// 2 minutes of legacy retries. Ten minutes covers that several times
	// over, while two genuine occurrences of one key (same type, company,
	// connection, data type and status) rarely fall within it.
	DefaultWindow = 10 * time.Minute
	// DefaultMaxArrivals is how many arrivals of one side an occurrence key
	// records per window-aligned interval of the pairing window.
	DefaultMaxArrivals = 64
	// DefaultLease is how long a claim holds a key before it expires, so the
	// claim of a crashed process does not block the occurrence forever.
	DefaultLease = 2 * time.Minute
)

// Config tunes a [Deduper]. The zero value and a nil *Config select the
// defaults.
type Config struct {
	// Retention is how long committed keys are remembered (default
	// DefaultRetention), and how long after its occurrence time plus
	// Window an arrival is kept for its twin to pair with.
	Retention time.Duration
	// Window is the pairing window (default DefaultWindow). Every replica
	// sharing a store must use the same Window.
	Window time.Duration
	// MaxArrivals bounds the arrivals one occurrence key records per side
	// and window-aligned interval (default DefaultMaxArrivals). An arrival
	// past it is processed without pairing: its twin may be processed too.
	MaxArrivals int
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
	store       Store
	retention   time.Duration
	window      time.Duration
	lease       time.Duration
	maxArrivals int
	logger      *slog.Logger
	now         func() time.Time
	batch       BatchStore // store, when it runs batches; else nil
	peeker      Peeker     // store, when it peeks; else nil
	lru         *LRU       // store, when it is the in-memory LRU: batches without copying

	unpaired     atomic.Uint64 // arrivals not recorded: too old, or over maxArrivals
	lastOverWarn atomic.Int64  // Unix nanoseconds of the last over-limit warning
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
	if c.Retention < 0 || c.Window < 0 || c.Lease < 0 || c.MaxArrivals < 0 {
		return nil, fmt.Errorf("dedupe: negative value in config (retention %v, window %v, lease %v, max arrivals %d)", c.Retention, c.Window, c.Lease, c.MaxArrivals)
	}
	d := &Deduper{
		store:       store,
		retention:   cmpOr(c.Retention, DefaultRetention),
		window:      cmpOr(c.Window, DefaultWindow),
		lease:       cmpOr(c.Lease, DefaultLease),
		maxArrivals: c.MaxArrivals,
		logger:      c.Logger,
		now:         c.Now,
	}
	if d.maxArrivals == 0 {
		d.maxArrivals = DefaultMaxArrivals
	}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.batch, _ = store.(BatchStore)
	d.peeker, _ = store.(Peeker)
	d.lru, _ = store.(*LRU)
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
	settled  bool
	held     []claim
	elements []int
	deadline time.Time
	heldArr  [4]claim // held's array in the common case
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
	return l.d.settle(ctx, l.held, nil)
}

// Release forgets every key the lease claimed, so a retry of the delivery
// processes it. Arrivals are kept: a retry pairs as before. It
// tries every key and joins the errors. Use a context that is not already
// cancelled.
func (l *Lease) Release(ctx context.Context) error {
	if l == nil || l.settled {
		return nil
	}
	l.settled = true
	return l.d.settle(ctx, nil, l.held)
}

// batchArr is the size of the stack arrays Begin, Skip and settle build
// their store calls in; a larger batch (a read.completed with many
// elements) borrows a buffer from opsPool instead.
const batchArr = 6

// opsBuf is a pooled buffer for batches larger than batchArr.
type opsBuf struct{ ops []Op }

var opsPool = sync.Pool{New: func() any { return new(opsBuf) }}

// maxPooledOps bounds the buffers opsPool keeps.
const maxPooledOps = 256

// opsRoom returns an empty slice with room for n ops: arr's when n fits,
// else the buffer *buf, borrowed from opsPool on first use; the caller
// returns it with releaseOps.
func opsRoom(arr *[batchArr]Op, n int, buf **opsBuf) []Op {
	if n <= batchArr {
		return arr[:0]
	}
	if *buf == nil {
		*buf = opsPool.Get().(*opsBuf)
	}
	b := *buf
	if cap(b.ops) < n {
		b.ops = make([]Op, 0, n)
	}
	return b.ops[:0]
}

// releaseOps returns b (if any) to opsPool, without the keys it held.
func releaseOps(b *opsBuf) {
	if b == nil {
		return
	}
	if cap(b.ops) > maxPooledOps {
		b.ops = nil
	} else {
		clear(b.ops[:cap(b.ops)])
	}
	opsPool.Put(b)
}

// do runs ops: on the LRU in one Do, called directly so that ops stays on
// the caller's stack; on another BatchStore in one Do when there is more
// than one op; else one Store call per op.
func (d *Deduper) do(ctx context.Context, ops []Op) {
	if d.lru != nil {
		_ = d.lru.Do(ctx, ops) // sets every op's Err
		return
	}
	if d.batch != nil && len(ops) > 1 {
		// A copy, so that ops (usually on the caller's stack) does not
		// escape through the interface call.
		batch := append([]Op(nil), ops...)
		err := d.batch.Do(ctx, batch)
		copy(ops, batch)
		if err != nil {
			for i := range ops {
				ops[i].Err = err
			}
		}
		return
	}
	for i := range ops {
		o := &ops[i]
		switch o.Kind {
		case OpClaim:
			o.State, o.Err = d.store.Claim(ctx, o.Key, o.TTL)
		case OpCommit:
			o.Err = d.store.Commit(ctx, o.Key, o.TTL)
		case OpRelease:
			o.Err = d.store.Release(ctx, o.Key)
		case OpArrive:
			o.Pairing, o.Err = d.store.Arrive(ctx, o.Key, o.Arrival)
		}
	}
}

// settle commits the keys of commit and releases those of release, in one
// batch. It tries every key and joins the errors.
func (d *Deduper) settle(ctx context.Context, commit, release []claim) error {
	var (
		arr [batchArr]Op
		buf *opsBuf
	)
	ops := opsRoom(&arr, len(commit)+len(release), &buf)
	for _, c := range commit {
		ops = append(ops, Op{Kind: OpCommit, Key: c.key, TTL: c.ttl})
	}
	for _, c := range release {
		ops = append(ops, Op{Kind: OpRelease, Key: c.key})
	}
	d.do(ctx, ops)
	var cerr, rerr []error
	for i := range ops {
		switch {
		case ops[i].Err == nil:
		case ops[i].Kind == OpCommit:
			cerr = append(cerr, ops[i].Err)
		default:
			rerr = append(rerr, ops[i].Err)
		}
	}
	releaseOps(buf)
	var err error
	if len(cerr) > 0 {
		err = fmt.Errorf("dedupe: commit: %w", errors.Join(cerr...))
	}
	if len(rerr) > 0 {
		err = errors.Join(err, fmt.Errorf("dedupe: release: %w", errors.Join(rerr...)))
	}
	return err
}

// Processed reports whether the delivery known by key (see [Delivery.Key])
// was processed and committed, reading the store without claiming anything,
// so that a retry can be acknowledged before its body is even parsed. It
// reports false when the store does not implement [Peeker], when it fails,
// and for a delivery whose key is its own event id ([Begin] records those
// under the id key): [Deduper.Begin] then decides as usual.
func (d *Deduper) Processed(ctx context.Context, key string) bool {
	if d.peeker == nil || key == "" {
		return false
	}
	st, err := d.peeker.Peek(ctx, deliveryClaimKey(key))
	return err == nil && st == Done
}

// Begin claims del's delivery key, then its exact occurrence keys, records
// its arrivals for pairing, then claims its paired occurrence slots, and
// returns the decision:
//
//   - the delivery key is Done: Duplicate, nothing held;
//   - an exact key is Done (or, when none is Done, Pending elsewhere):
//     Duplicate (or InFlight), decided by the first such key in claim
//     order; the arrivals are recorded all the same;
//   - any slot is Pending elsewhere: InFlight;
//   - every slot is Done: Duplicate;
//   - otherwise Process, holding the claimed keys until Commit or Release.
//
// A Duplicate commits only the delivery's own key, so retries of it are
// cheap duplicates, and releases the other keys Begin claimed; an InFlight
// releases everything Begin claimed.
//
// On a store error Begin releases what it claimed and returns the error
// (the receiver answers 503); the returned Lease is then nil.
func (d *Deduper) Begin(ctx context.Context, del Delivery) (*Lease, error) {
	// The delivery key alone decides retries, so it is claimed before the
	// other keys are derived: a retried duplicate costs one claim and one
	// small allocation.
	dk := deliveryKey(del)
	ev := del.Event
	sd := side(ev)
	first := firstKey(ev, sd, dk)
	one := [1]Op{{Kind: OpClaim, Key: first, TTL: d.lease}}
	d.do(ctx, one[:])
	switch st, err := one[0].State, one[0].Err; {
	case err != nil:
		return nil, fmt.Errorf("dedupe: claim: %w", err)
	case st == Done:
		return duplicateLease, nil
	case st == Pending:
		return inFlightLease, nil
	}
	l := &Lease{d: d, outcome: Process, deadline: d.now().Add(d.lease)}
	l.held = append(l.heldArr[:0], claim{first, d.retention})
	if sd == "" {
		return l, nil
	}
	var (
		kb       keyBuf // every other key, in one allocation
		exactArr [3]string
		pairArr  [2]pair
	)
	p := buildPlan(&kb, ev, dk, first, exactArr[:0], pairArr[:0])
	if n := 1 + len(p.exact) + len(p.pairs); n > cap(l.held) {
		l.held = append(make([]claim, 0, n), l.held...)
	}

	// One batch: claim the exact keys and record every arrival. Arrivals
	// are recorded whatever the exact keys say, before any slot is
	// claimed, so that each delivery takes its place on its side when it
	// first arrives, and a retry finds that arrival again (see the package
	// documentation).
	var (
		arr [batchArr]Op
		buf *opsBuf // both batches' room when they outgrow arr
	)
	defer func() { releaseOps(buf) }()
	a, recordable := d.arrival(ev, sd)
	ops := opsRoom(&arr, len(p.exact)+len(p.pairs), &buf)
	for _, k := range p.exact {
		ops = append(ops, Op{Kind: OpClaim, Key: k, TTL: d.lease})
	}
	ops = d.arrive(ops, &kb, &p, a, recordable, ev)
	d.do(ctx, ops)
	decided, failed := Process, "claim"
	var errs []error
	for i := range ops {
		o := &ops[i]
		switch {
		case o.Err != nil:
			if len(errs) == 0 && o.Kind == OpArrive {
				failed = "arrive"
			}
			errs = append(errs, o.Err)
		case o.Kind == OpArrive:
			pr := &p.pairs[i-len(p.exact)]
			pr.slot = slotKey(&kb, pr, sd, o.Pairing)
			if o.Pairing.Epoch == "" {
				d.overLimit(ev)
			}
		case o.State == Claimed:
			l.held = append(l.held, claim{o.Key, d.retention})
		case decided != Process:
		case o.State == Done:
			// Processed through an exact key (a twin with the same id,
			// push operation key, syncId or report id).
			decided = Duplicate
		default:
			decided = InFlight
		}
	}
	if len(errs) > 0 {
		return d.fail(ctx, l, failed, errs)
	}
	if decided != Process {
		return d.decide(ctx, l, decided)
	}
	if len(p.pairs) == 0 {
		return l, nil
	}

	// One batch: claim every slot.
	ops = opsRoom(&arr, len(p.pairs), &buf)
	for i := range p.pairs {
		ops = append(ops, Op{Kind: OpClaim, Key: p.pairs[i].slot, TTL: d.lease})
	}
	d.do(ctx, ops)
	// A slot lives as long as an arrival that shares it may still come.
	slotTTL := 2*d.window + d.retention
	claimed, readsClaimed := 0, 0
	for i := range ops {
		o := &ops[i]
		switch {
		case o.Err != nil:
			errs = append(errs, o.Err)
		case o.State == Claimed:
			l.held = append(l.held, claim{o.Key, slotTTL})
			claimed++
			if p.pairs[i].element >= 0 {
				readsClaimed++
			}
		case o.State == Pending:
			decided = InFlight
		}
		// Done: this occurrence (or element) was processed through its twin.
	}
	switch {
	case len(errs) > 0:
		return d.fail(ctx, l, "claim", errs)
	case decided != Process:
		return d.decide(ctx, l, decided)
	case claimed == 0:
		return d.decide(ctx, l, Duplicate)
	}
	if readsClaimed < p.reads {
		l.elements = make([]int, 0, readsClaimed)
		for i := range ops {
			if ops[i].State == Claimed && p.pairs[i].element >= 0 {
				l.elements = append(l.elements, p.pairs[i].element)
			}
		}
	}
	return l, nil
}

// decide settles l as o (Duplicate or InFlight). A Duplicate commits only
// the delivery's own key: the other keys it holds were claimed on behalf
// of an occurrence that turned out to be processed through another key
// (its twin's exact id or a paired slot), and committing them would mark a
// different occurrence processed when pairing and exact ids disagree.
func (d *Deduper) decide(ctx context.Context, l *Lease, o Outcome) (*Lease, error) {
	l.outcome, l.settled, l.elements = o, true, nil
	var err error
	if o == Duplicate {
		err = d.settle(ctx, l.held[:1], l.held[1:])
	} else {
		err = d.settle(ctx, nil, l.held)
	}
	l.held = nil
	if err != nil {
		return nil, err
	}
	return l, nil
}

// fail releases what l holds after a store error and returns the error.
func (d *Deduper) fail(ctx context.Context, l *Lease, op string, errs []error) (*Lease, error) {
	if rerr := d.settle(context.WithoutCancel(ctx), nil, l.held); rerr != nil {
		d.logger.Warn("dedupe: releasing claims after a store error failed; they expire with their lease",
			slog.Any("error", rerr))
	}
	return nil, fmt.Errorf("dedupe: %s: %w", op, errors.Join(errs...))
}

// Skip records the arrival of a delivery that a flag switched off, without
// claiming anything: its occurrences pair with their twins as if it had
// been processed, so the other endpoint's twins find a free slot, and a
// later replay of the same delivery is processed (in its remembered slots)
// unless a twin was.
func (d *Deduper) Skip(ctx context.Context, del Delivery) error {
	dk := deliveryKey(del)
	ev := del.Event
	sd := side(ev)
	if sd == "" {
		return nil
	}
	var (
		kb       keyBuf
		exactArr [3]string
		pairArr  [2]pair
	)
	p := buildPlan(&kb, ev, dk, firstKey(ev, sd, dk), exactArr[:0], pairArr[:0])
	var (
		arr [batchArr]Op
		buf *opsBuf
	)
	defer func() { releaseOps(buf) }()
	a, recordable := d.arrival(ev, sd)
	ops := d.arrive(opsRoom(&arr, len(p.pairs), &buf), &kb, &p, a, recordable, ev)
	d.do(ctx, ops)
	for i := range ops {
		if ops[i].Err != nil {
			return fmt.Errorf("dedupe: skip: %w", ops[i].Err)
		}
		if ops[i].Pairing.Epoch == "" {
			d.overLimit(ev)
		}
	}
	return nil
}

// arrival returns the arrival of ev's occurrences on side sd (without its
// member) and whether it can still be recorded. Its occurrence time is a
// new event's generatedDate (identical across Svix retries, resends and
// replays), else now: a legacy delivery's first arrival (its retries find
// that arrival again by their member). A date in the future counts as now.
func (d *Deduper) arrival(ev *normalize.Event, sd string) (Arrival, bool) {
	now := d.now()
	at := now
	if t, ok := generated(ev); ok && t.Before(now) {
		at = t
	}
	ttl := at.Add(d.window + d.retention).Sub(now)
	return Arrival{Side: sd, At: at, Window: d.window, TTL: ttl, Limit: d.maxArrivals}, ttl > 0
}

// generated returns ev's generatedDate, when it has one that parses (an
// unqualified time is UTC).
func generated(ev *normalize.Event) (time.Time, bool) {
	if ev.GeneratedDate == "" {
		return time.Time{}, false
	}
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, ev.GeneratedDate); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// arrive appends to ops an OpArrive of a for each of p's pairs; when a
// cannot be recorded (its occurrence is older than Window plus Retention),
// it appends none and gives every pair a slot of its own instead.
func (d *Deduper) arrive(ops []Op, kb *keyBuf, p *plan, a Arrival, recordable bool, ev *normalize.Event) []Op {
	for i := range p.pairs {
		pr := &p.pairs[i]
		if !recordable {
			pr.slot = slotKey(kb, pr, a.Side, Pairing{})
			continue
		}
		a.Member = pr.member
		ops = append(ops, Op{Kind: OpArrive, Key: pr.occ, Arrival: a})
	}
	if !recordable && len(p.pairs) > 0 {
		d.unpaired.Add(uint64(len(p.pairs)))
		d.logger.Debug("dedupe: an occurrence too old to pair is processed on its own",
			slog.String("event_type", ev.Type), slog.String("generated", ev.GeneratedDate))
	}
	return ops
}

// overLimit counts an arrival that Config.MaxArrivals kept from being
// recorded, and warns (at most once per EvictionWarnInterval).
func (d *Deduper) overLimit(ev *normalize.Event) {
	n := d.unpaired.Add(1)
	now := time.Now().UnixNano()
	last := d.lastOverWarn.Load()
	if last != 0 && now-last < int64(EvictionWarnInterval) || !d.lastOverWarn.CompareAndSwap(last, now) {
		return
	}
	d.logger.Warn("dedupe: an occurrence key had more arrivals in one pairing window than Config.MaxArrivals; the arrival is processed without pairing, so its twin may be processed too",
		slog.String("event_type", ev.Type), slog.String("company_id", ev.CompanyID),
		slog.Int("max_arrivals", d.maxArrivals), slog.Uint64("unpaired_total", n))
}

// Unpaired reports how many arrivals were processed without pairing because
// they could not be recorded: over [Config.MaxArrivals], or older than
// Window plus Retention. Each may be processed once more by its twin.
func (d *Deduper) Unpaired() uint64 { return d.unpaired.Load() }
