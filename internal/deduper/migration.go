package deduper

import (
	"context"
	"log/slog"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/readiness"
	"github.com/codathook/codathook/normalize"
)

// Grace is how long after the pairing window the migration ledger waits
// for a twin before it counts an arrival unmatched: it covers a new
// delivery's first Svix retries (5 seconds, then 5 minutes) after its
// generatedDate.
const Grace = 5*time.Minute + 10*time.Second

// sweepEvery is the least time between two sweeps started by deliveries.
const sweepEvery = time.Second

// sweepTimeout bounds a sweep's re-check of a shared store.
const sweepTimeout = 5 * time.Second

// reports collects the migration ledger's reports of one delivery, in the
// common case without an allocation of its own.
type reports struct {
	list []readiness.Report
	arr  [1]readiness.Report
}

// add appends the report of op, an OpArrive of ev on side sd, when op
// recorded an arrival.
func (rs *reports) add(ev *normalize.Event, sd string, op *dedupe.Op) {
	if op.Kind != dedupe.OpArrive || op.Err != nil || op.Pairing.Epoch == "" {
		return
	}
	if rs.list == nil {
		rs.list = rs.arr[:0]
	}
	side := readiness.SideNew
	if sd == string(normalize.FormatLegacy) {
		side = readiness.SideLegacy
	}
	rs.list = append(rs.list, readiness.Report{
		ID:     readiness.ID{Occ: op.Key, Epoch: op.Pairing.Epoch, Slot: op.Pairing.Slot},
		Type:   ev.Type,
		Side:   side,
		Member: op.Arrival.Member,
		At:     op.Arrival.At,
		Paired: op.Pairing.Paired,
	})
}

// record hands a settled delivery's reports to the ledger at time t (the
// deduper's clock), and starts a sweep when one is due.
func (d *Deduper) record(list []readiness.Report, skipped bool, t time.Time) {
	if len(list) == 0 {
		return
	}
	if skipped {
		for i := range list {
			list[i].Skipped = true
		}
	}
	d.ledger.Record(t, list...)
	now := t.UnixNano()
	next := d.nextSweep.Load()
	if now < next || !d.ledger.Due(t) || !d.nextSweep.CompareAndSwap(next, now+int64(sweepEvery)) {
		return
	}
	if d.lru != nil {
		// Nothing to re-check: this process saw every arrival.
		d.ledger.Sweep(context.Background(), t, nil, false)
		return
	}
	// The clock is read here, never in the goroutine: a caller's clock
	// ([dedupe.Config.Now]) need not expect reads from other goroutines.
	d.sweeps.Add(1)
	go func() {
		defer d.sweeps.Done()
		ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
		defer cancel()
		d.ledger.Sweep(ctx, t, d.recheck, false)
	}()
}

// Migration closes the pairing windows that are due (re-checking a shared
// store, under ctx) and returns the migration ledger.
func (d *Deduper) Migration(ctx context.Context) readiness.Snapshot {
	now := d.now()
	if d.lru != nil {
		d.ledger.Sweep(ctx, now, nil, true)
	} else {
		d.ledger.Sweep(ctx, now, d.recheck, true)
	}
	return d.ledger.Snapshot(now)
}

// Wait waits for the sweeps that deliveries started.
func (d *Deduper) Wait() { d.sweeps.Wait() }

// recheck asks a shared store, for each unpaired arrival whose window
// closed, whether it is paired now: another replica may have received its
// twin. Arrive with the same side, member and time is the Retry rule of
// [dedupe.Arrival]: it records nothing and returns the arrival's pairing
// as it is now. An arrival the store no longer has (it lost its data) is
// recorded again, as a retry of its delivery would.
func (d *Deduper) recheck(ctx context.Context, now time.Time, items []readiness.Report, paired []bool) []bool {
	ops := make([]dedupe.Op, 0, len(items))
	for _, it := range items {
		side := string(normalize.FormatNew)
		if it.Side == readiness.SideLegacy {
			side = string(normalize.FormatLegacy)
		}
		ttl := it.At.Add(d.window + d.retention).Sub(now)
		ops = append(ops, dedupe.Op{Kind: dedupe.OpArrive, Key: it.ID.Occ, Arrival: dedupe.Arrival{
			Side: side, Member: it.Member, At: it.At, Window: d.window, TTL: max(ttl, time.Millisecond), Limit: d.maxArrivals,
		}})
	}
	d.do(ctx, ops)
	failed := 0
	for i := range ops {
		if ops[i].Err != nil {
			failed++
			continue
		}
		paired[i] = ops[i].Pairing.Paired
	}
	if failed > 0 {
		d.logger.Warn("dedupe: the migration ledger could not ask the store whether arrivals found their twin on another replica; they are counted unmatched",
			slog.Int("arrivals", failed), slog.Any("error", firstErr(ops)))
	}
	return paired
}

func firstErr(ops []dedupe.Op) error {
	for i := range ops {
		if ops[i].Err != nil {
			return ops[i].Err
		}
	}
	return nil
}
