package codathooktest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

const (
	svixSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	svixSecret2 = "whsec_plJ3nmyCDGBKInavdOK15jsl"
	extraMsgID  = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	extraTS     = 1674087231
	readBody    = `{"id":"743ec94a-8aa4-44bb-8bd4-e1855ee0e74b","eventType":"read.completed","generatedDate":"2022-10-23T00:00:00.000Z","payload":{"referenceCompany":{"id":"0498e921-9b53-4396-a412-4f2f5983b0a2","name":"Toft stores"},"modifiedFromDate":"2022-10-23T00:00:00.000Z","dataTypes":[{"connectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","dataType":"invoices","recordsModified":false,"status":"Complete","issues":[]}]}}`
)

// TestSignVectors checks the published Svix vectors and the extra vectors of
// codat-delivery-facts.md §1.9.
func TestSignVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, msgID string
		ts                  int64
		body, want          string
	}{
		{"svix go TestWebhookSign", svixSecret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"svix docs how-manual", svixSecret2, "msg_loFOjxBNrRLzqYUf", 1731705121, `{"event_type":"ping","data":{"success":true}}`, "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="},
		{"read.completed", svixSecret, extraMsgID, extraTS, readBody, "v1,KLoDX50sGbLGQo/hxfJPwFBzynNwxxzfYaqmqO3Peew="},
		{"read.completed second secret", svixSecret2, extraMsgID, extraTS, readBody, "v1,uHhkx2oHv7LordQH9mzeWHopcrFj3c0f73zjXUAkgGY="},
		{"legacy body through svix", svixSecret, extraMsgID, extraTS, `{"AlertId":"a9367074-b5c3-42c4-9be4-be129f43577e","RuleType":"Account Categories Updated","CompanyId":"8a210b68-6988-11ed-a1eb-0242ac120002","Data":{"modifiedDate":"2019-08-24T14:15:22Z"}}`, "v1,B1ANiJFWBEwVllfVjiZQQ+C/djRfXo2VqD0WxtX8paQ="},
		{"utf-8 body", svixSecret, extraMsgID, extraTS, `{"id":"x","eventType":"company.created","payload":{"name":"Café Ünïcode ☕"}}`, "v1,+XPcMbmm8wFjyI2eIJ7QG5bC1TcnEnc+6th7qgwybFk="},
		{"raw base64 secret", strings.TrimPrefix(svixSecret, "whsec_"), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := codathooktest.NewSigner(tt.secret)
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			h := s.Headers(tt.msgID, time.Unix(tt.ts, 0), []byte(tt.body))
			if got := h.Get("webhook-signature"); got != tt.want {
				t.Errorf("webhook-signature = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSignInvalidSecret(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{
		"",
		"whsec_",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/Je4ZJEGP1QFb", // Codat's C# docs typo: 45 characters
		"whsec_plJ3nmyCDGBKInavdOK15jsl==",                    // wrong padding
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS_",              // URL-safe alphabet
		"v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	} {
		if _, err := codathooktest.NewSigner(secret); err == nil {
			t.Errorf("NewSigner(%q) error = nil, want an error", secret)
		}
		if _, err := codathooktest.NewSigner(svixSecret, secret); err == nil {
			t.Errorf("NewSigner(valid, %q) error = nil, want an error", secret)
		}
	}
	if _, err := codathooktest.NewSigner(); err == nil {
		t.Error("NewSigner() error = nil, want an error")
	}
}

func TestDevValues(t *testing.T) {
	t.Parallel()
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(codathooktest.DevSecret, "whsec_"))
	if err != nil {
		t.Fatalf("decoding DevSecret: %v", err)
	}
	if _, err := codathooktest.NewSigner(codathooktest.DevSecret); err != nil {
		t.Errorf("NewSigner(DevSecret): %v", err)
	}
	if got, want := len(key), 24; got != want {
		t.Errorf("len(DevSecret key) = %d, want %d", got, want)
	}
	for _, vendor := range []string{svixSecret, svixSecret2} {
		if codathooktest.DevSecret == vendor {
			t.Errorf("DevSecret reuses the vendor test vector %q", vendor)
		}
	}
	if got, want := codathooktest.DevAuthorization, "Bearer codathook-dev-token"; got != want {
		t.Errorf("DevAuthorization = %q, want %q", got, want)
	}
	s := codathooktest.NewSecret()
	if key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(s, "whsec_")); err != nil || len(key) != 24 || !strings.HasPrefix(s, "whsec_") {
		t.Errorf("NewSecret() = %q: key %d bytes, err %v; want whsec_ and 24 bytes", s, len(key), err)
	}
	if _, err := codathooktest.NewSigner(s); err != nil {
		t.Errorf("NewSigner(NewSecret()): %v", err)
	}
	if a, b := codathooktest.NewSecret(), codathooktest.NewSecret(); a == b {
		t.Errorf("two NewSecret calls both returned %q", a)
	}
}

// verify is an independent reference verifier: it accepts the request when any
// v1 entry of the chosen header set matches any key.
func verify(t *testing.T, h http.Header, prefix string, body []byte, secrets ...string) bool {
	t.Helper()
	id, ts, sigs := h.Get(prefix+"-id"), h.Get(prefix+"-timestamp"), h.Get(prefix+"-signature")
	if id == "" || ts == "" || sigs == "" {
		return false
	}
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + string(body)))
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, got := range strings.Split(sigs, " ") {
			if hmac.Equal([]byte(got), []byte(want)) {
				return true
			}
		}
	}
	return false
}

func TestSignerHeaderSets(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"1","eventType":"connection.connected","payload":{}}`)
	ts := time.Unix(1700000000, 0)
	tests := []struct {
		prefixes     []string
		present, not []string
	}{
		{nil, []string{"webhook"}, []string{"svix"}},
		{[]string{"webhook"}, []string{"webhook"}, []string{"svix"}},
		{[]string{"svix"}, []string{"svix"}, []string{"webhook"}},
		{[]string{"webhook", "svix"}, []string{"webhook", "svix"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.prefixes, "+"), func(t *testing.T) {
			t.Parallel()
			s := codathooktest.MustSigner(svixSecret)
			s.HeaderPrefixes = tt.prefixes
			s.Timestamp = ts
			s.MsgID = "msg_fixed"
			r := s.NewRequest(http.MethodPost, "/webhooks/codat", body)
			for _, p := range tt.present {
				if !verify(t, r.Header, p, body, svixSecret) {
					t.Errorf("%s-* headers do not verify: %v", p, r.Header)
				}
				if got, want := r.Header.Get(p+"-id"), "msg_fixed"; got != want {
					t.Errorf("%s-id = %q, want %q", p, got, want)
				}
				if got, want := r.Header.Get(p+"-timestamp"), "1700000000"; got != want {
					t.Errorf("%s-timestamp = %q, want %q", p, got, want)
				}
			}
			for _, p := range tt.not {
				if got := r.Header.Get(p + "-signature"); got != "" {
					t.Errorf("%s-signature = %q, want none", p, got)
				}
			}
			if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
		})
	}
}

func TestSignerRotation(t *testing.T) {
	t.Parallel()
	body := []byte(readBody)
	s := codathooktest.MustSigner(svixSecret, svixSecret2)
	got := s.Headers(extraMsgID, time.Unix(extraTS, 0), body).Get("webhook-signature")
	want := "v1,KLoDX50sGbLGQo/hxfJPwFBzynNwxxzfYaqmqO3Peew= v1,uHhkx2oHv7LordQH9mzeWHopcrFj3c0f73zjXUAkgGY="
	if got != want {
		t.Errorf("webhook-signature with two secrets = %q, want %q", got, want)
	}
	r := s.NewRequest(http.MethodPost, "/", body)
	for _, secret := range []string{svixSecret, svixSecret2} {
		if !verify(t, r.Header, "webhook", body, secret) {
			t.Errorf("request does not verify with %s alone", secret)
		}
	}
	if verify(t, r.Header, "webhook", body, codathooktest.DevSecret) {
		t.Error("request verifies with an unrelated secret")
	}
	if verify(t, r.Header, "webhook", []byte(readBody+" "), svixSecret) {
		t.Error("tampered body verifies")
	}
}

func TestSignerClockAndIDs(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	s := codathooktest.MustSigner(codathooktest.DevSecret)
	s.Now = func() time.Time { return now }
	s.Header.Set("Authorization", codathooktest.DevAuthorization)
	r1 := s.NewRequest(http.MethodPut, "/", []byte(`{}`))
	r1.Header.Set("X-Codat-ClientId", "client-1") // a caller's change after signing
	now = now.Add(90 * time.Second)
	r2 := s.NewRequest(http.MethodPost, "/", []byte(`{}`))
	if got, want := r1.Header.Get("webhook-timestamp"), "1000"; got != want {
		t.Errorf("first webhook-timestamp = %q, want %q", got, want)
	}
	if got, want := r2.Header.Get("webhook-timestamp"), "1090"; got != want {
		t.Errorf("second webhook-timestamp = %q, want %q", got, want)
	}
	id1, id2 := r1.Header.Get("webhook-id"), r2.Header.Get("webhook-id")
	if !strings.HasPrefix(id1, "msg_") || len(id1) != 31 || id1 == id2 {
		t.Errorf("webhook-ids = %q, %q; want two distinct msg_ ids of 31 characters", id1, id2)
	}
	if got, want := r1.Method, http.MethodPut; got != want {
		t.Errorf("method = %q, want %q", got, want)
	}
	if got, want := r1.Header.Get("Authorization"), codathooktest.DevAuthorization; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got, want := r1.Header.Get("X-Codat-ClientId"), "client-1"; got != want {
		t.Errorf("X-Codat-ClientId = %q, want %q", got, want)
	}
	if !verify(t, r1.Header, "webhook", []byte(`{}`), codathooktest.DevSecret) {
		t.Error("request with extra headers does not verify")
	}
}

// A Signer whose fields no longer change is safe for concurrent use (run
// with -race).
func TestSignerConcurrent(t *testing.T) {
	t.Parallel()
	s := codathooktest.MustSigner(svixSecret, svixSecret2)
	s.Header.Set("X-Codat-ClientId", "client-1")
	body := []byte(readBody)
	var wg sync.WaitGroup
	ids := make([]string, 50)
	for i := range ids {
		wg.Go(func() {
			r := s.NewRequest(http.MethodPost, "/", body)
			if !verify(t, r.Header, "webhook", body, svixSecret2) {
				t.Error("concurrent request does not verify")
			}
			ids[i] = r.Header.Get("webhook-id")
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("message id %q issued twice", id)
		}
		seen[id] = true
	}
}
