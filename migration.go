package codathook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/codathook/codathook/internal/readiness"
	"github.com/codathook/codathook/normalize"
)

// Migration is the receiver's migration-readiness report, the answer to
// "can we turn the legacy consumer off yet?": per event type, the
// occurrences each format delivered in the look-back and whether each
// found its twin in the other format, the endpoints' counters, and a
// status for each step of Codat's runbook (docs/MIGRATION.md).
//
// An occurrence is what deduplication matches across formats (one per
// dataTypes element of a read.completed). Each is counted once, when its
// delivery was settled: processed, answered as a duplicate of its twin, or
// skipped by its endpoint's flag; deliveries that failed are counted when
// a retry settles them. It is Twinned when its twin in the other format
// arrived within the pairing window (dedupe.Config.Window, 10 minutes),
// else Unmatched once the window and a grace of about 5 minutes have
// passed (Open until then). With several replicas on one store, each
// counts what it received, and a twin received by another replica is found
// in the store when the window closes: every replica's report is true of
// its own deliveries, and the adapters' metrics add them up.
type Migration struct {
	// Start is when the receiver began counting; At is when the report
	// was made.
	Start time.Time `json:"start"`
	At    time.Time `json:"at"`
	// Since is the start of the look-back: the later of Start and the
	// start of the hour 24 hours before At.
	Since time.Time `json:"since"`
	// CompleteSince is when the new consumer became complete: the last
	// time a legacy occurrence (of a type with a new equivalent) found no
	// new twin, or the new endpoint skipped one, or else Start. Zero
	// while the new endpoint has processed nothing in the look-back.
	CompleteSince time.Time `json:"completeSince,omitzero"`
	// Types lists every event type seen since Start, by name.
	Types []TypeMigration `json:"types"`
	// Legacy and New are the endpoints' counters, as in [Receiver.Stats].
	Legacy EndpointStats `json:"legacy"`
	New    EndpointStats `json:"new"`
	// Steps are Codat's five runbook steps, in order.
	Steps []MigrationStep `json:"steps"`
	// Verdict is what to do next, in one sentence: the detail of the
	// first step not done (or of step 5 once every step is).
	Verdict string `json:"verdict"`
	// Untracked counts, in the look-back, the occurrences that were not
	// tracked because more than 65,536 pairing windows were open at once;
	// while it is not zero, step 5 is not reported ready. UntrackedTotal
	// counts them since Start.
	Untracked      uint64 `json:"untracked"`
	UntrackedTotal uint64 `json:"untrackedTotal"`
}

// TypeMigration is one event type's line of a [Migration] report.
type TypeMigration struct {
	EventType string `json:"eventType"`
	// LegacyOnly marks a legacy rule with no new event type (SyncStarted,
	// PushOperationPending, ...): it never has a twin and is left out of
	// step 5, which lists it instead.
	LegacyOnly bool `json:"legacyOnly"`
	// Legacy and New count the look-back; LegacyTotal and NewTotal
	// everything since Start.
	Legacy      OccurrenceCounts `json:"legacy"`
	New         OccurrenceCounts `json:"new"`
	LegacyTotal OccurrenceCounts `json:"legacyTotal"`
	NewTotal    OccurrenceCounts `json:"newTotal"`
}

// OccurrenceCounts counts one format's occurrences of one event type.
type OccurrenceCounts struct {
	Seen      uint64 `json:"seen"`      // occurrences delivered and settled
	Twinned   uint64 `json:"twinned"`   // whose twin in the other format arrived within the window
	Unmatched uint64 `json:"unmatched"` // whose window closed with no twin
	Open      uint64 `json:"open"`      // whose window is still open
	Skipped   uint64 `json:"skipped"`   // acknowledged without processing: the endpoint's flag was off
	// Last is when the last occurrence was settled; LastUnmatched when
	// the last was found unmatched; LastSkipped when the last was skipped.
	Last          time.Time `json:"last,omitzero"`
	LastUnmatched time.Time `json:"lastUnmatched,omitzero"`
	LastSkipped   time.Time `json:"lastSkipped,omitzero"`
}

// MigrationStep is one runbook step's status in a [Migration] report.
type MigrationStep struct {
	Step  int    `json:"step"`
	Title string `json:"title"`
	// Status is "done", "ready" (its conditions hold: go ahead) or
	// "waiting" (Detail says for what).
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// lookBack is how far back the readiness evidence must reach before step
// 5 is reported ready.
const lookBack = 24 * time.Hour

// Migration returns the migration-readiness report. It first closes the
// pairing windows that are due, asking a shared store (under ctx) about
// the arrivals still unpaired.
func (r *Receiver) Migration(ctx context.Context) Migration {
	snap := r.deduper.Migration(ctx)
	st := r.Stats()
	m := Migration{Start: snap.Start.UTC(), At: snap.At.UTC(), Legacy: st.Legacy, New: st.New,
		Untracked: snap.Untracked, UntrackedTotal: snap.UntrackedTotal}
	m.Since = m.Start
	if s := m.At.Add(-lookBack).Truncate(time.Hour); s.After(m.Since) {
		m.Since = s
	}
	m.Types = make([]TypeMigration, 0, len(snap.Types))
	for _, t := range snap.Types {
		m.Types = append(m.Types, TypeMigration{
			EventType:   t.Name,
			LegacyOnly:  legacyOnly(t.Name),
			Legacy:      occurrenceCounts(t.Recent[readiness.SideLegacy]),
			New:         occurrenceCounts(t.Recent[readiness.SideNew]),
			LegacyTotal: occurrenceCounts(t.Total[readiness.SideLegacy]),
			NewTotal:    occurrenceCounts(t.Total[readiness.SideNew]),
		})
	}
	assess(&m)
	return m
}

func occurrenceCounts(c readiness.Counts) OccurrenceCounts {
	return OccurrenceCounts{
		Seen: c.Seen, Twinned: c.Twinned, Unmatched: c.Unmatched, Open: c.Open(), Skipped: c.Skipped,
		Last: utc(c.Last), LastUnmatched: utc(c.LastUnmatched), LastSkipped: utc(c.LastSkipped),
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// legacyOnly reports whether an event type is one of normalize's stable
// legacy-only names: those it knows that start with an upper-case letter
// (a new type this version does not know is not one).
func legacyOnly(eventType string) bool {
	if eventType == "" || eventType[0] < 'A' || eventType[0] > 'Z' {
		return false
	}
	_, known := normalize.GoType(eventType)
	return known
}

// sums of one report's look-back, and its totals.
type sums struct {
	legacy, mapped, new       OccurrenceCounts // all legacy, legacy with a new equivalent, all new
	mappedTotal, newTotal     OccurrenceCounts
	unmatchedTypes, onlyTypes []string
}

func add(a *OccurrenceCounts, b OccurrenceCounts) {
	a.Seen += b.Seen
	a.Twinned += b.Twinned
	a.Unmatched += b.Unmatched
	a.Open += b.Open
	a.Skipped += b.Skipped
	a.Last = later(a.Last, b.Last)
	a.LastUnmatched = later(a.LastUnmatched, b.LastUnmatched)
	a.LastSkipped = later(a.LastSkipped, b.LastSkipped)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sum(m *Migration) sums {
	var s sums
	for _, t := range m.Types {
		add(&s.legacy, t.Legacy)
		add(&s.new, t.New)
		add(&s.newTotal, t.NewTotal)
		if t.LegacyOnly {
			if t.Legacy.Seen > 0 {
				s.onlyTypes = append(s.onlyTypes, t.EventType)
			}
			continue
		}
		add(&s.mapped, t.Legacy)
		add(&s.mappedTotal, t.LegacyTotal)
		if t.Legacy.Unmatched > 0 {
			s.unmatchedTypes = append(s.unmatchedTypes, fmt.Sprintf("%s (%d)", t.EventType, t.Legacy.Unmatched))
		}
	}
	return s
}

// assess fills in m's CompleteSince, Steps and Verdict.
func assess(m *Migration) {
	s := sum(m)
	if processed := s.new.Seen - s.new.Skipped; processed > 0 {
		m.CompleteSince = later(m.Start, later(s.mappedTotal.LastUnmatched, s.newTotal.LastSkipped))
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	step := func(n int, title, status, detail string) {
		m.Steps = append(m.Steps, MigrationStep{Step: n, Title: title, Status: status, Detail: detail})
	}
	done := func(n int) bool { return len(m.Steps) >= n && m.Steps[n-1].Status == "done" }
	waitOr := func(prev int) string {
		if done(prev) {
			return "ready"
		}
		return "waiting"
	}

	// 1. The receiver serves the legacy endpoint, which is authoritative.
	if s.legacy.Seen > 0 || s.new.Seen > 0 {
		step(1, "Update your application logic", "done",
			fmt.Sprintf("the receiver settled %d legacy and %d new occurrences since %s", s.legacy.Seen, s.new.Seen, ts(m.Since)))
	} else {
		step(1, "Update your application logic", "waiting",
			"no deliveries since "+ts(m.Since)+": mount rcv.Handler(codathook.EndpointLegacy) and rcv.Handler(codathook.EndpointNew) where Codat sends them")
	}
	// 2. New-format deliveries arrive.
	if s.new.Seen > 0 {
		step(2, "Configure the new webhook consumer", "done",
			fmt.Sprintf("%d new occurrences arrived, the last at %s", s.new.Seen, ts(s.new.Last)))
	} else {
		step(2, "Configure the new webhook consumer", waitOr(1),
			"no new-format deliveries yet: add the new consumer in the Portal with the new endpoint's URL and give its secret to WithSecrets")
	}
	// 3. The new endpoint processes some of them.
	if processed := s.new.Seen - s.new.Skipped; processed > 0 {
		step(3, "Validate the new webhook consumer", "done",
			fmt.Sprintf("the new endpoint processed or matched %d occurrences (%d twinned with legacy ones)", processed, s.new.Twinned))
	} else {
		step(3, "Validate the new webhook consumer", waitOr(2),
			"the new endpoint's flag skipped every new delivery: turn codat-new-endpoint on for a test company")
	}
	// 4. The new endpoint skips nothing.
	if done(3) && s.new.Skipped == 0 {
		step(4, "Enable the new webhook consumer", "done",
			"the new endpoint skipped no delivery since "+ts(m.Since)+"; new consumer complete for every type since "+ts(m.CompleteSince))
	} else {
		step(4, "Enable the new webhook consumer", waitOr(3),
			fmt.Sprintf("the new endpoint skipped %s since %s, the last at %s: turn codat-new-endpoint on for every company", count(s.new.Skipped, "occurrence"), ts(m.Since), ts(s.new.LastSkipped)))
	}
	step5(m, &s, done(4), ts)

	for _, st := range m.Steps {
		if st.Status != "done" {
			m.Verdict = fmt.Sprintf("Step %d (%s): %s.", st.Step, strings.ToLower(st.Title), st.Detail)
			break
		}
	}
	if m.Verdict == "" {
		m.Verdict = "Step 5: " + m.Steps[4].Detail + "."
	}
	if s.mapped.Seen > 0 && s.mapped.Skipped == s.mapped.Seen && s.new.Seen > 0 && s.new.Skipped == s.new.Seen {
		m.Verdict = "Both endpoints skipped every delivery since " + ts(m.Since) + ": no occurrence is being processed; turn codat-new-endpoint (or codat-legacy-endpoint) on. " + m.Verdict
	}
}

// step5 appends step 5: turn the legacy consumer off, then delete it.
func step5(m *Migration, s *sums, newComplete bool, ts func(time.Time) string) {
	const title = "Disable the old webhook consumer"
	except := ""
	if len(s.onlyTypes) > 0 {
		except = ", except the legacy-only types " + strings.Join(s.onlyTypes, ", ") + " (keep codat-legacy-endpoint on for them until you replace them)"
	}
	set := func(status, detail string) {
		m.Steps = append(m.Steps, MigrationStep{Step: 5, Title: title, Status: status, Detail: detail})
	}
	switch {
	case s.mapped.Seen > 0 && s.mapped.Skipped == s.mapped.Seen:
		set("done", fmt.Sprintf("the legacy endpoint skipped all %d of its occurrences since %s%s; legacy deliveries still arrive (the last at %s): delete the legacy rules in the Portal, then remove the legacy endpoint and its flag",
			s.mapped.Seen, ts(m.Since), except, ts(s.mapped.Last)))
	case s.mapped.Seen == 0 && s.mappedTotal.Seen > 0 && s.mappedTotal.Skipped > 0:
		set("done", "no legacy deliveries since "+ts(m.Since)+": remove the legacy endpoint (its Handler mount and WithLegacyAuthorization), then its flag")
	case !newComplete:
		set("waiting", "the new consumer must process every delivery first (step 4)")
	case s.mapped.Unmatched > 0:
		set("waiting", fmt.Sprintf("%s had no new twin since %s (the last window closed at %s): %s; the new consumer is not complete",
			count(s.mapped.Unmatched, "legacy occurrence"), ts(m.Since), ts(s.mapped.LastUnmatched), strings.Join(s.unmatchedTypes, ", ")))
	case m.Untracked > 0:
		set("waiting", fmt.Sprintf("%s not tracked (too many pairing windows open at once): readiness is unknown", count(m.Untracked, "occurrence")))
	case s.mapped.Seen == 0:
		set("waiting", "no legacy occurrence since "+ts(m.Since)+" to compare with its new twin")
	case m.At.Sub(m.CompleteSince) < lookBack:
		set("waiting", fmt.Sprintf("every legacy occurrence had a new twin since %s (%d of %d, %d still in their window)%s; that is 24 hours of evidence at %s",
			ts(m.CompleteSince), s.mapped.Twinned, s.mapped.Seen, s.mapped.Open, except, ts(m.CompleteSince.Add(lookBack))))
	default:
		set("ready", fmt.Sprintf("legacy can be turned off: every legacy occurrence of the last 24 h had a new twin (%d of %d, %d still in their window)%s; serve off on codat-legacy-endpoint",
			s.mapped.Twinned, s.mapped.Seen, s.mapped.Open, except))
	}
}

// count returns "1 thing" or "n things".
func count(n uint64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
