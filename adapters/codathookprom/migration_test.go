package codathookprom_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// epoch is when the fake clocks start.
var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// windowClosed is the pairing window (10 minutes) and the ledger's grace
// (about 5 minutes), and a little more: once the clock has moved this far,
// every occurrence is twinned or unmatched.
const windowClosed = 16 * time.Minute

// testClock stands still until a test moves it; safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClockedHarness is newHarness with the receiver and the signer on a
// fake clock, so that a test can close the pairing windows.
func newClockedHarness(t *testing.T, opts ...codathook.Option) (*harness, *testClock) {
	t.Helper()
	clock := &testClock{t: epoch}
	h := newHarness(t, append([]codathook.Option{codathook.WithClock(clock.Now)}, opts...)...)
	h.signer.Now = clock.Now
	return h, clock
}

// legacy delivers body to the legacy endpoint.
func (h *harness) legacy(t *testing.T, body []byte) codathook.Result {
	t.Helper()
	return h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, body))
}

// twin returns one occurrence of eventType, happening now on clock, in both
// formats; the legacy body gets its own AlertId, as Codat's two services
// give an occurrence different ids, so only pairing matches them.
func twin(t *testing.T, clock *testClock, eventType string, o codathooktest.SampleOptions) (newBody, legacyBody []byte) {
	t.Helper()
	o.GeneratedDate = clock.Now().Format(time.RFC3339Nano)
	newBody, legacyBody, err := codathooktest.Twin(eventType, o)
	if err != nil {
		t.Fatal(err)
	}
	legacyBody = bytes.Replace(legacyBody, []byte(`"AlertId":"`+o.ID+`"`), []byte(`"AlertId":"legacy-`+o.ID+`"`), 1)
	return newBody, legacyBody
}

// legacySample returns the legacy body of ruleType changed by o.
func legacySample(t *testing.T, ruleType string, o codathooktest.SampleOptions) []byte {
	t.Helper()
	b, err := codathooktest.LegacySample(ruleType, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unixSeconds formats t as the collector reports a timestamp.
func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// steps returns codathook_migration_step's expected exposition for the
// five values.
func steps(values ...int) string {
	var b strings.Builder
	b.WriteString("# HELP codathook_migration_step Status of each step of Codat's migration runbook: 0 waiting, 1 ready, 2 done.\n# TYPE codathook_migration_step gauge\n")
	for i, v := range values {
		fmt.Fprintf(&b, "codathook_migration_step{step=\"%d\"} %d\n", i+1, v)
	}
	return b.String()
}

var migrationCounters = []string{
	"codathook_migration_occurrences_total", "codathook_migration_twinned_total",
	"codathook_migration_unmatched_total", "codathook_migration_skipped_total",
	"codathook_migration_untracked_total", "codathook_migration_last_occurrence_timestamp_seconds",
}

// TestMigrationSeries sends, through a real server, an occurrence in both
// formats (the legacy copy with its own AlertId), one in the legacy format
// only, a legacy-only Sync Started and two new events of types this
// version does not know; it checks the migration series while the pairing
// windows are open, once they have closed, and a day later, when the
// report's 24-hour look-back is empty but the counters, totals since the
// receiver started, keep their values.
func TestMigrationSeries(t *testing.T) {
	t.Parallel()
	h, clock := newClockedHarness(t)
	newBody, legacyBody := twin(t, clock, "connection.connected", codathooktest.SampleOptions{ID: "e1", CompanyID: "co-1", ConnectionID: "conn-1"})
	want(t, "new", h.signed(t, newBody), codathook.ResultProcessed)
	want(t, "its legacy twin", h.legacy(t, legacyBody), codathook.ResultDuplicate)
	_, lonely := twin(t, clock, "connection.connected", codathooktest.SampleOptions{ID: "e2", CompanyID: "co-2", ConnectionID: "conn-2"})
	want(t, "legacy without a new twin", h.legacy(t, lonely), codathook.ResultProcessed)
	want(t, "Sync Started", h.legacy(t, legacySample(t, "Sync Started", codathooktest.SampleOptions{ID: "started-1"})), codathook.ResultProcessed)
	base := sample(t, "connection.connected", codathooktest.SampleOptions{CompanyID: "co-3", ConnectionID: "conn-3", GeneratedDate: clock.Now().Format(time.RFC3339Nano)})
	for i, typ := range []string{"madeup.one", "madeup.two"} {
		body := setField(t, setField(t, base, "eventType", typ), "id", fmt.Sprint("u", i))
		want(t, typ, h.signed(t, body), codathook.ResultProcessed)
	}

	// The windows are open: nothing is unmatched yet, the twins are.
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(`
# HELP codathook_migration_open Occurrences whose pairing window is still open, by body format and event type.
# TYPE codathook_migration_open gauge
codathook_migration_open{event_type="SyncStarted",format="legacy"} 1
codathook_migration_open{event_type="SyncStarted",format="new"} 0
codathook_migration_open{event_type="connection.connected",format="legacy"} 1
codathook_migration_open{event_type="connection.connected",format="new"} 0
codathook_migration_open{event_type="other",format="legacy"} 0
codathook_migration_open{event_type="other",format="new"} 2
`), "codathook_migration_open"); err != nil {
		t.Errorf("windows open: %v", err)
	}

	clock.Advance(windowClosed)
	report := h.rcv.Migration(context.Background())
	if report.CompleteSince.IsZero() {
		t.Fatal("the report has no CompleteSince")
	}
	counters := `
# HELP codathook_migration_occurrences_total Occurrences settled (processed, answered as a duplicate of their twin, or skipped by the flag), by body format and event type.
# TYPE codathook_migration_occurrences_total counter
codathook_migration_occurrences_total{event_type="SyncStarted",format="legacy"} 1
codathook_migration_occurrences_total{event_type="SyncStarted",format="new"} 0
codathook_migration_occurrences_total{event_type="connection.connected",format="legacy"} 2
codathook_migration_occurrences_total{event_type="connection.connected",format="new"} 1
codathook_migration_occurrences_total{event_type="other",format="legacy"} 0
codathook_migration_occurrences_total{event_type="other",format="new"} 2
# HELP codathook_migration_twinned_total Occurrences whose twin in the other format arrived within the pairing window, by body format and event type.
# TYPE codathook_migration_twinned_total counter
codathook_migration_twinned_total{event_type="SyncStarted",format="legacy"} 0
codathook_migration_twinned_total{event_type="SyncStarted",format="new"} 0
codathook_migration_twinned_total{event_type="connection.connected",format="legacy"} 1
codathook_migration_twinned_total{event_type="connection.connected",format="new"} 1
codathook_migration_twinned_total{event_type="other",format="legacy"} 0
codathook_migration_twinned_total{event_type="other",format="new"} 0
# HELP codathook_migration_unmatched_total Occurrences whose pairing window (and its grace) closed with no twin in the other format, by body format and event type.
# TYPE codathook_migration_unmatched_total counter
codathook_migration_unmatched_total{event_type="SyncStarted",format="legacy"} 1
codathook_migration_unmatched_total{event_type="SyncStarted",format="new"} 0
codathook_migration_unmatched_total{event_type="connection.connected",format="legacy"} 1
codathook_migration_unmatched_total{event_type="connection.connected",format="new"} 0
codathook_migration_unmatched_total{event_type="other",format="legacy"} 0
codathook_migration_unmatched_total{event_type="other",format="new"} 2
# HELP codathook_migration_skipped_total Occurrences acknowledged without processing because the endpoint's flag was off, by body format and event type.
# TYPE codathook_migration_skipped_total counter
codathook_migration_skipped_total{event_type="SyncStarted",format="legacy"} 0
codathook_migration_skipped_total{event_type="SyncStarted",format="new"} 0
codathook_migration_skipped_total{event_type="connection.connected",format="legacy"} 0
codathook_migration_skipped_total{event_type="connection.connected",format="new"} 0
codathook_migration_skipped_total{event_type="other",format="legacy"} 0
codathook_migration_skipped_total{event_type="other",format="new"} 0
# HELP codathook_migration_untracked_total Occurrences not tracked for migration readiness because too many pairing windows were open at once.
# TYPE codathook_migration_untracked_total counter
codathook_migration_untracked_total 0
# HELP codathook_migration_last_occurrence_timestamp_seconds When the last occurrence of the body format was settled; absent before the first.
# TYPE codathook_migration_last_occurrence_timestamp_seconds gauge
codathook_migration_last_occurrence_timestamp_seconds{format="legacy"} ` + unixSeconds(epoch) + `
codathook_migration_last_occurrence_timestamp_seconds{format="new"} ` + unixSeconds(epoch) + `
`
	const completeHelp = `
# HELP codathook_migration_complete_since_timestamp_seconds When the new consumer became complete: the last legacy occurrence without a new twin, or new one skipped, or the receiver's start; absent while the new endpoint has processed nothing.
# TYPE codathook_migration_complete_since_timestamp_seconds gauge
`
	open := `
# HELP codathook_migration_open Occurrences whose pairing window is still open, by body format and event type.
# TYPE codathook_migration_open gauge
codathook_migration_open{event_type="SyncStarted",format="legacy"} 0
codathook_migration_open{event_type="SyncStarted",format="new"} 0
codathook_migration_open{event_type="connection.connected",format="legacy"} 0
codathook_migration_open{event_type="connection.connected",format="new"} 0
codathook_migration_open{event_type="other",format="legacy"} 0
codathook_migration_open{event_type="other",format="new"} 0
`
	all := append([]string{"codathook_migration_open", "codathook_migration_complete_since_timestamp_seconds", "codathook_migration_step"}, migrationCounters...)
	// Steps 1 to 4 are done; step 5 waits: a legacy connection.connected
	// had no new twin.
	expected := counters + open + completeHelp + "codathook_migration_complete_since_timestamp_seconds " + unixSeconds(report.CompleteSince) + "\n" + steps(2, 2, 2, 2, 0)
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(expected), all...); err != nil {
		t.Errorf("windows closed: %v", err)
	}

	// A day later the look-back is empty; the counters keep their values
	// and no step is done in the look-back. CompleteSince is zero (no new
	// occurrence processed in the look-back): the gauge is absent.
	clock.Advance(26 * time.Hour)
	if r := h.rcv.Migration(context.Background()); r.Types[0].Legacy.Seen != 0 || !r.CompleteSince.IsZero() {
		t.Fatalf("a day later: look-back %+v, CompleteSince %v; want empty and zero", r.Types[0].Legacy, r.CompleteSince)
	}
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(counters+open+steps(0, 0, 0, 0, 0)), all...); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// TestMigrationSkippedAndReady turns the new endpoint's flag off: its
// deliveries are skipped and counted so, and step 3 is ready (1) while
// steps 1 and 2 are done (2) and 4 and 5 wait (0).
func TestMigrationSkippedAndReady(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		toggle.DefaultNewFlag:    boolFlag(false),
		toggle.DefaultLegacyFlag: boolFlag(true),
	})); err != nil {
		t.Fatal(err)
	}
	h, clock := newClockedHarness(t, codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1}))
	for i := range 2 {
		newBody, legacyBody := twin(t, clock, "connection.connected", codathooktest.SampleOptions{
			ID: fmt.Sprint("e", i), CompanyID: fmt.Sprint("co-", i), ConnectionID: fmt.Sprint("conn-", i)})
		want(t, "new, flag off", h.signed(t, newBody), codathook.ResultSkipped)
		want(t, "legacy", h.legacy(t, legacyBody), codathook.ResultProcessed)
	}
	clock.Advance(windowClosed)
	expected := `
# HELP codathook_migration_skipped_total Occurrences acknowledged without processing because the endpoint's flag was off, by body format and event type.
# TYPE codathook_migration_skipped_total counter
codathook_migration_skipped_total{event_type="connection.connected",format="legacy"} 0
codathook_migration_skipped_total{event_type="connection.connected",format="new"} 2
# HELP codathook_migration_twinned_total Occurrences whose twin in the other format arrived within the pairing window, by body format and event type.
# TYPE codathook_migration_twinned_total counter
codathook_migration_twinned_total{event_type="connection.connected",format="legacy"} 2
codathook_migration_twinned_total{event_type="connection.connected",format="new"} 2
` + steps(2, 2, 1, 0, 0)
	// The new endpoint has processed nothing: no complete_since.
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(expected), "codathook_migration_skipped_total",
		"codathook_migration_twinned_total", "codathook_migration_step", "codathook_migration_complete_since_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

func boolFlag(on bool) memprovider.InMemoryFlag {
	return memprovider.InMemoryFlag{
		State:          memprovider.Enabled,
		DefaultVariant: strconv.FormatBool(on),
		Variants:       map[string]any{"true": true, "false": false},
	}
}

// TestMigrationLegacyOnlyTypes sends one body of each legacy rule that has
// no new event type: the event_type label keeps each stable legacy-only
// name (the readiness query excludes them by their upper-case initial),
// in the deliveries and in the migration series; the new format, which
// delivered nothing, has no last-occurrence time.
func TestMigrationLegacyOnlyTypes(t *testing.T) {
	t.Parallel()
	h, _ := newClockedHarness(t)
	mystery := bytes.Replace(legacySample(t, "Sync Started", codathooktest.SampleOptions{ID: "l-6"}),
		[]byte(`"RuleType":"Sync Started"`), []byte(`"RuleType":"Mystery Rule"`), 1)
	bodies := []struct {
		name string
		body []byte
	}{
		{"SyncStarted", legacySample(t, "Sync Started", codathooktest.SampleOptions{ID: "l-1"})},
		{"AccountCategoriesUpdated", legacySample(t, "Account Categories Updated", codathooktest.SampleOptions{ID: "l-2"})},
		{"PushOperationPending", legacySample(t, "Push Operation Status Changed()", codathooktest.SampleOptions{ID: "l-3", Status: "Pending"})},
		{"PushOperationStatusChanged", legacySample(t, "Push Operation Status Changed()", codathooktest.SampleOptions{ID: "l-4", Status: "Queued"})},
		{"DataConnectionStatusChanged", legacySample(t, "DataConnectionStatusChanged", codathooktest.SampleOptions{ID: "l-5", OldStatus: "Linked", Status: "PendingAuth"})},
		{"UnknownLegacyRule", mystery},
	}
	var deliveries, occurrences strings.Builder
	deliveries.WriteString("# HELP codathook_deliveries_total Deliveries answered, by endpoint, body format, normalized event type and result.\n# TYPE codathook_deliveries_total counter\n")
	occurrences.WriteString("# HELP codathook_migration_occurrences_total Occurrences settled (processed, answered as a duplicate of their twin, or skipped by the flag), by body format and event type.\n# TYPE codathook_migration_occurrences_total counter\n")
	for _, b := range bodies {
		want(t, b.name, h.legacy(t, b.body), codathook.ResultProcessed)
		fmt.Fprintf(&deliveries, "codathook_deliveries_total{endpoint=\"legacy\",event_type=%q,format=\"legacy\",result=\"processed\"} 1\n", b.name)
		fmt.Fprintf(&occurrences, "codathook_migration_occurrences_total{event_type=%q,format=\"legacy\"} 1\n", b.name)
		fmt.Fprintf(&occurrences, "codathook_migration_occurrences_total{event_type=%q,format=\"new\"} 0\n", b.name)
	}
	// Nothing arrived in the new format: its last-occurrence gauge is absent.
	last := `
# HELP codathook_migration_last_occurrence_timestamp_seconds When the last occurrence of the body format was settled; absent before the first.
# TYPE codathook_migration_last_occurrence_timestamp_seconds gauge
codathook_migration_last_occurrence_timestamp_seconds{format="legacy"} ` + unixSeconds(epoch) + "\n"
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(deliveries.String()+occurrences.String()+last),
		"codathook_deliveries_total", "codathook_migration_occurrences_total", "codathook_migration_last_occurrence_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// TestMigrationDescribed checks that Describe lists the migration series:
// a registry that checks collected series against described ones (the
// pedantic registry) gathers them without error.
func TestMigrationDescribed(t *testing.T) {
	t.Parallel()
	h, _ := newClockedHarness(t)
	want(t, "legacy", h.legacy(t, legacySample(t, "Sync Started", codathooktest.SampleOptions{ID: "l-1"})), codathook.ResultProcessed)
	if _, err := h.reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(h.col, "codathook_migration_step"); n != 5 {
		t.Errorf("codathook_migration_step: %d series, want 5", n)
	}
}
