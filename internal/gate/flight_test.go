package gate_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
)

// TestGateHungProviderBoundsGoroutines sends 2,000 deliveries, each with its
// own evaluation context, against a provider that hangs (ignoring its
// context). Each delivery gets its fallback within the timeout; at most
// DefaultMaxInFlight evaluation goroutines stay behind (before the bound,
// every delivery left one: 2,000), and they all end once the provider
// returns.
//
// It counts the process's goroutines, so it does not run in parallel with
// other tests.
func TestGateHungProviderBoundsGoroutines(t *testing.T) {
	const (
		deliveries = 2000
		slack      = 10 // goroutines that may still be exiting
	)
	c, p := newHungClient(t)
	log, _ := newLogger()
	g, err := gate.New(c, &toggle.Config{Timeout: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	before := runtime.NumGoroutine()

	var wg sync.WaitGroup
	decisions := make([]gate.Decision, deliveries)
	for i := range deliveries {
		wg.Go(func() {
			r := newReq
			r.CompanyID = fmt.Sprint("company-", i)
			decisions[i] = g.Evaluate(t.Context(), r)
		})
	}
	wg.Wait()
	for i, d := range decisions {
		if !d.Enabled || !d.Fallback || !(errors.Is(d.Err, gate.ErrTimeout) || errors.Is(d.Err, gate.ErrOverloaded)) {
			t.Fatalf("delivery %d: decision %+v, want the fail-open fallback with ErrTimeout or ErrOverloaded", i, d)
		}
	}
	waitFor(t, fmt.Sprintf("at most %d goroutines over the %d before", gate.DefaultMaxInFlight+slack, before), func() bool {
		return runtime.NumGoroutine() <= before+gate.DefaultMaxInFlight+slack &&
			g.Stats().InFlight == gate.DefaultMaxInFlight && p.calls.Load() == gate.DefaultMaxInFlight
	})
	t.Logf("goroutines: %d before, %d after %d deliveries against the hung provider", before, runtime.NumGoroutine(), deliveries)
	st := g.Stats().New
	if st.Errors != deliveries || st.Timeouts+st.Overloaded != deliveries || st.Timeouts < gate.DefaultMaxInFlight {
		t.Errorf("Errors, Timeouts, Overloaded = %d, %d, %d; want %d errors, each a timeout (at least the %d evaluations in flight) or an overload",
			st.Errors, st.Timeouts, st.Overloaded, deliveries, gate.DefaultMaxInFlight)
	}

	p.unblock()
	waitFor(t, "the evaluations to drain", func() bool {
		return runtime.NumGoroutine() <= before+slack && g.Stats().InFlight == 0
	})
	t.Logf("goroutines: %d after the provider returned", runtime.NumGoroutine())
	// With the slots free again, a delivery is evaluated.
	if d := g.Evaluate(t.Context(), newReq); d.Err != nil || !d.Enabled {
		t.Errorf("after the provider recovered: decision %+v, want an evaluated true", d)
	}
}

// TestGateSharesConcurrentIdenticalEvaluations: concurrent deliveries with
// the same evaluation context wait for one provider call; another context
// gets its own.
func TestGateSharesConcurrentIdenticalEvaluations(t *testing.T) {
	t.Parallel()
	for _, cacheSize := range []int{0, 100} {
		t.Run(fmt.Sprintf("cache=%d", cacheSize), func(t *testing.T) {
			t.Parallel()
			const n = 50
			c, p := newHungClient(t)
			g, err := gate.New(c, &toggle.Config{Timeout: time.Minute, CacheSize: cacheSize})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			var waiting sync.WaitGroup
			waiting.Add(n + 1)
			gate.SetTestHookWaiting(g, waiting.Done)

			decisions := make([]gate.Decision, n+1)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { decisions[i] = g.Evaluate(t.Context(), newReq) })
			}
			other := newReq
			other.CompanyID = "other-company"
			wg.Go(func() { decisions[n] = g.Evaluate(t.Context(), other) })
			waiting.Wait() // every delivery has started or joined its evaluation
			waitFor(t, "two provider calls", func() bool { return p.calls.Load() == 2 })
			p.unblock()
			wg.Wait()
			if got, want := p.calls.Load(), int64(2); got != want {
				t.Errorf("provider calls = %d, want %d: one per evaluation context", got, want)
			}
			for i, d := range decisions {
				if d.Err != nil || !d.Enabled || d.Reason != string(openfeature.TargetingMatchReason) || d.Variant != "on" {
					t.Errorf("delivery %d: decision %+v, want the provider's answer", i, d)
				}
			}
			if st := g.Stats().New; st.Errors != 0 || st.Evaluations != n+1 {
				t.Errorf("Errors, Evaluations = %d, %d; want 0, %d", st.Errors, st.Evaluations, n+1)
			}
		})
	}
}

// TestGateFullSemaphoreAppliesFallback: with every evaluation slot held by a
// hung provider, a delivery that needs an evaluation gets its endpoint's
// fallback at once, logged and counted; one that can share the evaluation in
// flight needs no slot.
func TestGateFullSemaphoreAppliesFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		req   gate.Request
		cfg   toggle.Config
		want  gate.Action
		retry time.Duration
	}{
		{name: "fail open processes", req: newReq, want: gate.ActionProcess},
		{
			name: "fail closed defers", req: legacyReq, want: gate.ActionDefer, retry: 30 * time.Second,
			cfg: toggle.Config{Legacy: toggle.EndpointConfig{FailClosed: true, RetryAfter: 30 * time.Second}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, p := newHungClient(t)
			log, buf := newLogger()
			cfg := tt.cfg
			cfg.Timeout, cfg.MaxInFlight, cfg.Logger = time.Minute, 1, log
			g, err := gate.New(c, &cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			var waiting atomic.Int64
			gate.SetTestHookWaiting(g, func() { waiting.Add(1) })

			var wg sync.WaitGroup
			var first, joined gate.Decision
			wg.Go(func() { first = g.Evaluate(t.Context(), tt.req) })
			waitFor(t, "the first evaluation to hold the slot", func() bool { return p.calls.Load() == 1 })

			other := tt.req
			other.CompanyID = "other-company"
			start := time.Now()
			d := g.Evaluate(t.Context(), other)
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("Evaluate took %v, want the fallback at once (Timeout is a minute)", el)
			}
			if d.Action != tt.want || d.RetryAfter != tt.retry || !d.Fallback || !errors.Is(d.Err, gate.ErrOverloaded) {
				t.Errorf("decision %+v, want Action %v RetryAfter %v, a fallback with ErrOverloaded", d, tt.want, tt.retry)
			}
			if !strings.Contains(buf.String(), "too many flag evaluations in flight") {
				t.Errorf("log = %q, want a warning naming the overload", buf.String())
			}
			ep := g.Stats().New
			if tt.req.Endpoint == gate.EndpointLegacy {
				ep = g.Stats().Legacy
			}
			if ep.Overloaded != 1 || ep.Errors != 1 || ep.Fallbacks != 1 || ep.Timeouts != 0 {
				t.Errorf("Overloaded, Errors, Fallbacks, Timeouts = %d, %d, %d, %d; want 1, 1, 1, 0", ep.Overloaded, ep.Errors, ep.Fallbacks, ep.Timeouts)
			}

			// The same context as the evaluation in flight joins it.
			wg.Go(func() { joined = g.Evaluate(t.Context(), tt.req) })
			waitFor(t, "the third delivery to join", func() bool { return waiting.Load() == 3 })
			p.unblock()
			wg.Wait()
			for _, d := range []gate.Decision{first, joined} {
				if d.Err != nil || !d.Enabled {
					t.Errorf("decision %+v, want the provider's true", d)
				}
			}
			if got := p.calls.Load(); got != 1 {
				t.Errorf("provider calls = %d, want 1", got)
			}
			if got := g.Stats().InFlight; got != 0 {
				t.Errorf("InFlight = %d after the provider returned, want 0", got)
			}
		})
	}
}

// TestGateHungSharedEvaluationIsForgotten: the deliveries waiting for a
// shared evaluation that outlives the timeout get their fallback, and the
// next delivery starts a new evaluation rather than wait for the hung one.
func TestGateHungSharedEvaluationIsForgotten(t *testing.T) {
	t.Parallel()
	c, p := newHungClient(t)
	log, _ := newLogger()
	g, err := gate.New(c, &toggle.Config{Timeout: 20 * time.Millisecond, New: toggle.EndpointConfig{FailClosed: true}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	for i := range 3 {
		d := g.Evaluate(t.Context(), newReq)
		if d.Action != gate.ActionDefer || !errors.Is(d.Err, gate.ErrTimeout) {
			t.Fatalf("delivery %d: decision %+v, want the fail-closed fallback with ErrTimeout", i, d)
		}
		// Each delivery started a new evaluation, which is hung.
		waitFor(t, fmt.Sprintf("provider call %d", i+1), func() bool { return p.calls.Load() == int64(i+1) })
	}
	if got, want := g.Stats().InFlight, int64(3); got != want {
		t.Errorf("InFlight = %d, want %d", got, want)
	}
}

// TestGateInvalidationStopsSharing: a delivery arriving after a provider
// event does not join an evaluation that began before it, and that
// evaluation's result is not cached.
func TestGateInvalidationStopsSharing(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	f := &fakeClient{}
	f.eval = func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
		v := f.value.Load()
		if f.calls.Load() == 1 { // only the first call hangs
			close(started)
			<-release
		}
		d := openfeature.BooleanEvaluationDetails{Value: v}
		d.Reason = openfeature.TargetingMatchReason
		return d, nil
	}
	f.value.Store(true)
	g, err := gate.New(f, &toggle.Config{CacheSize: 10, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	done := make(chan gate.Decision)
	go func() { done <- g.Evaluate(context.Background(), newReq) }()
	<-started
	f.value.Store(false)
	f.fire(openfeature.ProviderConfigChange)
	if d := g.Evaluate(t.Context(), newReq); d.Enabled || d.Cached {
		t.Errorf("after the event: {Enabled:%v Cached:%v}, want a new evaluation {Enabled:false Cached:false}", d.Enabled, d.Cached)
	}
	close(release)
	if d := <-done; !d.Enabled {
		t.Errorf("evaluation begun before the event: Enabled = false, want the value it read (true)")
	}
	if d := g.Evaluate(t.Context(), newReq); d.Enabled || !d.Cached {
		t.Errorf("then: {Enabled:%v Cached:%v}, want the new value cached {Enabled:false Cached:true}", d.Enabled, d.Cached)
	}
}

// TestGateCancelledDeliveryLeavesSharedEvaluation: a delivery whose context
// ends stops waiting, and the others waiting for the same evaluation still
// get its result.
func TestGateCancelledDeliveryLeavesSharedEvaluation(t *testing.T) {
	t.Parallel()
	c, p := newHungClient(t)
	log, _ := newLogger()
	g, err := gate.New(c, &toggle.Config{Timeout: time.Minute, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	var waiting sync.WaitGroup
	waiting.Add(2)
	gate.SetTestHookWaiting(g, waiting.Done)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var cancelled, other gate.Decision
	wg.Go(func() { cancelled = g.Evaluate(ctx, newReq) })
	wg.Go(func() { other = g.Evaluate(t.Context(), newReq) })
	waiting.Wait()
	cancel()
	waitFor(t, "the cancelled delivery's fallback", func() bool { return g.Stats().New.Errors == 1 })
	p.unblock()
	wg.Wait()
	if !errors.Is(cancelled.Err, context.Canceled) || !cancelled.Fallback {
		t.Errorf("cancelled delivery: decision %+v, want a fallback with context.Canceled", cancelled)
	}
	if other.Err != nil || !other.Enabled {
		t.Errorf("other delivery: decision %+v, want the provider's true", other)
	}
	if got := p.calls.Load(); got != 1 {
		t.Errorf("provider calls = %d, want 1", got)
	}
}

// TestGateLateResultIsCached: an evaluation that outlives the timeout still
// caches its result when it arrives, for the deliveries after it.
func TestGateLateResultIsCached(t *testing.T) {
	t.Parallel()
	c, p := newHungClient(t)
	log, _ := newLogger()
	g, err := gate.New(c, &toggle.Config{Timeout: 20 * time.Millisecond, CacheSize: 10, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	if d := g.Evaluate(t.Context(), newReq); !errors.Is(d.Err, gate.ErrTimeout) {
		t.Fatalf("decision %+v, want ErrTimeout", d)
	}
	p.unblock()
	waitFor(t, "the evaluation to end", func() bool { return g.Stats().InFlight == 0 })
	if d := g.Evaluate(t.Context(), newReq); !d.Cached || d.Err != nil || d.Variant != "on" {
		t.Errorf("next delivery: decision %+v, want the late result, cached", d)
	}
	if got := p.calls.Load(); got != 1 {
		t.Errorf("provider calls = %d, want 1", got)
	}
}
