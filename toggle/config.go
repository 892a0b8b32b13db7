package toggle

import (
	"context"
	"log/slog"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

// The flag keys evaluated when [EndpointConfig.Flag] is empty.
const (
	DefaultLegacyFlag = "codat-legacy-endpoint"
	DefaultNewFlag    = "codat-new-endpoint"
)

// Client evaluates boolean flags. *openfeature.Client satisfies it; a Gate
// never touches the OpenFeature global API itself.
type Client interface {
	BooleanValueDetails(ctx context.Context, flag string, defaultValue bool, evalCtx openfeature.EvaluationContext, options ...openfeature.Option) (openfeature.BooleanEvaluationDetails, error)
}

// EndpointConfig configures the gate of one endpoint. The zero value is valid
// and selects every default.
type EndpointConfig struct {
	// Flag is the boolean flag key evaluated for each delivery on the
	// endpoint. The default is [DefaultLegacyFlag] for the legacy endpoint and
	// [DefaultNewFlag] for the new endpoint.
	Flag string

	// Defer selects what a delivery gets when the flag evaluates to false:
	// by default (false) 2xx without processing, because the other
	// endpoint is authoritative; with Defer, 503 with Retry-After, so Codat
	// retries it later.
	Defer bool

	// RetryAfter is the Retry-After duration reported with Defer. The
	// default is 60s. Svix clamps Retry-After to between
	// 1x and 2x of its own schedule, so this is a hint. Negative is invalid.
	RetryAfter time.Duration

	// FailClosed selects the fallback used when the flag cannot be evaluated
	// (provider not ready, provider error, flag missing or mistyped, timeout,
	// no free evaluation slot, panic) and when the provider reports the flag
	// as DISABLED (flagd and memprovider then return the caller's default).
	//
	// The default (false) fails open: the endpoint processes the delivery.
	// During the migration both endpoints may then process the same
	// occurrence, and dedupe makes that safe, whereas acknowledging without
	// processing would lose the event if the other endpoint is gated off.
	//
	// With FailClosed true a failure defers the delivery (503 with
	// Retry-After) whatever Defer says: a failure never acknowledges a
	// delivery it did not process.
	FailClosed bool
}

// Config configures the flag gate of the receiver (codathook.WithFlags). A nil *Config selects every default; zero
// fields select their documented defaults.
type Config struct {
	// Legacy configures the gate of the legacy (rule webhook) endpoint.
	Legacy EndpointConfig
	// New configures the gate of the new (Svix-signed) endpoint.
	New EndpointConfig

	// Timeout bounds the wait for one flag evaluation. The default is
	// 50ms. The evaluation then runs on its own goroutine
	// with a context that carries the deadline, so even a provider that
	// ignores its context cannot stall a delivery: on expiry the fallback
	// applies. The result, when it eventually arrives, is not returned to
	// the deliveries that gave up, but is cached (with caching on, and no
	// invalidation since the evaluation began). Concurrent deliveries with
	// the same evaluation context share one evaluation, and MaxInFlight
	// bounds the evaluations running at once.
	//
	// A negative Timeout evaluates on the caller's goroutine with the
	// caller's context unchanged (cheaper; suitable for in-memory
	// providers): no goroutine is started, so none can be left behind, but
	// nothing is shared, MaxInFlight does not apply, and a hung provider
	// holds the delivery.
	Timeout time.Duration

	// MaxInFlight bounds the flag evaluations running at once (Timeout not
	// negative), each on its own goroutine. The default is
	// 64; negative is invalid. An evaluation holds its
	// slot until the provider returns, even after every delivery waiting for
	// it has given up, so a provider that hangs holds at most MaxInFlight
	// goroutines. A delivery that needs an evaluation when none is free
	// gets the endpoint's fallback at once (see [EndpointConfig.FailClosed]),
	// logged and counted like a timeout (in
	// EndpointStats.Errors and Overloaded). Deliveries sharing an
	// evaluation, and cached decisions, need no slot.
	MaxInFlight int

	// CacheSize enables a decision cache holding at most CacheSize entries,
	// keyed by endpoint plus the complete evaluation context. The default (0)
	// disables caching: every delivery evaluates its flag. Negative is
	// invalid. Caching requires a client that also has the AddHandler and RemoveHandler methods of *openfeature.Client: the
	// cache is cleared on every provider READY, ERROR, STALE and
	// CONFIGURATION_CHANGED event. Failed evaluations are never cached. A
	// decision the provider resolved with reason STATIC (no targeting rule
	// ran, so it does not depend on the context) is cached once for the
	// whole endpoint; other decisions are cached per evaluation context.
	//
	// The cache is bounded in bytes, whatever the requests carry: an entry
	// keys its decision by a 16-byte hash of the evaluation context (two
	// 64-bit hashes; the context's strings are never kept, however long a
	// company id is) and holds at most 320 bytes: at most 192 of map storage
	// and a variant name and a non-standard reason of at most 64 bytes each
	// (a decision with a longer one is not cached). The cache therefore
	// holds at most CacheSize × 320 bytes plus under 1 KiB, 3.1 MiB for
	// 10,000 entries. docs/RELIABILITY.md has the
	// measured cost.
	CacheSize int

	// CacheTTL bounds the age of a cached decision, a safety net for
	// providers that change flags without emitting an event. The default is
	// 1s. Negative disables expiry (entries live until
	// the next provider event).
	CacheTTL time.Duration

	// Logger receives failures (at most one warning per endpoint per
	// 10s, with the number suppressed) and provider events (debug).
	// The default is [slog.Default].
	Logger *slog.Logger

	// Now is the clock, for cache expiry and warning intervals. The default
	// is [time.Now], with cache expiry measured on the monotonic clock
	// (immune to steps of the wall clock). Tests inject it.
	Now func() time.Time
}
