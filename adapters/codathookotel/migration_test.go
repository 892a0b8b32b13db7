package codathookotel_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// epoch is when the fake clocks start.
var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// windowClosed is the pairing window (10 minutes) and the ledger's grace
// (about 5 minutes), and a little more.
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

// twin returns one occurrence of eventType, happening now on clock, in both
// formats; the legacy body gets its own AlertId, so only pairing matches it.
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

// sendLegacy delivers body to the legacy endpoint and returns the result.
func (h *harness) sendLegacy(t *testing.T, body []byte) codathook.Result {
	t.Helper()
	resp := h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, body))
	return codathook.Result(resp.Header.Get(codathook.HeaderResult))
}

func wantResult(t *testing.T, step string, got, want codathook.Result) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %q, want %q", step, got, want)
	}
}

func occ(format, eventType string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("codathook.format", format), attribute.String("codathook.event_type", eventType)}
}

// migrationCounts are the expected values of the per-type instruments, by
// format and event type; a pair left out is expected at 0.
type migrationCounts map[[2]string][5]int64 // occurrences, twinned, unmatched, skipped, open

var migrationInstruments = [...]string{"codathook.migration.occurrences", "codathook.migration.twinned",
	"codathook.migration.unmatched", "codathook.migration.skipped", "codathook.migration.open"}

// checkMigration checks every per-type data point against want, for the
// event types types (each in both formats), and the steps' values.
func checkMigration(t *testing.T, rm metricdata.ResourceMetrics, types []string, want migrationCounts, steps ...int64) {
	t.Helper()
	for k, name := range migrationInstruments {
		if n := points(rm, name); n != 2*len(types) {
			t.Errorf("%s has %d data points, want %d (%v in both formats)", name, n, 2*len(types), types)
		}
		for _, et := range types {
			for _, f := range []string{"legacy", "new"} {
				checkSum(t, rm, name, want[[2]string{f, et}][k], occ(f, et)...)
			}
		}
	}
	for k, v := range steps {
		got, ok := gauge(t, rm, "codathook.migration.step", attribute.Int("codathook.step", k+1))
		if !ok || got != v {
			t.Errorf("codathook.migration.step{step=%d} = %d (present %v), want %d", k+1, got, ok, v)
		}
	}
	if m, ok := findMetric(rm, "codathook.migration.step"); !ok {
		t.Error("no codathook.migration.step")
	} else if g, ok := m.Data.(metricdata.Gauge[int64]); !ok || len(g.DataPoints) != 5 {
		t.Errorf("codathook.migration.step is %T with %v, want an int64 gauge of 5 points", m.Data, m.Data)
	}
}

// gauge returns the value of the int64 gauge name at exactly attrs.
func gauge(t *testing.T, rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	m, ok := findMetric(rm, name)
	if !ok {
		return 0, false
	}
	data, ok := m.Data.(metricdata.Gauge[int64])
	if !ok {
		t.Fatalf("%s is a %T, want an int64 gauge", name, m.Data)
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range data.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

// TestMetricsMigration sends, through a real server on a fake clock, an
// occurrence in both formats, one in the legacy format only, a legacy-only
// Sync Started and two new events of types this version does not know
// (both "other"), and checks the migration instruments while the pairing
// windows are open and once they have closed. A second registered
// receiver adds its counts, and its steps, less advanced, are the ones
// observed.
func TestMetricsMigration(t *testing.T) {
	t.Parallel()
	h, clock := newClockedHarness(t)
	newBody, legacyBody := twin(t, clock, "connection.connected", codathooktest.SampleOptions{ID: "e1", CompanyID: "co-1", ConnectionID: "conn-1"})
	wantResult(t, "new", codathook.Result(h.sendNew(t, "/new", newBody).Header.Get(codathook.HeaderResult)), codathook.ResultProcessed)
	wantResult(t, "its legacy twin", h.sendLegacy(t, legacyBody), codathook.ResultDuplicate)
	_, lonely := twin(t, clock, "connection.connected", codathooktest.SampleOptions{ID: "e2", CompanyID: "co-2", ConnectionID: "conn-2"})
	wantResult(t, "legacy without a new twin", h.sendLegacy(t, lonely), codathook.ResultProcessed)
	started, err := codathooktest.LegacySample("Sync Started", codathooktest.SampleOptions{ID: "started-1"})
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, "Sync Started", h.sendLegacy(t, started), codathook.ResultProcessed)
	base, err := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{CompanyID: "co-3", ConnectionID: "conn-3", GeneratedDate: clock.Now().Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{"madeup.one", "madeup.two"} {
		body := bytes.Replace(base, []byte(`"eventType":"connection.connected"`), []byte(`"eventType":"`+typ+`"`), 1)
		body = bytes.Replace(body, []byte(`"id":"`), []byte(fmt.Sprintf(`"id":"u%d-`, i)), 1)
		h.sendNew(t, "/new", body)
	}
	types := []string{"SyncStarted", "connection.connected", "other"}

	checkMigration(t, h.collect(t), types, migrationCounts{
		{"legacy", "connection.connected"}: {2, 1, 0, 0, 1},
		{"new", "connection.connected"}:    {1, 1, 0, 0, 0},
		{"legacy", "SyncStarted"}:          {1, 0, 0, 0, 1},
		{"new", "other"}:                   {2, 0, 0, 0, 2},
	}, 2, 2, 2, 2, 0)

	clock.Advance(windowClosed)
	closed := migrationCounts{
		{"legacy", "connection.connected"}: {2, 1, 1, 0, 0},
		{"new", "connection.connected"}:    {1, 1, 0, 0, 0},
		{"legacy", "SyncStarted"}:          {1, 0, 1, 0, 0},
		{"new", "other"}:                   {2, 0, 2, 0, 0},
	}
	rm := h.collect(t)
	// Steps 1 to 4 are done; step 5 waits: a legacy connection.connected
	// had no new twin.
	checkMigration(t, rm, types, closed, 2, 2, 2, 2, 0)
	for _, name := range migrationInstruments {
		m, _ := findMetric(rm, name)
		s, ok := m.Data.(metricdata.Sum[int64])
		if wantMono := name != "codathook.migration.open"; !ok || s.IsMonotonic != wantMono || m.Unit != "{occurrence}" {
			t.Errorf("%s: %T monotonic %v unit %q, want an int64 sum, monotonic %v, {occurrence}", name, m.Data, s.IsMonotonic, m.Unit, wantMono)
		}
	}

	// A second receiver, registered too, with one legacy occurrence: its
	// counts are added, and its steps (2 ready, 3 to 5 waiting) are the
	// least advanced.
	rcv2, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithClock(clock.Now), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv2.Close(context.Background()) })
	if err := codathook.On(rcv2, "*", func(context.Context, *codathook.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	h.inst.Register(rcv2)
	srv2 := httptest.NewServer(rcv2.Handler(codathook.EndpointLegacy))
	t.Cleanup(srv2.Close)
	_, other := twin(t, clock, "connection.connected", codathooktest.SampleOptions{ID: "e3", CompanyID: "co-4", ConnectionID: "conn-4"})
	resp, err := codathooktest.Send(t.Context(), srv2.Client(), srv2.URL, codathooktest.NewLegacyRequest("/", codathooktest.DevAuthorization, other))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantResult(t, "second receiver", codathook.Result(resp.Header.Get(codathook.HeaderResult)), codathook.ResultProcessed)
	closed[[2]string{"legacy", "connection.connected"}] = [5]int64{3, 1, 1, 0, 1}
	checkMigration(t, h.collect(t), types, closed, 2, 1, 0, 0, 0)
}

// TestMetricsMigrationSkipped turns the new endpoint's flag off: its
// deliveries are skipped and counted so, and step 3 is ready (1) while
// steps 1 and 2 are done (2) and 4 and 5 wait (0). A day later the
// counters are unchanged.
func TestMetricsMigrationSkipped(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	flag := func(on string) memprovider.InMemoryFlag {
		return memprovider.InMemoryFlag{State: memprovider.Enabled, DefaultVariant: on, Variants: map[string]any{"on": true, "off": false}}
	}
	if err := api.SetProviderAndWait(context.Background(), memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		toggle.DefaultNewFlag: flag("off"), toggle.DefaultLegacyFlag: flag("on"),
	})); err != nil {
		t.Fatal(err)
	}
	h, clock := newClockedHarness(t, codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1}))
	for i := range 2 {
		newBody, legacyBody := twin(t, clock, "connection.connected", codathooktest.SampleOptions{
			ID: fmt.Sprint("e", i), CompanyID: fmt.Sprint("co-", i), ConnectionID: fmt.Sprint("conn-", i)})
		wantResult(t, "new, flag off", codathook.Result(h.sendNew(t, "/new", newBody).Header.Get(codathook.HeaderResult)), codathook.ResultSkipped)
		wantResult(t, "legacy", h.sendLegacy(t, legacyBody), codathook.ResultProcessed)
	}
	clock.Advance(windowClosed)
	counts := migrationCounts{
		{"legacy", "connection.connected"}: {2, 2, 0, 0, 0},
		{"new", "connection.connected"}:    {2, 2, 0, 2, 0},
	}
	checkMigration(t, h.collect(t), []string{"connection.connected"}, counts, 2, 2, 1, 0, 0)

	// A day later the report's look-back is empty: the counters, totals
	// since the receiver started, keep their values; no step is done.
	clock.Advance(26 * time.Hour)
	if r := h.rcv.Migration(context.Background()); r.Types[0].New.Seen != 0 {
		t.Fatalf("a day later: look-back %+v, want empty", r.Types[0].New)
	}
	checkMigration(t, h.collect(t), []string{"connection.connected"}, counts, 0, 0, 0, 0, 0)
}
