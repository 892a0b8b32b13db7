package codathooktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

var errNoSecrets = errors.New("codathooktest: at least one secret is required")

// NewLegacyRequest returns an incoming POST request shaped like a legacy
// rule-service delivery: body as given, Content-Type application/json and,
// when authorization is not empty, that exact Authorization header value (the
// legacy service's only credential; Basic, Bearer or raw). It uses
// [httptest.NewRequest], so an invalid target panics. Change the returned
// request as you need: the legacy service also sends X-Codat-ClientId.
func NewLegacyRequest(target, authorization string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", userAgent)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// Do serves r with h through an [httptest.ResponseRecorder] and returns the
// recorded response; its Body is always readable and need not be closed.
func Do(h http.Handler, r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

// Send sends a copy of r (method, headers and body; r.Body is read and then
// restored) to url with client, or [http.DefaultClient] when client is nil.
// Use it to deliver a request built by [Signer.NewRequest] or
// [NewLegacyRequest] to a running server, such as an [httptest.Server] or
// the quickstart. The caller closes the response body.
func Send(ctx context.Context, client *http.Client, url string, r *http.Request) (*http.Response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("codathooktest: reading request body: %w", err)
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("codathooktest: %w", err)
	}
	out.Header = r.Header.Clone()
	return client.Do(out)
}
