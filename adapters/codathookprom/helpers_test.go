package codathookprom_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookprom"
	"github.com/codathook/codathook/codathooktest"
)

// harness is a receiver instrumented by a Collector, behind a real server:
// POST /new and /legacy serve the two endpoints, each wrapped by InFlight.
// Its callback fails events whose id starts with "fail-" and, for ids
// starting with "block-", waits until block is closed.
type harness struct {
	col    *codathookprom.Collector
	rcv    *codathook.Receiver
	reg    *prometheus.Registry
	srv    *httptest.Server
	signer *codathooktest.Signer
	block  chan struct{}
	inside chan struct{} // a "block-" callback has started
}

func newHarness(t *testing.T, opts ...codathook.Option) *harness {
	t.Helper()
	h := &harness{
		col:    codathookprom.New(),
		signer: codathooktest.MustSigner(codathooktest.DevSecret),
		block:  make(chan struct{}),
		inside: make(chan struct{}, 1),
	}
	opts = append([]codathook.Option{
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
		codathook.WithObserver(h.col.Observe),
	}, opts...)
	rcv, err := codathook.New(opts...)
	if err != nil {
		t.Fatalf("codathook.New: %v", err)
	}
	t.Cleanup(func() { _ = rcv.Close(context.Background()) })
	err = codathook.On(rcv, "*", func(_ context.Context, ev *codathook.Event) error {
		switch {
		case strings.HasPrefix(ev.ID, "fail-"):
			return errors.New("downstream unavailable")
		case strings.HasPrefix(ev.ID, "block-"):
			h.inside <- struct{}{}
			<-h.block
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.rcv = rcv
	h.col.Attach(rcv)
	h.reg = prometheus.NewPedanticRegistry()
	h.reg.MustRegister(h.col)
	mux := http.NewServeMux()
	mux.Handle("POST /new", h.col.InFlight(codathook.EndpointNew, rcv.Handler(codathook.EndpointNew)))
	mux.Handle("POST /legacy", h.col.InFlight(codathook.EndpointLegacy, rcv.Handler(codathook.EndpointLegacy)))
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// send delivers r to path and returns the receiver's Codathook-Result.
func (h *harness) send(t *testing.T, path string, r *http.Request) codathook.Result {
	t.Helper()
	resp, err := codathooktest.Send(context.Background(), h.srv.Client(), h.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return codathook.Result(resp.Header.Get(codathook.HeaderResult))
}

// signed delivers body, signed with a fresh message id, to the new endpoint.
func (h *harness) signed(t *testing.T, body []byte) codathook.Result {
	t.Helper()
	return h.send(t, "/new", h.signer.NewRequest(http.MethodPost, "/new", body))
}

// sample returns the new-format sample of eventType changed by o.
func sample(t *testing.T, eventType string, o codathooktest.SampleOptions) []byte {
	t.Helper()
	b, err := codathooktest.Sample(eventType, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setField returns the JSON object body with key set to v.
func setField(t *testing.T, body []byte, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// want checks that r is the result the receiver answered with.
func want(t *testing.T, step string, got, wantRes codathook.Result) {
	t.Helper()
	if got != wantRes {
		t.Fatalf("%s: receiver answered %q, want %q", step, got, wantRes)
	}
}
