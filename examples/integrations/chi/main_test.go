package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

const testMaxBody = 4 << 10

// server is the example's router behind a real HTTP server, with counting
// callbacks.
type server struct {
	srv       *httptest.Server
	signer    *codathooktest.Signer
	callbacks atomic.Int64
	wrapped   atomic.Int64
	tenants   sync.Map // event id -> tenant
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{signer: codathooktest.MustSigner(codathooktest.DevSecret)}
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithMaxBodyBytes(testMaxBody),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	err = register(rcv, func(_ context.Context, tenant string, ev *codathook.Event) error {
		s.callbacks.Add(1)
		s.tenants.Store(ev.ID, tenant)
		return nil
	})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		del, ok := codathook.DeliveryFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		if !ok || !bytes.Contains(body, []byte(del.Event.ID)) {
			http.Error(w, "no event or body", http.StatusTeapot)
			return
		}
		s.wrapped.Add(1)
		s.tenants.Store(del.Event.ID, chi.URLParam(r, "tenant"))
		w.WriteHeader(http.StatusNoContent)
	})
	s.srv = httptest.NewServer(newRouter(rcv, wrapped))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) do(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := codathooktest.Send(t.Context(), s.srv.Client(), s.srv.URL+r.URL.Path, r)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(codathook.HeaderResult)
}

func sample(t *testing.T, eventType string) ([]byte, string) {
	t.Helper()
	id := codathooktest.NewID()
	body, err := codathooktest.Sample(eventType, codathooktest.SampleOptions{ID: id})
	if err != nil {
		t.Fatalf("Sample(%q): %v", eventType, err)
	}
	return body, id
}

func TestServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		send          func(t *testing.T, s *server) (int, string, string)
		wantStatus    int
		wantResult    codathook.Result
		wantCallbacks int64
		wantWrapped   int64
		wantTenant    string
	}{
		{
			name: "a signed delivery is processed once and the callback sees the tenant",
			send: func(t *testing.T, s *server) (int, string, string) {
				body, id := sample(t, "connection.connected")
				st, res := s.do(t, s.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantTenant: "acme",
		},
		{
			name: "a legacy delivery is processed and the callback sees the tenant",
			send: func(t *testing.T, s *server) (int, string, string) {
				id := codathooktest.NewID()
				body, err := codathooktest.LegacySample("Data sync completed", codathooktest.SampleOptions{ID: id})
				if err != nil {
					t.Fatal(err)
				}
				st, res := s.do(t, codathooktest.NewLegacyRequest("/tenants/globex/webhooks/codat/legacy", codathooktest.DevAuthorization, body))
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantTenant: "globex",
		},
		{
			name: "a tampered body is 401",
			send: func(t *testing.T, s *server) (int, string, string) {
				body, _ := sample(t, "connection.connected")
				r := s.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body)
				r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte(`"Linked"`), []byte(`"Linkex"`), 1)))
				st, res := s.do(t, r)
				return st, res, ""
			},
			wantStatus: 401, wantResult: codathook.ResultUnauthorized,
		},
		{
			name: "a body over the limit is 413",
			send: func(t *testing.T, s *server) (int, string, string) {
				body := fmt.Appendf(nil, `{"id":"big","eventType":"connection.connected","pad":%q}`, strings.Repeat("x", testMaxBody))
				st, res := s.do(t, s.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
				return st, res, ""
			},
			wantStatus: 413, wantResult: codathook.ResultTooLarge,
		},
		{
			name: "a retried delivery is acknowledged as a duplicate without a second callback",
			send: func(t *testing.T, s *server) (int, string, string) {
				body, id := sample(t, "read.completed")
				r := s.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body)
				if st, _ := s.do(t, r); st != 204 {
					t.Fatalf("first delivery: status = %d, want 204", st)
				}
				st, res := s.do(t, r)
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultDuplicate, wantCallbacks: 1, wantTenant: "acme",
		},
		{
			name: "the wrapper form runs the handler once with the event, body and tenant",
			send: func(t *testing.T, s *server) (int, string, string) {
				body, id := sample(t, "company.created")
				r := s.signer.NewRequest(http.MethodPost, "/tenants/initech/webhooks/codat/wrapped", body)
				if st, _ := s.do(t, r); st != 204 {
					t.Fatalf("first delivery: status = %d, want 204", st)
				}
				st, res := s.do(t, r)
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultDuplicate, wantWrapped: 1, wantTenant: "initech",
		},
		{
			name: "a GET is refused by chi's method routing",
			send: func(t *testing.T, s *server) (int, string, string) {
				st, res := s.do(t, httptest.NewRequest(http.MethodGet, "/tenants/acme/webhooks/codat", nil))
				return st, res, ""
			},
			wantStatus: 405,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			status, result, id := tt.send(t, s)
			if got, want := status, tt.wantStatus; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := result, string(tt.wantResult); got != want {
				t.Errorf("%s = %q, want %q", codathook.HeaderResult, got, want)
			}
			if got, want := s.callbacks.Load(), tt.wantCallbacks; got != want {
				t.Errorf("callbacks = %d, want %d", got, want)
			}
			if got, want := s.wrapped.Load(), tt.wantWrapped; got != want {
				t.Errorf("wrapped handler runs = %d, want %d", got, want)
			}
			if tt.wantTenant != "" {
				if got, _ := s.tenants.Load(id); got != tt.wantTenant {
					t.Errorf("tenant seen = %v, want %q", got, tt.wantTenant)
				}
			}
		})
	}
}
