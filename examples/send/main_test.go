package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// recorder is a stdlib test server that remembers the last request and
// answers with a configurable status.
type recorder struct {
	mu     sync.Mutex
	last   *http.Request
	body   []byte
	status int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.last, rc.body = r, b
	status := rc.status
	rc.mu.Unlock()
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Codathook-Result", "callback_failed")
	}
	w.WriteHeader(status)
}

// validSignatures counts the v1 entries of prefix-signature that verify
// with secret.
func validSignatures(t *testing.T, h http.Header, prefix string, body []byte, secret string) int {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get(prefix+"-id") + "." + h.Get(prefix+"-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	n := 0
	for _, s := range strings.Fields(h.Get(prefix + "-signature")) {
		if s == want {
			n++
		}
	}
	return n
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestRun(t *testing.T) {
	t.Parallel()
	other := codathooktest.NewSecret()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		status   int
		wantCode int
		wantPath string
		check    func(t *testing.T, r *http.Request, body []byte)
		wantOut  []string
	}{
		{
			name: "new with the development secret", args: []string{"connection.connected"},
			status: http.StatusNoContent, wantCode: 0, wantPath: "/webhooks/codat", wantOut: []string{"204 No Content"},
			check: func(t *testing.T, r *http.Request, body []byte) {
				if got := validSignatures(t, r.Header, "webhook", body, codathooktest.DevSecret); got != 1 {
					t.Errorf("valid webhook-* signatures with DevSecret = %d, want 1", got)
				}
				if got := r.Header.Get("Authorization"); got != "" {
					t.Errorf("Authorization = %q, want none on a new delivery without -auth", got)
				}
				if got := r.Method; got != http.MethodPost {
					t.Errorf("method = %q, want POST", got)
				}
			},
		},
		{
			name: "svix headers, two secrets from the environment, put", args: []string{"-svix", "-method", "PUT", "bills.write.successful"},
			env:    map[string]string{"CODAT_WEBHOOK_SECRET": codathooktest.DevSecret + ", " + other},
			status: http.StatusOK, wantCode: 0, wantPath: "/webhooks/codat",
			check: func(t *testing.T, r *http.Request, body []byte) {
				for _, s := range []string{codathooktest.DevSecret, other} {
					if got := validSignatures(t, r.Header, "svix", body, s); got != 1 {
						t.Errorf("valid svix-* signatures with %s = %d, want 1", s, got)
					}
				}
				if got := r.Header.Get("webhook-signature"); got != "" {
					t.Errorf("webhook-signature = %q, want none with -svix", got)
				}
				if !bytes.Contains(body, []byte(`"eventType":"bills.write.successful"`)) || r.Method != http.MethodPut {
					t.Errorf("method %s body %s, want PUT of a bills write", r.Method, body)
				}
			},
		},
		{
			name: "flag secret wins, ids and auth on a new delivery", args: []string{"-secret", other, "-id", "ev-7", "-company", "co-7", "-msg-id", "msg_same", "-auth", "Bearer custom", "read.completed"},
			env:    map[string]string{"CODAT_WEBHOOK_SECRET": codathooktest.DevSecret},
			status: http.StatusOK, wantCode: 0, wantPath: "/webhooks/codat",
			check: func(t *testing.T, r *http.Request, body []byte) {
				if got := validSignatures(t, r.Header, "webhook", body, other); got != 1 {
					t.Errorf("valid signatures with -secret = %d, want 1", got)
				}
				if got := validSignatures(t, r.Header, "webhook", body, codathooktest.DevSecret); got != 0 {
					t.Errorf("valid signatures with the environment secret = %d, want 0", got)
				}
				var b struct {
					ID      string `json:"id"`
					Payload struct {
						ReferenceCompany struct{ ID string } `json:"referenceCompany"`
					} `json:"payload"`
				}
				if err := json.Unmarshal(body, &b); err != nil {
					t.Fatal(err)
				}
				if b.ID != "ev-7" || b.Payload.ReferenceCompany.ID != "co-7" {
					t.Errorf("id %q company %q, want ev-7 co-7", b.ID, b.Payload.ReferenceCompany.ID)
				}
				if got := r.Header.Get("webhook-id"); got != "msg_same" {
					t.Errorf("webhook-id = %q, want msg_same", got)
				}
				if got := r.Header.Get("Authorization"); got != "Bearer custom" {
					t.Errorf("Authorization = %q, want Bearer custom", got)
				}
			},
		},
		{
			name: "legacy with the development authorization", args: []string{"-legacy", "Push Operation Status Changed()"},
			status: http.StatusNoContent, wantCode: 0, wantPath: "/webhooks/codat/legacy",
			check: func(t *testing.T, r *http.Request, body []byte) {
				if got := r.Header.Get("Authorization"); got != codathooktest.DevAuthorization {
					t.Errorf("Authorization = %q, want %q", got, codathooktest.DevAuthorization)
				}
				if r.Header.Get("webhook-signature") != "" || !bytes.Contains(body, []byte(`"RuleType":"Push Operation Status Changed()"`)) {
					t.Errorf("want an unsigned legacy body, got headers %v body %s", r.Header, body)
				}
			},
		},
		{
			name: "legacy authorization from the environment", args: []string{"-legacy", "DataConnectionStatusChanged"},
			env:    map[string]string{"CODAT_LEGACY_AUTH": " Basic amFzb246cGFzc3dvcmQ= , Bearer second"},
			status: http.StatusOK, wantCode: 0, wantPath: "/webhooks/codat/legacy",
			check: func(t *testing.T, r *http.Request, body []byte) {
				if got, want := r.Header.Get("Authorization"), "Basic amFzb246cGFzc3dvcmQ="; got != want {
					t.Errorf("Authorization = %q, want %q", got, want)
				}
				var b struct {
					AlertID string `json:"AlertId"`
				}
				if err := json.Unmarshal(body, &b); err != nil || len(b.AlertID) != 36 {
					t.Errorf("AlertId = %q (err %v), want a fresh UUID", b.AlertID, err)
				}
			},
		},
		{
			name: "a 503 is reported and fails", args: []string{"client.rateLimit.reset"},
			status: http.StatusServiceUnavailable, wantCode: 1, wantPath: "/webhooks/codat",
			wantOut: []string{"503 Service Unavailable", "Retry-After: 5", "Codathook-Result: callback_failed"},
		},
		{name: "unknown type", args: []string{"no.such.type"}, wantCode: 2},
		{name: "unknown legacy rule", args: []string{"-legacy", "connection.connected"}, wantCode: 2},
		{name: "no type", args: nil, wantCode: 2},
		{name: "bad secret", args: []string{"-secret", "whsec_!!", "connection.connected"}, wantCode: 2},
		{name: "bad flag", args: []string{"-nope"}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{status: tt.status}
			srv := httptest.NewServer(rec)
			t.Cleanup(srv.Close)
			args := tt.args
			if tt.wantPath != "" {
				args = append([]string{"-url", srv.URL + tt.wantPath}, args...)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, env(tt.env), &stdout, &stderr, srv.Client())
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout = %q, want it to contain %q", stdout.String(), w)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if tt.wantPath == "" {
				if rec.last != nil {
					t.Errorf("a request was sent on a usage error")
				}
				return
			}
			if rec.last == nil {
				t.Fatal("no request reached the server")
			}
			if got := rec.last.URL.Path; got != tt.wantPath {
				t.Errorf("path = %q, want %q", got, tt.wantPath)
			}
			if tt.check != nil {
				tt.check(t, rec.last, rec.body)
			}
		})
	}
}

func TestRunList(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-list"}, env(nil), &stdout, &stderr, nil); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	eventTypes, ruleTypes := codathooktest.SampleNames()
	want := append(append([]string{"# new event types (any {dataType}.write.successful|unsuccessful works)"}, eventTypes...),
		append([]string{"# legacy rule types (with -legacy)"}, ruleTypes...)...)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("-list printed\n%s\nwant\n%s", stdout.String(), strings.Join(want, "\n"))
	}
}

// TestRunAgainstReceiver sends every sample with the default flags to a
// codathook receiver configured like the quickstart's development mode: the
// defaults of the two programs must agree.
func TestRunAgainstReceiver(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	var calls atomic.Int64
	if err := codathook.On(rcv, "*", func(context.Context, *codathook.Event) error {
		calls.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var runs [][]string
	eventTypes, ruleTypes := codathooktest.SampleNames()
	for _, typ := range eventTypes {
		runs = append(runs, []string{"-url", srv.URL + "/webhooks/codat", typ})
	}
	runs = append(runs, []string{"-svix", "-url", srv.URL + "/webhooks/codat", "connection.connected"})
	for _, rule := range ruleTypes {
		runs = append(runs, []string{"-legacy", "-url", srv.URL + "/webhooks/codat/legacy", rule})
	}
	for _, args := range runs {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, env(nil), &stdout, &stderr, srv.Client()); code != 0 {
			t.Errorf("send %q: exit code %d, want 0\nstdout: %s\nstderr: %s", args, code, stdout.String(), stderr.String())
		}
	}
	// A wrong secret is refused: the check above can fail.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-secret", codathooktest.NewSecret(), "-url", srv.URL + "/webhooks/codat", "connection.connected"}, env(nil), &stdout, &stderr, srv.Client()); code != 1 || !strings.Contains(stdout.String(), "401") {
		t.Errorf("send with a wrong secret: exit %d, stdout %q; want 1 and a 401", code, stdout.String())
	}
	if got := calls.Load(); got == 0 {
		t.Error("no callback ran")
	}
}
