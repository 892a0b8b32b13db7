package codathookotel_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/codathook/codathook/codathooktest"
)

// checkChildOfOuter checks that s is an Internal span whose parent is the
// outer otelhttp span, in the same trace.
func checkChildOfOuter(t *testing.T, h *harness, s sdktrace.ReadOnlySpan) {
	t.Helper()
	outer := h.outerSpan(t)
	if s.Parent().SpanID() != outer.SpanContext().SpanID() || s.SpanContext().TraceID() != outer.SpanContext().TraceID() {
		t.Errorf("span %q: parent %v, want the outer span %v", s.Name(), s.Parent().SpanID(), outer.SpanContext().SpanID())
	}
	if s.SpanKind() != trace.SpanKindInternal {
		t.Errorf("span %q: kind %v, want internal below the otelhttp span", s.Name(), s.SpanKind())
	}
}

// A processed delivery: the span is a child of the outer span, the parent
// of the callback's context, named after the endpoint, with the outcome's
// attributes and status Unset.
func TestSpanProcessed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signer.MsgID = "msg_processed"
	resp := h.sendNew(t, "/new", sample(t, "connection.connected", "ev-1"))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d, want 204", resp.StatusCode)
	}
	s := h.onlyDeliverySpan(t)
	if s.Name() != "codathook.delivery new" {
		t.Errorf("name %q, want %q", s.Name(), "codathook.delivery new")
	}
	checkChildOfOuter(t, h, s)
	checkAttrs(t, s, map[string]string{
		"codathook.endpoint":        "new",
		"codathook.format":          "new",
		"codathook.event_type":      "connection.connected",
		"codathook.result":          "processed",
		"codathook.delivery_id":     "msg:msg_processed", // Outcome.DeliveryID, the delivery key
		"http.request.method":       "POST",
		"http.response.status_code": "204",
	})
	if s.Status().Code != codes.Unset || len(s.Events()) != 0 {
		t.Errorf("status %v, %d events; want Unset and none", s.Status(), len(s.Events()))
	}
	h.mu.Lock()
	parent := h.callbacks["ev-1"]
	h.mu.Unlock()
	if parent.SpanID() != s.SpanContext().SpanID() {
		t.Errorf("the callback's context has span %v, want the delivery span %v", parent.SpanID(), s.SpanContext().SpanID())
	}
}

// Duplicates carry the kind of key they matched: a retry (message), the
// same event id again (event), the legacy twin (twin).
func TestSpanDuplicateMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	newBody, legacyBody, err := codathooktest.Twin("connection.connected", codathooktest.SampleOptions{ID: "ev-twin"})
	if err != nil {
		t.Fatal(err)
	}
	// Codat's two services give an occurrence different ids: only
	// pairing matches them.
	legacyBody = bytes.Replace(legacyBody, []byte(`"AlertId":"ev-twin"`), []byte(`"AlertId":"legacy-alert-1"`), 1)
	h.signer.MsgID = "msg_first"
	h.sendNew(t, "/new", newBody)
	h.sendNew(t, "/new", newBody) // the retry: same message id
	h.signer.MsgID = "msg_resent"
	h.sendNew(t, "/new", newBody) // another message, the same event id
	h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, legacyBody))

	spans := h.deliverySpans()
	if len(spans) != 4 {
		t.Fatalf("%d delivery spans, want 4", len(spans))
	}
	for i, want := range []struct{ name, result, match string }{
		{"codathook.delivery new", "processed", ""},
		{"codathook.delivery new", "duplicate", "message"},
		{"codathook.delivery new", "duplicate", "event"},
		{"codathook.delivery legacy", "duplicate", "twin"},
	} {
		s := spans[i]
		got := attrMap(s.Attributes())
		if s.Name() != want.name || got["codathook.result"] != want.result || got["codathook.match"] != want.match {
			t.Errorf("span %d: %q result %q match %q, want %q %q %q", i, s.Name(), got["codathook.result"], got["codathook.match"], want.name, want.result, want.match)
		}
		if s.Status().Code != codes.Unset || got["http.response.status_code"] != "204" {
			t.Errorf("span %d: status %v, HTTP %s; want Unset, 204", i, s.Status(), got["http.response.status_code"])
		}
	}
	// A retry is recognised before its body is parsed: no format, no type.
	checkAttrs(t, spans[1], map[string]string{
		"codathook.endpoint":        "new",
		"codathook.result":          "duplicate",
		"codathook.match":           "message",
		"codathook.delivery_id":     "msg:msg_first",
		"http.request.method":       "POST",
		"http.response.status_code": "204",
	})
	if got := attrMap(spans[3].Attributes())["codathook.format"]; got != "legacy" {
		t.Errorf("twin: format %q, want legacy", got)
	}
}

// A callback's error: status Error, the error recorded as an event (its
// message, no stack), error.type the result, and no body in the span.
func TestSpanFailedCallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := sample(t, "connection.connected", "fail-1")
	resp := h.sendNew(t, "/new", body)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	s := h.onlyDeliverySpan(t)
	checkChildOfOuter(t, h, s)
	got := attrMap(s.Attributes())
	if got["codathook.result"] != "failed" || got["error.type"] != "failed" || got["http.response.status_code"] != "503" {
		t.Errorf("attributes %v, want result and error.type failed, status 503", got)
	}
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, errCallback.Error()) {
		t.Errorf("status %v, want Error with the callback's error", s.Status())
	}
	events := s.Events()
	if len(events) != 1 || events[0].Name != "exception" {
		t.Fatalf("events %v, want one exception", events)
	}
	ev := attrMap(events[0].Attributes)
	if msg := ev["exception.message"]; !strings.Contains(msg, errCallback.Error()) {
		t.Errorf("exception.message %q, want the callback's error", msg)
	}
	if ev["exception.type"] != "*codathook.CallbackError" {
		t.Errorf("exception.type %q, want *codathook.CallbackError", ev["exception.type"])
	}
	checkNoSecrets(t, s, body)
}

// A callback's permanent error (answered 422, Svix told to stop
// retrying) is the app's failure too: status Error, error.type rejected.
func TestSpanRejectedCallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.sendNew(t, "/new", sample(t, "connection.connected", "reject-1"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	s := h.onlyDeliverySpan(t)
	got := attrMap(s.Attributes())
	if got["codathook.result"] != "rejected" || got["error.type"] != "rejected" || got["http.response.status_code"] != "422" {
		t.Errorf("attributes %v, want result and error.type rejected, status 422", got)
	}
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, errCallback.Error()) {
		t.Errorf("status %v, want Error with the callback's error", s.Status())
	}
}

// checkNoSecrets checks that no attribute of s or of its events holds the
// signing secret, an Authorization value or a piece of the body's payload.
func checkNoSecrets(t *testing.T, s sdktrace.ReadOnlySpan, body []byte) {
	t.Helper()
	all := s.Attributes()
	for _, e := range s.Events() {
		all = append(all, e.Attributes...)
	}
	for _, kv := range all {
		v := kv.Value.Emit()
		for _, bad := range []string{codathooktest.DevSecret, codathooktest.DevAuthorization, `"payload"`, string(body)} {
			if strings.Contains(v, bad) {
				t.Errorf("attribute %s = %q holds %q", kv.Key, v, bad)
			}
		}
	}
}

// A delivery that fails authentication: the sender's fault, so the status
// stays Unset; the reason is recorded as an event.
func TestSpanUnauthorized(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := sample(t, "connection.connected", "ev-1")
	req := codathooktest.MustSigner(codathooktest.NewSecret()).NewRequest(http.MethodPost, "/new", body) // another secret
	if resp := h.send(t, "/new", req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", "Bearer wrong", body))
	spans := h.deliverySpans()
	if len(spans) != 2 {
		t.Fatalf("%d delivery spans, want 2", len(spans))
	}
	for i, ep := range []string{"new", "legacy"} {
		s := spans[i]
		checkAttrs(t, s, map[string]string{
			"codathook.endpoint":        ep,
			"codathook.result":          "unauthorized",
			"http.request.method":       "POST",
			"http.response.status_code": "401",
		})
		if s.Status().Code != codes.Unset {
			t.Errorf("%s: status %v, want Unset for a 4xx", ep, s.Status())
		}
		if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
			t.Errorf("%s: events %v, want the refusal's error", ep, s.Events())
		}
		checkNoSecrets(t, s, body)
	}
}

// Without an outer span the delivery span is the trace's root, of kind
// Server.
func TestSpanRootWithoutOuterSpan(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sendNew(t, "/bare", sample(t, "connection.connected", "ev-1"))
	s := h.onlyDeliverySpan(t)
	if s.Parent().IsValid() || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("parent %v kind %v, want a root Server span", s.Parent(), s.SpanKind())
	}
	if got := attrMap(s.Attributes())["codathook.result"]; got != "processed" {
		t.Errorf("result %q, want processed", got)
	}
}

// A handler that is not a receiver's (nothing observes the request): Wrap
// ends the span itself; after a panic, with status Error.
func TestSpanWithoutObservation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if resp := h.send(t, "/notfound", codathooktest.NewLegacyRequest("/notfound", "", nil)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	s := h.onlyDeliverySpan(t)
	if s.Name() != "codathook.delivery" || s.Status().Code != codes.Unset {
		t.Errorf("span %q status %v, want codathook.delivery, Unset", s.Name(), s.Status())
	}

	panicky := h.inst.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want the handler's panic passed on", p)
			}
		}()
		panicky.ServeHTTP(nil, codathooktest.NewLegacyRequest("/", "", nil))
	}()
	spans := h.deliverySpans()
	if len(spans) != 2 || spans[1].Status().Code != codes.Error {
		t.Fatalf("after a panic: %d spans, last %v; want 2, status Error", len(spans), spans[len(spans)-1].Status())
	}
}
