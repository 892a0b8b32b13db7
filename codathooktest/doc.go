// Package codathooktest builds Codat webhook deliveries for tests, in the
// spirit of net/http/httptest: signed new-service requests (Standard Webhooks
// / Svix signatures over either header set, with one or several secrets),
// legacy rule-service requests with their static Authorization header, the
// sample bodies Codat publishes for every event type and legacy rule type,
// and helpers to send a request to a handler or a URL.
//
// It depends only on the standard library.
//
// # Signing
//
// A [Signer] holds one or more secrets ([NewSigner], [MustSigner]; fresh ones
// from [NewSecret]). [Signer.NewRequest] returns an incoming request with
// webhook-id, webhook-timestamp and webhook-signature (or the svix-* set,
// see [Signer.HeaderPrefixes]), one "v1," signature per secret, a fresh
// message id unless [Signer.MsgID] is set, and the time of [Signer.Now]
// unless [Signer.Timestamp] is set; [Signer.Headers] returns just those
// headers, for a request of your own. [NewLegacyRequest] builds the unsigned
// legacy delivery with its Authorization header. Both return a plain
// *http.Request: set further headers, the method or a context on it
// directly. [Do] serves a request with an http.Handler; [Send] posts it to a
// URL.
//
// # Samples
//
// [Sample] and [LegacySample] return Codat's example bodies, embedded from
// samples/new and samples/legacy; [SampleNames] lists them. Each call is a
// distinct occurrence: the event id, company, connection, push operation
// key, sync id, report id and legacy datasetId it carries are fresh (a
// [NewID] each) unless its [SampleOptions] set them, so two samples never
// match by accident; SampleOptions also change the data type and status,
// and [SampleOptions.Published] keeps the ids Codat published. [Twin]
// returns one occurrence in both formats, the two bodies sharing its ids.
//
// [DevSecret] and [DevAuthorization] are the fixed development credentials
// the quickstart accepts and the codathook command (cmd/codathook) uses by
// default. They are public:
// never configure them in production.
//
// # Testing your callbacks
//
// Register your callbacks on a receiver as in production, give the receiver
// a secret and a clock of your own, and drive it with signed deliveries:
//
//	secret := codathooktest.NewSecret()
//	now := func() time.Time { return time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC) }
//	rcv, err := codathook.New(
//		codathook.WithSecrets(secret),
//		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
//		codathook.WithClock(now),
//	)
//	// handle err; defer rcv.Close(ctx)
//	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
//		return markConnected(ctx, ev.Payload.ReferenceCompany.ID, ev.Payload.Connection.ID)
//	})
//	h := rcv.Handler(codathook.EndpointNew)
//
//	signer := codathooktest.MustSigner(secret)
//	signer.Now = now
//	body, err := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
//	resp := codathooktest.Do(h, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
//	// resp.StatusCode == 204, resp.Header.Get(codathook.HeaderResult) == "processed"
//
// From there, test what matters to you:
//
//   - a resend: set signer.MsgID (say "msg_" + [NewID]()) and send twice;
//     the second answer is 204 "duplicate" and the callback ran once;
//   - the legacy twin: newBody, legacyBody, _ := codathooktest.Twin(...) and
//     send legacyBody with [NewLegacyRequest] to the legacy endpoint;
//   - a stale or future delivery: set signer.Timestamp, or move a shared
//     clock of your own, past the tolerance (default 5 minutes): 401;
//   - a rotation: [NewSigner] with the old and the new secret;
//   - a failing callback: return an error, expect 503 with Retry-After;
//   - distinct occurrences: every [Sample] is one, with ids of its own.
//
// The runnable version of this walk-through is Example (testingYourCallbacks).
// To try a running server instead, use the codathook command
// (go install github.com/codathook/codathook/cmd/codathook@latest):
//
//	codathook send connection.connected
//	codathook send -legacy "Push Operation Status Changed()"
//	codathook verify -secret "$CODAT_WEBHOOK_SECRET" captured.http
package codathooktest
