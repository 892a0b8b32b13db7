package codathookecho_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookecho"
	"github.com/codathook/codathook/codathooktest"
)

const (
	secret     = codathooktest.DevSecret
	legacyAuth = codathooktest.DevAuthorization
	maxBody    = 4 << 10
)

// logBuffer collects request-logger lines ("status path") from concurrent requests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, format, args...)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// app is an echo server shaped like a real app (request logger, recover, a
// body dump of every request, a middleware that binds requests on another
// route) serving one receiver with both adapter forms.
type app struct {
	srv       *httptest.Server
	signer    *codathooktest.Signer
	log       *logBuffer
	callbacks atomic.Int64 // callbacks run by Handler routes
	handler   atomic.Int64 // runs of the handler wrapped by Middleware
	tenants   sync.Map     // tenant seen by a callback, by event id
	dumped    sync.Map     // request bodies seen by BodyDump, by path
	failWith  atomic.Value // string: how the wrapped handler fails
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

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			a.log.Printf("%d %s\n", v.Status, v.URIPath)
			return nil
		},
	}))
	e.Use(middleware.Recover())
	// BodyDump reads the whole request body before the receiver and puts it back.
	e.Use(middleware.BodyDump(func(c echo.Context, req, _ []byte) {
		a.dumped.Store(c.Request().URL.Path, string(req))
	}))
	e.POST("/webhooks/codat", codathookecho.Handler(rcv, codathook.EndpointNew))
	e.POST("/webhooks/codat/legacy", codathookecho.Handler(rcv, codathook.EndpointLegacy))
	e.POST("/tenants/:tenant/webhooks/codat", codathookecho.Handler(rcv, codathook.EndpointNew))
	// An app middleware that binds the body before the receiver: echo keeps
	// no copy, so the receiver cannot verify what it never sees.
	bindFirst := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var v map[string]any
			_ = c.Bind(&v)
			return next(c)
		}
	}
	e.POST("/misordered/codat", codathookecho.Handler(rcv, codathook.EndpointNew), bindFirst)
	e.POST("/wrapped/codat", func(c echo.Context) error {
		ev, ok := codathookecho.Event(c)
		if !ok {
			return c.NoContent(http.StatusInternalServerError)
		}
		// The body is restored: the handler binds the payload as usual.
		var body struct {
			ID        string `json:"id"`
			EventType string `json:"eventType"`
		}
		if err := c.Bind(&body); err != nil || body.ID != ev.ID || body.EventType != ev.Type {
			return c.NoContent(http.StatusTeapot)
		}
		switch a.failWith.Load() {
		case "status":
			return c.NoContent(http.StatusServiceUnavailable)
		case "error":
			return echo.NewHTTPError(http.StatusServiceUnavailable, "try later")
		case "plain error":
			return errors.New("downstream failed")
		case "panic":
			panic("downstream panicked")
		}
		a.handler.Add(1)
		return c.NoContent(http.StatusNoContent)
	}, codathookecho.Middleware(rcv, codathook.EndpointNew))
	a.srv = httptest.NewServer(e)
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
		name          string
		send          func(t *testing.T, a *app) (int, string)
		wantStatus    int
		wantResult    codathook.Result
		wantCallbacks int64
		wantLog       string
	}{
		{
			name: "a signed delivery is verified after BodyDump read the body, and processed once",
			send: func(t *testing.T, a *app) (int, string) {
				body, _ := sample(t, "connection.connected")
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
				if got, _ := a.dumped.Load("/webhooks/codat"); got != string(body) {
					t.Errorf("BodyDump saw %q, want the delivery's body: the test proves nothing", got)
				}
				return st, res
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantLog: "204 /webhooks/codat",
		},
		{
			name: "a legacy delivery with its Authorization is processed",
			send: func(t *testing.T, a *app) (int, string) {
				body, err := codathooktest.LegacySample("Data sync completed", codathooktest.SampleOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return a.do(t, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", legacyAuth, body))
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1, wantLog: "204 /webhooks/codat/legacy",
		},
		{
			name: "a tampered body is 401 and runs no callback",
			send: func(t *testing.T, a *app) (int, string) {
				body, _ := sample(t, "connection.connected")
				r := a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body)
				r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte(`"Linked"`), []byte(`"Linkex"`), 1)))
				return a.do(t, r)
			},
			wantStatus: 401, wantResult: codathook.ResultUnauthorized, wantLog: "401 /webhooks/codat",
		},
		{
			name: "a body over the limit is 413",
			send: func(t *testing.T, a *app) (int, string) {
				body := fmt.Appendf(nil, `{"id":%q,"eventType":"connection.connected","pad":%q}`, codathooktest.NewID(), strings.Repeat("x", maxBody))
				return a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
			},
			wantStatus: 413, wantResult: codathook.ResultTooLarge, wantLog: "413 /webhooks/codat",
		},
		{
			name: "a retried delivery is acknowledged as a duplicate without a second callback",
			send: func(t *testing.T, a *app) (int, string) {
				body, _ := sample(t, "read.completed")
				r := a.signer.NewRequest(http.MethodPost, "/webhooks/codat", body)
				if st, _ := a.do(t, r); st != 204 {
					t.Fatalf("first delivery: status = %d, want 204", st)
				}
				return a.do(t, r)
			},
			wantStatus: 204, wantResult: codathook.ResultDuplicate, wantCallbacks: 1,
		},
		{
			name: "a route parameter reaches the callback as a path value",
			send: func(t *testing.T, a *app) (int, string) {
				body, id := sample(t, "company.created")
				st, res := a.do(t, a.signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
				v, _ := a.tenants.Load(id)
				if got, want := v, "acme"; got != want {
					t.Errorf("tenant in callback = %v, want %q", got, want)
				}
				return st, res
			},
			wantStatus: 204, wantResult: codathook.ResultProcessed, wantCallbacks: 1,
		},
		{
			name: "a body drained by c.Bind before the receiver is never acknowledged",
			send: func(t *testing.T, a *app) (int, string) {
				body, _ := sample(t, "connection.connected")
				st, _ := a.do(t, a.signer.NewRequest(http.MethodPost, "/misordered/codat", body))
				if st >= 200 && st < 300 {
					t.Errorf("status = %d, want a failure so that Codat retries", st)
				}
				return 0, ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			status, result := tt.send(t, a)
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
				t.Errorf("request log = %q, want a line %q", a.log.String(), tt.wantLog)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fail        string // how the handler fails on the first delivery
		tamper      bool
		repeat      bool // send the same delivery a second time
		wantStatus  []int
		wantResult  []codathook.Result
		wantHandler int64
	}{
		{
			name:       "a delivery runs the handler once with the event and the restored body",
			wantStatus: []int{204}, wantResult: []codathook.Result{codathook.ResultProcessed}, wantHandler: 1,
		},
		{
			name:   "a duplicate is acknowledged without running the handler again",
			repeat: true, wantStatus: []int{204, 204}, wantResult: []codathook.Result{codathook.ResultProcessed, codathook.ResultDuplicate}, wantHandler: 1,
		},
		{
			name:   "a tampered body is 401 and the handler does not run",
			tamper: true, wantStatus: []int{401}, wantResult: []codathook.Result{codathook.ResultUnauthorized},
		},
		{
			name: "a handler answering 503 releases the delivery so that the retry runs it",
			fail: "status", repeat: true, wantStatus: []int{503, 204}, wantResult: []codathook.Result{codathook.ResultFailed, codathook.ResultProcessed}, wantHandler: 1,
		},
		{
			name: "a handler returning an HTTPError gets echo's error response, and the delivery is released",
			fail: "error", repeat: true, wantStatus: []int{503, 204}, wantResult: []codathook.Result{codathook.ResultFailed, codathook.ResultProcessed}, wantHandler: 1,
		},
		{
			name: "a handler returning a plain error gets echo's 500, sent as 503, and the delivery is released",
			fail: "plain error", repeat: true, wantStatus: []int{503, 204}, wantResult: []codathook.Result{codathook.ResultFailed, codathook.ResultProcessed}, wantHandler: 1,
		},
		{
			name: "a handler that panics is answered 503 by the receiver, and the delivery is released",
			fail: "panic", repeat: true, wantStatus: []int{503, 204}, wantResult: []codathook.Result{codathook.ResultFailed, codathook.ResultProcessed}, wantHandler: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			a.failWith.Store(tt.fail)
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
					a.failWith.Store("")
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
			if got, want := a.handler.Load(), tt.wantHandler; got != want {
				t.Errorf("handler runs = %d, want %d", got, want)
			}
			if got := a.callbacks.Load(); got != 0 {
				t.Errorf("callbacks = %d, want 0 (Middleware does not dispatch)", got)
			}
			// The request logger sees the status the client got.
			var wantLog strings.Builder
			for _, st := range statuses {
				fmt.Fprintf(&wantLog, "%d /wrapped/codat\n", st)
			}
			if got, want := a.log.String(), wantLog.String(); got != want {
				t.Errorf("request log = %q, want %q", got, want)
			}
		})
	}
}

func TestEventOutsideMiddleware(t *testing.T) {
	t.Parallel()
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
	if _, ok := codathookecho.Event(c); ok {
		t.Errorf("Event on a plain request = true, want false")
	}
	if _, ok := codathookecho.Delivery(c); ok {
		t.Errorf("Delivery on a plain request = true, want false")
	}
}
