package deduper

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/codathook/codathook/dedupe"
)

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

// Match names the kind of key that made a delivery a Duplicate or InFlight.
type Match string

const (
	// MatchMessage: the delivery key, the same message again (a Svix
	// retry, resend or replay, or a legacy retry).
	MatchMessage Match = "message"
	// MatchEvent: the event id, which both formats share when Codat gives
	// them the same id.
	MatchEvent Match = "event"
	// MatchOccurrence: an exact occurrence key, an identifier both formats
	// carry (push operation key, expenses syncId, report id) or a legacy
	// datasetId.
	MatchOccurrence Match = "occurrence"
	// MatchTwin: the paired slot of the same occurrence in the other format.
	MatchTwin Match = "twin"
)

// matchOf names the kind of claim key k.
func matchOf(k string) Match {
	k = ungrouped(k)
	switch {
	case strings.HasPrefix(k, kindID):
		return MatchEvent
	case strings.HasPrefix(k, kindExact), strings.HasPrefix(k, kindDataset):
		return MatchOccurrence
	case strings.HasPrefix(k, kindSlot):
		return MatchTwin
	}
	return MatchMessage
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
	match    Match    // for Duplicate and InFlight: the kind of key that decided
	matchKey string   // and the key itself (when not decided at the delivery key)
	heldArr  [4]claim // held's array in the common case
	reports  reports  // the arrivals, for the migration ledger once committed
}

// Settled leases shared by every retried duplicate and in-flight copy
// decided at the delivery key: they hold nothing and are never written.
var (
	duplicateLease      = &Lease{outcome: Duplicate, settled: true, match: MatchMessage}
	inFlightLease       = &Lease{outcome: InFlight, settled: true, match: MatchMessage}
	duplicateEventLease = &Lease{outcome: Duplicate, settled: true, match: MatchEvent}
	inFlightEventLease  = &Lease{outcome: InFlight, settled: true, match: MatchEvent}
)

// Outcome reports the decision.
func (l *Lease) Outcome() Outcome { return l.outcome }

// Match reports, for a Duplicate or InFlight lease, the kind of key that
// decided it, and the key when it was not the delivery's first key ("" for
// Process).
func (l *Lease) Match() (Match, string) { return l.match, l.matchKey }

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
	now := l.d.now()
	if late := now.Sub(l.deadline); late > 0 && len(l.held) > 0 {
		l.d.logger.Warn("dedupe: commit after the lease expired; another holder may have processed the delivery too (raise Config.Lease or shorten the callback timeout)",
			slog.Duration("late", late))
	}
	if err := l.d.settle(ctx, l.held, nil); err != nil {
		return err
	}
	l.d.record(l.reports.list, false, now)
	return nil
}

// CommitTx commits every key the lease claimed in tx, and tx with them
// (see [dedupe.TxStore]). On an error the lease stays unsettled: Release
// it (after rolling tx back) so that a retry processes the delivery.
func (l *Lease) CommitTx(ctx context.Context, tx dedupe.Tx) error {
	if l == nil || l.settled {
		return nil
	}
	ops := make([]dedupe.Op, 0, len(l.held))
	for _, c := range l.held {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpCommit, Key: c.key, TTL: c.ttl})
	}
	if err := tx.Commit(ctx, ops); err != nil {
		return fmt.Errorf("dedupe: commit in transaction: %w", err)
	}
	l.settled = true
	l.d.record(l.reports.list, false, l.d.now())
	return nil
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
