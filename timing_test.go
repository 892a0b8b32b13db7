package codathook_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// The observer learns when the flag and store steps ran and how long they
// took; a retry answered from the delivery key runs neither.
func TestOutcomeTimesTheFlagAndStoreSteps(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		toggle.DefaultNewFlag: boolFlag(true),
	})); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []codathook.Outcome
	h := newHarness(t, codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1}),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
			mu.Lock()
			got = append(got, o)
			mu.Unlock()
		}))
	h.signer.MsgID = "msg_timing"
	body := connectedBody("evt-timing")
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body))
	send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), body))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d outcomes, want 2", len(got))
	}
	first, retry := got[0], got[1]
	if first.Result != codathook.ResultProcessed || first.FlagStart.IsZero() || first.ClaimStart.IsZero() || first.SettleStart.IsZero() {
		t.Errorf("processed delivery: %+v, want every step timed", first)
	}
	if first.FlagDuration <= 0 || first.ClaimDuration <= 0 || first.SettleDuration <= 0 {
		t.Errorf("durations %v %v %v, want > 0", first.FlagDuration, first.ClaimDuration, first.SettleDuration)
	}
	if !first.FlagStart.Before(first.ClaimStart) || !first.ClaimStart.Before(first.SettleStart) {
		t.Errorf("steps out of order: flag %v, claim %v, settle %v", first.FlagStart, first.ClaimStart, first.SettleStart)
	}
	if retry.Result != codathook.ResultDuplicate || !retry.ClaimStart.IsZero() || !retry.FlagStart.IsZero() {
		t.Errorf("retry: %+v, want a duplicate with no flag or store step", retry)
	}
}
