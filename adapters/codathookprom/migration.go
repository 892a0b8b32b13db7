package codathookprom

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/normalize"
)

// migrationTimeout bounds the [codathook.Receiver.Migration] call of one
// scrape: it may ask a shared store which arrivals found their twin on
// another replica.
const migrationTimeout = 5 * time.Second

// The series read from [codathook.Receiver.Migration] at scrape time. The
// counters are the report's totals since the receiver started
// (TypeMigration.LegacyTotal and NewTotal), not its 24-hour look-back:
// PromQL's increase() gives any window.
var (
	migOccurrences = newDesc("codathook_migration_occurrences_total",
		"Occurrences settled (processed, answered as a duplicate of their twin, or skipped by the flag), by body format and event type.", "format", "event_type")
	migTwinned = newDesc("codathook_migration_twinned_total",
		"Occurrences whose twin in the other format arrived within the pairing window, by body format and event type.", "format", "event_type")
	migUnmatched = newDesc("codathook_migration_unmatched_total",
		"Occurrences whose pairing window (and its grace) closed with no twin in the other format, by body format and event type.", "format", "event_type")
	migSkipped = newDesc("codathook_migration_skipped_total",
		"Occurrences acknowledged without processing because the endpoint's flag was off, by body format and event type.", "format", "event_type")
	migOpen = newDesc("codathook_migration_open",
		"Occurrences whose pairing window is still open, by body format and event type.", "format", "event_type")
	migUntracked = newDesc("codathook_migration_untracked_total",
		"Occurrences not tracked for migration readiness because too many pairing windows were open at once.")
	migCompleteSince = newDesc("codathook_migration_complete_since_timestamp_seconds",
		"When the new consumer became complete: the last legacy occurrence without a new twin, or new one skipped, or the receiver's start; absent while the new endpoint has processed nothing.")
	migStep = newDesc("codathook_migration_step",
		"Status of each step of Codat's migration runbook: 0 waiting, 1 ready, 2 done.", "step")
	migLastOccurrence = newDesc("codathook_migration_last_occurrence_timestamp_seconds",
		"When the last occurrence of the body format was settled; absent before the first.", "format")
)

// migrationDescs lists the descriptors above, for Describe.
var migrationDescs = [...]*prometheus.Desc{
	migOccurrences, migTwinned, migUnmatched, migSkipped, migOpen,
	migUntracked, migCompleteSince, migStep, migLastOccurrence,
}

// stepValues are codathook_migration_step's values. A status this
// version does not know counts as waiting.
var stepValues = map[string]float64{"waiting": 0, "ready": 1, "done": 2}

// stepLabels are the values of the step label.
var stepLabels = [...]string{"1", "2", "3", "4", "5"}

// formats are the body formats, in label order.
var formats = [...]normalize.Format{normalize.FormatLegacy, normalize.FormatNew}

// typeKey is one series of the per-type families: a format and a bounded
// event type.
type typeKey struct{ format, eventType string }

// migrationOf returns rcv's migration report, giving the call
// migrationTimeout.
func migrationOf(rcv *codathook.Receiver) codathook.Migration {
	ctx, cancel := context.WithTimeout(context.Background(), migrationTimeout)
	defer cancel()
	return rcv.Migration(ctx)
}

// collectMigration sends the series of one migration report. Types whose
// event_type label is the same (types this version does not know, all
// "other") are added up: a collector must not send a series twice.
func collectMigration(ch chan<- prometheus.Metric, m codathook.Migration) {
	counts := map[typeKey]*codathook.OccurrenceCounts{}
	var last [len(formats)]time.Time
	for _, t := range m.Types {
		et := eventTypeLabel(t.EventType)
		for i, f := range formats {
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
			if c.Last.After(last[i]) {
				last[i] = c.Last
			}
		}
	}
	keys := make([]typeKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b typeKey) int {
		return cmp.Or(cmp.Compare(a.format, b.format), cmp.Compare(a.eventType, b.eventType))
	})
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
	}
	for _, k := range keys {
		c := counts[k]
		metric(migOccurrences, prometheus.CounterValue, float64(c.Seen), k.format, k.eventType)
		metric(migTwinned, prometheus.CounterValue, float64(c.Twinned), k.format, k.eventType)
		metric(migUnmatched, prometheus.CounterValue, float64(c.Unmatched), k.format, k.eventType)
		metric(migSkipped, prometheus.CounterValue, float64(c.Skipped), k.format, k.eventType)
		metric(migOpen, prometheus.GaugeValue, float64(c.Open), k.format, k.eventType)
	}
	for i, f := range formats {
		if !last[i].IsZero() {
			metric(migLastOccurrence, prometheus.GaugeValue, seconds(last[i]), string(f))
		}
	}
	metric(migUntracked, prometheus.CounterValue, float64(m.UntrackedTotal))
	if !m.CompleteSince.IsZero() {
		metric(migCompleteSince, prometheus.GaugeValue, seconds(m.CompleteSince))
	}
	status := map[int]string{}
	for _, s := range m.Steps {
		status[s.Step] = s.Status
	}
	for i, l := range stepLabels {
		metric(migStep, prometheus.GaugeValue, stepValues[status[i+1]], l)
	}
}

// seconds returns t as a Unix time in seconds.
func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
