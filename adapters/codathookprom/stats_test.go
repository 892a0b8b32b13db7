package codathookprom_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookprom"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/toggle"
)

// TestFlagStats gates the new endpoint with an in-memory OpenFeature
// provider that has no flags: each evaluation fails and the fallback
// processes the delivery. The scrape reports the evaluations, errors and
// fallbacks of rcv.Stats() per endpoint.
func TestFlagStats(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), memprovider.NewInMemoryProvider(nil)); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, codathook.WithFlags(api.NewClient(), &toggle.Config{CacheSize: 0}))
	for i := range 3 {
		body := sample(t, "connection.connected", codathooktest.SampleOptions{ID: fmt.Sprintf("f%d", i), ConnectionID: fmt.Sprintf("c%d", i)})
		want(t, "missing flag fails open", h.signed(t, body), codathook.ResultProcessed)
	}
	const expected = `
# HELP codathook_flag_errors_total Failed flag evaluations (provider error, not ready, timeout, overload, panic), by endpoint.
# TYPE codathook_flag_errors_total counter
codathook_flag_errors_total{endpoint="legacy"} 0
codathook_flag_errors_total{endpoint="new"} 3
# HELP codathook_flag_evaluations_in_flight Flag evaluations running now; a hung provider keeps it at toggle.Config.MaxInFlight.
# TYPE codathook_flag_evaluations_in_flight gauge
codathook_flag_evaluations_in_flight 0
# HELP codathook_flag_evaluations_total Deliveries gated by the endpoint's feature flag.
# TYPE codathook_flag_evaluations_total counter
codathook_flag_evaluations_total{endpoint="legacy"} 0
codathook_flag_evaluations_total{endpoint="new"} 3
# HELP codathook_flag_fallbacks_total Flag decisions taken by the fallback (failed evaluations and DISABLED flags), by endpoint.
# TYPE codathook_flag_fallbacks_total counter
codathook_flag_fallbacks_total{endpoint="legacy"} 0
codathook_flag_fallbacks_total{endpoint="new"} 3
# HELP codathook_flag_timeouts_total Flag evaluations that exceeded toggle.Config.Timeout (included in codathook_flag_errors_total), by endpoint.
# TYPE codathook_flag_timeouts_total counter
codathook_flag_timeouts_total{endpoint="legacy"} 0
codathook_flag_timeouts_total{endpoint="new"} 0
# HELP codathook_flag_decisions_total Flag decisions, by endpoint and decision (enabled: process; disabled: acknowledge or defer without processing).
# TYPE codathook_flag_decisions_total counter
codathook_flag_decisions_total{decision="disabled",endpoint="legacy"} 0
codathook_flag_decisions_total{decision="disabled",endpoint="new"} 0
codathook_flag_decisions_total{decision="enabled",endpoint="legacy"} 0
codathook_flag_decisions_total{decision="enabled",endpoint="new"} 3
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(expected),
		"codathook_flag_errors_total", "codathook_flag_evaluations_in_flight", "codathook_flag_evaluations_total",
		"codathook_flag_fallbacks_total", "codathook_flag_timeouts_total", "codathook_flag_decisions_total"); err != nil {
		t.Error(err)
	}
}

// failingCommit is a real in-memory store whose Commit fails.
type failingCommit struct{ dedupe.Store }

func (failingCommit) Commit(context.Context, string, time.Duration) error {
	return errors.New("store unreachable")
}

// TestDedupeRiskStats makes the two dedupe risks a deployment can cause
// happen: a commit that fails after the callback succeeded, and an
// in-memory store too small to keep its entries until they expire.
func TestDedupeRiskStats(t *testing.T) {
	t.Parallel()
	t.Run("commit failures", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, codathook.WithDedupe(failingCommit{dedupe.NewLRU(dedupe.LRUConfig{})}, nil))
		want(t, "commit fails", h.signed(t, sample(t, "read.completed", codathooktest.SampleOptions{})), codathook.ResultProcessed)
		if got := metricValue(t, h, "codathook_dedupe_commit_failures_total"); got != 1 {
			t.Errorf("codathook_dedupe_commit_failures_total = %v, want 1", got)
		}
	})
	t.Run("live evictions", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, codathook.WithDedupe(dedupe.NewLRU(dedupe.LRUConfig{Capacity: 2, Logger: slog.New(slog.DiscardHandler)}), nil))
		for i := range 5 {
			body := sample(t, "read.completed", codathooktest.SampleOptions{ID: fmt.Sprintf("r%d", i), CompanyID: fmt.Sprintf("co%d", i)})
			want(t, "delivery", h.signed(t, body), codathook.ResultProcessed)
		}
		got, stats := metricValue(t, h, "codathook_dedupe_live_evictions_total"), h.rcv.Stats().Dedupe.LiveEvictions
		if got == 0 || got != float64(stats) {
			t.Errorf("codathook_dedupe_live_evictions_total = %v, want Stats' %d, above 0", got, stats)
		}
		if got := metricValue(t, h, "codathook_dedupe_unpaired_total"); got != float64(h.rcv.Stats().Dedupe.Unpaired) {
			t.Errorf("codathook_dedupe_unpaired_total = %v, want Stats' %d", got, h.rcv.Stats().Dedupe.Unpaired)
		}
	})
}

// metricValue gathers h's registry and returns the value of the counter
// or gauge name; with ep, of its series whose endpoint label is ep.
func metricValue(t *testing.T, h *harness, name string, ep ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(ep) > 0 && !hasLabel(m.GetLabel(), "endpoint", ep[0]) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("%s %v not gathered", name, ep)
	return 0
}

func hasLabel(labels []*dto.LabelPair, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestAttach checks that the Stats and Migration series appear once a
// receiver is attached and go when it is detached, while the observer's
// series stay.
func TestAttach(t *testing.T) {
	t.Parallel()
	col := codathookprom.New()
	rcv, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), codathook.WithObserver(col.Observe))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close(context.Background()) })
	stats, steps := "codathook_dedupe_commit_failures_total", "codathook_migration_step"
	count := func(when string, wantStats, wantSteps int) {
		t.Helper()
		if n := testutil.CollectAndCount(col, stats); n != wantStats {
			t.Errorf("%s: %d %s series, want %d", when, n, stats, wantStats)
		}
		if n := testutil.CollectAndCount(col, steps); n != wantSteps {
			t.Errorf("%s: %d %s series, want %d", when, n, steps, wantSteps)
		}
	}
	count("before Attach", 0, 0)
	col.Attach(rcv)
	count("after Attach", 1, 5)
	col.Attach(nil)
	count("after Attach(nil)", 0, 0)
	if n := testutil.CollectAndCount(col, "codathook_twins_paired_total"); n != 2 {
		t.Errorf("codathook_twins_paired_total: %d series, want 2 (one per endpoint)", n)
	}
}

// TestInFlight holds a callback and checks that the request counts in
// codathook_requests_in_flight while it runs, and not after.
func TestInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gauge := func() float64 { return metricValue(t, h, "codathook_requests_in_flight", "new") }
	done := make(chan codathook.Result)
	go func() { done <- h.signed(t, sample(t, "read.completed", codathooktest.SampleOptions{ID: "block-1"})) }()
	<-h.inside
	if got := gauge(); got != 1 {
		t.Errorf("while the callback runs: codathook_requests_in_flight{endpoint=\"new\"} = %v, want 1", got)
	}
	close(h.block)
	want(t, "held delivery", <-done, codathook.ResultProcessed)
	if got := gauge(); got != 0 {
		t.Errorf("after the answer: codathook_requests_in_flight{endpoint=\"new\"} = %v, want 0", got)
	}
}
