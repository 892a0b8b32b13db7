package deduper

import (
	"context"
	"log/slog"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/readiness"
	"github.com/codathook/codathook/normalize"
)

// arrival returns the arrival of ev's occurrences on side sd (without its
// member) and whether it can still be recorded. Its occurrence time is a
// new event's generatedDate (identical across Svix retries, resends and
// replays), else now: a legacy delivery's first arrival (its retries find
// that arrival again by their member). A date in the future counts as now.
func (d *Deduper) arrival(ev *normalize.Event, sd string, now time.Time) (dedupe.Arrival, bool) {
	at := now
	if t, ok := generated(ev); ok && t.Before(now) {
		at = t
	}
	ttl := at.Add(d.window + d.retention).Sub(now)
	return dedupe.Arrival{Side: sd, At: at, Window: d.window, TTL: ttl, Limit: d.maxArrivals}, ttl > 0
}

// generated returns ev's generatedDate, when it has one that parses (an
// unqualified time is UTC).
func generated(ev *normalize.Event) (time.Time, bool) {
	if ev.GeneratedDate == "" {
		return time.Time{}, false
	}
	if t, ok := utcTime(ev.GeneratedDate); ok {
		return t, true
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
//
// It then appends an OpArrive for each of p's audit arrivals (when a can be
// recorded): they feed the migration ledger and claim nothing.
//
// With claim, each pair's arrival also claims its slot (SlotPrefix).
func (d *Deduper) arrive(ops []dedupe.Op, kb *keyBuf, p *plan, a dedupe.Arrival, recordable bool, ev *normalize.Event, claim bool) []dedupe.Op {
	for i := range p.pairs {
		pr := &p.pairs[i]
		if !recordable {
			pr.slot = slotKey(kb, pr, a.Side, dedupe.Pairing{})
			continue
		}
		a.Member = pr.member
		op := dedupe.Op{Kind: dedupe.OpArrive, Key: pr.occ, Arrival: a}
		if claim {
			op.SlotPrefix, op.TTL = pr.stem, d.lease
		}
		ops = append(ops, op)
	}
	for i := range p.audit {
		if !recordable {
			break
		}
		a.Member = p.audit[i].member
		ops = append(ops, dedupe.Op{Kind: dedupe.OpArrive, Key: p.audit[i].occ, Arrival: a})
	}
	if !recordable && len(p.pairs) > 0 {
		d.unpaired.Add(uint64(len(p.pairs)))
		d.logger.Debug("dedupe: an occurrence too old to pair is processed on its own",
			slog.String("event_type", ev.Type), slog.String("generated", ev.GeneratedDate))
	}
	return ops
}

// overLimit counts an arrival that Config.MaxArrivals kept from being
// recorded, and warns (at most once per warnInterval).
func (d *Deduper) overLimit(ev *normalize.Event) {
	n := d.unpaired.Add(1)
	now := time.Now().UnixNano()
	last := d.lastOverWarn.Load()
	if last != 0 && now-last < int64(warnInterval) || !d.lastOverWarn.CompareAndSwap(last, now) {
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
		auditArr [1]pair
	)
	if d.grouped {
		kb.setGroup(ev)
	}
	p := buildPlan(&kb, ev, dk, firstKey(kb.prefix(), ev, sd, dk, del.Claim), exactArr[:0], pairArr[:0], auditArr[:0])
	var (
		arr [batchArr]dedupe.Op
		buf *opsBuf
	)
	defer func() { releaseOps(buf) }()
	a, recordable := d.arrival(ev, sd, d.now())
	ops := d.arrive(opsRoom(&arr, len(p.pairs)+len(p.audit), &buf), &kb, &p, a, recordable, ev, false)
	if len(ops) == 0 {
		return nil
	}
	d.do(ctx, ops)
	for i := range ops {
		if ops[i].Err != nil {
			return ops[i].Err
		}
		if ops[i].Pairing.Epoch == "" && i < len(p.pairs) {
			d.overLimit(ev)
		}
	}
	var rs reports
	if len(ops) > len(rs.arr) {
		rs.list = make([]readiness.Report, 0, len(ops))
	}
	for i := range ops {
		rs.add(ev, sd, &ops[i])
	}
	d.record(rs.list, true, d.now())
	return nil
}

// warnInterval is the least time between two warnings about arrivals over
// the limit.
const warnInterval = time.Minute

// utcTime parses the spelling Codat's generatedDate comes in,
// "2006-01-02T15:04:05Z" with an optional fraction of 1 to 9 digits after
// a dot, as time.Parse(time.RFC3339Nano, s) would, in a tenth of its time.
// It reports false for anything else, and for a day after the 28th (whose
// validity depends on the month): generated then asks time.Parse.
// FuzzUTCTime holds it to time.Parse.
func utcTime(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		if nsec = num(20, len(frac)-1); nsec < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}
