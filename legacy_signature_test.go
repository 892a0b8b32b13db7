package codathook_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// outcomeLog collects the receiver's outcomes (WithObserver).
type outcomeLog struct {
	mu  sync.Mutex
	all []codathook.Outcome
}

func (l *outcomeLog) observe(_ context.Context, o codathook.Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, o)
}

func (l *outcomeLog) first(t *testing.T) codathook.Outcome {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		t.Fatal("no outcome observed")
	}
	return l.all[0]
}

func discardLogs() codathook.Option { return codathook.WithLogger(slog.New(slog.DiscardHandler)) }

// newFlagAPI returns an isolated OpenFeature API whose provider serves flags.
func newFlagAPI(t *testing.T, flags map[string]memprovider.InMemoryFlag) *openfeature.EvaluationAPI {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), memprovider.NewInMemoryProvider(flags)); err != nil {
		t.Fatal(err)
	}
	return api
}

// The legacy endpoint is guarded by a static Authorization value only, so a
// new-format body there must carry a valid webhook signature: a forged
// unsigned one is 401 before the flag gate and the store, runs no callback,
// and claims nothing, so the genuine signed delivery of the same id on the
// new endpoint is processed, not taken for a duplicate.
func TestLegacyEndpointRefusesUnsignedNewFormat(t *testing.T) {
	t.Parallel()
	forged, err := codathooktest.Sample("company.deleted", codathooktest.SampleOptions{ID: "forged-1", CompanyID: companyID})
	if err != nil {
		t.Fatal(err)
	}
	flagsLegacyOff := func(t *testing.T) codathook.Option {
		api := newFlagAPI(t, map[string]memprovider.InMemoryFlag{
			toggle.DefaultLegacyFlag: boolFlag(false), toggle.DefaultNewFlag: boolFlag(true),
		})
		return codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1})
	}
	tests := []struct {
		name  string
		opts  func(t *testing.T) []codathook.Option
		auth  string
		extra func(*http.Request) // changes to the legacy request
	}{
		{name: "with the right legacy Authorization", auth: legacyAuth},
		{name: "on a legacy endpoint made insecure", auth: "",
			opts: func(*testing.T) []codathook.Option {
				return []codathook.Option{codathook.WithInsecureNoAuth(codathook.EndpointLegacy)}
			}},
		{name: "with the legacy flag off (refused before the gate would skip it)", auth: legacyAuth,
			opts: func(t *testing.T) []codathook.Option { return []codathook.Option{flagsLegacyOff(t)} }},
		{name: "with incomplete signature headers", auth: legacyAuth,
			extra: func(r *http.Request) { r.Header.Set(codathook.HeaderWebhookID, "msg_forged") }},
		{name: "with a signature by another secret", auth: legacyAuth,
			extra: func(r *http.Request) {
				s := codathooktest.MustSigner(otherKey)
				s.Timestamp = epoch
				for k, v := range s.Headers("msg_forged", epoch, forged) {
					r.Header[k] = v
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var log outcomeLog
			opts := []codathook.Option{codathook.WithObserver(log.observe)}
			if tc.opts != nil {
				opts = append(opts, tc.opts(t)...)
			}
			h := newHarness(t, opts...)
			req := codathooktest.NewLegacyRequest(h.legacyURL(), tc.auth, forged)
			if tc.extra != nil {
				tc.extra(req)
			}
			resp, text := send(t, req)
			if resp.StatusCode != http.StatusUnauthorized || result(resp) != codathook.ResultUnauthorized {
				t.Errorf("forged new-format body on the legacy endpoint: %d %q, want 401 unauthorized", resp.StatusCode, result(resp))
			}
			if strings.Contains(text, "codathook:") {
				t.Errorf("response body %q reveals internal error text", text)
			}
			if n := h.calls.Load(); n != 0 {
				t.Errorf("callback calls after the forged body = %d, want 0", n)
			}
			if o := log.first(t); !errors.Is(o.Err, codathook.ErrUnsignedNewFormat) {
				t.Errorf("outcome error = %v, want one matching ErrUnsignedNewFormat", o.Err)
			}
			resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), forged))
			if resp.StatusCode != http.StatusNoContent || result(resp) != codathook.ResultProcessed {
				t.Errorf("genuine signed delivery on the new endpoint: %d %q, want 204 processed", resp.StatusCode, result(resp))
			}
			if n := h.calls.Load(); n != 1 {
				t.Errorf("callback calls after the genuine delivery = %d, want 1", n)
			}
		})
	}
}

// A new-format body correctly signed with the receiver's secrets is still
// accepted on the legacy endpoint (with its Authorization), and its verified
// webhook-id is its delivery key there too: the same message on the new
// endpoint is a duplicate.
func TestLegacyEndpointAcceptsSignedNewFormat(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"webhook", "svix"} {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.signer.HeaderPrefixes = []string{set}
			h.signer.MsgID = "msg_on_legacy"
			h.signer.Header.Set("Authorization", legacyAuth)
			resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.legacyURL(), connectedBody("e-signed")))
			if resp.StatusCode != http.StatusNoContent || result(resp) != codathook.ResultProcessed {
				t.Errorf("signed new-format body on the legacy endpoint: %d %q, want 204 processed", resp.StatusCode, result(resp))
			}
			resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-signed")))
			if result(resp) != codathook.ResultDuplicate {
				t.Errorf("the same message on the new endpoint: %q, want duplicate", result(resp))
			}
			if n := h.calls.Load(); n != 1 {
				t.Errorf("callback calls = %d, want 1", n)
			}
		})
	}
}

// Without signing secrets there is nothing to verify a new-format body on
// the legacy endpoint with: it is refused, legacy bodies still pass.
func TestLegacyEndpointWithoutSecretsRefusesNewFormat(t *testing.T) {
	t.Parallel()
	var log outcomeLog
	rcv, err := codathook.New(codathook.WithLegacyAuthorization(legacyAuth), codathook.WithObserver(log.observe), discardLogs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(t.Context()) })
	h := rcv.Handler(codathook.EndpointLegacy)
	signer := codathooktest.MustSigner(testSecret)
	signer.Header.Set("Authorization", legacyAuth)
	if resp := codathooktest.Do(h, signer.NewRequest(http.MethodPost, "/", connectedBody("e1"))); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("new-format body, no secrets configured: status %d, want 401", resp.StatusCode)
	}
	if o := log.first(t); !errors.Is(o.Err, codathook.ErrUnsignedNewFormat) {
		t.Errorf("outcome error = %v, want one matching ErrUnsignedNewFormat", o.Err)
	}
	if resp := codathooktest.Do(h, codathooktest.NewLegacyRequest("/", legacyAuth, legacyConnectedBody("a1"))); resp.StatusCode != http.StatusNoContent {
		t.Errorf("legacy body: status %d, want 204", resp.StatusCode)
	}
}
