// Package gate gates codathook's two endpoints with OpenFeature boolean
// flags, so an operator can carry out Codat's expand/contract migration (turn
// the new endpoint on, then the legacy endpoint off) live, per company or per
// event type, without a deploy.
//
// # Gates
//
// A [Gate] evaluates one boolean flag per delivery through a [toggle.Client]
// (*openfeature.Client satisfies it; the package never uses the OpenFeature
// global API). The default keys are [toggle.DefaultLegacyFlag] for [EndpointLegacy]
// and [toggle.DefaultNewFlag] for [EndpointNew]. [Gate.Evaluate] returns a
// [Decision] whose [Action] tells the receiver to process the delivery,
// acknowledge it without processing (2xx; the other endpoint is
// authoritative) or defer it (503 with Retry-After).
//
// # Evaluation context
//
// The targeting key is the company id; for client-wide events (rate limits),
// which have none, it is the client id. The attributes are eventType, format,
// endpoint, and where present dataType, connectionId and clientId (the
// X-Codat-ClientId header, else the legacy body's ClientId). A provider can
// therefore roll the new endpoint out to some companies or event types first.
//
// # Failures
//
// When the flag cannot be evaluated (provider not ready, provider error,
// missing flag, timeout, no free evaluation slot, panic) the endpoint's
// fallback decides: by default the delivery is processed (fail open; dedupe
// absorbs the overlap), or with [toggle.EndpointConfig.FailClosed] it is deferred. A
// failure is never silent: it is counted in [Gate.Stats] and logged
// (rate-limited), and [Decision.Err] says why.
//
// A provider that hangs costs a bounded number of goroutines. An evaluation
// with a [toggle.Config.Timeout] runs on its own goroutine; concurrent deliveries
// with the same evaluation context share one, and at most
// [toggle.Config.MaxInFlight] (default 64) run at once. A
// delivery that would need another gets its fallback at once
// ([ErrOverloaded]), so with the provider hung every delivery is answered
// within the timeout, and at most MaxInFlight goroutines wait for the
// provider until it returns.
//
// # Caching
//
// One evaluation through the OpenFeature SDK costs about a microsecond and a
// dozen allocations. [toggle.Config.CacheSize] enables a decision cache keyed by the
// complete evaluation context, cleared on every provider event (READY, ERROR,
// STALE, CONFIGURATION_CHANGED) and bounded in age by [toggle.Config.CacheTTL]. An
// evaluation that races with an invalidation never stores its result. The
// SDK delivers provider events asynchronously, so a cached decision can
// outlive a provider change by the time the SDK takes to dispatch the event
// (microseconds); without a cache the very next evaluation sees the change.
// The cache is bounded in bytes as well as entries: it keeps a 16-byte hash
// of each evaluation context, never the context's strings, so an entry costs
// at most 320 bytes however long the company id (see [toggle.Config.CacheSize]).
// The cache key covers only the Gate's own context: requests whose ctx
// carries an OpenFeature transaction context bypass the cache, and contexts
// set on the client or the API must stay constant while caching is on.
package gate
