package codathook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/normalize"
	"github.com/codathook/codathook/toggle"
)

// defaultMaxBodyBytes is the default request body limit (1 MiB).
const defaultMaxBodyBytes = 1 << 20

// defaultFlagCacheSize is the flag decision cache [WithFlags] uses with a nil
// config.
const defaultFlagCacheSize = 10_000

// defaultCallbackTimeout is the default deadline for one callback (or wrapped
// handler). It is below the 15 s after which Codat's new service counts a
// delivery as failed.
const defaultCallbackTimeout = 10 * time.Second

// defaultBodyReadTimeout is the default deadline for receiving a request's
// body once its headers are in. Codat sends a few kilobytes at once from a
// data centre, so a body still incomplete after 5 s comes from a stalled or
// hostile sender; and 5 s plus the default callback timeout (10 s) is Codat's 15 s
// delivery timeout, past which Codat's new service has given up anyway.
const defaultBodyReadTimeout = 5 * time.Second

// Option configures a [Receiver]. Options are applied in order; when the same
// option appears twice, the later one wins. An invalid option makes [New]
// return an error that wraps the option's error.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	secrets         []*secret
	newAuth         *staticAuth
	legacyAuth      *staticAuth
	insecure        [2]bool
	tolerance       time.Duration
	now             func() time.Time
	clockSet        bool // WithClock was given: the default store reads it too
	maxBody         int64
	logger          *slog.Logger
	errorHandler    func(http.ResponseWriter, *http.Request, error)
	observer        func(context.Context, Outcome)
	store           dedupe.Store
	dedupeCfg       *dedupe.Config
	flags           toggle.Client
	gateCfg         *toggle.Config
	callbackTimeout time.Duration
	bodyTimeout     time.Duration
	maxCallbacks    int
	fallback        func(context.Context, *normalize.Event) error
	newerTypes      []string // WithNewerEventTypes
}

// WithSecrets sets the signing secrets of the new (Svix) endpoint: each is
// "whsec_" followed by standard base64, or the bare base64. Several secrets
// are accepted at once so you can rotate on your side; a delivery verifies if
// any v1 signature matches any secret. An empty, undecodable or short (under
// 16 bytes decoded) secret makes [New] fail. Without secrets (and
// without [WithInsecureNoAuth]) the new endpoint answers every request 401.
func WithSecrets(secrets ...string) Option {
	return optionFunc(func(c *config) error {
		if len(secrets) == 0 {
			return errors.New("WithSecrets needs at least one secret")
		}
		parsed := make([]*secret, 0, len(secrets))
		for i, s := range secrets {
			sec, err := parseSecret(s)
			if err != nil {
				return fmt.Errorf("secret %d: %w", i+1, err)
			}
			parsed = append(parsed, sec)
		}
		c.secrets = parsed
		return nil
	})
}

// WithLegacyAuthorization sets the accepted values of the Authorization header
// on the legacy endpoint: the exact string configured in Codat (Basic,
// Bearer or a raw value). Several values allow rotation. Values are compared
// in constant time. An empty value makes [New] fail. Without it (and without
// [WithInsecureNoAuth]) the legacy endpoint answers every request 401. The
// value authenticates legacy rule bodies only: a new-format body on the
// legacy endpoint must also carry a valid signature.
func WithLegacyAuthorization(values ...string) Option {
	return optionFunc(func(c *config) error {
		a, err := newStaticAuth(values)
		if err != nil {
			return fmt.Errorf("WithLegacyAuthorization: %w", err)
		}
		c.legacyAuth = a
		return nil
	})
}

// WithNewAuthorization additionally requires, on the new endpoint, an
// Authorization header equal to one of values: the static header Codat
// carries over from the legacy configuration as a custom header. The
// signature is still required.
func WithNewAuthorization(values ...string) Option {
	return optionFunc(func(c *config) error {
		a, err := newStaticAuth(values)
		if err != nil {
			return fmt.Errorf("WithNewAuthorization: %w", err)
		}
		c.newAuth = a
		return nil
	})
}

func newStaticAuth(values []string) (*staticAuth, error) {
	if len(values) == 0 {
		return nil, errors.New("at least one Authorization value is required")
	}
	a := &staticAuth{}
	for _, v := range values {
		if v == "" {
			return nil, errors.New("empty Authorization value")
		}
		a.values = append(a.values, []byte(v))
	}
	return a, nil
}

// WithInsecureNoAuth accepts unauthenticated deliveries on ep. Anyone who can
// reach the endpoint can then inject events: use it only behind another
// authentication layer (mTLS, a private network) or in development. On
// [EndpointLegacy] it admits legacy rule bodies only: a new-format body
// there still needs a valid signature.
func WithInsecureNoAuth(ep Endpoint) Option {
	return optionFunc(func(c *config) error {
		i, ok := ep.index()
		if !ok {
			return fmt.Errorf("unknown endpoint %q", ep)
		}
		c.insecure[i] = true
		return nil
	})
}

// WithTolerance sets how far the signature timestamp may be from now, in the
// past or the future. The default is 5 minutes. A
// non-positive duration makes [New] fail.
func WithTolerance(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("tolerance must be positive, got %v", d)
		}
		c.tolerance = d
		return nil
	})
}

// WithClock sets the clock used for signature timestamps, receive times,
// lease deadlines and the default store's expiry (tests move it instead of
// sleeping). The default is [time.Now], and the monotonic clock for the
// default store's expiry. Callback deadlines always use real time. A nil
// clock makes [New] fail.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		if now == nil {
			return errors.New("nil clock")
		}
		c.now, c.clockSet = now, true
		return nil
	})
}

// WithMaxBodyBytes limits the request body read before verification. The
// default is 1 MiB. Bodies over the limit are
// rejected with 413, and the error matches [*http.MaxBytesError]. A
// non-positive limit makes [New] fail.
func WithMaxBodyBytes(n int64) Option {
	return optionFunc(func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("max body bytes must be positive, got %d", n)
		}
		c.maxBody = n
		return nil
	})
}

// WithLogger sets the logger. The default discards nothing: it is
// [slog.Default]. A nil logger makes [New] fail.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	})
}

// WithErrorHandler replaces [DefaultErrorHandler], which answers every failed
// delivery. The handler receives the error (match it with errors.Is and
// errors.As, or call [StatusCode]) and must write the response. Never write
// err.Error() to the sender. A nil handler makes [New] fail.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return optionFunc(func(c *config) error {
		if h == nil {
			return errors.New("nil error handler")
		}
		c.errorHandler = h
		return nil
	})
}

// WithObserver registers fn to see the outcome of every delivery, for
// metrics and traces: ctx is the request's context (its span, its values).
// fn runs synchronously after the response is decided; keep it fast. A nil
// fn makes [New] fail.
func WithObserver(fn func(ctx context.Context, o Outcome)) Option {
	return optionFunc(func(c *config) error {
		if fn == nil {
			return errors.New("nil observer")
		}
		c.observer = fn
		return nil
	})
}

// WithDedupe sets the deduplication store and its windows. A nil store
// keeps the default, an in-memory [dedupe.LRU] with its default capacity
// (about 100,000 deliveries within the retention): enough for one process.
// Apps with several replicas use a shared store such as dedupe/redisstore.
// The receiver does not close the store. Store calls are not cancelled when
// the sender hangs up (the outcome must still be recorded); bound them with
// the store's own timeouts (go-redis: ReadTimeout and WriteTimeout, 3 s by
// default). A nil cfg keeps the defaults of [dedupe.Config] (retention,
// cross-format pairing window, claim lease); the claim lease must be longer
// than the callback timeout ([WithCallbackTimeout]), or [New] fails.
func WithDedupe(store dedupe.Store, cfg *dedupe.Config) Option {
	return optionFunc(func(c *config) error {
		if store != nil {
			c.store = store
		}
		if cfg != nil {
			c.dedupeCfg = cfg
		}
		return nil
	})
}

// WithFlags gates each endpoint with OpenFeature boolean flags evaluated
// through client (an *openfeature.Client satisfies [toggle.Client]). cfg sets
// flag keys, gated-off behaviour and provider-failure defaults. A nil cfg
// means the defaults of [toggle.Config] plus a decision cache of
// 10,000 entries when client delivers provider events (an
// *openfeature.Client does): a flag without targeting is then evaluated once
// per endpoint until the provider reports a change, and a flip applies to the
// deliveries after the provider's CONFIGURATION_CHANGED event. Pass a cfg
// with CacheSize 0 to evaluate every delivery. Without WithFlags both
// endpoints always process. A nil client makes [New] fail.
func WithFlags(client toggle.Client, cfg *toggle.Config) Option {
	return optionFunc(func(c *config) error {
		if client == nil {
			return errors.New("nil flag client")
		}
		c.flags, c.gateCfg = client, cfg
		return nil
	})
}

// WithCallbackTimeout sets the deadline of one callback or wrapped handler.
// The default is 10 s. A non-positive duration makes
// [New] fail: there is no "no deadline" setting, because a callback without
// one could outlive any claim lease.
//
// The timeout must be strictly shorter than the dedupe claim lease (the
// Lease of [WithDedupe]'s [dedupe.Config], [deduper.DefaultLease] when zero),
// or [New] fails: a claim that expires while its callback runs lets a copy
// of the delivery (a retry, the other format's twin) claim and run
// concurrently. Leave the lease a margin above the timeout for the store's
// round trips; a callback that ignores its context can still outlive both.
//
// A callback runs on the request's goroutine with a context that carries the
// deadline. When the deadline passes first, the context is cancelled and the
// delivery is answered 503 (through the error handler) at once, even if the
// callback ignores its context: over HTTP/1.x a watchdog writes the answer
// with its Content-Length and Connection: close and flushes it, so the
// sender has it while the callback still runs; over HTTP/2, where a stream
// ends only when its handler returns, the callback runs on a goroutine of its
// own instead. The callback's eventual result then settles the delivery: a
// late success commits it (a retry is a duplicate), a failure releases it (a
// retry processes it). A copy of the delivery that arrives meanwhile waits
// for the first no longer than this deadline, then gets 503 in_flight.
//
// A wrapped handler ([Receiver.Middleware]) writes its own response: it runs
// with the deadline in its request's context and no watchdog.
func WithCallbackTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("callback timeout must be positive, got %v", d)
		}
		c.callbackTimeout = d
		return nil
	})
}

// WithBodyReadTimeout sets the deadline for receiving a request's body,
// counted from when the receiver starts reading it (its headers are in).
// The default is 5 s. A body that does not arrive in
// time is answered 408 Request Timeout (Codat's legacy service retries
// 408; the new one retries any non-2xx), with Connection: close over
// HTTP/1.x, and Result body_timeout; it is not authenticated, and nothing is
// recorded or claimed. A non-positive duration makes [New] fail.
//
// The deadline is set with [http.ResponseController.SetReadDeadline], so it
// holds over HTTP/1.x and HTTP/2 (per stream), and is lifted once the body
// is in. It replaces the server's read deadline for the body, except that
// a server whose ReadTimeout is as short or shorter keeps its own (it
// counts from the request's first byte, so it is the tighter). A
// ResponseWriter that cannot set deadlines (one that wraps net/http's
// without an Unwrap method, or httptest.ResponseRecorder) gets no deadline:
// the receiver logs that once and the server's ReadTimeout is all that
// bounds a stalled body. Set ReadHeaderTimeout, ReadTimeout and IdleTimeout
// on the http.Server in any case: this deadline starts only once the
// headers are in.
func WithBodyReadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("body read timeout must be positive, got %v", d)
		}
		c.bodyTimeout = d
		return nil
	})
}

// WithMaxConcurrentCallbacks sheds load for the app behind the receiver:
// at most n deliveries, over both endpoints, run a callback or the wrapped
// handler at once. A delivery that finds n running is answered 503 with
// Retry-After at once, Result overloaded, errOverloaded; it is shed
// before the dedupe claim, so nothing is claimed or recorded and the
// sender's retry is processed as if it were the first arrival. A slot is
// held from the claim until the callback has returned and the claim is
// settled, including a callback that outlives its deadline (it still loads
// the app). Retries of processed messages recognised before the claim,
// copies waiting for a concurrent copy, skipped deliveries and refused
// requests take no slot. The observer ([WithObserver]) sees each shed
// delivery, which is also logged at Warn.
//
// The default, 0, is no bound: the receiver cannot know the app's
// capacity, and a bound too low turns a burst (Codat's bulk recovery sends
// every failed message at once) into retries, which cost more than
// waiting: Codat's new service waits 5 s, then 5 minutes, then 30, before
// its next attempts, and its legacy service retries at most three times in
// about two minutes, then drops the event. Size n to what the app's
// callbacks can run at once (a database pool, a downstream quota), with
// room for bursts. A negative n makes [New] fail.
func WithMaxConcurrentCallbacks(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 {
			return fmt.Errorf("max concurrent callbacks must not be negative, got %d", n)
		}
		c.maxCallbacks = n
		return nil
	})
}

// WithFallback sets the function called for events that no callback is
// registered for (including unknown event types and unknown body shapes).
// Its error is treated like a callback's. The default logs the event at Info
// level and acknowledges it. A nil fn makes [New] fail.
func WithFallback(fn func(ctx context.Context, ev *normalize.Event) error) Option {
	return optionFunc(func(c *config) error {
		if fn == nil {
			return errors.New("nil fallback")
		}
		c.fallback = fn
		return nil
	})
}

// WithNewerEventTypes declares event types newer than this version, so
// that [On] accepts callbacks for them: On refuses a pattern that matches no
// event type this version knows (normalize.EventTypes) or declares here,
// to catch a typo at registration instead of sending its events to the
// fallback. Each type is a concrete name ("invoices.approved"); patterns
// over the declared types match them as well. A type with no Go type in
// this version is delivered as *Event (register *Event for it); a write
// type of a data type this version does not list
// ("expenseTransactions.write.successful") is delivered as *WriteEvent.
// Declaring a type this version knows is harmless, so the option survives
// an upgrade that adds the type. An empty list, or an empty or wildcard
// name, makes [New] fail.
func WithNewerEventTypes(types ...string) Option {
	return optionFunc(func(c *config) error {
		if len(types) == 0 {
			return errors.New("WithNewerEventTypes needs at least one event type")
		}
		for _, t := range types {
			if err := validatePattern(t); err != nil {
				return fmt.Errorf("WithNewerEventTypes: %w", err)
			}
			if strings.Contains(t, "*") {
				return fmt.Errorf("WithNewerEventTypes(%q): an event type, not a pattern", t)
			}
		}
		c.newerTypes = slices.Clone(types)
		return nil
	})
}
