package codathook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

func boolFlag(on bool) memprovider.InMemoryFlag {
	v := "off"
	if on {
		v = "on"
	}
	return memprovider.InMemoryFlag{State: memprovider.Enabled, DefaultVariant: v, Variants: map[string]any{"on": true, "off": false}}
}

// newFlagged returns a harness whose endpoints are gated by an in-memory
// provider on an isolated OpenFeature API.
func newFlagged(t *testing.T, flags map[string]memprovider.InMemoryFlag, cfg *toggle.Config) (*harness, *memprovider.InMemoryProvider) {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	p := memprovider.NewInMemoryProvider(flags)
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return newHarness(t, codathook.WithFlags(api.NewClient(), cfg)), p
}

func result(resp *http.Response) codathook.Result {
	return codathook.Result(resp.Header.Get(codathook.HeaderResult))
}

func TestFlagGateStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		legacy, newOn  bool
		cfg            *toggle.Config
		wantLegacy     codathook.Result
		wantNew        codathook.Result
		wantStatusNew  int
		wantRetryAfter string
	}{
		{name: "both on", legacy: true, newOn: true, wantLegacy: codathook.ResultProcessed, wantNew: codathook.ResultDuplicate, wantStatusNew: 204},
		{name: "legacy off, new on", legacy: false, newOn: true, wantLegacy: codathook.ResultSkipped, wantNew: codathook.ResultProcessed, wantStatusNew: 204},
		{name: "legacy on, new off", legacy: true, newOn: false, wantLegacy: codathook.ResultProcessed, wantNew: codathook.ResultSkipped, wantStatusNew: 204},
		{name: "new off and set to defer", legacy: true, newOn: false,
			cfg:        &toggle.Config{New: toggle.EndpointConfig{Defer: true, RetryAfter: 90e9}},
			wantLegacy: codathook.ResultProcessed, wantNew: codathook.ResultDeferred, wantStatusNew: 503, wantRetryAfter: "90"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newFlagged(t, map[string]memprovider.InMemoryFlag{
				toggle.DefaultLegacyFlag: boolFlag(tc.legacy), toggle.DefaultNewFlag: boolFlag(tc.newOn),
			}, tc.cfg)
			resp, _ := send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legacyConnectedBody("a1")))
			if got := result(resp); got != tc.wantLegacy {
				t.Errorf("legacy: result = %q, want %q", got, tc.wantLegacy)
			}
			resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
			if got := result(resp); got != tc.wantNew || resp.StatusCode != tc.wantStatusNew {
				t.Errorf("new: result = %q status %d, want %q %d", got, resp.StatusCode, tc.wantNew, tc.wantStatusNew)
			}
			if got := resp.Header.Get("Retry-After"); tc.wantRetryAfter != "" && got != tc.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.wantRetryAfter)
			}
			wantCalls := int64(1)
			if !tc.legacy && !tc.newOn {
				wantCalls = 0
			}
			if got := h.calls.Load(); got != wantCalls {
				t.Errorf("callback calls = %d, want %d", got, wantCalls)
			}
		})
	}
}

// A delivery skipped by the flag is not claimed: the same delivery replayed
// after the flag is switched on is processed.
func TestFlagSkippedDeliveryIsNotClaimed(t *testing.T) {
	t.Parallel()
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false)}, &toggle.Config{Timeout: -1})
	h.signer.MsgID = "msg_replayed"
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if got := result(resp); got != codathook.ResultSkipped {
		t.Fatalf("flag off: result = %q, want skipped", got)
	}
	p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(true)})
	resp, _ = send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
	if got := result(resp); got != codathook.ResultProcessed {
		t.Errorf("replay with flag on: result = %q, want processed", got)
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

// Expand/contract: the legacy endpoint processes while the new one is off,
// then the operator flips both; no occurrence is lost or doubled, although
// the twins arrive on the other side of each flip.
func TestFlagFlipMidStream(t *testing.T) {
	t.Parallel()
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{
		toggle.DefaultLegacyFlag: boolFlag(true), toggle.DefaultNewFlag: boolFlag(false),
	}, &toggle.Config{Timeout: -1})
	flip := func(legacy, newOn bool) {
		p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(legacy), toggle.DefaultNewFlag: boolFlag(newOn)})
	}
	// Occurrence i: connection k-i connected, delivered in both formats.
	deliver := func(i int, legacyFirst bool) {
		conn := "k-" + strconv.Itoa(i)
		newB := fmt.Appendf(nil, `{"id":"e-%d","eventType":"connection.connected","payload":{"referenceCompany":{"id":"co"},"connection":{"id":%q,"status":"Linked"}}}`, i, conn)
		legB := fmt.Appendf(nil, `{"AlertId":"a-%d","RuleType":"DataConnectionStatusChanged","CompanyId":"co","DataConnectionId":%q,"Data":{"newStatus":"Linked","oldStatus":"PendingAuth"}}`, i, conn)
		l := func() { send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legB)) }
		n := func() { send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), newB)) }
		if legacyFirst {
			l()
			n()
		} else {
			n()
			l()
		}
	}
	deliver(1, true)
	deliver(2, false)
	flip(true, true) // expand: both on
	deliver(3, true)
	deliver(4, false)
	flip(false, true) // contract: legacy off
	deliver(5, true)
	deliver(6, false)
	if got := h.calls.Load(); got != 6 {
		t.Errorf("callback calls = %d, want 6 (each occurrence exactly once)", got)
	}
}

// Same connection connected, disconnected and connected again across a flip:
// every genuine occurrence is processed once (pairing, not merging).
func TestFlagFlipKeepsPairingAligned(t *testing.T) {
	t.Parallel()
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{
		toggle.DefaultLegacyFlag: boolFlag(true), toggle.DefaultNewFlag: boolFlag(false),
	}, &toggle.Config{Timeout: -1})
	newB := func(id string) []byte { return connectedBody(id) }
	legB := func(id string) []byte { return legacyConnectedBody(id) }
	send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legB("a1"))) // processed by legacy
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), newB("e1")))          // skipped by new (recorded)
	p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(false), toggle.DefaultNewFlag: boolFlag(true)})
	send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, legB("a2"))) // skipped (recorded)
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), newB("e2")))
	if got := result(resp); got != codathook.ResultProcessed {
		t.Errorf("second connected, new endpoint on: result = %q, want processed", got)
	}
	if got := h.calls.Load(); got != 2 {
		t.Errorf("calls = %d, want 2", got)
	}
}

func TestFlagPerCompanyTargeting(t *testing.T) {
	t.Parallel()
	ce := func(this memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		on := fc["targetingKey"] == "pilot-co"
		return on, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason}
	}
	f := boolFlag(false)
	f.ContextEvaluator = &ce
	h, _ := newFlagged(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: f}, nil)
	for _, tc := range []struct {
		company string
		want    codathook.Result
	}{{"pilot-co", codathook.ResultProcessed}, {"other-co", codathook.ResultSkipped}} {
		body := fmt.Appendf(nil, `{"id":"e-%s","eventType":"company.created","payload":{"id":%q,"name":"n"}}`, tc.company, tc.company)
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body))
		if got := result(resp); got != tc.want {
			t.Errorf("company %s: result = %q, want %q", tc.company, got, tc.want)
		}
	}
}

// errorProvider fails every evaluation.
type errorProvider struct{ *memprovider.InMemoryProvider }

func (errorProvider) BooleanEvaluation(context.Context, string, bool, openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return openfeature.BoolResolutionDetail{Value: false, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
		ResolutionError: openfeature.NewGeneralResolutionError("backend down"), Reason: openfeature.ErrorReason}}
}

func TestFlagProviderErrorDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		cfg        *toggle.Config
		want       codathook.Result
		wantStatus int
	}{
		{"fails open by default: processed", nil, codathook.ResultProcessed, 204},
		{"fail closed: deferred, never acknowledged", &toggle.Config{New: toggle.EndpointConfig{FailClosed: true}}, codathook.ResultDeferred, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := isolated.NewAPI()
			t.Cleanup(func() { api.Shutdown(context.Background()) })
			if err := api.SetProviderAndWait(context.Background(), errorProvider{memprovider.NewInMemoryProvider(nil)}); err != nil {
				t.Fatal(err)
			}
			var outcomes atomic.Int64
			h := newHarness(t, codathook.WithFlags(api.NewClient(), tc.cfg), codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
				if errors.Is(o.Err, codathook.ErrDeferred) || o.Result == codathook.ResultProcessed {
					outcomes.Add(1)
				}
			}))
			resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e1")))
			if got := result(resp); got != tc.want || resp.StatusCode != tc.wantStatus {
				t.Errorf("result = %q status %d, want %q %d", got, resp.StatusCode, tc.want, tc.wantStatus)
			}
			if outcomes.Load() != 1 {
				t.Errorf("observer did not see the outcome")
			}
		})
	}
}

// With the default config the gate caches decisions; a flip still applies to
// the deliveries after the provider's CONFIGURATION_CHANGED event.
func TestFlagCachedFlipObeyed(t *testing.T) {
	t.Parallel()
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(true)}, nil)
	for i := range 3 {
		resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e"+strconv.Itoa(i))))
		if got := result(resp); got != codathook.ResultProcessed && got != codathook.ResultDuplicate {
			t.Fatalf("flag on: result %q", got)
		}
	}
	if s := h.rcv.Stats().New.Flag; s.CacheHits != 2 {
		t.Errorf("CacheHits = %d, want 2 (a static flag is evaluated once)", s.CacheHits)
	}
	before := h.rcv.Stats().FlagInvalidations
	p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false)})
	deadline := time.Now().Add(5 * time.Second)
	for h.rcv.Stats().FlagInvalidations == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-after")))
	if got := result(resp); got != codathook.ResultSkipped {
		t.Errorf("after the flip: result %q, want skipped", got)
	}
}

// TestFlagRetryOfProcessedIsDuplicate: a retry of a message that was
// processed is a duplicate even after its endpoint's flag was switched to
// defer: it is recognised by its webhook-id before the body is parsed or the
// flag evaluated.
func TestFlagRetryOfProcessedIsDuplicate(t *testing.T) {
	t.Parallel()
	deferOff := boolFlag(false)
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{
		toggle.DefaultLegacyFlag: boolFlag(true), toggle.DefaultNewFlag: boolFlag(true),
	}, &toggle.Config{Timeout: -1, New: toggle.EndpointConfig{Defer: true}})
	h.signer.MsgID = "msg_retry"
	body := connectedBody("e-retry")
	if resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body)); result(resp) != codathook.ResultProcessed {
		t.Fatalf("first delivery: %s, want processed", result(resp))
	}
	p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(true), toggle.DefaultNewFlag: deferOff})
	if resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body)); resp.StatusCode != 204 || result(resp) != codathook.ResultDuplicate {
		t.Errorf("retry after the flip: %d %s, want 204 duplicate", resp.StatusCode, result(resp))
	}
	// A different message under the switched-off flag is deferred.
	h.signer.MsgID = "msg_other"
	if resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), connectedBody("e-other"))); resp.StatusCode != 503 || result(resp) != codathook.ResultDeferred {
		t.Errorf("new message after the flip: %d %s, want 503 deferred", resp.StatusCode, result(resp))
	}
	if n := h.calls.Load(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}
