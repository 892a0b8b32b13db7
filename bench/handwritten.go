package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	svix "github.com/svix/svix-webhooks/go"
)

// HandwrittenTTL is how long [HandwrittenRedis] remembers a webhook-id:
// codathook's default retention (dedupe.Config.Retention), so that both
// sides of BenchmarkRedisReceiver write keys that live as long.
const HandwrittenTTL = 34 * time.Hour

// HandwrittenMaxBody bounds the body [HandwrittenRedis] reads: codathook's
// default (WithMaxBodyBytes), so that neither side reads more than the other
// would accept.
const HandwrittenMaxBody = 1 << 20

// HandwrittenRedis is the Redis-backed receiver a team writes by hand in
// about twenty lines, the baseline of BenchmarkRedisReceiver. For each
// request it:
//
//  1. reads the body (at most [HandwrittenMaxBody] bytes; more, or a read
//     error, is 400);
//  2. verifies it with svix-go's Verify (a bad or missing signature, or a
//     timestamp outside svix-go's 5-minute tolerance, is 401);
//  3. decodes it with encoding/json into a map[string]any (invalid JSON is
//     400, before Redis is touched);
//  4. runs SET prefix+id 1 NX EX 122400 ([HandwrittenTTL]), where id is the
//     signed message id (svix-id, else webhook-id, the header svix-go
//     verified): a Redis error is 503, an existing key is a duplicate,
//     answered 200 without running the callback;
//  5. runs the callback: nil is 204; an error is 500 after DEL prefix+id, so
//     that the retry is processed.
//
// That is one Redis round trip per delivery, two when the callback fails.
// What it does not do, which codathook does:
//
//   - No cross-format dedupe: the key is the message id alone, so the
//     legacy and new copies of one event, or two messages carrying the same
//     event, are both processed.
//   - No lease: the key says "done" from the moment it is set, so a crash (or
//     a failed DEL) between SET and the callback's end loses the event: every
//     retry is a duplicate for 34 hours. Concurrent copies of a delivery in
//     flight get 200 while the first is still running, even if it then fails.
//   - No legacy endpoint (the Authorization header), no flags, no typed
//     events, no callback timeout or concurrency bound.
//
// The DEL runs on the request's context, as the SET does. A HandwrittenRedis
// is safe for concurrent use.
type HandwrittenRedis struct {
	// Lease, when positive, makes the key a claim that a crash cannot
	// keep: SET NX takes it for Lease, and a callback that succeeds makes
	// it "done" for HandwrittenTTL with a second SET (two round trips per
	// delivery). That is the least a receiver that must not lose events
	// does; codathook's lease is the same. Set it before serving.
	Lease time.Duration

	wh     *svix.Webhook
	client redis.UniversalClient
	prefix string
	fn     func(ctx context.Context, ev map[string]any) error
}

// NewHandwrittenRedis returns a receiver verifying with [Secret], keeping its
// keys under prefix on client, and calling fn with each new delivery. A nil
// client or fn is an error.
func NewHandwrittenRedis(client redis.UniversalClient, prefix string, fn func(ctx context.Context, ev map[string]any) error) (*HandwrittenRedis, error) {
	if client == nil || fn == nil {
		return nil, errors.New("bench: NewHandwrittenRedis needs a client and a callback")
	}
	wh, err := svix.NewWebhook(Secret)
	if err != nil {
		return nil, err
	}
	return &HandwrittenRedis{wh: wh, client: client, prefix: prefix, fn: fn}, nil
}

// ServeHTTP handles one delivery as the type's documentation says.
func (h *HandwrittenRedis) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, HandwrittenMaxBody))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := h.wh.Verify(body, r.Header); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// The id svix-go verified: it reads svix-id first.
	id := r.Header.Get("svix-id")
	if id == "" {
		id = r.Header.Get("webhook-id")
	}
	ctx := r.Context()
	key := h.prefix + id
	ttl := HandwrittenTTL
	if h.Lease > 0 {
		ttl = h.Lease
	}
	fresh, err := h.client.SetNX(ctx, key, 1, ttl).Result()
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if !fresh {
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := h.fn(ctx, ev); err != nil {
		h.client.Del(ctx, key)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if h.Lease > 0 {
		if err := h.client.Set(ctx, key, 1, HandwrittenTTL).Err(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
