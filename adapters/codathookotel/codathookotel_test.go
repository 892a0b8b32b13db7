package codathookotel_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookotel"
	"github.com/codathook/codathook/codathooktest"
)

// harness serves one receiver, instrumented with the real SDK's in-memory
// span recorder and exporter and manual metric reader, on a real HTTP
// server: /new and /legacy inside an outer otelhttp handler, /bare without
// one.
type harness struct {
	srv      *httptest.Server
	spans    *tracetest.SpanRecorder
	exported *tracetest.InMemoryExporter // the ended spans, exported as they end
	reader   *sdkmetric.ManualReader
	tp       *sdktrace.TracerProvider
	inst     *codathookotel.Instrumentation
	rcv      *codathook.Receiver
	signer   *codathooktest.Signer

	mu        sync.Mutex
	callbacks map[string]trace.SpanContext // the callback's parent span, by event id
	block     chan struct{}                // when set, callbacks wait on it
	started   chan struct{}                // when set, callbacks signal it first
	// served receives a value once the server has finished with a request
	// (its handler and the otelhttp handler have returned): the client can
	// have the response before then.
	served chan struct{}
}

// errCallback is what the callback returns for an event whose id starts
// with "fail".
var errCallback = errors.New("downstream refused")

func newHarness(t *testing.T, opts ...codathook.Option) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewSpanRecorder(), exported: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader(),
		signer: codathooktest.MustSigner(codathooktest.DevSecret), callbacks: map[string]trace.SpanContext{},
		served: make(chan struct{}, 64)}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans), sdktrace.WithSyncer(h.exported))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() { _ = h.tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	inst, err := codathookotel.New(codathookotel.Config{TracerProvider: h.tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	h.inst = inst
	rcv, err := codathook.New(append([]codathook.Option{
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
		codathook.WithObserver(inst.Observe),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close(context.Background()) })
	h.rcv = rcv
	inst.Register(rcv)
	err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		h.mu.Lock()
		h.callbacks[ev.ID] = trace.SpanContextFromContext(ctx)
		block, started := h.block, h.started
		h.mu.Unlock()
		if started != nil {
			started <- struct{}{}
		}
		if block != nil {
			<-block
		}
		if strings.HasPrefix(ev.ID, "fail") {
			return errCallback
		}
		if strings.HasPrefix(ev.ID, "reject") {
			return codathook.Permanent(errCallback)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	outer := func(next http.Handler) http.Handler {
		return otelhttp.NewHandler(next, "webhooks", otelhttp.WithTracerProvider(h.tp), otelhttp.WithMeterProvider(mp))
	}
	mux.Handle("/new", outer(inst.Wrap(rcv.Handler(codathook.EndpointNew))))
	mux.Handle("/legacy", outer(inst.Wrap(rcv.Handler(codathook.EndpointLegacy))))
	mux.Handle("/bare", inst.Wrap(rcv.Handler(codathook.EndpointNew)))
	mux.Handle("/notfound", inst.Wrap(http.NotFoundHandler()))
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { h.served <- struct{}{} }()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// send delivers r to path and returns the response, its body closed, once
// the server has finished with the request.
func (h *harness) send(t *testing.T, path string, r *http.Request) *http.Response {
	t.Helper()
	resp, err := codathooktest.Send(t.Context(), h.srv.Client(), h.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h.waitServed(t)
	return resp
}

// waitServed waits until the server has finished with one more request.
func (h *harness) waitServed(t *testing.T) {
	t.Helper()
	select {
	case <-h.served:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not finish the request")
	}
}

// sendNew signs body and delivers it to path.
func (h *harness) sendNew(t *testing.T, path string, body []byte) *http.Response {
	t.Helper()
	return h.send(t, path, h.signer.NewRequest(http.MethodPost, path, body))
}

func sample(t *testing.T, eventType, id string) []byte {
	t.Helper()
	b, err := codathooktest.Sample(eventType, codathooktest.SampleOptions{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliverySpans returns the ended delivery spans, in the order they ended.
func (h *harness) deliverySpans() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range h.spans.Ended() {
		if strings.HasPrefix(s.Name(), "codathook.delivery") {
			out = append(out, s)
		}
	}
	return out
}

// onlyDeliverySpan returns the one delivery span, failing the test if
// there is not exactly one.
func (h *harness) onlyDeliverySpan(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := h.deliverySpans()
	if len(spans) != 1 {
		t.Fatalf("%d delivery spans ended, want 1", len(spans))
	}
	return spans[0]
}

// outerSpan returns the otelhttp span (the one not named codathook.*),
// from the started spans: otelhttp ends it after the handler returns,
// which can be after the client has the response.
func (h *harness) outerSpan(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	var found sdktrace.ReadOnlySpan
	for _, s := range h.spans.Started() {
		if !strings.HasPrefix(s.Name(), "codathook.") {
			if found != nil {
				t.Fatalf("two outer spans: %q and %q", found.Name(), s.Name())
			}
			found = s
		}
	}
	if found == nil {
		t.Fatal("no outer otelhttp span started")
	}
	return found
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// checkAttrs checks that the span has exactly the attributes want.
func checkAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	got := attrMap(s.Attributes())
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: attribute %s = %q, want %q", s.Name(), k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("span %q: unexpected attribute %s = %q", s.Name(), k, v)
		}
	}
}

// collect reads the metrics.
func (h *harness) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// sum returns the value of the int64 sum name at exactly the attributes
// attrs, and whether there is such a point.
func sum(t *testing.T, rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	m, ok := findMetric(rm, name)
	if !ok {
		return 0, false
	}
	data, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is a %T, want an int64 sum", name, m.Data)
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range data.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

// points returns the number of data points of the metric name.
func points(rm metricdata.ResourceMetrics, name string) int {
	m, ok := findMetric(rm, name)
	if !ok {
		return 0
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		return len(d.DataPoints)
	case metricdata.Histogram[float64]:
		return len(d.DataPoints)
	}
	return -1
}
