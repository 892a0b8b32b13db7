package codathook_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// wrappedApp is a receiver's Middleware form on both endpoints around one
// handler, behind a real server (HTTP/1.1, or HTTP/2 over TLS).
type wrappedApp struct {
	client *http.Client
	base   string
	signer *codathooktest.Signer
	logs   *syncBuffer
	calls  atomic.Int64
}

func newWrappedApp(t *testing.T, proto string, next func(call int64, w http.ResponseWriter, r *http.Request)) *wrappedApp {
	t.Helper()
	a := &wrappedApp{logs: &syncBuffer{}}
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithLogger(slog.New(slog.NewTextHandler(a.logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next(a.calls.Add(1), w, r) })
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Middleware(codathook.EndpointNew)(h))
	mux.Handle("/webhooks/codat/legacy", rcv.Middleware(codathook.EndpointLegacy)(h))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = nil
	if proto == "HTTP/2" {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		a.client = srv.Client()
	} else {
		srv.Start()
		// A handler that ends its goroutine closes the connection after
		// its answer: a kept-alive connection would fail the next request.
		a.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	t.Cleanup(srv.Close)
	a.base = srv.URL
	a.signer = codathooktest.MustSigner(testSecret)
	return a
}

// do sends r and returns the response with its body read, or the error.
func (a *wrappedApp) do(t *testing.T, r *http.Request) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := codathooktest.Send(ctx, a.client, a.base+r.URL.Path, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, nil
}

func (a *wrappedApp) legacy(t *testing.T, body []byte) (*http.Response, error) {
	t.Helper()
	return a.do(t, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", legacyAuth, body))
}

func (a *wrappedApp) newFormat(t *testing.T, body []byte) (*http.Response, error) {
	t.Helper()
	return a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
}

// twinPair is one connection.connected occurrence in both formats, sharing
// its id (AlertId), which the dedupe pairs exactly.
func twinPair(t *testing.T, id string) (newBody, legacyBody []byte) {
	t.Helper()
	newBody, legacyBody, err := codathooktest.Twin("connection.connected", codathooktest.SampleOptions{ID: id, CompanyID: companyID, ConnectionID: connID})
	if err != nil {
		t.Fatal(err)
	}
	return newBody, legacyBody
}

var protos = []string{"HTTP/1.1", "HTTP/2"}

// The sender's view and the store's agree: whatever 2xx the wrapped
// handler sent (explicitly, implicitly by Write or Flush, or after an
// informational 1xx) commits the delivery, even when the handler panics
// afterwards, so the other format's twin is a duplicate and the handler
// runs once. The panic is logged at Error with its stack and the process
// survives.
func TestMiddlewareTwoXXCommits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    func(w http.ResponseWriter)
		panics    bool
		wantFirst int
	}{
		{name: "204 then panic", answer: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, panics: true, wantFirst: 204},
		{name: "Write without WriteHeader then panic", answer: func(w http.ResponseWriter) { _, _ = io.WriteString(w, "ok") }, panics: true, wantFirst: 200},
		{name: "Flush before any write then panic", answer: func(w http.ResponseWriter) {
			_ = http.NewResponseController(w).Flush()
		}, panics: true, wantFirst: 200},
		{name: "http.Flusher before any write then panic", answer: func(w http.ResponseWriter) {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}, panics: true, wantFirst: 200},
		{name: "103 Early Hints then 204", answer: func(w http.ResponseWriter) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}, wantFirst: 204},
	}
	for _, proto := range protos {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				a := newWrappedApp(t, proto, func(call int64, w http.ResponseWriter, r *http.Request) {
					if call > 1 {
						w.WriteHeader(http.StatusNoContent)
						return
					}
					tc.answer(w)
					if tc.panics {
						panic("wrapped handler panicked after answering")
					}
				})
				newB, legB := twinPair(t, "occ-commit")
				resp, err := a.legacy(t, legB)
				if err != nil {
					t.Fatalf("legacy delivery: %v", err)
				}
				if resp.StatusCode != tc.wantFirst {
					t.Errorf("legacy delivery: status %d, want the handler's %d", resp.StatusCode, tc.wantFirst)
				}
				resp, err = a.newFormat(t, newB)
				if err != nil {
					t.Fatalf("new-format twin: %v", err)
				}
				if resp.StatusCode != 204 || result(resp) != codathook.ResultDuplicate {
					t.Errorf("new-format twin: %d %q, want 204 duplicate (the legacy delivery was answered 2xx)", resp.StatusCode, result(resp))
				}
				if n := a.calls.Load(); n != 1 {
					t.Errorf("wrapped handler calls = %d, want 1", n)
				}
				logs := a.logs.String()
				if tc.panics && (!strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "wrapped handler panicked after answering") || !strings.Contains(logs, "goroutine ")) {
					t.Errorf("logs do not hold the panic at Error with its stack:\n%s", logs)
				}
			})
		}
	}
}

// A panic before any answer, or a status net/http refuses (it panics on an
// invalid code), releases the delivery and is answered 503 with
// Retry-After; the retry reaches the handler again and is processed.
func TestMiddlewarePanicBeforeAnswerReleases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{name: "panic before any write", fail: func(http.ResponseWriter) { panic("wrapped handler panicked") }},
		{name: "panic after setting headers only", fail: func(w http.ResponseWriter) {
			w.Header().Set("X-Partial", "1")
			panic("wrapped handler panicked")
		}},
		{name: "an invalid status code", fail: func(w http.ResponseWriter) { w.WriteHeader(42) }},
	}
	for _, proto := range protos {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				a := newWrappedApp(t, proto, func(call int64, w http.ResponseWriter, r *http.Request) {
					if call == 1 {
						tc.fail(w)
					}
					w.WriteHeader(http.StatusNoContent)
				})
				newB, legB := twinPair(t, "occ-release")
				resp, err := a.legacy(t, legB)
				if err != nil {
					t.Fatalf("legacy delivery: %v", err)
				}
				if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || result(resp) != codathook.ResultFailed {
					t.Errorf("legacy delivery: %d %q Retry-After %q, want 503 failed with Retry-After", resp.StatusCode, result(resp), resp.Header.Get("Retry-After"))
				}
				resp, err = a.legacy(t, legB)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if resp.StatusCode != 204 {
					t.Errorf("retry: status %d, want 204 (the claim released, the handler runs again)", resp.StatusCode)
				}
				resp, err = a.newFormat(t, newB)
				if err != nil {
					t.Fatalf("new-format twin: %v", err)
				}
				if result(resp) != codathook.ResultDuplicate {
					t.Errorf("new-format twin after the processed retry: %q, want duplicate", result(resp))
				}
				if n := a.calls.Load(); n != 2 {
					t.Errorf("wrapped handler calls = %d, want 2", n)
				}
			})
		}
	}
}

// A wrapped handler that answers 2xx and then ends its goroutine
// (runtime.Goexit, as t.FailNow does) cannot be recovered: the receiver
// flushes the 2xx so that the sender has it, and commits. Before, the claim
// was released although a handler that had flushed its 2xx had already
// told the sender the delivery was done: the twin ran the handler again.
func TestMiddlewareGoexitAfterTwoXXCommits(t *testing.T) {
	t.Parallel()
	for _, proto := range protos {
		for _, flushed := range []bool{true, false} {
			name := proto + "/204 then Goexit"
			if flushed {
				name = proto + "/204 flushed then Goexit"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				a := newWrappedApp(t, proto, func(call int64, w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusNoContent)
					if call > 1 {
						return
					}
					if flushed {
						_ = http.NewResponseController(w).Flush()
					}
					runtime.Goexit()
				})
				newB, legB := twinPair(t, "occ-goexit")
				resp, err := a.legacy(t, legB)
				if err != nil {
					t.Fatalf("legacy delivery: %v, want the handler's 204", err)
				}
				if resp.StatusCode != 204 {
					t.Errorf("legacy delivery: status %d, want the handler's 204", resp.StatusCode)
				}
				// A handler that flushed its own 204 lets the sender see it
				// before the receiver commits: a twin sent at once may find
				// the claim still held (in_flight, 503) and is retried, as
				// Codat would.
				for try := 0; ; try++ {
					resp, err = a.newFormat(t, newB)
					if err != nil {
						t.Fatalf("new-format twin: %v", err)
					}
					if result(resp) != codathook.ResultInFlight || try == 50 {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				if result(resp) != codathook.ResultDuplicate || a.calls.Load() != 1 {
					t.Errorf("new-format twin: %q after %d handler calls, want duplicate after 1", result(resp), a.calls.Load())
				}
			})
		}
	}
}

// A wrapped handler cannot hijack the connection: the receiver could not
// know what it answered, so it could neither commit nor release truthfully.
// Hijack reports http.ErrNotSupported; a handler that then answers 503
// releases the delivery and the retry is processed.
func TestMiddlewareRefusesHijack(t *testing.T) {
	t.Parallel()
	var hijackErr atomic.Value
	a := newWrappedApp(t, "HTTP/1.1", func(call int64, w http.ResponseWriter, r *http.Request) {
		if call > 1 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			hijackErr.Store(err)
			http.Error(w, "cannot hijack", http.StatusServiceUnavailable)
			return
		}
		writeRaw503(buf)
		conn.Close()
	})
	_, legB := twinPair(t, "occ-hijack")
	resp, err := a.legacy(t, legB)
	if err == nil && resp.StatusCode != 503 {
		t.Errorf("first delivery: status %d, want 503", resp.StatusCode)
	}
	if err, _ := hijackErr.Load().(error); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack error = %v, want one matching http.ErrNotSupported", err)
	}
	resp, err = a.legacy(t, legB)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if resp.StatusCode != 204 || a.calls.Load() != 2 {
		t.Errorf("retry: status %d after %d handler calls, want 204 after 2 (the 503 released the claim)", resp.StatusCode, a.calls.Load())
	}
}

func writeRaw503(buf *bufio.ReadWriter) {
	_, _ = buf.WriteString("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	_ = buf.Flush()
}
