package main

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

// TestSignHeaders signs a body and sends it with the printed headers, as a
// user would with curl, to a real receiver: processed.
func TestSignHeaders(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), "", false)
	for _, tt := range []struct {
		name  string
		args  []string
		stdin bool
		want  []string
	}{
		{"webhook-* headers", nil, false, []string{"webhook-id: msg_", "webhook-timestamp: ", "webhook-signature: v1,"}},
		{"svix-* headers from standard input", []string{"-svix"}, true, []string{"svix-id: msg_", "svix-timestamp: ", "svix-signature: v1,"}},
		{"with the carried-over Authorization", []string{"-auth", "Bearer x"}, false, []string{"Authorization: Bearer x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, err := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			args, stdin := append([]string{"sign"}, tt.args...), ""
			if tt.stdin {
				args, stdin = append(args, "-"), string(body)
			} else {
				args = append(args, writeFile(t, "body.json", body))
			}
			res := runCLI(t, nil, stdin, nil, args...)
			if res.code != 0 {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			wantLines(t, "stdout", res.stdout, tt.want...)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.newURL(), bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
				name, value, _ := strings.Cut(line, ": ")
				req.Header.Set(name, value)
			}
			resp, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Codathook-Result"); got != "processed" {
				t.Errorf("the receiver answered %d %q, want processed", resp.StatusCode, got)
			}
		})
	}
}

// TestSignRequest writes the signed request to a real receiver's socket
// as it was printed, and verifies the same file.
func TestSignRequest(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, devSecrets(), "", false)
	body, err := codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "body.json", body)
	res := runCLI(t, nil, "", nil, "sign", "-request", "-url", r.newURL(), "-message-id", "msg_signed", file)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	wantLines(t, "the request", res.stdout, "POST /webhooks/codat HTTP/1.1\r\n", "Host: "+strings.TrimPrefix(r.srv.URL, "http://")+"\r\n", "Webhook-Id: msg_signed\r\n", "\r\n\r\n"+string(body))
	conn, err := net.Dial("tcp", r.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(res.stdout)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Codathook-Result"); got != "processed" {
		t.Errorf("the receiver answered the printed request %d %q, want processed", resp.StatusCode, got)
	}
	req := writeFile(t, "request.http", []byte(res.stdout))
	if v := runCLI(t, nil, "", nil, "verify", "-secret", codathooktest.DevSecret, req); v.code != 0 {
		t.Errorf("verify of the signed request: exit %d\n%s", v.code, v.stdout)
	}

	// A fixed time and message id sign the same bytes every time.
	at := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	fixed := []string{"sign", "-request", "-timestamp", at.Format(time.RFC3339), "-message-id", "msg_fixed", "-method", "PUT", file}
	a, b := runCLI(t, nil, "", nil, fixed...), runCLI(t, nil, "", nil, fixed...)
	if a.code != 0 || a.stdout != b.stdout || !strings.HasPrefix(a.stdout, "PUT /webhooks/codat HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n") || !strings.Contains(a.stdout, "Webhook-Timestamp: 1736510400\r\n") {
		t.Errorf("a fixed signing printed %q then %q", a.stdout, b.stdout)
	}
	req = writeFile(t, "fixed.http", []byte(a.stdout))
	v := runCLI(t, nil, "", nil, "verify", "-secret", codathooktest.DevSecret, "-at", "1736510460", req)
	if v.code != 0 || !strings.Contains(v.stdout, "timestamp: 1m0s before the receiver's clock") {
		t.Errorf("verify of the fixed request a minute later: exit %d\n%s", v.code, v.stdout)
	}
}

func TestSignUsageErrors(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "body.json", []byte(`{}`))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", nil, "FILE is missing"},
		{"a missing file", []string{file + ".missing"}, "no such file or directory"},
		{"a timestamp that is no time", []string{"-timestamp", "noon", file}, `-timestamp: "noon" is neither Unix seconds nor an RFC 3339 time`},
		{"a url without -request", []string{"-url", "http://x/", file}, "-url is used only with -request"},
		{"a method without -request", []string{"-method", "PUT", file}, "-method is used only with -request"},
		{"a url that is no http url", []string{"-request", "-url", "ftp://x/", file}, `-url "ftp://x/" is not an http or https URL`},
		{"a method that is no method", []string{"-request", "-method", "P T", file}, `-method "P T" is not an HTTP method`},
		{"a bad secret", []string{"-secret", "whsec_", file}, "-secret (whsec_…): is empty after whsec_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, nil, "", nil, append([]string{"sign"}, tt.args...)...)
			if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", res.code, res.stderr, tt.want)
			}
			if m := goIdentifiers.FindString(res.stderr); m != "" {
				t.Errorf("stderr names %q, a Go identifier, not a flag:\n%s", m, res.stderr)
			}
		})
	}
}
