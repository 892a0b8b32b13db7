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

// RequestOption adjusts a request built by [NewLegacyRequest] or
// [Signer.NewRequest]. Options run last, after the signature headers are
// set, so they can also break a request on purpose (a tampered header).
type RequestOption func(*http.Request)

// WithClientID sets the X-Codat-ClientId header, which legacy deliveries
// carry and which Codat copies onto migrated consumers as a custom header.
func WithClientID(clientID string) RequestOption {
	return WithHeader("X-Codat-ClientId", clientID)
}

// WithHeader sets header key to value, replacing any earlier value.
func WithHeader(key, value string) RequestOption {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

// WithMethod changes the request method, e.g. to http.MethodPut.
func WithMethod(method string) RequestOption {
	return func(r *http.Request) { r.Method = method }
}

// NewLegacyRequest returns an incoming POST request shaped like a legacy
// rule-service delivery: body as given, Content-Type application/json and,
// when authorization is not empty, that exact Authorization header value (the
// legacy service's only credential; Basic, Bearer or raw). It uses
// [httptest.NewRequest], so an invalid target panics.
func NewLegacyRequest(target, authorization string, body []byte, opts ...RequestOption) *http.Request {
	return NewLegacyRequestWithContext(context.Background(), target, authorization, body, opts...)
}

// NewLegacyRequestWithContext is like [NewLegacyRequest] with a context.
func NewLegacyRequestWithContext(ctx context.Context, target, authorization string, body []byte, opts ...RequestOption) *http.Request {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", userAgent)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	for _, o := range opts {
		o(r)
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
