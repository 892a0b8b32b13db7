package codathooktest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DevSecret is the fixed signing secret that the quickstart accepts and
// codathook send (cmd/codathook) signs with when CODAT_WEBHOOK_SECRET is
// unset. It is a
// development-only value, published in this source code: never configure it
// in production.
const DevSecret = "whsec_KqHaGUK6uYhry8y0FLLBkEIFAiOr1JHD"

// DevAuthorization is the fixed legacy Authorization header value that the
// quickstart accepts and codathook send (cmd/codathook) sends when
// CODAT_LEGACY_AUTH is unset. It is a development-only value, published in this source code:
// never configure it in production.
const DevAuthorization = "Bearer codathook-dev-token"

// secretPrefix is the prefix of Svix / Standard Webhooks signing secrets.
const secretPrefix = "whsec_"

// decodeSecret returns the HMAC key of a signing secret: the standard base64
// (strict, padded as needed) after the "whsec_" prefix, or the whole string
// when it has no prefix. An empty or undecodable secret is an error.
func decodeSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("codathooktest: empty secret")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("codathooktest: secret is not whsec_ followed by standard base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("codathooktest: secret decodes to an empty key")
	}
	return key, nil
}

// NewSecret returns a fresh random secret in Codat's format: "whsec_"
// followed by 24 random bytes in standard base64, like the secrets Svix
// generates. It panics only if the system random source fails.
func NewSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24.
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// sign returns the Standard Webhooks / Svix signature of one delivery,
// "v1,<base64>": HMAC-SHA256, keyed with key, over msgID + "." + the Unix
// seconds + "." + body.
func sign(key []byte, msgID string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// newMessageID returns a fresh random message id in Svix's shape, "msg_"
// followed by 27 base62 characters, as sent in the webhook-id header.
func newMessageID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [27]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "msg_" + string(b[:])
}

// NewID returns a fresh random (version 4) UUID in its canonical lowercase
// form, the shape of Codat's event ids, AlertIds and company ids. Use it to
// make distinct occurrences of a sample (see [SampleOptions]) or, behind a
// "msg_" prefix, a message id to pin in [Signer.MsgID].
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}
