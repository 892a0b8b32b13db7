package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codathook/codathook/codathooktest"
)

// TestHandwrittenRedis checks that [HandwrittenRedis] does what its
// documentation says, on a real redis-server (REDIS_ADDR): one SET NX per
// delivery, a retry answered as a duplicate, a DEL when the callback fails,
// and no key for a request it rejects.
func TestHandwrittenRedis(t *testing.T) {
	t.Parallel()
	client, _ := newBenchClient(t, redisAddr(t))
	prefix := newPrefix(t, client)
	var calls atomic.Int64
	var fail atomic.Bool
	h, err := NewHandwrittenRedis(client, prefix, func(_ context.Context, ev map[string]any) error {
		if ev["eventType"] != "read.completed" {
			return errors.New("not a read.completed")
		}
		calls.Add(1)
		if fail.Load() {
			return errors.New("the callback failed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	signer := codathooktest.MustSigner(Secret)
	first, other := signed(signer, int(seqs.Add(1))), signed(signer, int(seqs.Add(1)))
	badSig := signed(signer, int(seqs.Add(1)))
	badSig.signh = "v1,AAAA"
	notJSON := delivery{body: []byte("not json"), id: MsgID(int(seqs.Add(1)))}
	hd := signer.Headers(notJSON.id, time.Now(), notJSON.body)
	notJSON.ts, notJSON.signh = hd.Get("webhook-timestamp"), hd.Get("webhook-signature")

	steps := []struct {
		name      string
		d         delivery
		fail      bool
		wantCode  int
		wantCalls int64 // callbacks so far
		wantKey   bool  // whether the delivery's key exists afterwards
	}{
		{"a new delivery", first, false, http.StatusNoContent, 1, true},
		{"its retry (same webhook-id)", first, false, http.StatusOK, 1, true},
		{"another delivery whose callback fails", other, true, http.StatusInternalServerError, 2, false},
		{"its retry", other, false, http.StatusNoContent, 3, true},
		{"a bad signature", badSig, false, http.StatusUnauthorized, 3, false},
		{"a signed body that is not JSON", notJSON, false, http.StatusBadRequest, 3, false},
	}
	for _, st := range steps {
		fail.Store(st.fail)
		w := NewDiscardWriter()
		h.ServeHTTP(w, newReusableRequest().load(st.d))
		if w.Code != st.wantCode {
			t.Errorf("%s: status %d, want %d", st.name, w.Code, st.wantCode)
		}
		if got := calls.Load(); got != st.wantCalls {
			t.Errorf("%s: %d callbacks so far, want %d", st.name, got, st.wantCalls)
		}
		n, err := client.Exists(t.Context(), prefix+st.d.id).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := n == 1; got != st.wantKey {
			t.Errorf("%s: key %s exists: %v, want %v", st.name, prefix+st.d.id, got, st.wantKey)
		}
	}
	ttl, err := client.TTL(t.Context(), prefix+first.id).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > HandwrittenTTL || ttl < HandwrittenTTL-time.Minute {
		t.Errorf("key TTL %v, want %v (SET NX EX)", ttl, HandwrittenTTL)
	}
}

// TestHandwrittenRedisDown checks that a Redis error is 503 and that the
// callback does not run.
func TestHandwrittenRedisDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	var calls atomic.Int64
	h, err := NewHandwrittenRedis(client, "down:", func(context.Context, map[string]any) error {
		calls.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := NewDiscardWriter()
	h.ServeHTTP(w, newReusableRequest().load(signed(codathooktest.MustSigner(Secret), int(seqs.Add(1)))))
	if got, want := w.Code, http.StatusServiceUnavailable; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d callbacks, want 0", n)
	}
}

// TestHandwrittenRedisLease checks the Lease form: the key is a claim for
// Lease while the callback runs, and done for HandwrittenTTL once it
// succeeded.
func TestHandwrittenRedisLease(t *testing.T) {
	t.Parallel()
	client, _ := newBenchClient(t, redisAddr(t))
	prefix := newPrefix(t, client)
	d := signed(codathooktest.MustSigner(Secret), int(seqs.Add(1)))
	var during time.Duration
	h, err := NewHandwrittenRedis(client, prefix, func(ctx context.Context, _ map[string]any) error {
		var err error
		during, err = client.TTL(ctx, prefix+d.id).Result()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Lease = 2 * time.Minute
	w := NewDiscardWriter()
	h.ServeHTTP(w, newReusableRequest().load(d))
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204", w.Code)
	}
	after, err := client.TTL(t.Context(), prefix+d.id).Result()
	if err != nil {
		t.Fatal(err)
	}
	if during > h.Lease || during < h.Lease-time.Minute || after < HandwrittenTTL-time.Minute {
		t.Errorf("key TTL %v during the callback and %v after, want %v then %v", during, after, h.Lease, HandwrittenTTL)
	}
}
