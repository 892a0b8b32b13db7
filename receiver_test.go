package codathook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/normalize"
)

const (
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherKey   = "whsec_plJ3nmyCDGBKInavdOK15jsl"
	legacyAuth = "Bearer legacy-token"
	companyID  = "8a210b68-6988-11ed-a1eb-0242ac120002"
	connID     = "2e9d2c44-f675-40ba-8049-353bfcb5e171"
)

var epoch = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testClient has its own transport: httptest.Server.Close closes the idle
// connections of http.DefaultTransport, which would break requests that
// parallel tests have in flight.
var testClient = &http.Client{Transport: &http.Transport{}}

// generatedNow is when the test binary started, the generatedDate of
// connectedBody: an occurrence time that pairs it with a legacy twin (a
// date older than the pairing horizon would not), fixed so that two bodies
// built with one id are byte for byte the same.
var generatedNow = time.Now().UTC().Format(time.RFC3339)

// connectedBody is a connection.connected event generated at generatedNow.
func connectedBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":%q,"name":"Toft stores"},"connection":{"id":%q,"integrationKey":"gbol","sourceType":"Accounting","platformName":"Xero","status":"Linked","created":"2024-08-24T14:15:22Z"}}}`, id, generatedNow, companyID, connID)
}

func legacyConnectedBody(alertID string) []byte {
	return fmt.Appendf(nil, `{"AlertId":%q,"RuleType":"DataConnectionStatusChanged","CompanyId":%q,"DataConnectionId":%q,"ClientId":"c1","ClientName":"Toft","Message":"status changed","Data":{"dataConnectionId":%q,"platformKey":"gbol","newStatus":"Linked","oldStatus":"PendingAuth"}}`, alertID, companyID, connID, connID)
}

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

// harness is a receiver behind a real HTTP server, with a callback that counts.
type harness struct {
	rcv    *codathook.Receiver
	srv    *httptest.Server
	clock  *testClock
	signer *codathooktest.Signer
	calls  atomic.Int64
	mu     sync.Mutex
	events []*codathook.Event
	fail   atomic.Value // func(*codathook.Event) error
}

func newHarness(t *testing.T, opts ...codathook.Option) *harness {
	t.Helper()
	h := &harness{clock: &testClock{t: epoch}}
	base := []codathook.Option{
		codathook.WithSecrets(testSecret),
		codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithClock(h.clock.Now),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	}
	rcv, err := codathook.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	h.rcv = rcv
	err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		if f, ok := h.fail.Load().(func(*codathook.Event) error); ok && f != nil {
			if err := f(ev); err != nil {
				return err
			}
		}
		h.calls.Add(1)
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("On: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.signer = codathooktest.MustSigner(testSecret)
	h.signer.Now = h.clock.Now
	return h
}

func (h *harness) newURL() string    { return h.srv.URL + "/webhooks/codat" }
func (h *harness) legacyURL() string { return h.srv.URL + "/webhooks/codat/legacy" }

func send(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	r.RequestURI = "" // codathooktest builds server-side requests
	resp, err := testClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	type tc struct {
		name       string
		req        func(h *harness) *http.Request
		setup      func(h *harness)
		wantStatus int
		wantResult codathook.Result
		wantCalls  int64
	}
	signed := func(h *harness, body []byte) *http.Request {
		return h.signer.NewRequest(http.MethodPost, h.newURL(), body)
	}
	tests := []tc{
		{name: "a signed new delivery is processed", req: func(h *harness) *http.Request { return signed(h, connectedBody("e1")) },
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCalls: 1},
		{name: "PUT is accepted like POST", req: func(h *harness) *http.Request {
			return h.signer.NewRequest(http.MethodPut, h.newURL(), connectedBody("e1"))
		}, wantStatus: 204, wantResult: codathook.ResultProcessed, wantCalls: 1},
		{name: "svix-* headers are accepted", req: func(h *harness) *http.Request {
			s := codathooktest.MustSigner(testSecret)
			s.HeaderPrefixes, s.Now = []string{"svix"}, h.clock.Now
			return s.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1"))
		}, wantStatus: 204, wantResult: codathook.ResultProcessed, wantCalls: 1},
		{name: "a legacy delivery with the right Authorization is processed", req: func(h *harness) *http.Request {
			return codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legacyConnectedBody("a1"))
		}, wantStatus: 204, wantResult: codathook.ResultProcessed, wantCalls: 1},
		{name: "a legacy-shaped body through the new service is processed", req: func(h *harness) *http.Request {
			return signed(h, legacyConnectedBody("a1"))
		}, wantStatus: 204, wantResult: codathook.ResultProcessed, wantCalls: 1},
		{name: "an unknown JSON object goes to the fallback and is acknowledged", req: func(h *harness) *http.Request {
			return signed(h, []byte(`{"companyId":"x","bankAccount":{}}`))
		}, wantStatus: 204, wantResult: codathook.ResultProcessed},
		{name: "missing signature headers are 401", req: func(h *harness) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, h.newURL(), bytes.NewReader(connectedBody("e1")))
			return r
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "a tampered body is 401", req: func(h *harness) *http.Request {
			r := signed(h, connectedBody("e1"))
			r.Body = io.NopCloser(bytes.NewReader(connectedBody("e2")))
			return r
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "a signature by another secret is 401", req: func(h *harness) *http.Request {
			s := codathooktest.MustSigner(otherKey)
			s.Now = h.clock.Now
			return s.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1"))
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "a stale timestamp is 401", req: func(h *harness) *http.Request {
			s := codathooktest.MustSigner(testSecret)
			s.Timestamp = epoch.Add(-codathook.DefaultTolerance - time.Second)
			return s.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1"))
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "a legacy delivery with a wrong Authorization is 401", req: func(h *harness) *http.Request {
			return codathooktest.NewLegacyRequest(h.legacyURL(), "Bearer wrong", legacyConnectedBody("a1"))
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "a legacy delivery without Authorization is 401", req: func(h *harness) *http.Request {
			return codathooktest.NewLegacyRequest(h.legacyURL(), "", legacyConnectedBody("a1"))
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "a signed delivery on the legacy endpoint still needs the Authorization", req: func(h *harness) *http.Request {
			return h.signer.NewRequest(http.MethodPost, h.legacyURL(), connectedBody("e1"))
		}, wantStatus: 401, wantResult: codathook.ResultUnauthorized},
		{name: "GET is 405 with Allow", req: func(h *harness) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, h.newURL(), nil)
			return r
		}, wantStatus: 405, wantResult: codathook.ResultMethodNotAllowed},
		{name: "a body over the limit is 413", req: func(h *harness) *http.Request {
			return signed(h, bytes.Repeat([]byte(" "), codathook.DefaultMaxBodyBytes+1))
		}, wantStatus: 413, wantResult: codathook.ResultTooLarge},
		{name: "a body over the limit without Content-Length is 413", req: func(h *harness) *http.Request {
			r := signed(h, bytes.Repeat([]byte(" "), codathook.DefaultMaxBodyBytes+1))
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(bytes.Repeat([]byte(" "), codathook.DefaultMaxBodyBytes+1))))
			r.ContentLength = -1
			return r
		}, wantStatus: 413, wantResult: codathook.ResultTooLarge},
		{name: "malformed JSON is 400", req: func(h *harness) *http.Request { return signed(h, []byte(`{"id":`)) },
			wantStatus: 400, wantResult: codathook.ResultMalformed},
		{name: "a JSON array is 400", req: func(h *harness) *http.Request { return signed(h, []byte(`[1,2]`)) },
			wantStatus: 400, wantResult: codathook.ResultMalformed},
		{name: "a failing callback is 503 with Retry-After", setup: func(h *harness) {
			h.fail.Store(func(*codathook.Event) error { return errors.New("database down") })
		}, req: func(h *harness) *http.Request { return signed(h, connectedBody("e1")) },
			wantStatus: 503, wantResult: codathook.ResultFailed},
		{name: "a panicking callback is 503", setup: func(h *harness) {
			h.fail.Store(func(*codathook.Event) error { panic("boom") })
		}, req: func(h *harness) *http.Request { return signed(h, connectedBody("e1")) },
			wantStatus: 503, wantResult: codathook.ResultFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			resp, body := send(t, tc.req(h))
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tc.wantStatus, body)
			}
			if got := codathook.Result(resp.Header.Get(codathook.HeaderResult)); got != tc.wantResult {
				t.Errorf("%s = %q, want %q", codathook.HeaderResult, got, tc.wantResult)
			}
			if got := h.calls.Load(); got != tc.wantCalls {
				t.Errorf("callback calls = %d, want %d", got, tc.wantCalls)
			}
			switch resp.StatusCode {
			case 405:
				if got := resp.Header.Get("Allow"); got != "POST, PUT" {
					t.Errorf("Allow = %q, want %q", got, "POST, PUT")
				}
			case 503:
				if got := resp.Header.Get("Retry-After"); got == "" {
					t.Error("503 without Retry-After")
				}
			}
			if strings.Contains(body, "database down") || strings.Contains(body, "boom") || strings.Contains(body, "codathook:") {
				t.Errorf("response body %q reveals internal error text", body)
			}
		})
	}
}

func TestRetryAfterFailureIsProcessed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var failures atomic.Int64
	h.fail.Store(func(*codathook.Event) error {
		if failures.Add(1) == 1 {
			return errors.New("transient")
		}
		return nil
	})
	h.signer.MsgID = "msg_retry"
	for i, want := range []int{503, 204, 204} {
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
		if resp.StatusCode != want {
			t.Errorf("attempt %d: status = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("successful callback calls = %d, want 1", got)
	}
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	t.Run("a Svix retry with the same webhook-id and a new signature is a duplicate", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.signer.MsgID = "msg_1"
		send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
		h.clock.Advance(5 * time.Second)
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
		if got := resp.Header.Get(codathook.HeaderResult); got != string(codathook.ResultDuplicate) {
			t.Errorf("retry result = %q, want duplicate", got)
		}
		if got := h.calls.Load(); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
	t.Run("the same occurrence once per format is processed once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legacyConnectedBody("a1")))
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-different")))
		if got := resp.Header.Get(codathook.HeaderResult); got != string(codathook.ResultDuplicate) {
			t.Errorf("twin result = %q, want duplicate", got)
		}
		if got := h.calls.Load(); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
	t.Run("concurrent copies in one process run the callback once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		release := make(chan struct{})
		h.fail.Store(func(*codathook.Event) error { <-release; return nil })
		h.signer.MsgID = "msg_concurrent"
		const n = 8
		var wg sync.WaitGroup
		codes := make(chan int, n)
		for range n {
			wg.Go(func() {
				resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
				codes <- resp.StatusCode
			})
		}
		time.Sleep(50 * time.Millisecond) // let the copies pile up behind the first
		close(release)
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != 204 {
				t.Errorf("status = %d, want 204 for every copy", c)
			}
		}
		if got := h.calls.Load(); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
}

func TestCallbackTimeoutReleases(t *testing.T) {
	t.Parallel()
	h := newHarness(t, codathook.WithCallbackTimeout(20*time.Millisecond))
	var slow atomic.Bool
	slow.Store(true)
	h.fail.Store(func(*codathook.Event) error {
		if slow.Load() {
			time.Sleep(200 * time.Millisecond) // ignores its context, then fails like a cancelled call would
			return context.DeadlineExceeded
		}
		return nil
	})
	h.signer.MsgID = "msg_slow"
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if resp.StatusCode != 503 {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	// While the late callback still runs, a retry finds the claim in flight.
	resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if got := resp.Header.Get(codathook.HeaderResult); got != string(codathook.ResultInFlight) {
		t.Errorf("retry during the late callback: result = %q, want in_flight", got)
	}
	slow.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
		if resp.StatusCode == 204 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp.StatusCode != 204 || h.calls.Load() != 1 {
		t.Errorf("after release: status = %d, calls = %d, want 204 and 1", resp.StatusCode, h.calls.Load())
	}
}

func TestMiddlewarePassesEventAndBody(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var gotType string
	var nextCalls atomic.Int64
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nextCalls.Add(1)
		got, _ = io.ReadAll(r.Body)
		del, ok := codathook.DeliveryFromContext(r.Context())
		if !ok {
			t.Error("DeliveryFromContext: no delivery")
			return
		}
		gotType = del.Event.Type
		w.WriteHeader(http.StatusAccepted)
	})
	srv := httptest.NewServer(rcv.Middleware(codathook.EndpointNew)(next))
	t.Cleanup(srv.Close)
	signer := codathooktest.MustSigner(testSecret)
	signer.MsgID = "msg_mw"
	body := connectedBody("e1")
	resp, _ := send(t, signer.NewRequest(http.MethodPost, srv.URL, body))
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status = %d, want the wrapped handler's 202", resp.StatusCode)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("wrapped handler read %q, want the exact body", got)
	}
	if gotType != "connection.connected" {
		t.Errorf("event type = %q, want connection.connected", gotType)
	}
	resp, _ = send(t, signer.NewRequest(http.MethodPost, srv.URL, body))
	if resp.StatusCode != 204 || nextCalls.Load() != 1 {
		t.Errorf("duplicate: status = %d, next calls = %d, want 204 and 1", resp.StatusCode, nextCalls.Load())
	}
}

func TestMiddlewareFailureReleases(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			panic("wrapped handler panicked")
		}
	})
	srv := httptest.NewServer(rcv.Middleware(codathook.EndpointNew)(next))
	t.Cleanup(srv.Close)
	signer := codathooktest.MustSigner(testSecret)
	signer.MsgID = "msg_mw_fail"
	for i, want := range []int{503, 503, 204, 204} {
		resp, _ := send(t, signer.NewRequest(http.MethodPost, srv.URL, connectedBody("e1")))
		if resp.StatusCode != want {
			t.Errorf("attempt %d: status = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("wrapped handler calls = %d, want 3 (fail, panic, success; then a duplicate)", got)
	}
}

func TestDeliveryMetadata(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var got *codathook.Delivery
	h.fail.Store(func(*codathook.Event) error { return nil })
	rcv, _ := codathook.New(codathook.WithSecrets(testSecret), codathook.WithClock(h.clock.Now), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err := codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		got, _ = codathook.DeliveryFromContext(ctx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.signer.MsgID = "msg_meta"
	body := connectedBody("e1")
	rec := httptest.NewRecorder()
	rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, h.signer.NewRequest(http.MethodPost, "/", body))
	if rec.Code != 204 || got == nil {
		t.Fatalf("status = %d, delivery = %v", rec.Code, got)
	}
	if got.ID != "msg:msg_meta" || got.EventID != "e1" || got.Format != normalize.FormatNew ||
		got.Endpoint != codathook.EndpointNew || !got.ReceivedAt.Equal(epoch) || !bytes.Equal(got.Body, body) {
		t.Errorf("delivery = %+v", got)
	}
}

func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	conn := func(context.Context, *codathook.ConnectionEvent) error { return nil }
	write := func(context.Context, *codathook.WriteEvent) error { return nil }
	generic := func(context.Context, *codathook.Event) error { return nil }
	if err := codathook.On(rcv, "connection.connected", conn); err != nil {
		t.Fatalf("first registration: %v", err)
	}
	tests := []struct {
		name string
		err  error
	}{
		{"two callbacks for one type", codathook.On(rcv, "connection.connected", conn)},
		{"wrong type for a name", codathook.On(rcv, "read.completed", conn)},
		{"wrong type for a pattern", codathook.On(rcv, "*.write.successful", conn)},
		{"a pattern over two families needs *Event", codathook.On(rcv, "*.*.successful", write)},
		{"unknown type with a typed callback", codathook.On(rcv, "nothing.known", conn)},
		{"unknown type with *Event", codathook.On(rcv, "invoices.approved", generic)},
		{"empty pattern", codathook.On(rcv, "", generic)},
		{"partial wildcard segment", codathook.On(rcv, "conn*.created", generic)},
		{"nil callback", codathook.On[*codathook.Event](rcv, "x", nil)},
	}
	for _, tc := range tests {
		if tc.err == nil {
			t.Errorf("%s: On returned nil, want an error", tc.name)
		}
	}
	for _, ok := range []struct {
		name string
		err  error
	}{
		{"write pattern with *WriteEvent", codathook.On(rcv, "*.write.successful", write)},
		{"a family pattern with *Event", codathook.On(rcv, "read.*", generic)},
		{"a family pattern", codathook.On(rcv, "connection.*", conn)},
	} {
		if ok.err != nil {
			t.Errorf("%s: %v, want nil", ok.name, ok.err)
		}
	}
}

func TestDispatchPrecedence(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	rec := func(name string) func(context.Context, *codathook.WriteEvent) error {
		return func(context.Context, *codathook.WriteEvent) error {
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
			return nil
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(codathook.On(rcv, "*.write.successful", rec("pattern")))
	must(codathook.On(rcv, "invoices.write.successful", rec("exact")))
	must(codathook.On(rcv, "*", func(context.Context, *codathook.Event) error {
		mu.Lock()
		got = append(got, "all")
		mu.Unlock()
		return nil
	}))
	signer := codathooktest.MustSigner(testSecret)
	for _, dt := range []string{"invoices", "bills", "expenseTransactions"} {
		body := fmt.Appendf(nil, `{"id":"w-%s","eventType":"%s.write.successful","payload":{"id":"op-%s","type":"Create","status":"Success","referenceCompany":{"id":"c"},"connectionId":"k"}}`, dt, dt, dt)
		rec := httptest.NewRecorder()
		rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, signer.NewRequest(http.MethodPost, "/", body))
		if rec.Code != 204 {
			t.Fatalf("%s: status %d", dt, rec.Code)
		}
	}
	body := []byte(`{"id":"r1","eventType":"read.completed","payload":{"referenceCompany":{"id":"c"},"dataTypes":[]}}`)
	rcv.Handler(codathook.EndpointNew).ServeHTTP(httptest.NewRecorder(), signer.NewRequest(http.MethodPost, "/", body))
	want := []string{"exact", "pattern", "pattern", "all"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("dispatched to %v, want %v", got, want)
	}
}

func TestNewOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  codathook.Option
	}{
		{"empty secret", codathook.WithSecrets("")},
		{"undecodable secret", codathook.WithSecrets("whsec_not base64!")},
		{"short secret", codathook.WithSecrets("whsec_c2hvcnQ=")},
		{"no secrets", codathook.WithSecrets()},
		{"empty legacy authorization", codathook.WithLegacyAuthorization("")},
		{"zero tolerance", codathook.WithTolerance(0)},
		{"zero body limit", codathook.WithMaxBodyBytes(0)},
		{"nil flags", codathook.WithFlags(nil, nil)},
		{"unknown insecure endpoint", codathook.WithInsecureNoAuth("other")},
		{"nil option", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := codathook.New(tc.opt); err == nil {
				t.Error("New returned nil error")
			}
		})
	}
}

func TestUnconfiguredEndpointIs401(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithLegacyAuthorization(legacyAuth), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, codathooktest.MustSigner(testSecret).NewRequest(http.MethodPost, "/", connectedBody("e1")))
	if rec.Code != 401 {
		t.Errorf("status = %d, want 401", rec.Code)
	}
	insecure, _ := codathook.New(codathook.WithInsecureNoAuth(codathook.EndpointLegacy), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	rec = httptest.NewRecorder()
	insecure.Handler(codathook.EndpointLegacy).ServeHTTP(rec, codathooktest.NewLegacyRequest("/", "", legacyConnectedBody("a1")))
	if rec.Code != 204 {
		t.Errorf("insecure legacy endpoint: status = %d, want 204", rec.Code)
	}
}

func TestObserverSeesEveryDelivery(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var outcomes []codathook.Outcome
	h := newHarness(t, codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
	}))
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	send(t, codathooktest.NewLegacyRequest(h.legacyURL(), "Bearer nope", legacyConnectedBody("a1")))
	mu.Lock()
	defer mu.Unlock()
	if len(outcomes) != 2 {
		t.Fatalf("outcomes = %d, want 2", len(outcomes))
	}
	if o := outcomes[0]; o.Result != codathook.ResultProcessed || o.Status != 204 || o.EventType != "connection.connected" || o.Format != normalize.FormatNew || o.Endpoint != codathook.EndpointNew {
		t.Errorf("first outcome = %+v", o)
	}
	if o := outcomes[1]; o.Result != codathook.ResultUnauthorized || o.Status != 401 || !errors.Is(o.Err, codathook.ErrUnauthorized) {
		t.Errorf("second outcome = %+v", o)
	}
}

func TestStatsCountResults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signer.MsgID = "msg_stats"
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	send(t, codathooktest.NewLegacyRequest(h.legacyURL(), "Bearer nope", legacyConnectedBody("a1")))
	s := h.rcv.Stats()
	if s.New.Total != 2 || s.New.Results[codathook.ResultProcessed] != 1 || s.New.Results[codathook.ResultDuplicate] != 1 {
		t.Errorf("New = %+v, want 1 processed and 1 duplicate", s.New)
	}
	if s.Legacy.Total != 1 || s.Legacy.Results[codathook.ResultUnauthorized] != 1 {
		t.Errorf("Legacy = %+v, want 1 unauthorized", s.Legacy)
	}
}
