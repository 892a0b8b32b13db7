package codathookotel

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/normalize"
)

// keyStep is the runbook step attribute of codathook.migration.step.
const keyStep = attribute.Key("codathook.step")

// migrationTimeout bounds each registered receiver's
// [codathook.Receiver.Migration] call in one collection: it may ask a
// shared store which arrivals found their twin on another replica.
const migrationTimeout = 5 * time.Second

// stepValues are codathook.migration.step's values; a status this version
// does not know counts as waiting.
var stepValues = map[string]int64{"waiting": 0, "ready": 1, "done": 2}

// steps is how many steps the runbook has.
const steps = 5

// migrationInstruments are the observable instruments read from
// [codathook.Receiver.Migration].
type migrationInstruments struct {
	occurrences, twinned, unmatched, skipped metric.Int64ObservableCounter
	open                                     metric.Int64ObservableUpDownCounter
	step                                     metric.Int64ObservableGauge
}

// newMigrationInstruments creates the migration instruments on m and
// registers the callback that observes them all from one Migration report
// per registered receiver.
func (i *Instrumentation) newMigrationInstruments(m metric.Meter) error {
	var mi migrationInstruments
	var err, e error
	counter := func(name, desc string) metric.Int64ObservableCounter {
		c, e := m.Int64ObservableCounter(name, metric.WithUnit("{occurrence}"), metric.WithDescription(desc))
		err = errors.Join(err, e)
		return c
	}
	mi.occurrences = counter("codathook.migration.occurrences",
		"Occurrences settled (processed, answered as a duplicate of their twin, or skipped by the flag) since the receiver started, by format and event type.")
	mi.twinned = counter("codathook.migration.twinned",
		"Occurrences whose twin in the other format arrived within the pairing window, by format and event type.")
	mi.unmatched = counter("codathook.migration.unmatched",
		"Occurrences whose pairing window (and its grace) closed with no twin in the other format, by format and event type.")
	mi.skipped = counter("codathook.migration.skipped",
		"Occurrences acknowledged without processing because the endpoint's flag was off, by format and event type.")
	mi.open, e = m.Int64ObservableUpDownCounter("codathook.migration.open", metric.WithUnit("{occurrence}"),
		metric.WithDescription("Occurrences whose pairing window is still open, by format and event type."))
	err = errors.Join(err, e)
	mi.step, e = m.Int64ObservableGauge("codathook.migration.step",
		metric.WithDescription("Status of each step of Codat's migration runbook: 0 waiting, 1 ready, 2 done (the least advanced registered receiver)."))
	err = errors.Join(err, e)
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return i.observeMigration(ctx, o, &mi)
	}, mi.occurrences, mi.twinned, mi.unmatched, mi.skipped, mi.open, mi.step)
	return err
}

// typeKey is one data point of the per-type instruments.
type typeKey struct{ format, eventType string }

// observeMigration reads one Migration report from each registered
// receiver and observes the migration instruments: the per-type counts
// added up over the receivers and over the types that share a bounded
// event type, and each step's least advanced status.
func (i *Instrumentation) observeMigration(ctx context.Context, o metric.Observer, mi *migrationInstruments) error {
	i.mu.Lock()
	rcvs := i.receivers
	i.mu.Unlock()
	if len(rcvs) == 0 {
		return nil
	}
	counts := map[typeKey]*codathook.OccurrenceCounts{}
	var least [steps]int64
	for k := range least {
		least[k] = stepValues["done"]
	}
	for _, rcv := range rcvs {
		m := migration(ctx, rcv)
		for _, t := range m.Types {
			et := eventTypeValue(t.EventType)
			for _, f := range [...]normalize.Format{normalize.FormatLegacy, normalize.FormatNew} {
				c := t.LegacyTotal
				if f == normalize.FormatNew {
					c = t.NewTotal
				}
				k := typeKey{string(f), et}
				sum := counts[k]
				if sum == nil {
					sum = &codathook.OccurrenceCounts{}
					counts[k] = sum
				}
				sum.Seen += c.Seen
				sum.Twinned += c.Twinned
				sum.Unmatched += c.Unmatched
				sum.Open += c.Open
				sum.Skipped += c.Skipped
			}
		}
		var status [steps]int64
		for _, s := range m.Steps {
			if s.Step >= 1 && s.Step <= steps {
				status[s.Step-1] = stepValues[s.Status]
			}
		}
		for k := range least {
			least[k] = min(least[k], status[k])
		}
	}
	keys := make([]typeKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b typeKey) int {
		return cmp.Or(cmp.Compare(a.format, b.format), cmp.Compare(a.eventType, b.eventType))
	})
	for _, k := range keys {
		c := counts[k]
		attrs := metric.WithAttributeSet(attribute.NewSet(keyFormat.String(k.format), keyEventType.String(k.eventType)))
		o.ObserveInt64(mi.occurrences, int64(c.Seen), attrs)
		o.ObserveInt64(mi.twinned, int64(c.Twinned), attrs)
		o.ObserveInt64(mi.unmatched, int64(c.Unmatched), attrs)
		o.ObserveInt64(mi.skipped, int64(c.Skipped), attrs)
		o.ObserveInt64(mi.open, int64(c.Open), attrs)
	}
	for k, v := range least {
		o.ObserveInt64(mi.step, v, metric.WithAttributes(keyStep.Int(k+1)))
	}
	return nil
}

// migration returns rcv's migration report, giving the call
// migrationTimeout.
func migration(ctx context.Context, rcv *codathook.Receiver) codathook.Migration {
	ctx, cancel := context.WithTimeout(ctx, migrationTimeout)
	defer cancel()
	return rcv.Migration(ctx)
}
