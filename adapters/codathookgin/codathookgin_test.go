package codathookgin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookgin"
	"github.com/codathook/codathook/codathooktest"
)

const (
	secret     = codathooktest.DevSecret
	legacyAuth = codathooktest.DevAuthorization
	maxBody    = 4 << 10
)

// logBuffer collects gin.Logger lines ("status path") from concurrent requests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// app is a gin engine, shaped like a real app (logger, recovery, a global
// middleware that binds every JSON body), serving one receiver with both
// adapter forms.
type app struct {
	srv       *httptest.Server
	signer    *codathooktest.Signer
	log       *logBuffer
	callbacks atomic.Int64 // callbacks run by Handler routes
	chain     atomic.Int64 // gin handlers run after Middleware
	tenants   sync.Map     // tenant seen by a callback, by event id
	bound     sync.Map     // id bound by the global middleware, by event id
	chainFail atomic.Value // string: how the chain after Middleware fails
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{signer: codathooktest.MustSigner(secret), log: &logBuffer{}}
	rcv, err := codathook.New(
		codathook.WithSecrets(secret),
		codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithMaxBodyBytes(maxBody),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatalf("codathook.New: %v", err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		a.callbacks.Add(1)
		if d, ok := codathook.DeliveryFromContext(ctx); ok {
			a.tenants.Store(ev.ID, d.Request.PathValue("tenant"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("codathook.On: %v", err)
	}

	r := gin.New()
	r.Use(gin.LoggerWithConfig(gin.LoggerConfig{
		Output:    a.log,
		Formatter: func(p gin.LogFormatterParams) string { return fmt.Sprintf("%d %s\n", p.StatusCode, p.Path) },
	}), gin.Recovery())
	// A global middleware that binds every JSON body, as apps do for request
	// logging or validation: it drains c.Request.Body and caches the bytes.
	r.Use(func(c *gin.Context) {
		var probe struct {
			ID string `json:"id"`
		}
		if c.ContentType() == "application/json" && c.ShouldBindBodyWith(&probe, binding.JSON) == nil && probe.ID != "" {
			a.bound.Store(probe.ID, true)
		}
		c.Next()
	})
	r.POST("/webhooks/codat", codathookgin.Handler(rcv, codathook.EndpointNew))
	r.POST("/webhooks/codat/legacy", codathookgin.Handler(rcv, codathook.EndpointLegacy))
	r.POST("/tenants/:tenant/webhooks/codat", codathookgin.Handler(rcv, codathook.EndpointNew))
	r.POST("/wrapped/codat", codathookgin.Middleware(rcv, codathook.EndpointNew), func(c *gin.Context) {
		ev, ok := codathookgin.Event(c)
		if !ok {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		// The body is restored: the handler binds the payload as usual.
		var body struct {
			ID        string `json:"id"`
			EventType string `json:"eventType"`
		}
		if err := c.ShouldBindJSON(&body); err != nil || body.ID != ev.ID || body.EventType != ev.Type {
			c.AbortWithStatus(http.StatusTeapot)
			return
		}
		switch a.chainFail.Load() {
		case "status":
			c.AbortWithStatus(http.StatusServiceUnavailable)
			return
		case "error":
			_ = c.Error(fmt.Errorf("downstream failed"))
			return
		}
		a.chain.Add(1)
		c.Status(http.StatusNoContent)
	})
	a.srv = httptest.NewServer(r)
	t.Cleanup(a.srv.Close)
	return a
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

// do sends r to the app's server and returns the status and result header.
func (a *app) do(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := codathooktest.Send(t.Context(), a.srv.Client(), a.srv.URL+r.URL.Path, r)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(codathook.HeaderResult)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// send delivers one or more requests and returns the last status and
		// result header, and the event id.
		send          func(t *testing.T, a *app) (int, string, string)
		wantStatus    int
		wantResult    codathook.Result
		wantCallbacks int64
		wantLog       string
	}{
		{
			name: "a signed delivery is verified after the app bound its body, and processed once",
			send: func(t *testing.T, a *app) (int, string, string) {
				body, id := sample(t, "connection.connected")
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
				if _, ok := a.bound.Load(id); !ok {
					t.Errorf("the global middleware did not bind the body: the test proves nothing")
				}
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantLog: "204 /webhooks/codat",
		},
		{
			name: "a legacy delivery with its Authorization is processed",
			send: func(t *testing.T, a *app) (int, string, string) {
				body, err := codathooktest.LegacySample("Data sync completed", codathooktest.SampleOptions{})
				if err != nil {
					t.Fatal(err)
				}
				st, res := a.do(t, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", legacyAuth, body))
				return st, res, ""
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantLog: "204 /webhooks/codat/legacy",
		},
		{
			name: "a tampered body is 401 and runs no callback",
			send: func(t *testing.T, a *app) (int, string, string) {
				body, id := sample(t, "connection.connected")
				r := a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body)
				tampered := bytes.Replace(body, []byte(`"Linked"`), []byte(`"Unlinkd"`), 1)
				if bytes.Equal(tampered, body) {
					t.Fatal("tampering changed nothing")
				}
				r.Body = io.NopCloser(bytes.NewReader(tampered))
				st, res := a.do(t, r)
				return st, res, id
			},
			wantStatus: 401, wantResult: codathook.ResultUnauthorized, wantLog: "401 /webhooks/codat",
		},
		{
			name: "a body over the limit is 413 even after the app bound it",
			send: func(t *testing.T, a *app) (int, string, string) {
				id := codathooktest.NewID()
				body := fmt.Appendf(nil, `{"id":%q,"eventType":"connection.connected","pad":%q}`, id, strings.Repeat("x", maxBody))
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
				return st, res, id
			},
			wantStatus: 413, wantResult: codathook.ResultTooLarge, wantLog: "413 /webhooks/codat",
		},
		{
			name: "a retried delivery is acknowledged as a duplicate without a second callback",
			send: func(t *testing.T, a *app) (int, string, string) {
				body, id := sample(t, "read.completed")
				r := a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body)
				if st, _ := a.do(t, r); st != 204 {
					t.Fatalf("first delivery: status = %d, want 204", st)
				}
				st, res := a.do(t, r)
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultDuplicate, wantCallbacks: 1,
		},
		{
			name: "a GET is not routed to the receiver (gin answers 404)",
			send: func(t *testing.T, a *app) (int, string, string) {
				r := httptest.NewRequest(http.MethodGet, "/webhooks/codat", nil)
				st, res := a.do(t, r)
				return st, res, ""
			},
			wantStatus: 404,
		},
		{
			name: "a route parameter reaches the callback as a path value",
			send: func(t *testing.T, a *app) (int, string, string) {
				body, id := sample(t, "company.created")
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
				v, _ := a.tenants.Load(id)
				if got, want := v, "acme"; got != want {
					t.Errorf("tenant in callback = %v, want %q", got, want)
				}
				return st, res, id
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			status, result, _ := tt.send(t, a)
			if got, want := status, tt.wantStatus; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := result, string(tt.wantResult); got != want {
				t.Errorf("%s = %q, want %q", codathook.HeaderResult, got, want)
			}
			if got, want := a.callbacks.Load(), tt.wantCallbacks; got != want {
				t.Errorf("callbacks = %d, want %d", got, want)
			}
			if tt.wantLog != "" && !strings.Contains(a.log.String(), tt.wantLog+"\n") {
				t.Errorf("gin.Logger output = %q, want a line %q", a.log.String(), tt.wantLog)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fail       string // how the chain fails on the first delivery
		tamper     bool
		repeat     bool // send the same delivery a second time
		wantStatus []int
		wantResult []codathook.Result
		wantChain  int64
	}{
		{
			name:       "a delivery runs the chain once with the event and the restored body",
			wantStatus: []int{204}, wantResult: []codathook.Result{codathook.ResultProcessed}, wantChain: 1,
		},
		{
			name:   "a duplicate is acknowledged without running the chain again",
			repeat: true, wantStatus: []int{204, 204}, wantResult: []codathook.Result{codathook.ResultProcessed, codathook.ResultDuplicate}, wantChain: 1,
		},
		{
			name:   "a tampered body is 401 and the chain does not run",
			tamper: true, wantStatus: []int{401}, wantResult: []codathook.Result{codathook.ResultUnauthorized},
		},
		{
			name: "a chain answering 503 releases the delivery so that the retry runs it",
			fail: "status", repeat: true, wantStatus: []int{503, 204}, wantResult: []codathook.Result{codathook.ResultFailed, codathook.ResultProcessed}, wantChain: 1,
		},
		{
			name: "a chain recording c.Error without a response is 503 and released",
			fail: "error", repeat: true, wantStatus: []int{503, 204}, wantResult: []codathook.Result{codathook.ResultFailed, codathook.ResultProcessed}, wantChain: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			a.chainFail.Store(tt.fail)
			body, _ := sample(t, "connection.connected")
			r := a.signer.NewRequest(http.MethodPost, "/wrapped/codat", body)
			if tt.tamper {
				r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("Linked"), []byte("Linkex"), 1)))
			}
			var statuses []int
			var results []codathook.Result
			n := 1
			if tt.repeat {
				n = 2
			}
			for i := range n {
				if i == 1 {
					a.chainFail.Store("")
				}
				st, res := a.do(t, r)
				statuses, results = append(statuses, st), append(results, codathook.Result(res))
			}
			if got, want := fmt.Sprint(statuses), fmt.Sprint(tt.wantStatus); got != want {
				t.Errorf("statuses = %s, want %s", got, want)
			}
			if got, want := fmt.Sprint(results), fmt.Sprint(tt.wantResult); got != want {
				t.Errorf("%s headers = %s, want %s", codathook.HeaderResult, got, want)
			}
			if got, want := a.chain.Load(), tt.wantChain; got != want {
				t.Errorf("chain runs = %d, want %d", got, want)
			}
			if got := a.callbacks.Load(); got != 0 {
				t.Errorf("callbacks = %d, want 0 (Middleware does not dispatch)", got)
			}
			if got, want := strings.Count(a.log.String(), "/wrapped/codat\n"), n; got != want {
				t.Errorf("gin.Logger lines = %d, want %d", got, want)
			}
		})
	}
}

func TestEventOutsideMiddleware(t *testing.T) {
	t.Parallel()
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	if _, ok := codathookgin.Event(c); ok {
		t.Errorf("Event on a context without a request = true, want false")
	}
	c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
	if _, ok := codathookgin.Delivery(c); ok {
		t.Errorf("Delivery on a plain request = true, want false")
	}
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug route listing on stdout, which Examples compare
	os.Exit(m.Run())
}
