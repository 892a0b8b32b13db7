package codathook_test

import (
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
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// permanentApp is a receiver on both endpoints behind a real server, whose
// one callback (for every event) fails with fail on its first call and
// succeeds afterwards.
type permanentApp struct {
	rcv    *codathook.Receiver
	client *http.Client
	base   string
	signer *codathooktest.Signer
	logs   *syncBuffer
	calls  atomic.Int64

	mu       sync.Mutex
	outcomes []codathook.Outcome
}

func newPermanentApp(t *testing.T, proto string, fail func() error, opts ...codathook.Option) *permanentApp {
	t.Helper()
	a := &permanentApp{logs: &syncBuffer{}}
	opts = append([]codathook.Option{
		codathook.WithSecrets(testSecret), codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithLogger(slog.New(slog.NewTextHandler(a.logs, nil))),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
			a.mu.Lock()
			a.outcomes = append(a.outcomes, o)
			a.mu.Unlock()
		}),
	}, opts...)
	rcv, err := codathook.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	a.rcv = rcv
	err = codathook.On(rcv, "*", func(context.Context, *codathook.Event) error {
		if a.calls.Add(1) == 1 {
			return fail()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	srv := httptest.NewUnstartedServer(mux)
	if proto == "HTTP/2" {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		a.client = srv.Client()
	} else {
		srv.Start()
		a.client = &http.Client{Transport: &http.Transport{}}
	}
	t.Cleanup(srv.Close)
	a.base = srv.URL
	a.signer = codathooktest.MustSigner(testSecret)
	return a
}

func (a *permanentApp) do(t *testing.T, r *http.Request) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := codathooktest.Send(ctx, a.client, a.base+r.URL.Path, r)
	if err != nil {
		t.Fatalf("%s: %v", r.URL.Path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp
}

func (a *permanentApp) lastOutcome(t *testing.T) codathook.Outcome {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.outcomes) == 0 {
		t.Fatal("no outcome observed")
	}
	return a.outcomes[len(a.outcomes)-1]
}

// A callback's permanent error stops Svix retrying: the new endpoint answers
// 422 with Webhook-Delivery: abort-message and Codathook-Result rejected,
// without Retry-After; the claim is released, so a replay of the same
// message from Codat's Portal runs the callback again and is processed;
// the delivery is counted and logged. On the legacy endpoint, which has no
// such header, it is 422 rejected without it (the legacy service retries
// no 422), and the claim is released too: the new-format twin is then
// processed, not a duplicate.
func TestPermanentStopsRetries(t *testing.T) {
	t.Parallel()
	errNotServed := errors.New("company not served")
	marks := []struct {
		name string
		err  func() error
	}{
		{name: "Permanent", err: func() error { return codathook.Permanent(errNotServed) }},
		{name: "wrapping ErrPermanent", err: func() error { return fmt.Errorf("company not served: %w", codathook.ErrPermanent) }},
	}
	for _, proto := range protos {
		for _, m := range marks {
			t.Run(proto+"/"+m.name+"/new endpoint", func(t *testing.T) {
				t.Parallel()
				a := newPermanentApp(t, proto, m.err)
				a.signer.MsgID = "msg_permanent"
				resp := a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", connectedBody("e-perm")))
				if resp.StatusCode != 422 || result(resp) != codathook.ResultRejected ||
					resp.Header.Get("Webhook-Delivery") != "abort-message" || resp.Header.Get("Retry-After") != "" {
					t.Errorf("first attempt: %d %q Webhook-Delivery %q Retry-After %q, want 422 rejected abort-message and no Retry-After",
						resp.StatusCode, result(resp), resp.Header.Get("Webhook-Delivery"), resp.Header.Get("Retry-After"))
				}
				o := a.lastOutcome(t)
				if o.Result != codathook.ResultRejected || o.Status != 422 || !errors.Is(o.Err, codathook.ErrPermanent) {
					t.Errorf("outcome = %v %d %v, want rejected 422 and an error matching ErrPermanent", o.Result, o.Status, o.Err)
				}
				if m.name == "Permanent" && !errors.Is(o.Err, errNotServed) {
					t.Errorf("outcome error %v does not match the callback's own error", o.Err)
				}
				if got := a.rcv.Stats().New.Results[codathook.ResultRejected]; got != 1 {
					t.Errorf("Stats().New.Results[rejected] = %d, want 1", got)
				}
				if logs := a.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "result=rejected") {
					t.Errorf("logs do not hold the rejection at Warn:\n%s", logs)
				}
				// The Portal's replay sends the same message again.
				resp = a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", connectedBody("e-perm")))
				if resp.StatusCode != 204 || result(resp) != codathook.ResultProcessed || a.calls.Load() != 2 {
					t.Errorf("replay: %d %q after %d calls, want 204 processed after 2 (the claim was released)", resp.StatusCode, result(resp), a.calls.Load())
				}
				if resp.Header.Get("Webhook-Delivery") != "" {
					t.Errorf("processed replay carries Webhook-Delivery %q", resp.Header.Get("Webhook-Delivery"))
				}
			})
			t.Run(proto+"/"+m.name+"/legacy endpoint", func(t *testing.T) {
				t.Parallel()
				a := newPermanentApp(t, proto, m.err)
				newB, legB := twinPair(t, "occ-perm")
				resp := a.do(t, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", legacyAuth, legB))
				if resp.StatusCode != 422 || result(resp) != codathook.ResultRejected || resp.Header.Get("Webhook-Delivery") != "" {
					t.Errorf("legacy delivery: %d %q Webhook-Delivery %q, want 422 rejected without Webhook-Delivery",
						resp.StatusCode, result(resp), resp.Header.Get("Webhook-Delivery"))
				}
				if got := a.rcv.Stats().Legacy.Results[codathook.ResultRejected]; got != 1 {
					t.Errorf("Stats().Legacy.Results[rejected] = %d, want 1", got)
				}
				resp = a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", newB))
				if result(resp) != codathook.ResultProcessed || a.calls.Load() != 2 {
					t.Errorf("new-format twin: %q after %d calls, want processed after 2 (the legacy claim was released)", result(resp), a.calls.Load())
				}
			})
		}
	}
}

// Only a permanent error is rejected: an ordinary error, a panic whose
// value is a permanent error, and an error that wraps io.ErrUnexpectedEOF
// (which once made the answer 400, a status the legacy service does not
// retry) are all 503 failed with Retry-After, without Webhook-Delivery.
func TestOnlyPermanentErrorsAreRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func() error
	}{
		{name: "an ordinary error", fail: func() error { return errors.New("database down") }},
		{name: "a panic with a permanent error", fail: func() error { panic(codathook.Permanent(errors.New("bad"))) }},
		{name: "an error wrapping io.ErrUnexpectedEOF", fail: func() error { return fmt.Errorf("reading upstream: %w", io.ErrUnexpectedEOF) }},
		{name: "an error wrapping a MaxBytesError", fail: func() error { return fmt.Errorf("upstream: %w", &http.MaxBytesError{Limit: 1}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newPermanentApp(t, "HTTP/1.1", tc.fail)
			resp := a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", connectedBody("e-fail")))
			if resp.StatusCode != 503 || result(resp) != codathook.ResultFailed ||
				resp.Header.Get("Retry-After") == "" || resp.Header.Get("Webhook-Delivery") != "" {
				t.Errorf("%d %q Retry-After %q Webhook-Delivery %q, want 503 failed with Retry-After and no Webhook-Delivery",
					resp.StatusCode, result(resp), resp.Header.Get("Retry-After"), resp.Header.Get("Webhook-Delivery"))
			}
		})
	}
}

// A signed body that can never parse gets Webhook-Delivery: abort-message
// with its 400, since retrying it is pointless; a malformed body on the
// legacy endpoint, which the legacy service does not retry anyway, does
// not.
func TestSignedMalformedAborts(t *testing.T) {
	t.Parallel()
	a := newPermanentApp(t, "HTTP/1.1", func() error { return nil })
	for _, body := range []string{`[1,2]`, `{"id":"e1","eventType":42}`, `{"id":"e1","id":"e2","eventType":"connection.connected"}`} {
		resp := a.do(t, a.signer.NewRequest(http.MethodPost, "/webhooks/codat", []byte(body)))
		if resp.StatusCode != 400 || result(resp) != codathook.ResultMalformed || resp.Header.Get("Webhook-Delivery") != "abort-message" {
			t.Errorf("signed %s: %d %q Webhook-Delivery %q, want 400 malformed abort-message", body, resp.StatusCode, result(resp), resp.Header.Get("Webhook-Delivery"))
		}
	}
	resp := a.do(t, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", legacyAuth, []byte(`[1,2]`)))
	if resp.StatusCode != 400 || result(resp) != codathook.ResultMalformed || resp.Header.Get("Webhook-Delivery") != "" {
		t.Errorf("legacy: %d %q Webhook-Delivery %q, want 400 malformed without Webhook-Delivery", resp.StatusCode, result(resp), resp.Header.Get("Webhook-Delivery"))
	}
	// An unauthenticated request never gets it: the receiver does not know
	// who sent it.
	req := a.signer.NewRequest(http.MethodPost, "/webhooks/codat", []byte(`[1,2]`))
	req.Header.Set("Webhook-Signature", "v1,bm90IGEgc2lnbmF0dXJl")
	resp = a.do(t, req)
	if resp.StatusCode != 401 || resp.Header.Get("Webhook-Delivery") != "" {
		t.Errorf("unsigned: %d Webhook-Delivery %q, want 401 without Webhook-Delivery", resp.StatusCode, resp.Header.Get("Webhook-Delivery"))
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	if err := codathook.Permanent(nil); err != nil {
		t.Errorf("Permanent(nil) = %v, want nil", err)
	}
	base := &codathook.StoreError{Op: "x", Err: errors.New("inner")}
	err := codathook.Permanent(base)
	if !errors.Is(err, codathook.ErrPermanent) {
		t.Error("errors.Is(Permanent(err), ErrPermanent) = false")
	}
	if se, ok := errors.AsType[*codathook.StoreError](err); !ok || se != base {
		t.Error("errors.As does not find the marked error")
	}
	if err.Error() != base.Error() {
		t.Errorf("Error() = %q, want the marked error's %q", err.Error(), base.Error())
	}
	if got := codathook.StatusCode(err); got != 422 {
		t.Errorf("StatusCode(Permanent(err)) = %d, want 422", got)
	}
	if errors.Is(base, codathook.ErrPermanent) {
		t.Error("the marked error itself matches ErrPermanent")
	}
}
