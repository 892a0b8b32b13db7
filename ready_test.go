package codathook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
)

// slowProvider is an in-memory provider whose Init waits for release, so
// that its client reports NOT_READY until then.
type slowProvider struct {
	*memprovider.InMemoryProvider
	release chan struct{}
}

func (p *slowProvider) Init(openfeature.EvaluationContext) error { <-p.release; return nil }
func (p *slowProvider) Shutdown()                                {}

// pingStore is an LRU whose reachability the test sets.
type pingStore struct {
	*dedupe.LRU
	err error
}

func (s *pingStore) Ping(context.Context) error { return s.err }

// TestReady checks the readiness probe through a real server: not ready
// while the flag provider initialises, ready once it is, not ready when the
// store does not answer, and not ready after Close.
func TestReady(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	p := &slowProvider{InMemoryProvider: memprovider.NewInMemoryProvider(nil), release: make(chan struct{})}
	if err := api.SetProvider(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	store := &pingStore{LRU: dedupe.NewLRU(dedupe.LRUConfig{})}
	rcv, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithFlags(api.NewClient(), nil), codathook.WithDedupe(store, nil), discardLogs())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := rcv.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	probe := func() (int, string) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}

	if code, body := probe(); code != http.StatusServiceUnavailable || !strings.Contains(body, "NOT_READY") {
		t.Errorf("provider initialising: %d %q, want 503 naming NOT_READY", code, body)
	}
	close(p.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := probe()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("provider ready: still %d %q", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	store.err = errors.New("connection refused")
	if code, body := probe(); code != http.StatusServiceUnavailable || !strings.Contains(body, "dedupe store: connection refused") {
		t.Errorf("store unreachable: %d %q, want 503 naming the store", code, body)
	}
	store.err = nil
	if err := rcv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body := probe(); code != http.StatusServiceUnavailable || !strings.Contains(body, "closed") {
		t.Errorf("after Close: %d %q, want 503 saying closed", code, body)
	}
}
