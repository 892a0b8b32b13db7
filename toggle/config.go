package toggle

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Endpoint names the two receiving endpoints the [Gate] knows. They match the
// root package's EndpointLegacy and EndpointNew values.
const (
	EndpointLegacy = "legacy"
	EndpointNew    = "new"
)

// Default flag keys, evaluation timeout, Retry-After and cache settings.
const (
	DefaultLegacyFlag = "codat-legacy-endpoint"
	DefaultNewFlag    = "codat-new-endpoint"
	DefaultTimeout    = 50 * time.Millisecond
	DefaultRetryAfter = 60 * time.Second
	DefaultCacheTTL   = time.Second

	// DefaultMaxInFlight is the default of [Config.MaxInFlight]. 64
	// evaluations at once is far more than a healthy provider needs (at 1 ms
	// per evaluation, 64,000 evaluations a second; an in-process provider
	// answers in about a microsecond; sharing and the cache absorb repeats),
	// and still a few hundred KiB of goroutine stacks when a hung provider
	// holds them all. Evaluations that honour their deadline free their
	// slot within [DefaultTimeout], so even every evaluation timing out
	// leaves room for 1,280 a second.
	DefaultMaxInFlight = 64
)

// Action tells the receiver what to do with a delivery. The zero value is
// [ActionProcess], so a zero [Decision] never drops a delivery.
type Action int

const (
	// ActionProcess processes the delivery (the endpoint is enabled).
	ActionProcess Action = iota
	// ActionAcknowledge answers 2xx without processing the delivery and without
	// claiming it in dedupe: the other endpoint is authoritative.
	ActionAcknowledge
	// ActionDefer answers 503 with a Retry-After header so the sender retries
	// later; nothing is processed or claimed.
	ActionDefer
)

// String returns "process", "acknowledge" or "defer".
func (a Action) String() string {
	switch a {
	case ActionProcess:
		return "process"
	case ActionAcknowledge:
		return "acknowledge"
	case ActionDefer:
		return "defer"
	default:
		return fmt.Sprintf("Action(%d)", int(a))
	}
}

// EndpointConfig configures the gate of one endpoint. The zero value is valid
// and selects every default.
type EndpointConfig struct {
	// Flag is the boolean flag key evaluated for each delivery on the
	// endpoint. The default is [DefaultLegacyFlag] for the legacy endpoint and
	// [DefaultNewFlag] for the new endpoint.
	Flag string

	// WhenOff is what a delivery gets when the flag evaluates to false:
	// [ActionAcknowledge] (2xx, not processed; the default, also selected by
	// the zero value [ActionProcess]) or [ActionDefer] (503 + Retry-After).
	WhenOff Action

	// RetryAfter is the Retry-After duration reported with [ActionDefer]. The
	// default is [DefaultRetryAfter] (60s). Svix clamps Retry-After to between
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
	// With FailClosed true a failure gates the endpoint off with
	// [ActionDefer] regardless of WhenOff: a failure never acknowledges a
	// delivery it did not process.
	FailClosed bool
}

// Config configures a [Gate]. A nil *Config selects every default; zero
// fields select their documented defaults.
type Config struct {
	// Legacy configures the gate of the legacy (rule webhook) endpoint.
	Legacy EndpointConfig
	// New configures the gate of the new (Svix-signed) endpoint.
	New EndpointConfig

	// Timeout bounds the wait for one flag evaluation. The default is
	// [DefaultTimeout] (50ms). The evaluation then runs on its own goroutine
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
	// [DefaultMaxInFlight] (64); negative is invalid. An evaluation holds its
	// slot until the provider returns, even after every delivery waiting for
	// it has given up, so a provider that hangs holds at most MaxInFlight
	// goroutines. A delivery that needs an evaluation when none is free
	// gets the endpoint's fallback at once (see [EndpointConfig.FailClosed]),
	// with [ErrOverloaded], logged and counted like a timeout (in
	// EndpointStats.Errors and Overloaded). Deliveries sharing an
	// evaluation, and cached decisions, need no slot.
	MaxInFlight int

	// CacheSize enables a decision cache holding at most CacheSize entries,
	// keyed by endpoint plus the complete evaluation context. The default (0)
	// disables caching: every delivery evaluates its flag. Negative is
	// invalid. Caching requires a client that implements [EventSource]: the
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
	// 10,000 entries. Measured on go1.26 amd64 (TestGateCacheMemoryBound,
	// with 100 KiB company ids): about 260 bytes per entry with 64-byte
	// variant and reason strings, about 130 with the usual short variant
	// names and standard reasons.
	CacheSize int

	// CacheTTL bounds the age of a cached decision, a safety net for
	// providers that change flags without emitting an event. The default is
	// [DefaultCacheTTL] (1s). Negative disables expiry (entries live until
	// the next provider event).
	CacheTTL time.Duration

	// Logger receives failures (at most one warning per endpoint per
	// [WarnInterval], with the number suppressed) and provider events (debug).
	// The default is [slog.Default].
	Logger *slog.Logger

	// Now is the clock, for cache expiry and warning intervals. The default
	// is [time.Now], with cache expiry measured on the monotonic clock
	// (immune to steps of the wall clock). Tests inject it.
	Now func() time.Time
}

// WarnInterval is the minimum time between two failure warnings the [Gate]
// logs for one endpoint; the failures in between are counted, and reported in
// the next warning.
const WarnInterval = 10 * time.Second

// errConfig marks configuration errors returned by [NewGate].
var errConfig = errors.New("toggle: invalid config")

type endpointSettings struct {
	name       string
	flag       string
	whenOff    Action
	retryAfter time.Duration
	failClosed bool
}

func (c EndpointConfig) resolve(name, defFlag string) (endpointSettings, error) {
	s := endpointSettings{
		name:       name,
		flag:       c.Flag,
		whenOff:    c.WhenOff,
		retryAfter: c.RetryAfter,
		failClosed: c.FailClosed,
	}
	if s.flag == "" {
		s.flag = defFlag
	}
	switch s.whenOff {
	case ActionProcess:
		s.whenOff = ActionAcknowledge
	case ActionAcknowledge, ActionDefer:
	default:
		return s, fmt.Errorf("%w: %s endpoint: unknown WhenOff %v", errConfig, name, c.WhenOff)
	}
	if s.retryAfter < 0 {
		return s, fmt.Errorf("%w: %s endpoint: negative RetryAfter %v", errConfig, name, c.RetryAfter)
	}
	if s.retryAfter == 0 {
		s.retryAfter = DefaultRetryAfter
	}
	return s, nil
}
