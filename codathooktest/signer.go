package codathooktest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Signer produces signed new-service deliveries, as Codat's Svix-based
// webhook service sends them. Create one with [NewSigner], then adjust its
// fields before first use; a Signer whose fields are no longer changed is
// safe for concurrent use.
type Signer struct {
	// HeaderPrefixes names the signature header sets sent, each with the
	// same values: "webhook" is the Standard Webhooks set Codat documents
	// (webhook-id, webhook-timestamp, webhook-signature), "svix" is Svix's
	// default set (svix-*, in Codat's docs until August 2024). Nil means
	// {"webhook"}; {"webhook", "svix"} sends both.
	HeaderPrefixes []string

	// MsgID, when set, is the message id of every delivery (a resend or retry
	// of one message keeps its id). When empty, each request gets a fresh id
	// in Svix's shape, "msg_" and 27 base62 characters.
	MsgID string

	// Timestamp, when non-zero, is the signed timestamp of every delivery.
	Timestamp time.Time

	// Now is the clock used when Timestamp is zero; nil means time.Now.
	// Share it with the receiver's clock (codathook.WithClock).
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
		k, err := decodeSecret(s)
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

// Headers returns the headers of one delivery: the extra [Signer.Header]
// values, Content-Type application/json, and the id, timestamp and signature
// headers of each of [Signer.HeaderPrefixes]. The signature value holds one
// "v1,<base64>" entry per secret, separated by single spaces: HMAC-SHA256,
// keyed with the decoded secret, over msgID + "." + the Unix seconds of ts +
// "." + body. Use it to build a request of your own, such as an outgoing
// client request.
func (s *Signer) Headers(msgID string, ts time.Time, body []byte) http.Header {
	h := s.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	var sig strings.Builder
	for i, k := range s.keys {
		if i > 0 {
			sig.WriteByte(' ')
		}
		sig.WriteString(sign(k, msgID, ts.Unix(), body))
	}
	unix := strconv.FormatInt(ts.Unix(), 10)
	prefixes := s.HeaderPrefixes
	if prefixes == nil {
		prefixes = []string{"webhook"}
	}
	for _, p := range prefixes {
		h.Set(p+"-id", msgID)
		h.Set(p+"-timestamp", unix)
		h.Set(p+"-signature", sig.String())
	}
	return h
}

// NewRequest returns a signed incoming server request for target, ready for
// a handler's ServeHTTP or [Do], like [httptest.NewRequest] (which it uses,
// so an invalid method or target panics). method is usually
// http.MethodPost; Codat sends PUT when a transformation says so. The body
// is sent exactly as given. The message id is [Signer.MsgID] or a fresh one,
// the timestamp [Signer.Timestamp] or the time of [Signer.Now]. Change the
// returned request as you need (r.Header.Set, r.WithContext), or post it
// to a real URL with [Send].
func (s *Signer) NewRequest(method, target string, body []byte) *http.Request {
	msgID := s.MsgID
	if msgID == "" {
		msgID = newMessageID()
	}
	ts := s.Timestamp
	if ts.IsZero() {
		if s.Now != nil {
			ts = s.Now()
		} else {
			ts = time.Now()
		}
	}
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range s.Headers(msgID, ts, body) {
		r.Header[k] = v
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", userAgent)
	}
	return r
}

// userAgent is sent on every request this package builds.
const userAgent = "codathooktest"
