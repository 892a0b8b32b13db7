package codathook_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// blockingCallback makes h's callback wait for release (ignoring its
// context; at most 3 s, so that a receiver that waits for it fails the test
// rather than hanging it) and then succeed; returned reports whether it has
// returned.
func blockingCallback(h *harness) (release chan struct{}, returned *atomic.Bool) {
	release = make(chan struct{})
	returned = new(atomic.Bool)
	h.fail.Store(func(*codathook.Event) error {
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
		returned.Store(true)
		return nil
	})
	return release, returned
}

// TestCallbackDeadlineAnswersWhileCallbackRuns: a callback that ignores its
// context and outlives the deadline runs on the request's goroutine, yet the
// sender gets a complete 503 at the deadline; a copy arriving meanwhile is
// in flight; the late success commits, so the retry is a duplicate.
func TestCallbackDeadlineAnswersWhileCallbackRuns(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		outcomes []codathook.Outcome
	)
	h := newHarness(t, codathook.WithCallbackTimeout(50*time.Millisecond),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
			mu.Lock()
			outcomes = append(outcomes, o)
			mu.Unlock()
		}))
	release, returned := blockingCallback(h)
	h.signer.MsgID = "msg_deadline"

	start := time.Now()
	resp, body := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	elapsed := time.Since(start)
	if returned.Load() {
		t.Fatal("the answer waited for the callback to return")
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultFailed) || !resp.Close {
		t.Errorf("at the deadline: status %d, Retry-After %q, result %q, close %v; want 503, set, failed, true",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get(codathook.HeaderResult), resp.Close)
	}
	if body != "Service Unavailable\n" {
		t.Errorf("body = %q", body)
	}
	if elapsed > 5*time.Second {
		t.Errorf("answered after %v", elapsed)
	}

	// A concurrent copy of the same message waits for the first, up to its
	// own deadline, and is then in flight.
	resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if got := resp.Header.Get(codathook.HeaderResult); resp.StatusCode != 503 || got != string(codathook.ResultInFlight) {
		t.Errorf("copy during the late callback: %d %q, want 503 in_flight", resp.StatusCode, got)
	}

	close(release)
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(outcomes) == 2
	})
	resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if got := resp.Header.Get(codathook.HeaderResult); resp.StatusCode != 204 || got != string(codathook.ResultDuplicate) {
		t.Errorf("retry after the late success: %d %q, want 204 duplicate", resp.StatusCode, got)
	}
	if n := h.calls.Load(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	var first *codathook.Outcome
	for i := range outcomes {
		if errors.Is(outcomes[i].Err, codathook.ErrCallbackTimeout) {
			first = &outcomes[i]
		}
	}
	if first == nil || first.Result != codathook.ResultFailed || first.Status != 503 {
		t.Errorf("observer: %+v, want a failed/503 outcome with ErrCallbackTimeout", outcomes)
	}
}

// TestCallbackDeadlineCustomErrorHandler: the early answer is whatever the
// error handler writes, sent whole with its length.
func TestCallbackDeadlineCustomErrorHandler(t *testing.T) {
	t.Parallel()
	h := newHarness(t, codathook.WithCallbackTimeout(30*time.Millisecond),
		codathook.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(codathook.StatusCode(err))
			io.WriteString(w, `{"error":"try again"}`)
		}))
	release, returned := blockingCallback(h)
	defer close(release)
	resp, body := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e2")))
	if returned.Load() {
		t.Fatal("the answer waited for the callback to return")
	}
	if resp.StatusCode != 503 || body != `{"error":"try again"}` || resp.ContentLength != int64(len(body)) ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q (length %d, type %q)", resp.StatusCode, body, resp.ContentLength, resp.Header.Get("Content-Type"))
	}
}

// TestCallbackDeadlineHTTP2: over HTTP/2 (where a stream ends only when the
// handler returns) the callback runs detached, and the answer still comes at
// the deadline.
func TestCallbackDeadlineHTTP2(t *testing.T) {
	t.Parallel()
	h := newHarness(t, codathook.WithCallbackTimeout(30*time.Millisecond))
	release, returned := blockingCallback(h)
	defer close(release)
	srv := httptest.NewUnstartedServer(h.srv.Config.Handler)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: client.Transport.(*http.Transport).TLSClientConfig.RootCAs}
	req := h.signer.NewRequest(http.MethodPost, srv.URL+"/webhooks/codat", connectedBody("e3"))
	req.RequestURI = ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s, want HTTP/2", resp.Proto)
	}
	if returned.Load() {
		t.Fatal("the answer waited for the callback to return")
	}
	if resp.StatusCode != 503 || string(b) != "Service Unavailable\n" {
		t.Errorf("got %d %q", resp.StatusCode, b)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCallbackContextCarriesDeadline: the callback's context reports the
// deadline, is cancelled at it with context.DeadlineExceeded (and so are
// contexts derived from it), and a callback that returns ctx.Err() is a
// failure: 503, released, so the retry processes it.
func TestCallbackContextCarriesDeadline(t *testing.T) {
	t.Parallel()
	const timeout = 40 * time.Millisecond
	h := newHarness(t, codathook.WithCallbackTimeout(timeout))
	var (
		sawDeadline atomic.Bool
		derivedErr  atomic.Value
		cause       atomic.Value
		first       atomic.Bool
		firstDone   = make(chan struct{})
	)
	first.Store(true)
	err := codathook.On(h.rcv, "connection.disconnected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		if !first.Swap(false) {
			return nil
		}
		defer close(firstDone)
		d, ok := ctx.Deadline()
		sawDeadline.Store(ok && time.Until(d) <= timeout && time.Until(d) > -time.Second)
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		select {
		case <-child.Done():
		case <-time.After(3 * time.Second):
		}
		derivedErr.Store(child.Err())
		cause.Store(context.Cause(ctx))
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"e-ctx","eventType":"connection.disconnected","payload":{"referenceCompany":{"id":"c"},"connection":{"id":"k","status":"Unlinked"}}}`)
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body))
	if resp.StatusCode != 503 {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	// The 503 can reach the client before the callback has seen its derived
	// context cancelled (that runs on a goroutine of its own).
	select {
	case <-firstDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the first callback did not return")
	}
	if !sawDeadline.Load() {
		t.Error("the callback's context did not report the deadline")
	}
	if e, _ := derivedErr.Load().(error); !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("derived context Err = %v, want DeadlineExceeded", e)
	}
	if e, _ := cause.Load().(error); !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("context.Cause = %v, want DeadlineExceeded", e)
	}
	// The 503 can reach the client before the callback has returned and
	// released the delivery: until then a retry is in flight (or shares the
	// first copy's failure). Retry as a sender would.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body))
		if resp.StatusCode == 204 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := resp.Header.Get(codathook.HeaderResult); resp.StatusCode != 204 || got != string(codathook.ResultProcessed) {
		t.Errorf("retry: %d %q, want 204 processed", resp.StatusCode, got)
	}
}

type requestKey struct{}

// TestCallbackContextOnReturn: a callback that returns in time sees the
// request context's values, its delivery and a live context; once it has
// returned, its context is cancelled with context.Canceled, as the cancel
// of context.WithTimeout leaves it.
func TestCallbackContextOnReturn(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithCallbackTimeout(time.Minute),
		codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	var (
		kept          context.Context
		value         any
		delivery      *codathook.Delivery
		errInCallback error
	)
	if err := codathook.On(rcv, "connection.connected", func(ctx context.Context, _ *codathook.ConnectionEvent) error {
		kept, value, errInCallback = ctx, ctx.Value(requestKey{}), ctx.Err()
		delivery, _ = codathook.DeliveryFromContext(ctx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	signer := codathooktest.MustSigner(testSecret)
	signer.MsgID = "msg_ctx_return"
	req := signer.NewRequest(http.MethodPost, "/", connectedBody("e-ret"))
	req = req.WithContext(context.WithValue(req.Context(), requestKey{}, "v"))
	rec := httptest.NewRecorder()
	rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, req)
	if rec.Code != 204 || kept == nil {
		t.Fatalf("status = %d, callback ran: %v; want 204, true", rec.Code, kept != nil)
	}
	if value != "v" {
		t.Errorf("request context value = %v, want v", value)
	}
	if delivery == nil || delivery.ID != "msg:msg_ctx_return" {
		t.Errorf("DeliveryFromContext = %+v, want msg:msg_ctx_return", delivery)
	}
	if errInCallback != nil {
		t.Errorf("Err during the callback = %v, want nil", errInCallback)
	}
	select {
	case <-kept.Done():
	default:
		t.Fatal("the callback's context is not done after it returned")
	}
	if !errors.Is(kept.Err(), context.Canceled) || !errors.Is(context.Cause(kept), context.Canceled) {
		t.Errorf("after return: Err = %v, Cause = %v; want Canceled", kept.Err(), context.Cause(kept))
	}
}

// TestCallbackDeadlineErrorHandlerPanics: an error handler that panics at
// the deadline, on the watchdog's goroutine, does not crash the process;
// the request's goroutine answers when the callback returns, with the
// callback's own result (here a success: 204 processed).
func TestCallbackDeadlineErrorHandlerPanics(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := newHarness(t, codathook.WithCallbackTimeout(20*time.Millisecond),
		codathook.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
			if calls.Add(1) == 1 {
				panic("error handler bug")
			}
			w.WriteHeader(codathook.StatusCode(err))
		}))
	var returned atomic.Bool
	h.fail.Store(func(*codathook.Event) error {
		// Return only once the watchdog has called (and panicked in) the
		// error handler, or after 3 s.
		for deadline := time.Now().Add(3 * time.Second); calls.Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		returned.Store(true)
		return nil
	})
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-panic")))
	if !returned.Load() {
		t.Error("answered before the callback returned, though the watchdog's answer panicked")
	}
	if resp.StatusCode != 204 || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultProcessed) || calls.Load() != 1 {
		t.Errorf("%d %q after %d error handler calls, want 204 processed after 1", resp.StatusCode, resp.Header.Get(codathook.HeaderResult), calls.Load())
	}
}

// TestCallbackGoexitReleasesClaim: a callback that ends its goroutine with
// runtime.Goexit (t.FailNow inside a test's callback does) gets no answer
// over HTTP/1 (the connection closes) and a 503 over HTTP/2, where it runs
// detached; either way its claims are released at once, so the sender's
// retry processes the delivery instead of finding it in flight until the
// lease expires.
func TestCallbackGoexitReleasesClaim(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, codathook.WithCallbackTimeout(5*time.Second))
			var runs atomic.Int32
			h.fail.Store(func(*codathook.Event) error {
				if runs.Add(1) == 1 {
					runtime.Goexit()
				}
				return nil
			})
			client, url := testClient, h.newURL()
			if proto == "HTTP/2" {
				srv := httptest.NewUnstartedServer(h.srv.Config.Handler)
				srv.EnableHTTP2 = true
				srv.StartTLS()
				t.Cleanup(srv.Close)
				client = srv.Client()
				url = srv.URL + "/webhooks/codat"
			}
			do := func() (*http.Response, error) {
				req := h.signer.NewRequest(http.MethodPost, url, connectedBody("e-goexit"))
				req.RequestURI = ""
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := client.Do(req.WithContext(ctx))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return resp, err
			}
			start := time.Now()
			resp, err := do()
			switch {
			case proto == "HTTP/1.1" && err == nil:
				t.Errorf("first attempt: got %d, want the connection closed without an answer", resp.StatusCode)
			case proto == "HTTP/2" && err != nil:
				t.Fatalf("first attempt: %v", err)
			case proto == "HTTP/2" && (resp.StatusCode != 503 || resp.ProtoMajor != 2):
				t.Errorf("first attempt: %s %d, want HTTP/2 503", resp.Proto, resp.StatusCode)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("first attempt answered after %v, want at once (not at the callback deadline)", d)
			}
			resp, err = do()
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := resp.Header.Get(codathook.HeaderResult); resp.StatusCode != 204 || got != string(codathook.ResultProcessed) {
				t.Errorf("retry: %d %q, want 204 processed (the claim released)", resp.StatusCode, got)
			}
			if n := h.calls.Load(); n != 1 {
				t.Errorf("completed callbacks = %d, want 1", n)
			}
		})
	}
}
