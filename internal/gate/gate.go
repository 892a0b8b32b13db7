package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/codathook/codathook/internal/monotime"
	"github.com/codathook/codathook/toggle"
)

// EventSource is the part of *openfeature.Client a [Gate] uses to learn about
// provider changes. When the [toggle.Client] passed to [New] also implements
// EventSource, the Gate subscribes to READY, ERROR, STALE and
// CONFIGURATION_CHANGED events, clears its cache on each and logs them.
type EventSource interface {
	AddHandler(eventType openfeature.EventType, callback openfeature.EventCallback)
	RemoveHandler(eventType openfeature.EventType, callback openfeature.EventCallback)
}

// ReasonUngated is the [Decision.Reason] for a request whose endpoint the Gate
// does not know.
const ReasonUngated = "UNGATED"

// Errors reported in [Decision.Err]. Match them with errors.Is. Provider
// errors are wrapped as returned by the OpenFeature SDK (match their codes
// with errors.As and openfeature.ResolutionError).
var (
	// ErrTimeout reports an evaluation that exceeded [Config.Timeout].
	ErrTimeout = errors.New("toggle: flag evaluation timed out")
	// ErrProviderPanic reports an evaluation that panicked; the panic is
	// recovered and the fallback applies.
	ErrProviderPanic = errors.New("toggle: flag evaluation panicked")
	// ErrOverloaded reports an evaluation refused because [Config.MaxInFlight]
	// evaluations were already running (a slow or hung provider); the
	// fallback applied at once.
	ErrOverloaded = errors.New("toggle: too many flag evaluations in flight")
	// ErrUnknownEndpoint reports a [Request.Endpoint] that is neither
	// [EndpointLegacy] nor [EndpointNew]; such deliveries are processed.
	ErrUnknownEndpoint = errors.New("toggle: unknown endpoint")
)

// Request describes one delivery to gate. Empty fields are left out of the
// evaluation context.
type Request struct {
	Endpoint     string // EndpointLegacy or EndpointNew
	Format       string // the body's shape: "legacy", "new" or "unknown"
	EventType    string // normalized event type, e.g. "connection.connected"
	CompanyID    string // targeting key; "" for client-wide events
	ClientID     string // legacy body ClientId
	ClientHeader string // X-Codat-ClientId header value; wins over ClientID
	DataType     string // e.g. "invoices" for writes and single-type reads
	ConnectionID string
}

// Decision is the outcome of [Gate.Evaluate]. The zero value processes the
// delivery.
type Decision struct {
	// Enabled reports whether the endpoint processes the delivery; it is
	// true exactly when Action is ActionProcess.
	Enabled bool
	// Flag is the flag key evaluated ("" for an unknown endpoint).
	Flag string
	// Reason is the OpenFeature resolution reason (STATIC, TARGETING_MATCH,
	// DISABLED, ERROR, ...) or ReasonUngated.
	Reason string
	// Err is non-nil when the flag could not be evaluated and the fallback
	// decided: a provider error, ErrTimeout, ErrOverloaded,
	// ErrProviderPanic or ErrUnknownEndpoint.
	Err error
	// Action is what the receiver does: process, acknowledge (2xx, not
	// processed, not claimed) or defer (503 with Retry-After).
	Action Action
	// RetryAfter is the Retry-After duration to send with ActionDefer.
	RetryAfter time.Duration
	// Variant is the provider's variant name, when it reported one.
	Variant string
	// Fallback reports that the endpoint's fallback decided (Err != nil, or
	// the provider reported the flag as DISABLED).
	Fallback bool
	// Cached reports that the decision came from the Gate's cache.
	Cached bool
}

type endpointGate struct {
	endpointSettings
	counters
	index      int      // in cache.static
	refused    *outcome // the outcome of an evaluation refused a slot
	boxedName  any
	lastWarn   atomic.Int64 // unix nanoseconds of the last failure warning, or noWarnYet
	suppressed atomic.Uint64
}

// Gate decides, per delivery, whether an endpoint processes it, by evaluating
// the endpoint's boolean flag with an evaluation context built from the
// [Request]. A Gate is safe for concurrent use. Create it with [New] and
// call [Gate.Close] when done to unsubscribe from provider events.
type Gate struct {
	client  toggle.Client
	events  EventSource
	handler openfeature.EventCallback
	legacy  endpointGate
	new     endpointGate
	timeout time.Duration
	cache   *cache
	seeds   keySeeds
	log     *slog.Logger
	now     func() time.Time

	// Evaluations with a timeout (see flight.go): at most MaxInFlight run
	// at once, each holding a slot of sem; concurrent identical ones share
	// one through flight. epoch counts invalidations, so that a delivery
	// arriving after one never joins an evaluation that started before it.
	sem      *semaphore.Weighted
	flight   singleflight.Group
	inFlight atomic.Int64
	epoch    atomic.Uint64

	// testHookWaiting, when set (by tests, before any Evaluate), runs once
	// a delivery has started or joined its evaluation and before it waits.
	testHookWaiting func()

	unknown   atomic.Uint64
	closeOnce sync.Once
}

var subscribedEvents = [...]openfeature.EventType{
	openfeature.ProviderReady,
	openfeature.ProviderConfigChange,
	openfeature.ProviderError,
	openfeature.ProviderStale,
}

// New returns a Gate evaluating flags through c. A nil cfg selects the
// defaults documented on [Config]. It returns an error when c is nil, when a
// setting is invalid, or when caching is requested but c does not implement
// [EventSource]. If c implements EventSource the Gate registers event
// handlers on it; [Gate.Close] removes them.
func New(c toggle.Client, cfg *toggle.Config) (*Gate, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil Client", errConfig)
	}
	if cfg == nil {
		cfg = &toggle.Config{}
	}
	g := &Gate{client: c, timeout: cfg.Timeout, log: cfg.Logger, now: cfg.Now, seeds: newKeySeeds()}
	var err error
	if g.legacy.endpointSettings, err = resolve(cfg.Legacy, EndpointLegacy, toggle.DefaultLegacyFlag); err != nil {
		return nil, err
	}
	if g.new.endpointSettings, err = resolve(cfg.New, EndpointNew, toggle.DefaultNewFlag); err != nil {
		return nil, err
	}
	g.legacy.boxedName, g.new.boxedName = boxedLegacy, boxedNew
	g.legacy.index, g.new.index = 0, 1
	g.legacy.lastWarn.Store(noWarnYet)
	g.new.lastWarn.Store(noWarnYet)
	if g.timeout == 0 {
		g.timeout = DefaultTimeout
	}
	maxInFlight := cfg.MaxInFlight
	switch {
	case maxInFlight < 0:
		return nil, fmt.Errorf("%w: negative MaxInFlight %d", errConfig, maxInFlight)
	case maxInFlight == 0:
		maxInFlight = DefaultMaxInFlight
	}
	g.sem = semaphore.NewWeighted(int64(maxInFlight))
	overloaded := fmt.Errorf("%w (MaxInFlight %d)", ErrOverloaded, maxInFlight)
	for _, ep := range []*endpointGate{&g.legacy, &g.new} {
		ep.refused = &outcome{value: !ep.failClosed, reason: string(openfeature.ErrorReason), err: overloaded}
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.events, _ = c.(EventSource)
	switch {
	case cfg.CacheSize < 0:
		return nil, fmt.Errorf("%w: negative CacheSize %d", errConfig, cfg.CacheSize)
	case cfg.CacheSize > 0:
		if g.events == nil {
			return nil, fmt.Errorf("%w: CacheSize needs a Client that implements EventSource (AddHandler/RemoveHandler) so provider changes invalidate the cache", errConfig)
		}
		ttl := cfg.CacheTTL
		if ttl == 0 {
			ttl = DefaultCacheTTL
		}
		g.cache = newCache(cfg.CacheSize, ttl, monotime.Of(cfg.Now))
	}
	if g.events != nil {
		h := g.onProviderEvent
		g.handler = &h
		for _, t := range subscribedEvents {
			g.events.AddHandler(t, g.handler)
		}
	}
	return g, nil
}

// Close unsubscribes the Gate from provider events. It is idempotent. A
// closed Gate still evaluates, but its cache (if any) is bypassed, since it
// would no longer be invalidated. Close does not wait for the evaluations
// running on their own goroutines (at most [Config.MaxInFlight]): each ends
// when the provider returns.
func (g *Gate) Close() error {
	g.closeOnce.Do(func() {
		if g.cache != nil {
			g.cache.disable()
		}
		if g.events != nil {
			for _, t := range subscribedEvents {
				g.events.RemoveHandler(t, g.handler)
			}
		}
	})
	return nil
}

// Invalidate clears the decision cache, for providers that change flags
// without emitting events, and makes later deliveries start new evaluations
// rather than share ones already in flight.
func (g *Gate) Invalidate() {
	g.epoch.Add(1)
	if g.cache != nil {
		g.cache.invalidate()
	}
}

// onProviderEvent runs on an SDK goroutine (or synchronously inside
// AddHandler on registration); it must not call back into the SDK.
func (g *Gate) onProviderEvent(d openfeature.EventDetails) {
	g.Invalidate()
	g.log.Debug("toggle: provider event", "provider", d.ProviderName, "message", d.Message, "flags_changed", d.FlagChanges)
}

func (g *Gate) endpoint(name string) *endpointGate {
	switch name {
	case EndpointLegacy:
		return &g.legacy
	case EndpointNew:
		return &g.new
	}
	return nil
}

// Evaluate decides whether req's endpoint processes the delivery. It never
// panics and never blocks for longer than [Config.Timeout] (unless Timeout is
// negative). When the flag cannot be evaluated the endpoint's fallback decides
// (see [EndpointConfig.FailClosed]), and the failure is logged and counted.
//
// With a Timeout, concurrent deliveries with the same evaluation context
// share one evaluation, and at most [Config.MaxInFlight] evaluations run at
// once: a delivery that finds them all running gets its fallback at once
// ([ErrOverloaded]). A shared evaluation runs with the ctx of the delivery
// that started it, without its cancellation; a delivery whose ctx carries
// an OpenFeature transaction context never shares. A delivery can thus get
// the answer of an evaluation that began shortly before it arrived (new
// deliveries stop joining one as soon as a delivery waiting for it times
// out), but never of one that began before the last provider event the
// Gate received or [Gate.Invalidate].
//
// The evaluation context has the targeting key CompanyID, or the client id
// (ClientHeader, else ClientID) when CompanyID is empty, and the attributes
// eventType, format, endpoint, and, when non-empty, dataType, connectionId
// and clientId (ClientHeader, else ClientID).
func (g *Gate) Evaluate(ctx context.Context, req Request) Decision {
	ep := g.endpoint(req.Endpoint)
	if ep == nil {
		g.unknown.Add(1)
		err := fmt.Errorf("%w %q", ErrUnknownEndpoint, req.Endpoint)
		g.log.Warn("toggle: delivery for an unknown endpoint processed ungated", "endpoint", req.Endpoint)
		return Decision{Enabled: true, Reason: ReasonUngated, Err: err, Action: ActionProcess, Fallback: true}
	}
	ep.evaluations.Add(1)
	clientID := req.ClientHeader
	if clientID == "" {
		clientID = req.ClientID
	}
	target := req.CompanyID
	if target == "" {
		target = clientID
	}

	// Deliveries with a transaction context bypass the cache and never share
	// an evaluation: the key covers only the Gate's own evaluation context.
	bounded := g.timeout >= 0
	shareable := (g.cache != nil || bounded) && !hasTransactionContext(ctx)
	var (
		key      cacheKey
		haveKey  bool
		useCache bool
	)
	input := func() cacheKey {
		in := evalInput{
			endpoint: ep.name, target: target, eventType: req.EventType, format: req.Format,
			dataType: req.DataType, connectionID: req.ConnectionID, clientID: clientID,
		}
		return g.seeds.key(&in)
	}
	if g.cache != nil && shareable {
		// A STATIC decision did not depend on the evaluation context, so one
		// entry per endpoint serves every delivery until the next provider
		// event (or CacheTTL).
		d, ok := g.cache.getStatic(ep.index)
		if !ok {
			key, haveKey = input(), true
			var o outcome
			if o, ok = g.cache.get(key); ok {
				d = ep.decision(&o)
			}
		}
		if ok {
			ep.cacheHits.Add(1)
			ep.count(d)
			d.Cached = true
			return d
		}
		useCache = true
	}

	evalCtx := buildContext(ep, target, clientID, &req)
	var o outcome
	if bounded {
		if shareable && !haveKey {
			key = input()
		}
		o = g.bounded(ctx, ep, evalCtx, shareable, key, useCache)
	} else {
		var gen uint64
		if useCache {
			gen = g.cache.generation()
		}
		o = g.safeCall(ctx, ep.flag, !ep.failClosed, evalCtx)
		if useCache && o.err == nil {
			g.cache.put(ep, key, &o, gen)
		}
	}
	d := ep.decision(&o)
	g.record(ep, d, &req)
	return d
}

// outcome is what one flag evaluation produced; the endpoint's policy turns
// it into a Decision.
type outcome struct {
	value           bool
	reason, variant string
	err             error
}

// decision applies the endpoint's policy to o. It has no side effects: a
// cached outcome goes through it on every hit.
func (ep *endpointGate) decision(o *outcome) Decision {
	d := Decision{Flag: ep.flag, Reason: o.reason, Variant: o.variant}
	switch {
	case o.err != nil:
		if d.Reason == "" {
			d.Reason = string(openfeature.ErrorReason)
		}
		d.Err = fmt.Errorf("toggle: flag %q: %w", ep.flag, o.err)
		d.Fallback = true
		d.Enabled = !ep.failClosed
	case o.reason == string(openfeature.DisabledReason):
		d.Fallback = true
		d.Enabled = o.value
	default:
		d.Enabled = o.value
	}
	switch {
	case d.Enabled:
		d.Action = ActionProcess
	case d.Fallback:
		// A fallback never acknowledges a delivery it did not process.
		d.Action, d.RetryAfter = ActionDefer, ep.retryAfter
	default:
		d.Action = ep.whenOff
		if d.Action == ActionDefer {
			d.RetryAfter = ep.retryAfter
		}
	}
	return d
}

// record counts a freshly evaluated decision and logs a failure or a
// DISABLED flag.
func (g *Gate) record(ep *endpointGate, d Decision, req *Request) {
	ep.count(d)
	switch {
	case d.Err != nil:
		ep.errors.Add(1)
		if errors.Is(d.Err, ErrTimeout) {
			ep.timeouts.Add(1)
		}
		if errors.Is(d.Err, ErrOverloaded) {
			ep.overloaded.Add(1)
		}
		g.warn(ep, "toggle: flag evaluation failed; fallback applied", req, d)
	case d.Fallback:
		g.warn(ep, "toggle: flag is DISABLED in the provider; fallback applied (to turn an endpoint off, serve the false variant instead)", req, d)
	}
}

const noWarnYet = math.MinInt64

// warn logs at most one warning per endpoint per WarnInterval.
func (g *Gate) warn(ep *endpointGate, msg string, req *Request, d Decision) {
	now := g.now().UnixNano()
	last := ep.lastWarn.Load()
	if last != noWarnYet && now-last < int64(WarnInterval) || !ep.lastWarn.CompareAndSwap(last, now) {
		ep.suppressed.Add(1)
		return
	}
	g.log.Warn(msg,
		"endpoint", ep.name, "flag", ep.flag, "event_type", req.EventType, "company_id", req.CompanyID,
		"enabled", d.Enabled, "action", d.Action.String(), "reason", d.Reason, "err", d.Err,
		"suppressed_since_last", ep.suppressed.Swap(0))
}
