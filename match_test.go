package codathook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

type ctxTestKey struct{}

// TestDuplicateNamesItsMatch sends, through a real server, a delivery, its
// retry and its cross-format twin, and checks the Codathook-Match header,
// Outcome.Match, the observer's context and the Debug log line that names
// the matched key.
func TestDuplicateNamesItsMatch(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		outcomes []codathook.Outcome
		ctxVals  []any
		logs     bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(logger),
		codathook.WithObserver(func(ctx context.Context, o codathook.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			outcomes = append(outcomes, o)
			ctxVals = append(ctxVals, ctx.Value(ctxTestKey{}))
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close(context.Background()) })
	if err := codathook.On(rcv, "connection.connected", func(context.Context, *codathook.ConnectionEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	withValue := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxTestKey{}, "request-value")))
		})
	}
	mux := http.NewServeMux()
	mux.Handle("POST /new", withValue(rcv.Handler(codathook.EndpointNew)))
	mux.Handle("POST /legacy", withValue(rcv.Handler(codathook.EndpointLegacy)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	newBody, legacyBody, err := codathooktest.Twin("connection.connected", codathooktest.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Twins from Codat's two services carry different ids: only pairing
	// can match them.
	legacyBody = bytes.Replace(legacyBody, []byte(`"AlertId"`), []byte(`"AlertIdOld"`), 1)
	legacyBody = bytes.Replace(legacyBody, []byte(`{`), []byte(`{"AlertId": "legacy-alert-1",`), 1)
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.MsgID = "msg_" + codathooktest.NewID() // the retry reuses it
	send := func(r *http.Request, path string) *http.Response {
		t.Helper()
		resp, err := codathooktest.Send(t.Context(), srv.Client(), srv.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := signer.NewRequest(http.MethodPost, "/new", newBody)
	retry := signer.NewRequest(http.MethodPost, "/new", newBody)
	msgID := signer.MsgID

	steps := []struct {
		name       string
		resp       *http.Response
		wantResult codathook.Result
		wantMatch  string
	}{
		{"first delivery", send(first, "/new"), codathook.ResultProcessed, ""},
		{"its retry", send(retry, "/new"), codathook.ResultDuplicate, "message"},
		{"its legacy twin", send(codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, legacyBody), "/legacy"), codathook.ResultDuplicate, "twin"},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(outcomes) != len(steps) {
		t.Fatalf("observer saw %d outcomes, want %d", len(outcomes), len(steps))
	}
	for i, s := range steps {
		if got := s.resp.Header.Get(codathook.HeaderResult); got != string(s.wantResult) {
			t.Errorf("%s: %s = %q, want %q", s.name, codathook.HeaderResult, got, s.wantResult)
		}
		if got := s.resp.Header.Get("Codathook-Match"); got != s.wantMatch {
			t.Errorf("%s: Codathook-Match = %q, want %q", s.name, got, s.wantMatch)
		}
		if o := outcomes[i]; o.Result != s.wantResult || o.Match != s.wantMatch {
			t.Errorf("%s: Outcome %s/%q, want %s/%q", s.name, o.Result, o.Match, s.wantResult, s.wantMatch)
		}
		if ctxVals[i] != "request-value" {
			t.Errorf("%s: the observer's context lacks the request's value (got %v)", s.name, ctxVals[i])
		}
	}
	for _, want := range []string{"match=message key=msg:" + msgID, "match=twin key=o:"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("Debug log lacks %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), codathooktest.DevSecret) || strings.Contains(logs.String(), `"payload"`) {
		t.Errorf("log shows a secret or a body:\n%s", logs.String())
	}
}

// TestCallbackPanicIsLoggedWithStack checks that a callback's panic is
// logged with the stack of the goroutine that panicked.
func TestCallbackPanicIsLoggedWithStack(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		logs bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, nil))
	rcv, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), codathook.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close(context.Background()) })
	if err := codathook.On(rcv, "connection.connected", panickingCallback); err != nil {
		t.Fatal(err)
	}
	body, err := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp := codathooktest.Do(rcv.Handler(codathook.EndpointNew), codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/", body))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "stack=") || !strings.Contains(logs.String(), "panickingCallback") {
		t.Errorf("the panic's log line has no stack naming the callback:\n%s", logs.String())
	}
}

func panickingCallback(context.Context, *codathook.ConnectionEvent) error { panic("boom") }

// syncWriter serialises writes to w under mu.
type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
