package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

// captured sends one delivery with send to a real receiver that records
// the request as httputil.DumpRequest writes it, and returns the capture.
func captured(t *testing.T, args ...string) []byte {
	t.Helper()
	r := newReceiver(t, devSecrets(), codathooktest.DevAuthorization, true)
	url := r.newURL()
	if slices.Contains(args, "-legacy") {
		url = r.legacyURL()
	}
	res := runCLI(t, devEnv, "", r.srv.Client(), append([]string{"send", "-url", url}, args...)...)
	if res.code != 0 {
		t.Fatalf("send %q: exit %d\n%s%s", args, res.code, res.stdout, res.stderr)
	}
	_, data := r.lastCapture(t)
	return data
}

var tsHeader = regexp.MustCompile(`(?mi)^(webhook|svix)-timestamp: (\d+)`)

// signedAt returns the signature time of a capture.
func signedAt(t *testing.T, capture []byte) time.Time {
	t.Helper()
	m := tsHeader.FindSubmatch(capture)
	if m == nil {
		t.Fatalf("capture has no timestamp:\n%s", capture)
	}
	n, _ := strconv.ParseInt(string(m[2]), 10, 64)
	return time.Unix(n, 0)
}

// TestVerifyCapturedDeliveries verifies deliveries captured from a real
// server, as sent and after each change that makes a receiver refuse one,
// and checks that verify says exactly why.
func TestVerifyCapturedDeliveries(t *testing.T) {
	t.Parallel()
	other := codathooktest.NewSecret()
	plain := captured(t, "connection.connected")
	svix := captured(t, "-svix", "read.completed")
	withAuth := captured(t, "-auth", "Bearer carried-over", "company.created")
	legacy := captured(t, "-legacy", "Sync Completed")
	at := signedAt(t, plain)
	iso := func(d time.Duration) string { return at.Add(d).UTC().Format(time.RFC3339) }
	stripLength := func(c []byte) []byte { return editHeader(t, c, "Content-Length", "") }
	body := func(c []byte) []byte { _, b, _ := bytes.Cut(c, []byte("\r\n\r\n")); return b }
	head := func(c []byte) []byte { h, _, _ := bytes.Cut(c, []byte("\r\n\r\n")); return h }
	rebody := func(c, b []byte) []byte { return append(append(head(stripLength(c)), "\r\n\r\n"...), b...) }
	var indented bytes.Buffer
	if err := json.Indent(&indented, body(plain), "", "  "); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		capture  []byte
		args     []string
		wantCode int
		want     []string
	}{
		{"as sent", plain, []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 0,
			[]string{"verified: the new endpoint answers 204 processed", "webhook-* headers: webhook-id msg_", "timestamp: 0s before the receiver's clock, within the 5m0s tolerance", "signature: matches secret 1 (whsec_KqHa…)"}},
		{"the second of two secrets", plain, []string{"-secret", other + " " + codathooktest.DevSecret, "-at", iso(0)}, 0,
			[]string{"verified", "signature: matches secret 2 (whsec_KqHa…)"}},
		{"the secret from the environment", plain, []string{"-at", iso(0)}, 0, []string{"verified"}},
		{"the svix-* header set", svix, []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 0,
			[]string{"verified", "svix-* headers: svix-id msg_"}},
		{"another secret", plain, []string{"-secret", other, "-at", iso(0)}, 1,
			[]string{"NOT VERIFIED: the new endpoint answers 401 unauthorized (codathook: signature mismatch)", "signature: the v1 signature matches no secret given (tried " + mask(other) + ")"}},
		{"two other secrets", plain, []string{"-secret", other + "," + codathooktest.NewSecret(), "-at", iso(0)}, 1,
			[]string{"(tried " + mask(other) + ", whsec_"}},
		{"an hour later", plain, []string{"-secret", codathooktest.DevSecret, "-at", iso(time.Hour)}, 1,
			[]string{"401 unauthorized (codathook: timestamp outside tolerance: too old)", "timestamp: 1h0m0s before the receiver's clock (" + iso(time.Hour) + "): 55m0s outside the 5m0s tolerance; -at " + iso(0) + " checks it as of its own time", "signature: matches secret 1"}},
		{"ten minutes early", plain, []string{"-secret", codathooktest.DevSecret, "-at", iso(-10 * time.Minute)}, 1,
			[]string{"timestamp outside tolerance: too new", "timestamp: 10m0s after the receiver's clock", "5m0s outside the 5m0s tolerance"}},
		{"three days later", plain, []string{"-secret", codathooktest.DevSecret, "-at", iso(73 * time.Hour)}, 1,
			[]string{"timestamp: 3 days 1h0m0s before the receiver's clock"}},
		{"an hour later with a two-hour tolerance", plain, []string{"-secret", codathooktest.DevSecret, "-at", iso(time.Hour), "-tolerance", "2h"}, 0,
			[]string{"verified", "within the 2h0m0s tolerance"}},
		{"no signature headers", editHeader(t, editHeader(t, editHeader(t, plain, "Webhook-Id", ""), "Webhook-Timestamp", ""), "Webhook-Signature", ""), []string{"-secret", codathooktest.DevSecret}, 1,
			[]string{"401 unauthorized (codathook: missing signature headers)", "signature headers: none."}},
		{"no webhook-signature", editHeader(t, plain, "Webhook-Signature", ""), []string{"-secret", codathooktest.DevSecret}, 1,
			[]string{"webhook-* headers: incomplete, no webhook-signature", "signature headers: no complete set"}},
		{"a mix of the two sets", bytes.Replace(plain, []byte("Webhook-Id:"), []byte("Svix-Id:"), 1), []string{"-secret", codathooktest.DevSecret}, 1,
			[]string{"webhook-* headers: incomplete, no webhook-id", "svix-* headers: incomplete, no svix-timestamp or svix-signature", "never a mix"}},
		{"a timestamp in milliseconds", tsHeader.ReplaceAll(plain, []byte("${1}-timestamp: ${2}000")), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"webhook-timestamp: looks like milliseconds; Codat sends seconds"}},
		{"a signature of another version", regexp.MustCompile(`v1,`).ReplaceAll(plain, []byte("v2,")), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"webhook-signature: no v1,<base64> entry"}},
		{"a newline added to a capture with its Content-Length", append(bytes.Clone(plain), '\n'), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 0,
			[]string{"verified", "capture: ignored 1 byte after the Content-Length of", "(white space: a newline an editor added?)"}},
		{"a newline added to the body", append(stripLength(plain), '\n'), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"signature: matches secret 1 (whsec_KqHa…) over the body without its trailing newline: the body was changed after it was signed"}},
		{"a re-indented body", rebody(plain, indented.Bytes()), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"over the body as compact JSON (it was re-indented)"}},
		{"a changed body", bytes.Replace(plain, []byte(`"Linked"`), []byte(`"Linkee"`), 1), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"signature: the v1 signature matches no secret given (tried whsec_KqHa…)", "or its id, timestamp or body changed after signing"}},
		{"a longer body", bytes.Replace(plain, []byte(`"Linked"`), []byte(`"Unlinked"`), 1), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"capture: ignored 2 bytes after the Content-Length of"}},
		{"a shorter body", bytes.Replace(plain, []byte(`"Linked"`), []byte(`"Link"`), 1), []string{"-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"capture: the body is", "2 short of its Content-Length", "the capture is cut off or was edited"}},
		{"the carried-over Authorization", withAuth, []string{"-secret", codathooktest.DevSecret, "-auth", "Bearer carried-over", "-at", iso(0)}, 0,
			[]string{"verified", "Authorization: matches -auth"}},
		{"another carried-over Authorization", withAuth, []string{"-secret", codathooktest.DevSecret, "-auth", "Bearer other", "-at", iso(0)}, 1,
			[]string{"codathook: authorization header not accepted", "Authorization: differs from -auth: the delivery has Bearer and 12 characters, -auth is Bearer and 5 characters", "signature: matches secret 1"}},
		{"a legacy delivery", legacy, []string{"-legacy", "-auth", codathooktest.DevAuthorization}, 0,
			[]string{"verified: the legacy endpoint answers 204 processed", "Authorization: matches -auth"}},
		{"a legacy delivery with the authorization of the environment", legacy, []string{"-legacy"}, 0, []string{"verified"}},
		{"a legacy delivery with another authorization", legacy, []string{"-legacy", "-auth", "Basic b3RoZXI="}, 1,
			[]string{"401 unauthorized", "Authorization: differs from -auth"}},
		{"a legacy delivery without its Authorization", editHeader(t, legacy, "Authorization", ""), []string{"-legacy", "-auth", "Basic b3RoZXI="}, 1,
			[]string{"Authorization: missing; the legacy endpoint expects Basic and 8 characters"}},
		{"a legacy delivery on the new endpoint", legacy, []string{"-secret", codathooktest.DevSecret}, 1,
			[]string{"signature headers: none", "a legacy delivery? Verify it with -legacy"}},
		{"a new delivery on the legacy endpoint", plain, []string{"-legacy", "-auth", "Bearer x", "-secret", codathooktest.DevSecret, "-at", iso(0)}, 1,
			[]string{"body: a new-format body (eventType): on the legacy endpoint it must be signed", "signature: matches secret 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{envSecret: codathooktest.DevSecret, envAuth: codathooktest.DevAuthorization}
			res := runCLI(t, env, "", nil, append([]string{"verify"}, append(tt.args, writeFile(t, "capture.http", tt.capture))...)...)
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.wantCode, res.stdout, res.stderr)
			}
			wantLines(t, "stdout", res.stdout, tt.want...)
			if strings.Contains(res.stdout, codathooktest.DevSecret) || strings.Contains(res.stdout, other) {
				t.Errorf("stdout shows a whole secret:\n%s", res.stdout)
			}
		})
	}
}

// TestVerifyChunkedCapture verifies a delivery that a client sent with a
// chunked body, captured as DumpRequest writes it (chunked again).
func TestVerifyChunkedCapture(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), "", true)
	body, err := codathooktest.Sample("company.created", codathooktest.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/", body)
	out, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.newURL(), io.MultiReader(bytes.NewReader(body))) // no length: chunked
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header
	resp, err := r.srv.Client().Do(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("the chunked delivery itself: status %d", resp.StatusCode)
	}
	path, data := r.lastCapture(t)
	if !bytes.Contains(data, []byte("Transfer-Encoding: chunked")) {
		t.Fatalf("the capture is not chunked:\n%s", data)
	}
	res := runCLI(t, nil, "", nil, "verify", "-secret", codathooktest.DevSecret, path)
	if res.code != 0 {
		t.Errorf("exit %d, want 0\n%s%s", res.code, res.stdout, res.stderr)
	}
	wantLines(t, "stdout", res.stdout, "verified", "capture: decoded the chunked body: "+strconv.Itoa(len(body))+" bytes")
}

// TestVerifyUsageErrors checks that each mistake exits 2 and names the
// flag or the file, never a Go name.
func TestVerifyUsageErrors(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.http", captured(t, "connection.connected"))
	bad := writeFile(t, "bad.http", []byte("Webhook-Id: msg_1\nnot a header\n\n{}"))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"-secret", codathooktest.DevSecret}, "FILE is missing"},
		{"no secret", []string{good}, "-secret is required (or set CODAT_WEBHOOK_SECRET)"},
		{"a secret without padding", []string{"-secret", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 17)), good}, "-secret (whsec_AAAA…): lacks its base64 padding"},
		{"a zero tolerance", []string{"-secret", codathooktest.DevSecret, "-tolerance", "0s", good}, "-tolerance must be positive"},
		{"a tolerance that is no duration", []string{"-secret", codathooktest.DevSecret, "-tolerance", "5", good}, `invalid value "5" for flag -tolerance`},
		{"a clock that is no time", []string{"-secret", codathooktest.DevSecret, "-at", "yesterday", good}, `-at: "yesterday" is neither Unix seconds nor an RFC 3339 time`},
		{"legacy without an authorization", []string{"-legacy", good}, "-legacy needs -auth (or $CODAT_LEGACY_AUTH)"},
		{"a missing file", []string{"-secret", codathooktest.DevSecret, good + ".missing"}, "no such file or directory"},
		{"a file that is no capture", []string{"-secret", codathooktest.DevSecret, bad}, `bad.http: line 2, "not a header", is not a header (Name: value)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, nil, "", nil, append([]string{"verify"}, tt.args...)...)
			if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", res.code, res.stderr, tt.want)
			}
			if m := goIdentifiers.FindString(res.stderr); m != "" {
				t.Errorf("stderr names %q, a Go identifier, not a flag:\n%s", m, res.stderr)
			}
		})
	}
}
