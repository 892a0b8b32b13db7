// Package codathooktest builds Codat webhook deliveries for tests, in the
// spirit of net/http/httptest: signed new-service requests (Standard Webhooks
// / Svix signatures over either header set, with one or several secrets),
// legacy rule-service requests with their static Authorization header, the
// sample bodies Codat publishes for every event type and legacy rule type,
// helpers to send a request to a handler or a URL, and a controllable clock.
//
// It depends only on the standard library, so it can be imported from any
// test without pulling in the receiver.
package codathooktest
