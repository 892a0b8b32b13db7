package codathookotel_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/toggle"
)

var (
	epNew    = attribute.String("codathook.endpoint", "new")
	epLegacy = attribute.String("codathook.endpoint", "legacy")
	fmtNew   = attribute.String("codathook.format", "new")
	fmtLeg   = attribute.String("codathook.format", "legacy")
	typeConn = attribute.String("codathook.event_type", "connection.connected")
)

func res(r codathook.Result) attribute.KeyValue {
	return attribute.String("codathook.result", string(r))
}

// checkSum checks the int64 sum name at exactly attrs.
func checkSum(t *testing.T, rm metricdata.ResourceMetrics, name string, want int64, attrs ...attribute.KeyValue) {
	t.Helper()
	got, ok := sum(t, rm, name, attrs...)
	if !ok || got != want {
		t.Errorf("%s%v = %d (present %v), want %d", name, attrs, got, ok, want)
	}
}

// The counter, the histogram, the twin counter and the in-flight count
// after a mix of deliveries on both endpoints.
func TestMetricsDeliveries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	newBody, legacyBody, err := codathooktest.Twin("connection.connected", codathooktest.SampleOptions{ID: "ev-1"})
	if err != nil {
		t.Fatal(err)
	}
	legacyBody = bytes.Replace(legacyBody, []byte(`"AlertId":"ev-1"`), []byte(`"AlertId":"legacy-alert-1"`), 1)
	h.signer.MsgID = "msg_m1" // the retry reuses it
	h.sendNew(t, "/new", newBody)
	h.sendNew(t, "/new", newBody)
	h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, legacyBody))
	h.signer.MsgID = "" // a new message id each
	h.sendNew(t, "/new", sample(t, "connection.connected", "fail-1"))
	h.sendNew(t, "/new", sample(t, "connection.connected", "fail-2"))
	h.send(t, "/new", codathooktest.NewLegacyRequest("/new", "", newBody)) // unsigned

	rm := h.collect(t)
	const deliveries = "codathook.deliveries"
	checkSum(t, rm, deliveries, 1, epNew, fmtNew, typeConn, res(codathook.ResultProcessed))
	checkSum(t, rm, deliveries, 1, epNew, res(codathook.ResultDuplicate)) // recognised before parsing
	checkSum(t, rm, deliveries, 1, epLegacy, fmtLeg, typeConn, res(codathook.ResultDuplicate))
	checkSum(t, rm, deliveries, 2, epNew, fmtNew, typeConn, res(codathook.ResultFailed))
	checkSum(t, rm, deliveries, 1, epNew, res(codathook.ResultUnauthorized))
	if n := points(rm, deliveries); n != 5 {
		t.Errorf("%s has %d series, want 5", deliveries, n)
	}
	checkSum(t, rm, "codathook.twins.paired", 1, epLegacy, fmtLeg, typeConn)
	if n := points(rm, "codathook.twins.paired"); n != 1 {
		t.Errorf("codathook.twins.paired has %d series, want 1", n)
	}
	checkSum(t, rm, "codathook.deliveries.active", 0)
	if n := points(rm, "codathook.dedupe.store.errors"); n != 0 {
		t.Errorf("codathook.dedupe.store.errors has %d series, want none", n)
	}
	// Registered, without flags: no failed evaluations.
	checkSum(t, rm, "codathook.flag.evaluation.errors", 0, epNew)
	checkSum(t, rm, "codathook.flag.evaluation.errors", 0, epLegacy)

	m, ok := findMetric(rm, "codathook.delivery.duration")
	if !ok {
		t.Fatal("no codathook.delivery.duration")
	}
	if m.Unit != "s" {
		t.Errorf("duration unit %q, want s", m.Unit)
	}
	hist, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("duration is a %T, want a float64 histogram", m.Data)
	}
	want := attribute.NewSet(epNew, fmtNew, typeConn, res(codathook.ResultFailed))
	found := false
	for _, dp := range hist.DataPoints {
		if dp.Attributes.Equals(&want) {
			found = true
			if dp.Count != 2 || dp.Sum <= 0 || dp.Sum > 10 {
				t.Errorf("failed deliveries' duration: count %d sum %vs, want 2 and a positive sum of seconds", dp.Count, dp.Sum)
			}
			if !slices.Contains(dp.Bounds, 15) || !slices.Contains(dp.Bounds, 0.005) {
				t.Errorf("bounds %v, want 5 ms to 15 s", dp.Bounds)
			}
		}
	}
	if !found || len(hist.DataPoints) != 5 {
		t.Errorf("duration: %d series, failed series found %v; want 5, true", len(hist.DataPoints), found)
	}
	for name, unit := range map[string]string{deliveries: "{delivery}", "codathook.deliveries.active": "{delivery}",
		"codathook.twins.paired": "{delivery}", "codathook.flag.evaluation.errors": "{error}"} {
		if m, _ := findMetric(rm, name); m.Unit != unit {
			t.Errorf("%s: unit %q, want %q", name, m.Unit, unit)
		}
	}
}

// The in-flight count is 1 while a callback runs and 0 once the delivery
// is answered.
func TestMetricsActive(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	block, started := make(chan struct{}), make(chan struct{}, 1)
	h.mu.Lock()
	h.block, h.started = block, started
	h.mu.Unlock()
	body := sample(t, "connection.connected", "ev-1")
	errc := make(chan error, 1)
	go func() {
		resp, err := codathooktest.Send(context.Background(), h.srv.Client(), h.srv.URL+"/new", h.signer.NewRequest(http.MethodPost, "/new", body))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	checkSum(t, h.collect(t), "codathook.deliveries.active", 1)
	close(block)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	h.waitServed(t)
	rm := h.collect(t)
	checkSum(t, rm, "codathook.deliveries.active", 0)
	checkSum(t, rm, "codathook.deliveries", 1, epNew, fmtNew, typeConn, res(codathook.ResultProcessed))
}

// A store that fails: the delivery is unavailable, counted as a store
// error with the failed operation, and its span's status is Error.
func TestMetricsStoreErrors(t *testing.T) {
	t.Parallel()
	store := dedupe.NewLRU(dedupe.LRUConfig{})
	if err := store.Close(context.Background()); err != nil { // every call now fails with ErrClosed
		t.Fatal(err)
	}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	resp := h.sendNew(t, "/new", sample(t, "connection.connected", "ev-1"))
	if got := resp.Header.Get(codathook.HeaderResult); got != string(codathook.ResultUnavailable) {
		t.Fatalf("result %q, want unavailable", got)
	}
	rm := h.collect(t)
	checkSum(t, rm, "codathook.dedupe.store.errors", 1, epNew, attribute.String("codathook.store.operation", "claim"))
	checkSum(t, rm, "codathook.deliveries", 1, epNew, fmtNew, typeConn, res(codathook.ResultUnavailable))
	s := h.onlyDeliverySpan(t)
	if s.Status().Code != codes.Error || attrMap(s.Attributes())["error.type"] != "unavailable" {
		t.Errorf("span status %v, error.type %q; want Error, unavailable", s.Status(), attrMap(s.Attributes())["error.type"])
	}
	if ev := s.Events(); len(ev) != 1 || attrMap(ev[0].Attributes)["exception.type"] != "*codathook.StoreError" {
		t.Errorf("events %v, want the StoreError recorded", ev)
	}
}

// errorProvider fails every evaluation.
type errorProvider struct{ *memprovider.InMemoryProvider }

func (errorProvider) BooleanEvaluation(context.Context, string, bool, openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return openfeature.BoolResolutionDetail{Value: false, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
		ResolutionError: openfeature.NewGeneralResolutionError("backend down"), Reason: openfeature.ErrorReason}}
}

// Failed flag evaluations are read from the registered receiver's Stats,
// by endpoint.
func TestMetricsFlagErrors(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), errorProvider{memprovider.NewInMemoryProvider(nil)}); err != nil {
		t.Fatal(err)
	}
	// A non-nil config: no decision cache, every delivery is evaluated.
	h := newHarness(t, codathook.WithFlags(api.NewClient(), &toggle.Config{}))
	h.sendNew(t, "/new", sample(t, "connection.connected", "ev-1"))
	h.sendNew(t, "/new", sample(t, "connection.connected", "ev-2"))
	legacy, err := codathooktest.LegacySample("DataConnectionStatusChanged", codathooktest.SampleOptions{ID: "alert-1"})
	if err != nil {
		t.Fatal(err)
	}
	h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, legacy))

	rm := h.collect(t)
	checkSum(t, rm, "codathook.flag.evaluation.errors", 2, epNew)
	checkSum(t, rm, "codathook.flag.evaluation.errors", 1, epLegacy)
	// The provider's failure falls back to processing (fail open).
	checkSum(t, rm, "codathook.deliveries", 2, epNew, fmtNew, typeConn, res(codathook.ResultProcessed))
	if s := h.rcv.Stats(); s.New.Flag.Errors != 2 {
		t.Errorf("Stats: %d flag errors on new, want 2", s.New.Flag.Errors)
	}
}

// TestMetricsEventTypeIsBounded sends signed deliveries of event types this
// version does not know: the metrics report them as "other" (a bounded set
// of series, whatever the sender invents), the span as received.
func TestMetricsEventTypeIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 5 {
		body := sample(t, "connection.connected", fmt.Sprint("ev-u", i))
		typ := fmt.Sprintf(`"eventType":"madeup.type%d"`, i)
		h.sendNew(t, "/new", bytes.Replace(body, []byte(`"eventType":"connection.connected"`), []byte(typ), 1))
		h.signer.MsgID = ""
	}
	rm := h.collect(t)
	if n := points(rm, "codathook.deliveries"); n != 1 {
		t.Errorf("codathook.deliveries has %d series for 5 unknown types, want 1", n)
	}
	if _, ok := sum(t, rm, "codathook.deliveries", epNew, fmtNew, attribute.String("codathook.event_type", "other"), res(codathook.ResultProcessed)); !ok {
		t.Errorf("no codathook.deliveries series with codathook.event_type=other")
	}
	spans := h.deliverySpans()
	if len(spans) != 5 {
		t.Fatalf("%d delivery spans, want 5", len(spans))
	}
	if got := attrMap(spans[0].Attributes())["codathook.event_type"]; !strings.HasPrefix(got, "madeup.type") {
		t.Errorf("span event type = %q, want the type as received", got)
	}
}
