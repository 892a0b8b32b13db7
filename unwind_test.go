package codathook_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
)

// panickyStore wraps a store and panics in the chosen operation while armed.
type panickyStore struct {
	dedupe.Store
	op    string // "claim" or "commit"
	armed atomic.Bool
}

func (s *panickyStore) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	if s.op == "claim" && s.armed.Load() {
		panic("store panics in Claim")
	}
	return s.Store.Claim(ctx, key, ttl)
}

func (s *panickyStore) Commit(ctx context.Context, key string, ttl time.Duration) error {
	if s.op == "commit" && s.armed.Load() {
		panic("store panics in Commit")
	}
	return s.Store.Commit(ctx, key, ttl)
}

// TestPanicPastClaimUnwinds: a panic from the claim on (here the store's)
// is answered 503 failed, and settling still gives back the slot of
// WithMaxConcurrentCallbacks and the lead of the key: the next delivery of
// the same message is not overloaded, and is processed after a panicking
// claim. After a panicking commit the store's claim stays pending until its
// lease expires: the next delivery is in flight (503), never processed twice.
func TestPanicPastClaimUnwinds(t *testing.T) {
	for _, op := range []string{"claim", "commit"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			store := &panickyStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000}), op: op}
			t.Cleanup(func() { store.Store.Close(context.Background()) })
			h := newHarness(t, codathook.WithMaxConcurrentCallbacks(1), codathook.WithDedupe(store, nil))
			s := signerFor(h, "msg_unwind")
			store.armed.Store(true)
			resp, _ := send(t, s.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-unwind")))
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultFailed) {
				t.Fatalf("panicking %s: %d %q, want 503 failed", op, resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
			}
			store.armed.Store(false)
			want := codathook.ResultProcessed
			if op == "commit" {
				want = codathook.ResultInFlight
			}
			resp, _ = send(t, s.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-unwind")))
			if got := resp.Header.Get(codathook.HeaderResult); got != string(want) {
				t.Errorf("after the panic: %d %q, want %q", resp.StatusCode, got, want)
			}
			if n := h.calls.Load(); n != 1 {
				t.Errorf("%d callbacks, want 1", n)
			}
		})
	}
}
