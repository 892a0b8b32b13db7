// Package toggle configures the OpenFeature flags that gate codathook's two
// endpoints, so an operator can carry out Codat's expand/contract migration
// (turn the new endpoint on, then the legacy endpoint off) live, per
// company or per event type, without a deploy.
//
// The receiver evaluates one boolean flag per delivery and endpoint
// through a [Client] (*openfeature.Client satisfies it; the package never
// uses the OpenFeature global API): [DefaultLegacyFlag] and
// [DefaultNewFlag] unless [EndpointConfig.Flag] names others. A delivery
// whose flag is off is acknowledged without processing, or deferred with
// [EndpointConfig.Defer]. The evaluation context's targeting key is the
// company id (the client id for client-wide events such as rate limits),
// with the attributes listed in docs/FLAGS.md, so a provider can roll
// the new endpoint out to some companies or event types first.
//
// When a flag cannot be evaluated (provider not ready, provider error,
// missing flag, timeout, panic) the endpoint fails open and processes the
// delivery, since deduplication absorbs the overlap, or defers it with
// [EndpointConfig.FailClosed]. A hung provider costs a bounded number of
// goroutines ([Config.Timeout], [Config.MaxInFlight]); decisions can be
// cached ([Config.CacheSize]), and the cache is cleared on every provider
// event. docs/FLAGS.md has the details.
//
// [NewFileProvider] is an OpenFeature provider backed by a flagd
// flag-definition file, for the quickstart and small deployments. It
// notices edits, atomic renames and deletion within a second and emits
// OpenFeature events. Users of flagd or any other provider plug their
// provider in unchanged.
package toggle
