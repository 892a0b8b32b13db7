package codathook_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
)

// faultyStore wraps a store and fails or delays chosen operations.
type faultyStore struct {
	dedupe.Store
	mu      sync.Mutex
	failOps map[string]bool
	delay   time.Duration
}

var errBackend = errors.New("backend unreachable")

func (s *faultyStore) fault(ctx context.Context, op string) error {
	s.mu.Lock()
	fail, delay := s.failOps[op], s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return errBackend
	}
	return nil
}

func (s *faultyStore) set(ops ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOps = map[string]bool{}
	for _, op := range ops {
		s.failOps[op] = true
	}
}

func (s *faultyStore) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	if err := s.fault(ctx, "claim"); err != nil {
		return 0, err
	}
	return s.Store.Claim(ctx, key, ttl)
}

func (s *faultyStore) Commit(ctx context.Context, key string, ttl time.Duration) error {
	if err := s.fault(ctx, "commit"); err != nil {
		return err
	}
	return s.Store.Commit(ctx, key, ttl)
}

func (s *faultyStore) Release(ctx context.Context, key string) error {
	if err := s.fault(ctx, "release"); err != nil {
		return err
	}
	return s.Store.Release(ctx, key)
}

func (s *faultyStore) Arrive(ctx context.Context, key string, a dedupe.Arrival) (dedupe.Pairing, error) {
	if err := s.fault(ctx, "arrive"); err != nil {
		return dedupe.Pairing{}, err
	}
	return s.Store.Arrive(ctx, key, a)
}

// A failing store answers 503 (fail-closed: nothing is acknowledged that was
// not processed), and once it recovers the retry is processed exactly once.
func TestStoreFailureIsFailClosed(t *testing.T) {
	t.Parallel()
	store := &faultyStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	h.signer.MsgID = "msg_store"
	for _, ops := range [][]string{{"claim"}, {"arrive"}} {
		store.set(ops...)
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
		if resp.StatusCode != 503 || result(resp) != codathook.ResultUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("store failing on %v: status %d result %q, want 503 unavailable with Retry-After", ops, resp.StatusCode, result(resp))
		}
	}
	if got := h.calls.Load(); got != 0 {
		t.Fatalf("callback ran %d times while the store was down, want 0", got)
	}
	store.set()
	for i, want := range []codathook.Result{codathook.ResultProcessed, codathook.ResultDuplicate} {
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
		if got := result(resp); got != want {
			t.Errorf("after recovery, attempt %d: result %q, want %q", i+1, got, want)
		}
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("callback calls = %d, want 1", got)
	}
}

// A commit that fails after the callback succeeded still answers 2xx: the
// event was processed, and answering 503 would make Codat deliver it again.
func TestCommitFailureAfterProcessingAnswers2xx(t *testing.T) {
	t.Parallel()
	store := &faultyStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	store.set("commit")
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if resp.StatusCode != 204 || h.calls.Load() != 1 {
		t.Errorf("status %d, calls %d, want 204 and 1", resp.StatusCode, h.calls.Load())
	}
	// The exception to "once" is counted where operators look.
	if got := h.rcv.Stats().Dedupe.CommitFailures; got != 1 {
		t.Errorf("Stats().Dedupe.CommitFailures = %d, want 1", got)
	}
	store.set()
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e2")))
	if got := h.rcv.Stats().Dedupe.CommitFailures; got != 1 {
		t.Errorf("after a delivery that committed: CommitFailures = %d, want still 1", got)
	}
}

// A failing callback whose release also fails still answers 503; the claim
// lease expires so a later retry is processed.
func TestReleaseFailureStillRetryable(t *testing.T) {
	t.Parallel()
	store := &faultyStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	h.fail.Store(func(*codathook.Event) error { return errors.New("callback failed") })
	store.set("release")
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if resp.StatusCode != 503 {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
}

// A slow store delays the answer but loses nothing.
func TestSlowStore(t *testing.T) {
	t.Parallel()
	store := &faultyStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000}), delay: 20 * time.Millisecond}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	start := time.Now()
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if resp.StatusCode != 204 || h.calls.Load() != 1 {
		t.Errorf("status %d calls %d, want 204 and 1", resp.StatusCode, h.calls.Load())
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Errorf("answered before the store did")
	}
}

// rawRequest writes a request by hand, so the body can end early or the
// client can hang up mid-body.
func rawRequest(t *testing.T, addr, path string, header http.Header, body string, declared int, hangUp bool) (status int, err error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, addr, declared)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return 0, err
	}
	if hangUp {
		conn.(*net.TCPConn).CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestClientFaults(t *testing.T) {
	t.Parallel()
	var outcomes sync.Map
	var n atomic.Int64
	h := newHarness(t, codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
		outcomes.Store(n.Add(1), o)
	}))
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	body := string(connectedBody("e1"))
	hdr := h.signer.Headers("msg_fault", h.clock.Now(), []byte(body))
	hdr.Set("Content-Type", "application/json")

	t.Run("the client hangs up mid-body: nothing is processed", func(t *testing.T) {
		rawRequest(t, addr, "/webhooks/codat", hdr, body[:len(body)/2], len(body), true)
		deadline := time.Now().Add(5 * time.Second)
		for n.Load() < 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		v, ok := outcomes.Load(int64(1))
		if !ok {
			t.Fatal("no outcome observed for the truncated request")
		}
		if o := v.(codathook.Outcome); o.Result != codathook.ResultMalformed || o.Status != 400 {
			t.Errorf("outcome = %s/%d, want malformed/400", o.Result, o.Status)
		}
		if h.calls.Load() != 0 {
			t.Errorf("callback ran on a truncated body")
		}
	})
	t.Run("then the full delivery is processed once", func(t *testing.T) {
		status, err := rawRequest(t, addr, "/webhooks/codat", hdr, body, len(body), false)
		if err != nil || status != 204 {
			t.Fatalf("status %d err %v, want 204", status, err)
		}
		if h.calls.Load() != 1 {
			t.Errorf("calls = %d, want 1", h.calls.Load())
		}
	})
}

// A body some other middleware already drained is a server-side mistake:
// retryable (503), not malformed.
func TestDrainedBodyIsRetryable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	drain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h.rcv.Handler(codathook.EndpointNew).ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	drain.ServeHTTP(rec, h.signer.NewRequest(http.MethodPost, "/", connectedBody("e1")))
	if rec.Code != 503 || rec.Header().Get(codathook.HeaderResult) != string(codathook.ResultUnavailable) {
		t.Errorf("status %d result %q, want 503 unavailable", rec.Code, rec.Header().Get(codathook.HeaderResult))
	}
}
