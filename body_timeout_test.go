package codathook_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
)

// stallHarness is a receiver with a short body read deadline, an LRU the
// test can inspect and a record of every outcome.
type stallHarness struct {
	*harness
	store    *dedupe.LRU
	mu       sync.Mutex
	outcomes []codathook.Outcome
}

func newStallHarness(t *testing.T, opts ...codathook.Option) *stallHarness {
	t.Helper()
	s := &stallHarness{store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})}
	t.Cleanup(func() { s.store.Close(context.Background()) })
	opts = append([]codathook.Option{
		codathook.WithDedupe(s.store, nil),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
			s.mu.Lock()
			s.outcomes = append(s.outcomes, o)
			s.mu.Unlock()
		}),
	}, opts...)
	s.harness = newHarness(t, opts...)
	return s
}

func (s *stallHarness) lastOutcome(t *testing.T) codathook.Outcome {
	t.Helper()
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.outcomes) > 0
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcomes[len(s.outcomes)-1]
}

// checkNothingRecorded fails unless the stalled delivery left the store
// empty and ran no callback.
func (s *stallHarness) checkNothingRecorded(t *testing.T) {
	t.Helper()
	if n := s.store.Len(); n != 0 {
		t.Errorf("the store holds %d keys after a stalled body, want none", n)
	}
	if n := s.calls.Load(); n != 0 {
		t.Errorf("%d callbacks ran for a stalled body", n)
	}
}

// stallRequest writes a signed delivery's headers and the first half of
// its body on a raw connection, then waits for the answer without sending
// the rest.
func stallRequest(t *testing.T, h *harness, body []byte) (*http.Response, net.Conn) {
	t.Helper()
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST /webhooks/codat HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", addr, len(body))
	for k, vs := range h.signer.Headers("msg_stall", h.clock.Now(), body) {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(body[:len(body)/2])
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer to a stalled body: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, conn
}

// TestStalledBodyIs408: a body that stops arriving is answered 408 at the
// body read deadline, with Connection: close, and leaves nothing behind:
// no callback, no key in the store; the observer sees body_timeout.
func TestStalledBodyIs408(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	s := newStallHarness(t, codathook.WithBodyReadTimeout(timeout))
	start := time.Now()
	resp, conn := stallRequest(t, s.harness, connectedBody("e1"))
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status = %d, want 408", resp.StatusCode)
	}
	if got := resp.Header.Get(codathook.HeaderResult); got != string(codathook.ResultBodyTimeout) {
		t.Errorf("%s = %q, want %q", codathook.HeaderResult, got, codathook.ResultBodyTimeout)
	}
	if !resp.Close {
		t.Error("the 408 does not close the connection: the rest of the body would be read as a request")
	}
	if elapsed < timeout {
		t.Errorf("answered after %v, before the %v deadline", elapsed, timeout)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the server kept the connection open after the 408")
	}
	o := s.lastOutcome(t)
	if o.Result != codathook.ResultBodyTimeout || o.Status != http.StatusRequestTimeout || !errors.Is(o.Err, codathook.ErrBodyTimeout) {
		t.Errorf("outcome = %s/%d/%v, want body_timeout/408/ErrBodyTimeout", o.Result, o.Status, o.Err)
	}
	if got := codathook.StatusCode(o.Err); got != http.StatusRequestTimeout {
		t.Errorf("StatusCode(%v) = %d, want 408", o.Err, got)
	}
	s.checkNothingRecorded(t)
}

// TestStalledBodyIs408HTTP2: the same over HTTP/2, where the deadline is
// the stream's.
func TestStalledBodyIs408HTTP2(t *testing.T) {
	t.Parallel()
	s := newStallHarness(t, codathook.WithBodyReadTimeout(100*time.Millisecond))
	srv := httptest.NewUnstartedServer(s.srv.Config.Handler)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: p}
	t.Cleanup(tr.CloseIdleConnections)

	body := connectedBody("e1")
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	go pw.Write(body[:len(body)/2]) // then nothing: the pipe blocks
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/webhooks/codat", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header = s.signer.Headers("msg_stall", s.clock.Now(), body)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultBodyTimeout) {
		t.Errorf("got %d %q, want 408 body_timeout", resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	s.checkNothingRecorded(t)
}

// TestServerReadTimeoutShorterWins: a server ReadTimeout shorter than the
// receiver's deadline is kept (the receiver does not extend it), and its
// expiry is answered 408 too.
func TestServerReadTimeoutShorterWins(t *testing.T) {
	t.Parallel()
	s := newStallHarness(t, codathook.WithBodyReadTimeout(time.Minute))
	s.srv.Close()
	s.srv = httptest.NewUnstartedServer(s.srv.Config.Handler)
	s.srv.Config.ReadTimeout = 150 * time.Millisecond
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	start := time.Now()
	resp, _ := stallRequest(t, s.harness, connectedBody("e1"))
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("answered after %v: the receiver's one-minute deadline replaced the server's 150 ms ReadTimeout", elapsed)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status = %d, want 408", resp.StatusCode)
	}
	s.checkNothingRecorded(t)
}

// TestBodyDeadlineLiftedAfterBody: once the body is in, its deadline no
// longer applies: a callback that runs past it sees an uncancelled request
// context (an expired read deadline on an HTTP/1.x connection cancels it),
// the delivery is answered 204, and the connection serves the next request.
func TestBodyDeadlineLiftedAfterBody(t *testing.T) {
	t.Parallel()
	const timeout = 50 * time.Millisecond
	h := newHarness(t, codathook.WithBodyReadTimeout(timeout))
	var ctxErr atomic.Value
	err := codathook.On(h.rcv, "connection.created", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		time.Sleep(3 * timeout)
		d, _ := codathook.DeliveryFromContext(ctx)
		ctxErr.Store(fmt.Sprint(d.Request.Context().Err()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	var reused atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused.Store(info.Reused) }}
	client := &http.Client{Transport: tr}
	for i, typ := range []string{"connection.created", "connection.connected"} {
		body, _ := codathooktest.Sample(typ, codathooktest.SampleOptions{ID: fmt.Sprint("e", i)})
		req := h.signer.NewRequest(http.MethodPost, h.newURL(), body)
		req.RequestURI = ""
		resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(t.Context(), trace)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Errorf("%s: status %d, want 204", typ, resp.StatusCode)
		}
	}
	if got := ctxErr.Load(); got != "<nil>" {
		t.Errorf("the request context past the body deadline: %v, want not cancelled", got)
	}
	if !reused.Load() {
		t.Error("the second request did not reuse the first one's connection")
	}
}

// TestNoDeadlineSupportStillReads: a ResponseWriter that cannot set read
// deadlines (here httptest.ResponseRecorder) gets its body read without
// one, and the receiver says so once, not per delivery.
func TestNoDeadlineSupportStillReads(t *testing.T) {
	t.Parallel()
	var warnings atomic.Int64
	logger := slog.New(&countingHandler{level: slog.LevelWarn, n: &warnings, match: "cannot set read deadlines"})
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	signer := codathooktest.MustSigner(testSecret)
	for i := range 3 {
		rec := httptest.NewRecorder()
		rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, signer.NewRequest(http.MethodPost, "/", connectedBody(fmt.Sprint("e", i))))
		if rec.Code != 204 {
			t.Errorf("delivery %d: status %d, want 204", i, rec.Code)
		}
	}
	if n := warnings.Load(); n != 1 {
		t.Errorf("%d warnings about the missing deadline for 3 deliveries, want 1", n)
	}
}

// countingHandler counts records at level or above whose message contains
// match.
type countingHandler struct {
	level slog.Level
	n     *atomic.Int64
	match string
}

func (h *countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		h.n.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func TestWithBodyReadTimeoutRefusesNonPositive(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := codathook.New(codathook.WithBodyReadTimeout(d)); err == nil {
			t.Errorf("WithBodyReadTimeout(%v): New succeeded, want an error", d)
		}
	}
}
