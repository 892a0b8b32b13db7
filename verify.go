package codathook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Header names of the Standard Webhooks (unbranded) and Svix (branded) sets.
// Codat's documentation shows the webhook-* set since August 2024; the svix-*
// set is what a default Svix deployment sends. Header lookup is
// case-insensitive.
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
	headerSvixID           = "Svix-Id"
	headerSvixTimestamp    = "Svix-Timestamp"
	headerSvixSignature    = "Svix-Signature"
	// headerCodatClientID identifies the Codat client account on legacy
	// deliveries and, as a carried-over custom header, on new ones.
	headerCodatClientID = "X-Codat-Clientid"
)

// minSecretBytes is the shortest decoded signing key accepted. Svix generates
// 24-byte keys; 16 bytes (128 bits) also admits the 18-byte key of Svix's
// published test vector while refusing trivially weak keys.
const minSecretBytes = 16

// defaultTolerance is how far a signature timestamp may lie in the past or the
// future, as in the Svix and Standard Webhooks libraries.
const defaultTolerance = 5 * time.Minute

// secret is one decoded signing key with a pool of keyed MACs and scratch
// buffers, so verifying a delivery allocates nothing.
type secret struct {
	pool sync.Pool // of *macState keyed with the secret
}

type macState struct {
	mac     hash.Hash
	scratch []byte
	sum     [sha256.Size]byte
	b64     [44]byte
}

// parseSecret decodes a "whsec_<base64>" (or bare base64) secret strictly.
func parseSecret(s string) (*secret, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return nil, fmt.Errorf("empty signing secret")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(raw, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("signing secret is not whsec_ followed by standard base64: %w", err)
	}
	if len(key) < minSecretBytes {
		return nil, fmt.Errorf("signing secret decodes to %d bytes, want at least %d", len(key), minSecretBytes)
	}
	sec := &secret{}
	sec.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key), scratch: make([]byte, 0, 64)} }
	return sec, nil
}

// matches reports whether the signature list holds v1,base64(HMAC(id.ts.body)).
func (s *secret) matches(list, id, ts string, body []byte) bool {
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	st.mac.Reset()
	st.scratch = append(append(append(append(st.scratch[:0], id...), '.'), ts...), '.')
	st.mac.Write(st.scratch)
	st.mac.Write(body)
	base64.StdEncoding.Encode(st.b64[:], st.mac.Sum(st.sum[:0]))
	return signatureListContains(list, st.b64[:])
}

// signatureHeaders is one complete set of signature headers.
type signatureHeaders struct {
	id, timestamp, signature string
}

// signatureHeaderNames are the two header sets a signature may come in, in
// the order they are tried: webhook-* (Standard Webhooks), then svix-*.
var signatureHeaderNames = [2][3]string{
	{headerWebhookID, headerWebhookTimestamp, headerWebhookSignature},
	{headerSvixID, headerSvixTimestamp, headerSvixSignature},
}

// headerSet returns h's signature header set of the given names, and
// whether it is complete. A set with any of its three headers missing is
// not complete; a mixed set (say svix-id with webhook-timestamp and
// webhook-signature) is therefore refused, as svix-go does.
func headerSet(h http.Header, names *[3]string) (signatureHeaders, bool) {
	s := signatureHeaders{headerValue(h, names[0]), headerValue(h, names[1]), headerValue(h, names[2])}
	return s, s.complete()
}

// headerValue is h.Get(key) for a key already in canonical form: it skips the
// canonicalization Get performs on every call.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (s signatureHeaders) complete() bool {
	return s.id != "" && s.timestamp != "" && s.signature != ""
}

// verifier checks Standard Webhooks / Svix signatures.
type verifier struct {
	secrets   []*secret
	tolerance time.Duration
	now       func() time.Time
}

// verify authenticates body against the signature headers in h and returns
// the verified message id. Errors match errMissingSignature,
// errStaleTimestamp or errInvalidSignature.
func (v *verifier) verify(h http.Header, body []byte) (string, error) {
	return v.verifyAt(h, body, v.now())
}

// verifyAt is verify with the current time given.
func (v *verifier) verifyAt(h http.Header, body []byte, now time.Time) (string, error) {
	// The svix-* set is read only when the webhook-* set is incomplete or
	// fails: a delivery with both pays for one.
	err := errMissingSignature
	for i := range signatureHeaderNames {
		s, ok := headerSet(h, &signatureHeaderNames[i])
		if !ok {
			continue
		}
		if err = v.verifySet(s, body, now); err == nil {
			return s.id, nil
		}
	}
	return "", err
}

func (v *verifier) verifySet(s signatureHeaders, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(s.timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not an integer", errInvalidSignature)
	}
	sent := time.Unix(ts, 0)
	if now.Sub(sent) > v.tolerance {
		return fmt.Errorf("%w: too old", errStaleTimestamp)
	}
	if sent.Sub(now) > v.tolerance {
		return fmt.Errorf("%w: too new", errStaleTimestamp)
	}
	for _, sec := range v.secrets {
		if sec.matches(s.signature, s.id, s.timestamp, body) {
			return nil
		}
	}
	return errInvalidSignature
}

// signatureListContains reports whether the space-separated list holds a
// "v1,<want>" entry. Entries of other versions and malformed entries are
// skipped; each comparison is constant-time (hmac.Equal).
func signatureListContains(list string, want []byte) bool {
	for len(list) > 0 {
		var entry string
		if i := strings.IndexByte(list, ' '); i >= 0 {
			entry, list = list[:i], list[i+1:]
		} else {
			entry, list = list, ""
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		if hmac.Equal(stringBytes(sig), want) {
			return true
		}
	}
	return false
}

// stringBytes returns s's bytes without copying. The result must not be
// modified.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// staticAuth holds accepted Authorization header values.
type staticAuth struct {
	values [][]byte
}

// check compares the Authorization header with every accepted value in
// constant time (per value) and reports whether one matches.
func (a *staticAuth) check(h http.Header) bool {
	got := []byte(headerValue(h, "Authorization"))
	ok := 0
	for _, v := range a.values {
		ok |= subtle.ConstantTimeCompare(got, v)
	}
	return ok == 1 && len(got) > 0
}

// authenticate applies ep's checks and returns the verified message id (new
// endpoint) or "".
func (r *Receiver) authenticate(ep Endpoint, h http.Header, body []byte, now time.Time) (string, error) {
	switch ep {
	case EndpointNew:
		if r.cfg.insecure[0] {
			return "", nil
		}
		if len(r.verifier.secrets) == 0 {
			return "", errNotConfigured
		}
		if r.cfg.newAuth != nil && !r.cfg.newAuth.check(h) {
			return "", errUnauthorized
		}
		return r.verifier.verifyAt(h, body, now)
	default:
		if r.cfg.insecure[1] {
			return "", nil
		}
		if r.cfg.legacyAuth == nil {
			return "", errNotConfigured
		}
		if !r.cfg.legacyAuth.check(h) {
			return "", errUnauthorized
		}
		return "", nil
	}
}

// verifyNewOnLegacy verifies the signature of a new-format body that
// arrived on the legacy endpoint with the configured secrets and returns the
// verified message id. Its errors match errUnsignedNewFormat (and the
// verifier's sentinel, when it ran).
func (r *Receiver) verifyNewOnLegacy(h http.Header, body []byte, now time.Time) (string, error) {
	if len(r.verifier.secrets) == 0 {
		return "", fmt.Errorf("%w (no signing secrets configured: WithSecrets)", errUnsignedNewFormat)
	}
	id, err := r.verifier.verifyAt(h, body, now)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errUnsignedNewFormat, err)
	}
	return id, nil
}
