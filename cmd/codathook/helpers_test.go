package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line args with env as its environment (nothing
// else of the process's), stdin as its standard input and client for HTTP.
func runCLI(t *testing.T, env map[string]string, stdin string, client *http.Client, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{
		getenv: func(k string) string { return env[k] },
		stdin:  strings.NewReader(stdin),
		stdout: &stdout, stderr: &stderr,
		client: client,
		now:    time.Now,
	}
	code := c.run(t.Context(), args)
	return result{code, stdout.String(), stderr.String()}
}

// goIdentifiers matches names of the Go API that the command's messages
// must not show: they name its flags instead.
var goIdentifiers = regexp.MustCompile(`codathooktest|SampleNames|SampleOptions|NewSigner|MustSigner|With[A-Z]\w+|codathook\.[A-Z]|\w+\(\)`)

// receiver is a real codathook receiver behind an httptest.Server, with
// both endpoints at the quickstart's paths, whose callback records every
// event it processes. A company id of "fail" makes the callback fail.
type receiver struct {
	srv *httptest.Server
	rcv *codathook.Receiver

	mu       sync.Mutex
	events   []*codathook.Event
	captures [][]byte // httputil.DumpRequest of each request, when capturing
}

func newReceiver(t *testing.T, secrets []string, legacyAuth string, capture bool) *receiver {
	t.Helper()
	opts := []codathook.Option{
		codathook.WithSecrets(secrets...),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	}
	if legacyAuth != "" {
		opts = append(opts, codathook.WithLegacyAuthorization(legacyAuth))
	}
	rcv, err := codathook.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	r := &receiver{rcv: rcv}
	if err := codathook.On(rcv, "*", func(_ context.Context, ev *codathook.Event) error {
		if ev.CompanyID == "fail" {
			return errors.New("the callback failed")
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	var h http.Handler = mux
	if capture {
		h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			dump, err := httputil.DumpRequest(req, true)
			if err != nil {
				t.Errorf("DumpRequest: %v", err)
			}
			r.mu.Lock()
			r.captures = append(r.captures, dump)
			r.mu.Unlock()
			mux.ServeHTTP(w, req)
		})
	}
	r.srv = httptest.NewServer(h)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) newURL() string    { return r.srv.URL + "/webhooks/codat" }
func (r *receiver) legacyURL() string { return r.srv.URL + "/webhooks/codat/legacy" }

// processed returns the events processed so far.
func (r *receiver) processed() []*codathook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*codathook.Event(nil), r.events...)
}

// lastCapture returns the last request captured, written to a file.
func (r *receiver) lastCapture(t *testing.T) (path string, data []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.captures) == 0 {
		t.Fatal("no request was captured")
	}
	data = r.captures[len(r.captures)-1]
	return writeFile(t, "capture.http", data), data
}

// writeFile writes data to a new file in a temporary directory.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// editHeader sets the header name of a capture to value, or removes it
// when value is empty.
func editHeader(t *testing.T, capture []byte, name, value string) []byte {
	t.Helper()
	re := regexp.MustCompile(`(?mi)^` + regexp.QuoteMeta(name) + `: [^\r\n]*\r?\n`)
	if !re.Match(capture) {
		t.Fatalf("capture has no %s header:\n%s", name, capture)
	}
	if value == "" {
		return re.ReplaceAll(capture, nil)
	}
	return re.ReplaceAllLiteral(capture, []byte(name+": "+value+"\r\n"))
}

// wantLines fails unless out contains every want.
func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

var devEnv = map[string]string{} // no environment: the development defaults

func devSecrets() []string { return []string{codathooktest.DevSecret} }
