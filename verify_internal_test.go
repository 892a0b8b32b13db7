package codathook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Published Svix test vectors (codat-delivery-facts.md §1.9) and the computed
// Codat-shaped vectors beside them.
var signatureVectors = []struct {
	name, secret, id string
	ts               int64
	body, signature  string
}{
	{"svix go TestWebhookSign", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	{"svix docs how-manual (18-byte key)", "whsec_plJ3nmyCDGBKInavdOK15jsl", "msg_loFOjxBNrRLzqYUf", 1731705121,
		`{"event_type":"ping","data":{"success":true}}`, "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="},
	{"read.completed body", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231,
		`{"id":"743ec94a-8aa4-44bb-8bd4-e1855ee0e74b","eventType":"read.completed","generatedDate":"2022-10-23T00:00:00.000Z","payload":{"referenceCompany":{"id":"0498e921-9b53-4396-a412-4f2f5983b0a2","name":"Toft stores"},"modifiedFromDate":"2022-10-23T00:00:00.000Z","dataTypes":[{"connectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","dataType":"invoices","recordsModified":false,"status":"Complete","issues":[]}]}}`,
		"v1,KLoDX50sGbLGQo/hxfJPwFBzynNwxxzfYaqmqO3Peew="},
	{"read.completed body, rotated secret", "whsec_plJ3nmyCDGBKInavdOK15jsl", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231,
		`{"id":"743ec94a-8aa4-44bb-8bd4-e1855ee0e74b","eventType":"read.completed","generatedDate":"2022-10-23T00:00:00.000Z","payload":{"referenceCompany":{"id":"0498e921-9b53-4396-a412-4f2f5983b0a2","name":"Toft stores"},"modifiedFromDate":"2022-10-23T00:00:00.000Z","dataTypes":[{"connectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","dataType":"invoices","recordsModified":false,"status":"Complete","issues":[]}]}}`,
		"v1,uHhkx2oHv7LordQH9mzeWHopcrFj3c0f73zjXUAkgGY="},
	{"legacy body through Svix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231,
		`{"AlertId":"a9367074-b5c3-42c4-9be4-be129f43577e","RuleType":"Account Categories Updated","CompanyId":"8a210b68-6988-11ed-a1eb-0242ac120002","Data":{"modifiedDate":"2019-08-24T14:15:22Z"}}`,
		"v1,B1ANiJFWBEwVllfVjiZQQ+C/djRfXo2VqD0WxtX8paQ="},
	{"UTF-8 body", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231,
		`{"id":"x","eventType":"company.created","payload":{"name":"Café Ünïcode ☕"}}`,
		"v1,+XPcMbmm8wFjyI2eIJ7QG5bC1TcnEnc+6th7qgwybFk="},
}

func newTestVerifier(t *testing.T, now time.Time, secrets ...string) *verifier {
	t.Helper()
	v := &verifier{tolerance: defaultTolerance, now: func() time.Time { return now }}
	for _, s := range secrets {
		sec, err := parseSecret(s)
		if err != nil {
			t.Fatalf("parseSecret(%q): %v", s, err)
		}
		v.secrets = append(v.secrets, sec)
	}
	return v
}

func headers(set, id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(set+"-id", id)
	h.Set(set+"-timestamp", itoa(ts))
	h.Set(set+"-signature", sig)
	return h
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestVerifyPublishedVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range signatureVectors {
		for _, set := range []string{"webhook", "svix"} {
			t.Run(tc.name+"/"+set, func(t *testing.T) {
				t.Parallel()
				v := newTestVerifier(t, time.Unix(tc.ts, 0), tc.secret)
				id, err := v.verify(headers(set, tc.id, tc.ts, tc.signature), []byte(tc.body))
				if err != nil {
					t.Fatalf("verify: %v, want nil", err)
				}
				if id != tc.id {
					t.Errorf("verified id = %q, want %q", id, tc.id)
				}
				tampered := []byte(tc.body + " ")
				if _, err := v.verify(headers(set, tc.id, tc.ts, tc.signature), tampered); !errors.Is(err, errInvalidSignature) {
					t.Errorf("tampered body: err = %v, want errInvalidSignature", err)
				}
			})
		}
	}
}

func TestVerifyTolerance(t *testing.T) {
	t.Parallel()
	vec := signatureVectors[0]
	sent := time.Unix(vec.ts, 0)
	tests := []struct {
		name    string
		now     time.Time
		wantErr error
	}{
		{"exactly at the limit in the past passes", sent.Add(defaultTolerance), nil},
		{"one second past the limit in the past fails", sent.Add(defaultTolerance + time.Second), errStaleTimestamp},
		{"exactly at the limit in the future passes", sent.Add(-defaultTolerance), nil},
		{"one second past the limit in the future fails", sent.Add(-defaultTolerance - time.Second), errStaleTimestamp},
		{"now passes", sent, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t, tc.now, vec.secret)
			_, err := v.verify(headers("webhook", vec.id, vec.ts, vec.signature), []byte(vec.body))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("verify: err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyHeaderSets(t *testing.T) {
	t.Parallel()
	vec := signatureVectors[0]
	now := time.Unix(vec.ts, 0)
	mixed := http.Header{}
	mixed.Set("svix-id", vec.id)
	mixed.Set("webhook-timestamp", itoa(vec.ts))
	mixed.Set("webhook-signature", vec.signature)
	both := headers("webhook", vec.id, vec.ts, "v1,AAAA")
	for k, v := range headers("svix", vec.id, vec.ts, vec.signature) {
		both[k] = v
	}
	tests := []struct {
		name    string
		h       http.Header
		wantErr error
	}{
		{"mixed set is refused", mixed, errMissingSignature},
		{"no headers", http.Header{}, errMissingSignature},
		{"both complete sets, only svix valid", both, nil},
		{"zero timestamp is stale", headers("webhook", vec.id, 0, vec.signature), errStaleTimestamp},
		{"several signatures, one valid (rotation on Codat's side)", headers("webhook", vec.id, vec.ts, "v1,bm9sb25nZXJ2YWxpZA== "+vec.signature+" v2,MzJsb25nZXI="), nil},
		{"valid signature under another version is skipped", headers("webhook", vec.id, vec.ts, "v1a,"+strings.TrimPrefix(vec.signature, "v1,")), errInvalidSignature},
		{"entry without comma is skipped", headers("webhook", vec.id, vec.ts, "garbage "+vec.signature), nil},
		{"empty signature value", headers("webhook", vec.id, vec.ts, "v1,"), errInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t, now, vec.secret)
			_, err := v.verify(tc.h, []byte(vec.body))
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("verify: err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	t.Run("bad timestamp text is an invalid signature", func(t *testing.T) {
		t.Parallel()
		h := headers("webhook", vec.id, vec.ts, vec.signature)
		h.Set("webhook-timestamp", "1614265330.5")
		if _, err := newTestVerifier(t, now, vec.secret).verify(h, []byte(vec.body)); !errors.Is(err, errInvalidSignature) {
			t.Errorf("err = %v, want errInvalidSignature", err)
		}
	})
}

func TestVerifyRotationOnOurSide(t *testing.T) {
	t.Parallel()
	old, cur := signatureVectors[2], signatureVectors[3]
	v := newTestVerifier(t, time.Unix(old.ts, 0), cur.secret, old.secret)
	for _, vec := range []struct{ name, sig string }{{"old secret", old.signature}, {"new secret", cur.signature}} {
		if _, err := v.verify(headers("webhook", old.id, old.ts, vec.sig), []byte(old.body)); err != nil {
			t.Errorf("%s: verify: %v, want nil", vec.name, err)
		}
	}
	only := newTestVerifier(t, time.Unix(old.ts, 0), cur.secret)
	if _, err := only.verify(headers("webhook", old.id, old.ts, old.signature), []byte(old.body)); !errors.Is(err, errInvalidSignature) {
		t.Errorf("retired secret: err = %v, want errInvalidSignature", err)
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"whsec 24-byte key", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"bare base64", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"18-byte key of the Svix docs", "whsec_plJ3nmyCDGBKInavdOK15jsl", true},
		{"empty", "", false},
		{"prefix only", "whsec_", false},
		{"Codat's C# docs typo (bad base64 length)", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/Je4ZJEGP1QFb", false},
		{"url-safe alphabet", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-", false},
		{"short key", "whsec_c2hvcnQ=", false},
		{"signature pasted as secret", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseSecret(tc.secret)
			if (err == nil) != tc.ok {
				t.Errorf("parseSecret(%q) err = %v, want ok=%v", tc.secret, err, tc.ok)
			}
		})
	}
}

func TestStaticAuth(t *testing.T) {
	t.Parallel()
	a, err := newStaticAuth([]string{"Bearer old", "Basic amFzb246cGFzc3dvcmQ=", "raw-value"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"Bearer old", true}, {"Basic amFzb246cGFzc3dvcmQ=", true}, {"raw-value", true},
		{"", false}, {"Bearer ol", false}, {"bearer old", false}, {"Bearer old ", false},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Authorization", tc.header)
		}
		if got := a.check(h); got != tc.want {
			t.Errorf("check(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
