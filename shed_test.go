package codathook_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
)

// blockOn makes h's callback wait, for the events whose id is in ids, until
// release is closed (at most 5 s, so that a mistake fails rather than hangs
// the test); running counts the callbacks waiting.
func blockOn(h *harness, ids ...string) (release chan struct{}, running *atomic.Int64) {
	release, running = make(chan struct{}), new(atomic.Int64)
	block := map[string]bool{}
	for _, id := range ids {
		block[id] = true
	}
	h.fail.Store(func(ev *codathook.Event) error {
		if block[ev.ID] {
			running.Add(1)
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	})
	return release, running
}

// signerFor returns a signer of h's secret and clock whose deliveries all
// carry msgID (Svix keeps it over retries).
func signerFor(h *harness, msgID string) *codathooktest.Signer {
	s := codathooktest.MustSigner(testSecret)
	s.Now, s.MsgID = h.clock.Now, msgID
	return s
}

// TestOverloadedClaimsNothing: with a bound of 2 and two callbacks blocked,
// a third delivery is answered 503 overloaded with Retry-After, leaves the
// store as it was (no claim, no arrival), and its retry after the two have
// returned is processed exactly once.
func TestOverloadedClaimsNothing(t *testing.T) {
	t.Parallel()
	store := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})
	t.Cleanup(func() { store.Close(context.Background()) })
	var mu sync.Mutex
	var outcomes []codathook.Outcome
	h := newHarness(t, codathook.WithMaxConcurrentCallbacks(2), codathook.WithDedupe(store, nil),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
			mu.Lock()
			outcomes = append(outcomes, o)
			mu.Unlock()
		}))
	release, running := blockOn(h, "e1", "e2")

	var wg sync.WaitGroup
	for _, id := range []string{"e1", "e2"} {
		wg.Go(func() {
			resp, _ := send(t, signerFor(h, "msg_"+id).NewRequest(http.MethodPost, h.newURL(), connectedBody(id)))
			if resp.StatusCode != 204 {
				t.Errorf("%s: status %d, want 204 once released", id, resp.StatusCode)
			}
		})
	}
	waitFor(t, func() bool { return running.Load() == 2 })

	keys := store.Len()
	third := signerFor(h, "msg_e3")
	resp, _ := send(t, third.NewRequest(http.MethodPost, h.newURL(), connectedBody("e3")))
	if resp.StatusCode != 503 || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultOverloaded) {
		t.Errorf("third delivery: %d %q, want 503 %q", resp.StatusCode, resp.Header.Get(codathook.HeaderResult), codathook.ResultOverloaded)
	}
	if got := resp.Header.Get("Retry-After"); got == "" {
		t.Error("the overloaded 503 has no Retry-After")
	}
	if st, err := store.Peek(t.Context(), "msg:msg_e3"); err != nil || st != 0 {
		t.Errorf("store state of the shed delivery: %v (err %v), want absent", st, err)
	}
	if got := store.Len(); got != keys {
		t.Errorf("the store went from %d to %d keys for a shed delivery, want no change", keys, got)
	}

	close(release)
	wg.Wait()
	for i, want := range []codathook.Result{codathook.ResultProcessed, codathook.ResultDuplicate} {
		resp, _ := send(t, third.NewRequest(http.MethodPost, h.newURL(), connectedBody("e3")))
		if got := codathook.Result(resp.Header.Get(codathook.HeaderResult)); resp.StatusCode != 204 || got != want {
			t.Errorf("retry %d of the shed delivery: %d %q, want 204 %q", i+1, resp.StatusCode, got, want)
		}
	}
	h.mu.Lock()
	var e3 int
	for _, ev := range h.events {
		if ev.ID == "e3" {
			e3++
		}
	}
	h.mu.Unlock()
	if e3 != 1 {
		t.Errorf("the shed delivery reached the callback %d times, want exactly 1", e3)
	}

	mu.Lock()
	defer mu.Unlock()
	var shed []codathook.Outcome
	for _, o := range outcomes {
		if o.Result == codathook.ResultOverloaded {
			shed = append(shed, o)
		}
	}
	if len(shed) != 1 || shed[0].Status != 503 || !errors.Is(shed[0].Err, codathook.ErrOverloaded) || shed[0].EventType != "connection.connected" {
		t.Errorf("observed overloaded outcomes = %+v, want one, 503, ErrOverloaded, with its event type", shed)
	}
}

// TestOverloadedMiddleware: the bound covers wrapped handlers too.
func TestOverloadedMiddleware(t *testing.T) {
	t.Parallel()
	h := newHarness(t, codathook.WithMaxConcurrentCallbacks(1))
	release := make(chan struct{})
	var running atomic.Int64
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(h.rcv.Middleware(codathook.EndpointNew)(next))
	t.Cleanup(srv.Close)
	done := make(chan int)
	go func() {
		resp, _ := send(t, signerFor(h, "msg_a").NewRequest(http.MethodPost, srv.URL, connectedBody("a")))
		done <- resp.StatusCode
	}()
	waitFor(t, func() bool { return running.Load() == 1 })
	resp, _ := send(t, signerFor(h, "msg_b").NewRequest(http.MethodPost, srv.URL, connectedBody("b")))
	if resp.StatusCode != 503 || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultOverloaded) {
		t.Errorf("second delivery: %d %q, want 503 overloaded", resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	close(release)
	if got := <-done; got != 204 {
		t.Errorf("first delivery: %d, want 204", got)
	}
	resp, _ = send(t, signerFor(h, "msg_b").NewRequest(http.MethodPost, srv.URL, connectedBody("b")))
	if resp.StatusCode != 204 {
		t.Errorf("the shed delivery's retry: %d, want 204", resp.StatusCode)
	}
}

// TestOverloadedCountsLateCallbacks: over HTTP/2 a callback that outlives
// its deadline runs on after its 503; it keeps its slot until it returns,
// because it still loads the app.
func TestOverloadedCountsLateCallbacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, codathook.WithMaxConcurrentCallbacks(1), codathook.WithCallbackTimeout(30*time.Millisecond))
	release, running := blockOn(h, "slow")
	srv := httptest.NewUnstartedServer(h.srv.Config.Handler)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: client.Transport.(*http.Transport).TLSClientConfig.RootCAs}
	do := func(msgID, id string) *http.Response {
		t.Helper()
		req := signerFor(h, msgID).NewRequest(http.MethodPost, srv.URL+"/webhooks/codat", connectedBody(id))
		req.RequestURI = ""
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("proto %s, want HTTP/2", resp.Proto)
		}
		return resp
	}
	if resp := do("msg_slow", "slow"); resp.StatusCode != 503 || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultFailed) {
		t.Fatalf("the slow delivery: %d %q, want 503 failed at its deadline", resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	if running.Load() != 1 {
		t.Fatal("the slow callback is not running")
	}
	if resp := do("msg_other", "other"); resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultOverloaded) {
		t.Errorf("a delivery while the late callback runs: %d %q, want 503 overloaded", resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	close(release)
	var last *http.Response
	waitFor(t, func() bool {
		last = do("msg_other", "other")
		return last.Header.Get(codathook.HeaderResult) != string(codathook.ResultOverloaded)
	})
	if last.StatusCode != 204 {
		t.Errorf("after the late callback returned: %d %q, want 204", last.StatusCode, last.Header.Get(codathook.HeaderResult))
	}
}

func TestWithMaxConcurrentCallbacksRefusesNegative(t *testing.T) {
	t.Parallel()
	if _, err := codathook.New(codathook.WithMaxConcurrentCallbacks(-1)); err == nil {
		t.Error("WithMaxConcurrentCallbacks(-1): New succeeded, want an error")
	}
	if _, err := codathook.New(codathook.WithMaxConcurrentCallbacks(0)); err != nil {
		t.Errorf("WithMaxConcurrentCallbacks(0) (unbounded): %v", err)
	}
}
