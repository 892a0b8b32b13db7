package codathooktest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// HeaderSet names the set of signature headers a [Signer] sends.
type HeaderSet string

const (
	// WebhookHeaders is the Standard Webhooks set that Codat documents:
	// webhook-id, webhook-timestamp and webhook-signature. It is the default.
	WebhookHeaders HeaderSet = "webhook"
	// SvixHeaders is Svix's default set: svix-id, svix-timestamp and
	// svix-signature, shown in Codat's docs until August 2024.
	SvixHeaders HeaderSet = "svix"
	// BothHeaders sends both complete sets with the same values.
	BothHeaders HeaderSet = "both"
)

// Signer produces signed new-service deliveries, as Codat's Svix-based
// webhook service sends them. Create one with [NewSigner], then adjust its
// fields before first use; a Signer whose fields are no longer changed is
// safe for concurrent use.
type Signer struct {
	// HeaderSet chooses the signature headers; "" means [WebhookHeaders].
	HeaderSet HeaderSet

	// MsgID, when set, is the message id of every delivery (a resend or retry
	// of one message keeps its id). When empty, each request gets a fresh id
	// from [NewMessageID].
	MsgID string

	// Timestamp, when non-zero, is the signed timestamp of every delivery.
	Timestamp time.Time

	// Now is the clock used when Timestamp is zero; nil means time.Now.
	// A [Clock]'s Now method fits.
	Now func() time.Time

	// Header holds extra headers added to every request, such as the
	// carried-over Authorization custom header or X-Codat-ClientId. They are
	// set before the signature headers, which therefore win on a clash.
	Header http.Header

	keys [][]byte
}

// NewSigner returns a Signer that signs with every given secret, in order, so
// that a request carries one space-separated "v1," signature per secret, as
// Codat's service does during a secret rotation. Each secret is
// "whsec_<base64>" or the bare base64; an empty list or an invalid secret is
// an error.
func NewSigner(secrets ...string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, errNoSecrets
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		k, err := DecodeSecret(s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return &Signer{keys: keys, Header: make(http.Header)}, nil
}

// MustSigner is like [NewSigner] but panics on an invalid secret. It suits
// tests and package-level variables with fixed secrets such as [DevSecret].
func MustSigner(secrets ...string) *Signer {
	s, err := NewSigner(secrets...)
	if err != nil {
		panic(err)
	}
	return s
}

// Sign returns the value of the signature header for one delivery: one
// "v1,<base64>" entry per secret, separated by single spaces.
func (s *Signer) Sign(msgID string, ts time.Time, body []byte) string {
	var b strings.Builder
	for i, k := range s.keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sign(k, msgID, ts.Unix(), body))
	}
	return b.String()
}

// Headers returns the headers of one delivery: the extra [Signer.Header]
// values, Content-Type application/json, and the id, timestamp and signature
// headers of the chosen [HeaderSet].
func (s *Signer) Headers(msgID string, ts time.Time, body []byte) http.Header {
	h := s.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	sig := s.Sign(msgID, ts, body)
	unix := strconv.FormatInt(ts.Unix(), 10)
	set := func(prefix string) {
		h.Set(prefix+"-id", msgID)
		h.Set(prefix+"-timestamp", unix)
		h.Set(prefix+"-signature", sig)
	}
	switch s.HeaderSet {
	case SvixHeaders:
		set("svix")
	case BothHeaders:
		set("webhook")
		set("svix")
	default:
		set("webhook")
	}
	return h
}

// NewRequest returns a signed incoming server request for target, ready for
// a handler's ServeHTTP or [Do], like [httptest.NewRequest] (which it
// uses, so an invalid method or target panics). method is usually
// http.MethodPost; Codat sends PUT when a transformation says so. The body
// is sent exactly as given. Use [Send] to post it to a real URL.
func (s *Signer) NewRequest(method, target string, body []byte, opts ...RequestOption) *http.Request {
	return s.NewRequestWithContext(context.Background(), method, target, body, opts...)
}

// NewRequestWithContext is like [Signer.NewRequest] with a context.
func (s *Signer) NewRequestWithContext(ctx context.Context, method, target string, body []byte, opts ...RequestOption) *http.Request {
	msgID := s.MsgID
	if msgID == "" {
		msgID = NewMessageID()
	}
	ts := s.Timestamp
	if ts.IsZero() {
		if s.Now != nil {
			ts = s.Now()
		} else {
			ts = time.Now()
		}
	}
	r := httptest.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	for k, v := range s.Headers(msgID, ts, body) {
		r.Header[k] = v
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", userAgent)
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// userAgent is sent on every request this package builds.
const userAgent = "codathooktest"
