package deduper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/readiness"
	"github.com/codathook/codathook/normalize"
)

// Defaults for the fields of [dedupe.Config].
const (
	// DefaultRetention covers Svix's retry horizon with margin: a retry of
	// a processed delivery is still a duplicate, and a late twin still
	// finds its arrival. Svix's 8 attempts follow delays of 5 s, 5 min,
	// 30 min, 2 h, 5 h, 10 h and 10 h (27 h 35 min in all, Codat's
	// "28-hour period"), each with ±20 % jitter, so the last can come
	// 33 h 6 min after the first. (It was 30 hours until the migration
	// soak's seeds 20 and 30 met an eighth attempt 30 h 49 min after its
	// generatedDate, whose twin was then processed again.)
	DefaultRetention = 34 * time.Hour
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

// Deduper decides, per delivery, whether its occurrences still need
// processing, using a [Store] shared by every replica. It is safe for
// concurrent use. The package documentation describes the keys and the
// pairing rules.
type Deduper struct {
	store       dedupe.Store
	retention   time.Duration
	window      time.Duration
	lease       time.Duration
	maxArrivals int
	logger      *slog.Logger
	now         func() time.Time
	batch       dedupe.BatchStore // store, when it runs batches; else nil
	lru         *dedupe.LRU       // store, when it is the in-memory LRU: batches without copying
	whole       bool              // Begin sends one batch: batch is a networked store
	grouped     bool              // keys start with the delivery's group: a shared store

	unpaired     atomic.Uint64 // arrivals not recorded: too old, or over maxArrivals
	lastOverWarn atomic.Int64  // Unix nanoseconds of the last over-limit warning

	ledger    *readiness.Ledger // the migration ledger
	nextSweep atomic.Int64      // Unix nanoseconds before which deliveries start no sweep
	sweeps    sync.WaitGroup    // sweeps running in the background
}

// New returns a Deduper over store. It fails on a nil store or a negative
// duration in cfg; a nil cfg selects the defaults.
func New(store dedupe.Store, cfg *dedupe.Config) (*Deduper, error) {
	if store == nil {
		return nil, errors.New("dedupe: nil store")
	}
	var c dedupe.Config
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
	d.batch, _ = store.(dedupe.BatchStore)
	d.lru, _ = store.(*dedupe.LRU)
	d.whole = d.batch != nil && d.lru == nil
	d.grouped = d.lru == nil
	d.ledger = readiness.New(d.window, Grace, d.now(), d.lru == nil)
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
	// Claim, when not empty, is Key's [DeliveryClaim], built already by
	// the caller (see [MessageKeys]); Begin then uses it as it is.
	Claim string
}

// settle commits the keys of commit and releases those of release, in one
// batch. It tries every key and joins the errors.
func (d *Deduper) settle(ctx context.Context, commit, release []claim) error {
	var (
		arr [batchArr]dedupe.Op
		buf *opsBuf
	)
	ops := opsRoom(&arr, len(commit)+len(release), &buf)
	for _, c := range commit {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpCommit, Key: c.key, TTL: c.ttl})
	}
	for _, c := range release {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpRelease, Key: c.key})
	}
	d.do(ctx, ops)
	var cerr, rerr []error
	for i := range ops {
		switch {
		case ops[i].Err == nil:
		case ops[i].Kind == dedupe.OpCommit:
			cerr = append(cerr, ops[i].Err)
		default:
			rerr = append(rerr, ops[i].Err)
		}
	}
	releaseOps(buf)
	var err error
	if len(cerr) > 0 {
		err = errors.Join(cerr...)
	}
	if len(rerr) > 0 {
		err = errors.Join(append([]error{err}, rerr...)...)
	}
	return err
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
	dk := deliveryKey(del)
	ev := del.Event
	sd := side(ev)
	var kb keyBuf // every key after the first, in one allocation
	if d.grouped {
		kb.setGroup(ev)
	}
	first := firstKey(kb.prefix(), ev, sd, dk, del.Claim)
	// On a networked store the whole Begin is one batch, the delivery key
	// its gate (one round trip; the store runs the rest only for a new
	// delivery). So it is on the LRU for a signed message (del.Claim set):
	// the receiver has answered its processed retries already, from
	// [Deduper.Processed]. Elsewhere the delivery key is claimed alone
	// first, so that a retried duplicate costs one claim and one small
	// allocation before the other keys are even derived.
	whole := (d.whole || d.lru != nil && del.Claim != "") && sd != ""
	if !whole {
		one := [1]dedupe.Op{{Kind: dedupe.OpClaim, Key: first, TTL: d.lease}}
		d.do(ctx, one[:])
		if l, err := gated(&one[0]); l != nil || err != nil {
			return l, err
		}
	}
	now := d.now() // read once: the lease deadline, the arrival time
	l := &Lease{d: d, outcome: Process, deadline: now.Add(d.lease)}
	l.held = append(l.heldArr[:0], claim{first, d.retention})
	if sd == "" {
		return l, nil
	}
	var (
		exactArr [3]string
		pairArr  [2]pair
		auditArr [1]pair
	)
	p := buildPlan(&kb, ev, dk, first, exactArr[:0], pairArr[:0], auditArr[:0])
	if n := 1 + len(p.exact) + len(p.pairs); n > cap(l.held) {
		l.held = append(make([]claim, 0, n), l.held...)
	}

	// One batch: claim the exact keys and record every arrival (and, on a
	// networked store, claim the delivery key first and each arrival's
	// slot as soon as it is known). Arrivals are recorded whatever the
	// exact keys say, before any slot is claimed, so that each delivery
	// takes its place on its side when it first arrives, and a retry
	// finds that arrival again (see the package documentation).
	var (
		arr [batchArr]dedupe.Op
		buf *opsBuf // every batch's room when it outgrows arr
	)
	defer func() { releaseOps(buf) }()
	a, recordable := d.arrival(ev, sd, now)
	if n := len(p.pairs) + len(p.audit); n > len(l.reports.arr) {
		l.reports.list = make([]readiness.Report, 0, n)
	}
	ops := opsRoom(&arr, 1+len(p.exact)+len(p.pairs)+len(p.audit), &buf)
	if whole {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: first, TTL: d.lease, Gate: true})
	}
	exact := len(ops)
	for _, k := range p.exact {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: k, TTL: d.lease})
	}
	arrivals := len(ops)
	// A batch store claims each arrival's slot in the batch
	// (Op.SlotPrefix); the LRU does so in the same lock.
	ops = d.arrive(ops, &kb, &p, a, recordable, ev, d.batch != nil)
	if whole && !recordable {
		// Slots of their own, known already: claimed in the same batch.
		for i := range p.pairs {
			ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: p.pairs[i].slot, TTL: d.lease})
		}
	}
	d.do(ctx, ops)
	if whole {
		if l, err := gated(&ops[0]); l != nil || err != nil {
			return l, err
		}
	}
	// A slot lives as long as an arrival that shares it may still come.
	slotTTL := 2*d.window + d.retention
	decided := Process
	var errs []error
	for i := exact; i < len(ops); i++ {
		o := &ops[i]
		var pr *pair
		switch j := i - arrivals; {
		case i < arrivals:
		case recordable && j < len(p.pairs):
			pr = &p.pairs[j]
		case !recordable:
			pr = &p.pairs[j]
			pr.claimed, pr.state, pr.err = true, o.State, o.Err
			o = nil
		}
		switch {
		case o == nil:
		case o.Err != nil:
			errs = append(errs, o.Err)
		case o.Kind == dedupe.OpArrive:
			l.reports.add(ev, sd, o)
			if pr == nil {
				break // an audit arrival
			}
			pr.slot = slotKey(&kb, pr, sd, o.Pairing)
			if o.Pairing.Epoch == "" {
				d.overLimit(ev)
			} else if o.SlotPrefix != "" {
				pr.claimed, pr.state = true, o.State
			}
		case o.State == dedupe.Claimed:
			l.held = append(l.held, claim{o.Key, d.retention})
		case decided != Process:
		case o.State == dedupe.Done:
			// Processed through an exact key (a twin with the same id,
			// push operation key, syncId or report id).
			decided, l.match, l.matchKey = Duplicate, matchOf(o.Key), o.Key
		default:
			decided, l.match, l.matchKey = InFlight, matchOf(o.Key), o.Key
		}
	}
	// Slots claimed in the batch are held, whatever was decided, so that
	// settling releases them.
	for i := range p.pairs {
		if pr := &p.pairs[i]; pr.claimed && pr.err == nil && pr.state == dedupe.Claimed {
			l.held = append(l.held, claim{pr.slot, slotTTL})
		}
	}
	if len(errs) > 0 {
		return d.fail(ctx, l, errs)
	}
	if decided != Process {
		return d.decide(ctx, l, decided)
	}

	// One more batch for the slots not claimed yet: every slot on a
	// store without batches; on a batch store only the slots of arrivals
	// that were not recorded.
	ops = opsRoom(&arr, len(p.pairs), &buf)
	for i := range p.pairs {
		if !p.pairs[i].claimed {
			ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: p.pairs[i].slot, TTL: d.lease})
		}
	}
	if len(ops) > 0 {
		d.do(ctx, ops)
		j := 0
		for i := range p.pairs {
			pr := &p.pairs[i]
			if pr.claimed {
				continue
			}
			pr.claimed, pr.state, pr.err = true, ops[j].State, ops[j].Err
			j++
			if pr.err == nil && pr.state == dedupe.Claimed {
				l.held = append(l.held, claim{pr.slot, slotTTL})
			}
		}
	}
	claimed, readsClaimed := 0, 0
	for i := range p.pairs {
		pr := &p.pairs[i]
		switch {
		case pr.err != nil:
			errs = append(errs, pr.err)
		case pr.state == dedupe.Claimed:
			claimed++
			if pr.element >= 0 {
				readsClaimed++
			}
		case pr.state == dedupe.Pending:
			if decided != InFlight {
				decided, l.match, l.matchKey = InFlight, MatchTwin, pr.slot
			}
		case l.matchKey == "":
			// Done: this occurrence (or element) was processed through its
			// twin.
			l.matchKey = pr.slot
		}
	}
	switch {
	case len(errs) > 0:
		return d.fail(ctx, l, errs)
	case len(p.pairs) == 0:
		return l, nil
	case decided != Process:
		return d.decide(ctx, l, decided)
	case claimed == 0:
		l.match = MatchTwin
		return d.decide(ctx, l, Duplicate)
	}
	l.matchKey = ""
	if readsClaimed < p.reads {
		l.elements = make([]int, 0, readsClaimed)
		for i := range p.pairs {
			if pr := &p.pairs[i]; pr.state == dedupe.Claimed && pr.element >= 0 {
				l.elements = append(l.elements, pr.element)
			}
		}
	}
	return l, nil
}

// gated returns the settled lease of a delivery whose first key (claimed
// by o) was not Claimed, or o's error; nil and nil when it was Claimed.
func gated(o *dedupe.Op) (*Lease, error) {
	id := strings.HasPrefix(ungrouped(o.Key), kindID)
	switch st, err := o.State, o.Err; {
	case err != nil:
		return nil, err
	case st == dedupe.Done && id:
		return duplicateEventLease, nil
	case st == dedupe.Done:
		return duplicateLease, nil
	case st == dedupe.Pending && id:
		return inFlightEventLease, nil
	case st == dedupe.Pending:
		return inFlightLease, nil
	}
	return nil, nil
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
	if o == Duplicate {
		d.record(l.reports.list, false, d.now())
	}
	return l, nil
}

// fail releases what l holds after a store error and returns the error.
func (d *Deduper) fail(ctx context.Context, l *Lease, errs []error) (*Lease, error) {
	if rerr := d.settle(context.WithoutCancel(ctx), nil, l.held); rerr != nil {
		d.logger.Warn("dedupe: releasing claims after a store error failed; they expire with their lease",
			slog.Any("error", rerr))
	}
	return nil, errors.Join(errs...)
}
