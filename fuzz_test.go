package codathook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzSignatureHeader feeds arbitrary signature header values to the parser:
// it must never panic, and it may accept a header only when one of its
// space-separated entries is exactly "v1,<the expected signature>".
func FuzzSignatureHeader(f *testing.F) {
	for _, v := range signatureVectors {
		f.Add(v.signature)
	}
	f.Add("v1,a v1,b v2,c")
	f.Add("")
	f.Add(" ")
	f.Add(",,, v1, v1,,")
	f.Add("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	addSeedFiles(f, "testdata/signature-headers")
	want := []byte("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	f.Fuzz(func(t *testing.T, header string) {
		got := signatureListContains(header, want)
		expected := false
		for _, entry := range strings.Split(header, " ") {
			if entry == "v1,"+string(want) {
				expected = true
			}
		}
		if got != expected {
			t.Errorf("signatureListContains(%q) = %v, want %v", header, got, expected)
		}
	})
}

// FuzzVerify checks that a random body, id, timestamp and signature header
// never verify unless the signature is the HMAC of exactly those values
// under the secret, and that verify never panics.
func FuzzVerify(f *testing.F) {
	for _, v := range signatureVectors {
		f.Add(v.id, strconv.FormatInt(v.ts, 10), v.signature, []byte(v.body))
	}
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "+1674087231", "v1,AAAA", []byte("{}"))
	const fuzzSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(fuzzSecret, "whsec_"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		sec, err := parseSecret(fuzzSecret)
		if err != nil {
			t.Fatal(err)
		}
		v := &verifier{secrets: []*secret{sec}, tolerance: 100 * 365 * 24 * time.Hour, now: func() time.Time { return time.Unix(1674087231, 0) }}
		h := http.Header{}
		h.Set(headerWebhookID, id)
		h.Set(headerWebhookTimestamp, ts)
		h.Set(headerWebhookSignature, sig)
		gotID, err := v.verify(h, body)
		if err != nil {
			return
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(h.Get(headerWebhookID) + "." + h.Get(headerWebhookTimestamp) + "."))
		mac.Write(body)
		expected := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if !strings.Contains(" "+h.Get(headerWebhookSignature)+" ", " "+expected+" ") {
			t.Fatalf("verified a header %q without the signature %q", sig, expected)
		}
		if gotID != h.Get(headerWebhookID) {
			t.Fatalf("verified id = %q, want %q", gotID, id)
		}
	})
}

// addSeedFiles adds every file in dir as a string seed.
func addSeedFiles(f *testing.F, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			f.Add(string(b))
		}
	}
}
