package codathook_test

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

	"github.com/gorilla/mux"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

const routerMaxBody = 4 << 10

// routerApp is one receiver mounted in a router behind a real HTTP server,
// with a callback (terminal routes) and a wrapped handler (middleware
// routes) that count their runs and record the tenant they saw.
type routerApp struct {
	srv       *httptest.Server
	signer    *codathooktest.Signer
	callbacks atomic.Int64
	wrapped   atomic.Int64
	tenants   sync.Map // event id -> tenant seen
}

// routerKit builds a router: tenant reads the route variable from a request
// as the router exposes it; mount registers the routes.
type routerKit struct {
	name   string
	tenant func(*http.Request) string
	mount  func(rcv *codathook.Receiver, wrapped http.Handler) http.Handler
	// methodMismatch is the router's answer to a GET on a POST route.
	methodMismatch int
}

var routerKits = []routerKit{
	{
		name:           "ServeMux",
		methodMismatch: http.StatusMethodNotAllowed,
		tenant:         func(r *http.Request) string { return r.PathValue("tenant") },
		mount: func(rcv *codathook.Receiver, wrapped http.Handler) http.Handler {
			m := http.NewServeMux()
			m.Handle("POST /tenants/{tenant}/webhooks/codat", rcv.Handler(codathook.EndpointNew))
			m.Handle("POST /tenants/{tenant}/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
			m.Handle("POST /tenants/{tenant}/wrapped/codat", rcv.Middleware(codathook.EndpointNew)(wrapped))
			return m
		},
	},
	{
		name: "gorilla/mux",
		// gorilla/mux v1.8.1 answers 404, not 405, to a method mismatch on
		// a route inside a subrouter.
		methodMismatch: http.StatusNotFound,
		tenant:         func(r *http.Request) string { return mux.Vars(r)["tenant"] },
		mount: func(rcv *codathook.Receiver, wrapped http.Handler) http.Handler {
			r := mux.NewRouter()
			t := r.PathPrefix("/tenants/{tenant}").Subrouter()
			t.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew)).Methods(http.MethodPost)
			t.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy)).Methods(http.MethodPost)
			w := t.PathPrefix("/wrapped").Subrouter()
			w.Use(rcv.Middleware(codathook.EndpointNew))
			w.Handle("/codat", wrapped).Methods(http.MethodPost)
			return r
		},
	},
}

func newRouterApp(t *testing.T, kit routerKit) *routerApp {
	t.Helper()
	a := &routerApp{signer: codathooktest.MustSigner(codathooktest.DevSecret)}
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithMaxBodyBytes(routerMaxBody),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		a.callbacks.Add(1)
		d, ok := codathook.DeliveryFromContext(ctx)
		if !ok {
			return fmt.Errorf("no delivery in the callback's context")
		}
		a.tenants.Store(ev.ID, kit.tenant(d.Request))
		return nil
	})
	if err != nil {
		t.Fatalf("On: %v", err)
	}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		del, ok := codathook.DeliveryFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		if !ok || !bytes.Contains(body, []byte(del.Event.ID)) {
			http.Error(w, "no event or body", http.StatusTeapot)
			return
		}
		a.wrapped.Add(1)
		a.tenants.Store(del.Event.ID, kit.tenant(r))
		w.WriteHeader(http.StatusNoContent)
	})
	a.srv = httptest.NewServer(kit.mount(rcv, wrapped))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *routerApp) do(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := codathooktest.Send(t.Context(), a.srv.Client(), a.srv.URL+r.URL.Path, r)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(codathook.HeaderResult)
}

func routerSample(t *testing.T, eventType string) ([]byte, string) {
	t.Helper()
	id := codathooktest.NewID()
	body, err := codathooktest.Sample(eventType, codathooktest.SampleOptions{ID: id})
	if err != nil {
		t.Fatalf("Sample(%q): %v", eventType, err)
	}
	return body, id
}

func TestRouters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// send delivers one or more requests; it returns the last status and
		// result header and the event id ("" when none).
		send          func(t *testing.T, a *routerApp) (int, string, string)
		wantStatus    int
		wantResult    codathook.Result
		wantCallbacks int64
		wantWrapped   int64
		wantTenant    string
		wantKitStatus bool // want kit.methodMismatch instead of wantStatus
	}{
		{
			name: "a signed delivery is processed once and the callback sees the tenant",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				body, id := routerSample(t, "connection.connected")
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantTenant: "acme",
		},
		{
			name: "a legacy delivery is processed and the callback sees the tenant",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				id := codathooktest.NewID()
				body, err := codathooktest.LegacySample("Data sync completed", codathooktest.SampleOptions{ID: id})
				if err != nil {
					t.Fatal(err)
				}
				st, res := a.do(t, codathooktest.NewLegacyRequest("/tenants/globex/webhooks/codat/legacy", codathooktest.DevAuthorization, body))
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantTenant: "globex",
		},
		{
			name: "a tampered body is 401",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				body, _ := routerSample(t, "connection.connected")
				r := a.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body)
				r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte(`"Linked"`), []byte(`"Linkex"`), 1)))
				st, res := a.do(t, r)
				return st, res, ""
			},
			wantStatus: 401, wantResult: codathook.ResultUnauthorized,
		},
		{
			name: "a body over the limit is 413",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				body := fmt.Appendf(nil, `{"id":"big","eventType":"connection.connected","pad":%q}`, strings.Repeat("x", routerMaxBody))
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
				return st, res, ""
			},
			wantStatus: 413, wantResult: codathook.ResultTooLarge,
		},
		{
			name: "a retried delivery is acknowledged as a duplicate without a second callback",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				body, id := routerSample(t, "read.completed")
				r := a.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body)
				if st, _ := a.do(t, r); st != 204 {
					t.Fatalf("first delivery: status = %d, want 204", st)
				}
				st, res := a.do(t, r)
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultDuplicate, wantCallbacks: 1, wantTenant: "acme",
		},
		{
			name: "a GET is refused by the router's method match",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				st, res := a.do(t, httptest.NewRequest(http.MethodGet, "/tenants/acme/webhooks/codat", nil))
				return st, res, ""
			},
			wantKitStatus: true,
		},
		{
			name: "the wrapper form runs the wrapped handler once with the event, body and tenant",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				body, id := routerSample(t, "company.created")
				r := a.signer.NewRequest(http.MethodPost, "/tenants/initech/wrapped/codat", body)
				if st, _ := a.do(t, r); st != 204 {
					t.Fatalf("first delivery: status = %d, want 204", st)
				}
				st, res := a.do(t, r)
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultDuplicate, wantWrapped: 1, wantTenant: "initech",
		},
		{
			name: "the wrapper form answers a tampered body 401 without calling the handler",
			send: func(t *testing.T, a *routerApp) (int, string, string) {
				body, _ := routerSample(t, "company.created")
				r := a.signer.NewRequest(http.MethodPost, "/tenants/initech/wrapped/codat", body)
				r.Body = io.NopCloser(bytes.NewReader(append(body[:len(body)-1:len(body)-1], ' ', '}')))
				st, res := a.do(t, r)
				return st, res, ""
			},
			wantStatus: 401, wantResult: codathook.ResultUnauthorized,
		},
	}
	for _, kit := range routerKits {
		for _, tt := range tests {
			t.Run(kit.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				a := newRouterApp(t, kit)
				status, result, id := tt.send(t, a)
				wantStatus := tt.wantStatus
				if tt.wantKitStatus {
					wantStatus = kit.methodMismatch
				}
				if got, want := status, wantStatus; got != want {
					t.Errorf("status = %d, want %d", got, want)
				}
				if got, want := result, string(tt.wantResult); got != want {
					t.Errorf("%s = %q, want %q", codathook.HeaderResult, got, want)
				}
				if got, want := a.callbacks.Load(), tt.wantCallbacks; got != want {
					t.Errorf("callbacks = %d, want %d", got, want)
				}
				if got, want := a.wrapped.Load(), tt.wantWrapped; got != want {
					t.Errorf("wrapped handler runs = %d, want %d", got, want)
				}
				if tt.wantTenant != "" {
					got, _ := a.tenants.Load(id)
					if got != tt.wantTenant {
						t.Errorf("tenant seen = %v, want %q", got, tt.wantTenant)
					}
				}
			})
		}
	}
}

// TestGorillaMuxOutsideRouterSeesNoVars pins down the gorilla/mux rule that
// the router docs state: route variables exist only for middleware
// registered on the router (Use, a subrouter, a route); wrapping the whole
// router from outside runs before routing.
func TestGorillaMuxOutsideRouterSeesNoVars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		outside bool
		want    string
	}{
		{name: "middleware registered with Use sees the tenant", want: "acme"},
		{name: "middleware wrapping the router sees no tenant", outside: true, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), codathook.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rcv.Close(context.Background()) })
			var seen atomic.Value
			seen.Store("unset")
			r := mux.NewRouter()
			h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { w.WriteHeader(http.StatusNoContent) })
			r.Handle("/tenants/{tenant}/webhooks/codat", h).Methods(http.MethodPost)
			probe := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					d, _ := codathook.DeliveryFromContext(req.Context())
					seen.Store(mux.Vars(d.Request)["tenant"])
					next.ServeHTTP(w, req)
				})
			}
			var root http.Handler = r
			if tt.outside {
				root = rcv.Middleware(codathook.EndpointNew)(probe(r))
			} else {
				r.Use(rcv.Middleware(codathook.EndpointNew), probe)
			}
			srv := httptest.NewServer(root)
			t.Cleanup(srv.Close)
			body, _ := routerSample(t, "company.created")
			req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body)
			resp, err := codathooktest.Send(t.Context(), srv.Client(), srv.URL+req.URL.Path, req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.StatusCode, http.StatusNoContent; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got := seen.Load(); got != tt.want {
				t.Errorf("tenant seen by the middleware = %q, want %q", got, tt.want)
			}
		})
	}
}
