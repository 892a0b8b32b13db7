// Package codathook receives Codat webhooks from both of Codat's services
// while you migrate from the legacy rule webhooks to the new event types, and
// makes sure each occurrence reaches your code once. Delivery is
// at-least-once: an occurrence can be processed twice when a commit fails
// after its callback succeeded, when the store loses data, or at the
// documented limits of cross-format pairing (docs/DEDUPLICATION.md lists them);
// each case is logged and counted in [Receiver.Stats] (Stats.Dedupe).
//
// A [Receiver] serves two endpoints, [EndpointNew] (Codat's Svix-based
// service) and [EndpointLegacy] (the legacy rules service). Register typed
// callbacks once, against the new event types, with [On]; legacy deliveries
// are normalized and reach the same callbacks:
//
//	rcv, err := codathook.New(
//		codathook.WithSecrets(os.Getenv("CODAT_WEBHOOK_SECRET")),
//		codathook.WithLegacyAuthorization(os.Getenv("CODAT_LEGACY_AUTH")),
//	)
//	codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
//		return activate(ctx, ev.Payload.ReferenceCompany.ID)
//	})
//	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
//	mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
//
// # One delivery
//
// Each request goes through: method check (POST or PUT, else 405), body read
// once through a limit (413) and a read deadline (408 for a stalled body),
// authentication (401), classification of the body (400 when it is not a
// JSON object or repeats a key it reads), normalization, the endpoint's
// feature flag, deduplication, the callback, and commit or release. The
// response is 204 when the delivery was processed, was a duplicate, or was
// deliberately skipped by a flag; 503 with Retry-After when it must be retried
// (a callback failed, panicked or timed out; the store failed; a copy is in
// flight elsewhere; more callbacks are running than
// [WithMaxConcurrentCallbacks] allows); 422 when a callback returned a
// [Permanent] error, which no retry can fix (released, with
// Webhook-Delivery: abort-message when Svix signed the delivery, so that
// Svix stops retrying it; a signed malformed body gets the header with its
// 400). The receiver never answers 500, which Codat's legacy service does
// not retry (a wrapped handler's 5xx is sent as 503), and never sends
// internal error text. The [HeaderResult] response header names the
// [Result].
//
// # Verifying signatures
//
// The new endpoint verifies Standard Webhooks / Svix signatures over the
// exact bytes received: HMAC-SHA256 of "id.timestamp.body" keyed with the
// base64-decoded whsec_ secret, compared in constant time. It accepts the
// complete webhook-* header set or the complete svix-* set; a mixed set is
// refused (401), as svix-go does; when both complete sets are present, either
// may verify. Several configured secrets ([WithSecrets]) and several
// space-separated v1 signatures in one header allow rotation on both sides;
// entries other than v1 are skipped. The timestamp must be within the
// tolerance ([WithTolerance], 5 minutes by default) in the past or the future.
// The legacy endpoint compares the Authorization header with the accepted
// values ([WithLegacyAuthorization]) in constant time; that admits legacy
// rule bodies only: a new-format body there must also carry a valid
// signature, or it is refused with 401 before flags
// and deduplication. An endpoint with no authentication exists only through
// [WithInsecureNoAuth].
//
// # Payload versions
//
// Bodies are classified one by one, not by endpoint: the new service also
// delivers legacy-shaped bodies (AccountCategoriesUpdated). Package
// normalize maps every legacy rule type to its new event type; the original
// legacy fields stay available in the event's Legacy field.
//
// # Deduplication
//
// Each delivery has a delivery key (the verified webhook-id, else the body's
// id or AlertId) and occurrence keys that match the same occurrence delivered
// once in each format; see docs/DEDUPLICATION.md. A delivery is claimed before its
// callback, committed when the callback succeeds and released when it fails,
// so a retry processes what failed. Concurrent copies in one process wait for
// the first (up to the callback deadline) and share its outcome. A retry of a
// message that was processed is answered as a duplicate straight after its
// signature check, before parsing or flags, when the store can peek locally
// (the in-memory LRU can). The default store is an
// in-memory LRU; apps with several replicas share a Redis store ([WithDedupe]).
//
// # Callbacks and deadlines
//
// A callback runs on the request's goroutine under the callback deadline
// ([WithCallbackTimeout], 10 s by default, below Codat's 15 s). A callback
// that outlives it still gets its 503 to the sender at the deadline; its
// eventual result settles the delivery.
//
// # Feature flags
//
// With [WithFlags] each endpoint is gated by an OpenFeature boolean flag,
// evaluated per delivery with the company as targeting key; see package
// toggle. A gated-off delivery is acknowledged without processing (or
// deferred with 503), and is never claimed, so a later replay is processed.
//
// # Migration readiness
//
// [Receiver.Migration] says, per event type, how many occurrences each
// format delivered and whether each found its twin in the other format
// within the pairing window, and gives the status of each step of Codat's
// runbook: step 5 is ready when every legacy occurrence of the last 24
// hours had a new twin. [Receiver.MigrationHandler] serves it as an HTML
// page and as JSON, for the operators.
//
// # Using with routers
//
// [Receiver.Handler] is an http.Handler for net/http's ServeMux, gorilla/mux
// and chi; [Receiver.Middleware] is a func(http.Handler) http.Handler that
// wraps an existing handler (gorilla/mux Router.Use, chi Use). gin and echo
// have adapter modules (adapters/codathookgin, adapters/codathookecho).
// Callbacks reach the request, for route variables, through
// [DeliveryFromContext].
//
// # Operations
//
// [WithObserver] sees every delivery's [Outcome] with the request's
// context, [Receiver.Stats] counts results and what can make an occurrence
// be processed twice, and [Receiver.Ready] is the readiness probe. The
// adapter modules adapters/codathookotel (OpenTelemetry spans and metrics)
// and adapters/codathookprom (a Prometheus collector and a Grafana
// dashboard) build on them.
package codathook
