package gate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

var (
	newReq    = gate.Request{Endpoint: gate.EndpointNew, Format: "new", EventType: "connection.connected", CompanyID: "c1"}
	legacyReq = gate.Request{Endpoint: gate.EndpointLegacy, Format: "legacy", EventType: "connection.connected", CompanyID: "c1", ClientID: "cl1"}
)

func TestGateStates(t *testing.T) {
	t.Parallel()
	disabled := boolFlag(false)
	disabled.State = memprovider.Disabled
	tests := []struct {
		name     string
		flags    map[string]memprovider.InMemoryFlag
		cfg      *toggle.Config
		req      gate.Request
		want     gate.Action
		fallback bool
		wantErr  bool
		retry    time.Duration
	}{
		{name: "new endpoint on processes", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(true)}, req: newReq, want: gate.ActionProcess},
		{name: "new endpoint off acknowledges by default", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false)}, req: newReq, want: gate.ActionAcknowledge},
		{name: "legacy endpoint on processes", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(true)}, req: legacyReq, want: gate.ActionProcess},
		{name: "legacy endpoint off acknowledges", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(false)}, req: legacyReq, want: gate.ActionAcknowledge},
		{
			name: "off defers when configured", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false)},
			cfg: &toggle.Config{New: toggle.EndpointConfig{Defer: true, RetryAfter: 30 * time.Second}}, req: newReq,
			want: gate.ActionDefer, retry: 30 * time.Second,
		},
		{
			name: "defer uses the default Retry-After", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(false)},
			cfg: &toggle.Config{Legacy: toggle.EndpointConfig{Defer: true}}, req: legacyReq,
			want: gate.ActionDefer, retry: gate.DefaultRetryAfter,
		},
		{
			name: "custom flag key is evaluated", flags: map[string]memprovider.InMemoryFlag{"my-new": boolFlag(false), toggle.DefaultNewFlag: boolFlag(true)},
			cfg: &toggle.Config{New: toggle.EndpointConfig{Flag: "my-new"}}, req: newReq, want: gate.ActionAcknowledge,
		},
		{name: "one endpoint's flag does not gate the other", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false), toggle.DefaultLegacyFlag: boolFlag(true)}, req: legacyReq, want: gate.ActionProcess},
		{name: "missing flag fails open", flags: map[string]memprovider.InMemoryFlag{}, req: newReq, want: gate.ActionProcess, fallback: true, wantErr: true},
		{
			name: "missing flag fails closed with defer, never acknowledge", flags: map[string]memprovider.InMemoryFlag{},
			cfg: &toggle.Config{New: toggle.EndpointConfig{FailClosed: true}}, req: newReq,
			want: gate.ActionDefer, fallback: true, wantErr: true, retry: gate.DefaultRetryAfter,
		},
		{name: "DISABLED flag state uses the fail-open fallback", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: disabled}, req: newReq, want: gate.ActionProcess, fallback: true},
		{
			name: "DISABLED flag state with FailClosed defers", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: disabled},
			cfg: &toggle.Config{New: toggle.EndpointConfig{FailClosed: true}}, req: newReq, want: gate.ActionDefer, fallback: true, retry: gate.DefaultRetryAfter,
		},
		{
			name: "wrong flag type fails open", flags: map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: {State: memprovider.Enabled, DefaultVariant: "a", Variants: map[string]any{"a": "yes"}}},
			req: newReq, want: gate.ActionProcess, fallback: true, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newMemClient(t, tt.flags)
			cfg := tt.cfg
			if cfg == nil {
				cfg = &toggle.Config{}
			}
			log, _ := newLogger()
			cfg.Logger = log
			g, err := gate.New(c, cfg)
			if err != nil {
				t.Fatalf("NewGate: %v", err)
			}
			t.Cleanup(func() { _ = g.Close() })
			d := g.Evaluate(t.Context(), tt.req)
			if got := d.Action; got != tt.want {
				t.Errorf("Action = %v, want %v (decision %+v)", got, tt.want, d)
			}
			if got, want := d.Enabled, tt.want == gate.ActionProcess; got != want {
				t.Errorf("Enabled = %v, want %v", got, want)
			}
			if got := d.Fallback; got != tt.fallback {
				t.Errorf("Fallback = %v, want %v", got, tt.fallback)
			}
			if got := d.Err != nil; got != tt.wantErr {
				t.Errorf("Err = %v, want error %v", d.Err, tt.wantErr)
			}
			if got := d.RetryAfter; got != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", got, tt.retry)
			}
			st := g.Stats()
			ep := st.New
			if tt.req.Endpoint == gate.EndpointLegacy {
				ep = st.Legacy
			}
			if got, want := ep.Evaluations, uint64(1); got != want {
				t.Errorf("Evaluations = %d, want %d", got, want)
			}
			if got, want := ep.Errors, b2u(tt.wantErr); got != want {
				t.Errorf("Errors = %d, want %d", got, want)
			}
			if got, want := ep.Fallbacks, b2u(tt.fallback); got != want {
				t.Errorf("Fallbacks = %d, want %d", got, want)
			}
			if got, want := ep.Enabled+ep.Disabled, uint64(1); got != want {
				t.Errorf("Enabled+Disabled = %d, want %d", got, want)
			}
		})
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func TestGateUnknownEndpointIsProcessed(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	g, err := gate.New(&fakeClient{}, &toggle.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d := g.Evaluate(t.Context(), gate.Request{Endpoint: "other"})
	if !d.Enabled || d.Action != gate.ActionProcess || !errors.Is(d.Err, gate.ErrUnknownEndpoint) {
		t.Errorf("decision = %+v, want processed with ErrUnknownEndpoint", d)
	}
	if got, want := g.Stats().UnknownEndpoint, uint64(1); got != want {
		t.Errorf("UnknownEndpoint = %d, want %d", got, want)
	}
}

// TestGateEvaluationContext checks the targeting key and attributes the
// provider sees, through a memprovider ContextEvaluator.
func TestGateEvaluationContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  gate.Request
		want map[string]any
	}{
		{
			name: "company event carries company targeting key and all attributes",
			req: gate.Request{Endpoint: gate.EndpointNew, Format: "new", EventType: "invoices.write.successful", CompanyID: "co-1",
				ClientHeader: "hdr-client", ClientID: "body-client", DataType: "invoices", ConnectionID: "conn-9"},
			want: map[string]any{"targetingKey": "co-1", "endpoint": "new", "format": "new", "eventType": "invoices.write.successful",
				"clientId": "hdr-client", "dataType": "invoices", "connectionId": "conn-9"},
		},
		{
			name: "rate limit event targets the client id from the header",
			req:  gate.Request{Endpoint: gate.EndpointNew, Format: "new", EventType: "client.rateLimit.reached", ClientHeader: "hdr-client"},
			want: map[string]any{"targetingKey": "hdr-client", "endpoint": "new", "format": "new", "eventType": "client.rateLimit.reached", "clientId": "hdr-client"},
		},
		{
			name: "legacy rate limit falls back to the body ClientId",
			req:  gate.Request{Endpoint: gate.EndpointLegacy, Format: "legacy", EventType: "client.rateLimit.reset", ClientID: "body-client"},
			want: map[string]any{"targetingKey": "body-client", "endpoint": "legacy", "format": "legacy", "eventType": "client.rateLimit.reset", "clientId": "body-client"},
		},
		{
			name: "empty fields are left out",
			req:  gate.Request{Endpoint: gate.EndpointLegacy, EventType: "SyncStarted"},
			want: map[string]any{"endpoint": "legacy", "eventType": "SyncStarted"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				got openfeature.FlattenedContext
			)
			ce := func(this memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
				mu.Lock()
				got = fc
				mu.Unlock()
				return true, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "on"}
			}
			f := boolFlag(true)
			f.ContextEvaluator = &ce
			c, _ := newMemClient(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: f, toggle.DefaultLegacyFlag: f})
			g, err := gate.New(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			g.Evaluate(t.Context(), tt.req)
			mu.Lock()
			defer mu.Unlock()
			if g, w := fmt.Sprint(got), fmt.Sprint(tt.want); g != w {
				t.Errorf("flattened context = %s, want %s", g, w)
			}
		})
	}
}

// TestGatePerCompanyTargeting rolls the new endpoint out to some companies
// and one event type through a ContextEvaluator.
func TestGatePerCompanyTargeting(t *testing.T) {
	t.Parallel()
	ce := func(this memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		if fc["targetingKey"] == "pilot-co" || fc["eventType"] == "client.rateLimit.reached" {
			return true, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "on"}
		}
		return false, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "off"}
	}
	f := boolFlag(false)
	f.ContextEvaluator = &ce
	c, _ := newMemClient(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: f})
	for _, cacheSize := range []int{0, 100} {
		t.Run(fmt.Sprintf("cache=%d", cacheSize), func(t *testing.T) {
			t.Parallel()
			g, err := gate.New(c, &toggle.Config{CacheSize: cacheSize})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			tests := []struct {
				company, eventType string
				want               bool
			}{
				{"pilot-co", "connection.connected", true},
				{"other-co", "connection.connected", false},
				{"", "client.rateLimit.reached", true},
				{"pilot-co", "read.completed", true},
				{"other-co", "read.completed", false},
			}
			for range 2 { // second round is served by the cache when enabled
				for _, tt := range tests {
					r := newReq
					r.CompanyID, r.EventType, r.ClientHeader = tt.company, tt.eventType, "cl"
					d := g.Evaluate(t.Context(), r)
					if got := d.Enabled; got != tt.want {
						t.Errorf("company %q event %q: Enabled = %v, want %v", tt.company, tt.eventType, got, tt.want)
					}
					if got, want := d.Reason, string(openfeature.TargetingMatchReason); got != want {
						t.Errorf("Reason = %q, want %q", got, want)
					}
				}
			}
			if cacheSize > 0 {
				if got, want := g.Stats().New.CacheHits, uint64(len(tests)); got != want {
					t.Errorf("CacheHits = %d, want %d", got, want)
				}
			}
		})
	}
}

// TestGateFlipMidStream flips the flag with UpdateFlags between deliveries.
// Without a cache the very next Evaluate obeys. With a cache, once the SDK
// has delivered the provider's CONFIGURATION_CHANGED event (the Gate's
// invalidation counter moves), the very next Evaluate obeys.
func TestGateFlipMidStream(t *testing.T) {
	t.Parallel()
	for _, cacheSize := range []int{0, 1000} {
		t.Run(fmt.Sprintf("cache=%d", cacheSize), func(t *testing.T) {
			t.Parallel()
			c, p := newMemClient(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(true)})
			g, err := gate.New(c, &toggle.Config{CacheSize: cacheSize, CacheTTL: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			want := true
			for i := range 20 {
				for range 3 {
					if got := g.Evaluate(t.Context(), newReq).Enabled; got != want {
						t.Fatalf("flip %d: Enabled = %v, want %v", i, got, want)
					}
				}
				before := g.Stats().Invalidations
				want = !want
				p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(want)})
				if cacheSize > 0 {
					waitFor(t, "cache invalidation", func() bool { return g.Stats().Invalidations > before })
				}
			}
			if cacheSize > 0 {
				st := g.Stats().New
				if st.CacheHits == 0 {
					t.Errorf("CacheHits = 0, want > 0")
				}
			}
		})
	}
}

// TestGateCacheNeverStoresAStaleResult proves the generation check: an
// evaluation that started before an invalidation must not be cached, whether
// its decision would be cached per context or, resolved as STATIC, for the
// whole endpoint (read without the cache's lock), and whether it runs on the
// delivery's goroutine or (with a timeout) on its own.
func TestGateCacheNeverStoresAStaleResult(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason  openfeature.Reason
		timeout time.Duration
	}{
		{openfeature.TargetingMatchReason, -1}, {openfeature.StaticReason, -1},
		{openfeature.TargetingMatchReason, time.Minute}, {openfeature.StaticReason, time.Minute},
	} {
		reason := tc.reason
		t.Run(fmt.Sprintf("%s/timeout=%v", reason, tc.timeout), func(t *testing.T) {
			t.Parallel()
			started, release := make(chan struct{}), make(chan struct{})
			f := &fakeClient{}
			var first sync.Once
			f.eval = func(ctx context.Context, flag string, def bool, ec openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
				v := f.value.Load()
				first.Do(func() { close(started); <-release })
				d := openfeature.BooleanEvaluationDetails{Value: v}
				d.Reason = reason
				return d, nil
			}
			f.value.Store(true)
			g, err := gate.New(f, &toggle.Config{CacheSize: 10, Timeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan gate.Decision)
			go func() { done <- g.Evaluate(context.Background(), newReq) }()
			<-started
			f.value.Store(false) // the provider changes while the evaluation is in flight
			f.fire(openfeature.ProviderConfigChange)
			close(release)
			if d := <-done; !d.Enabled {
				t.Fatalf("in-flight evaluation: Enabled = false, want the value it read (true)")
			}
			d := g.Evaluate(t.Context(), newReq)
			if d.Enabled || d.Cached {
				t.Errorf("next Evaluate = {Enabled:%v Cached:%v}, want {Enabled:false Cached:false}", d.Enabled, d.Cached)
			}
			if d := g.Evaluate(t.Context(), newReq); d.Enabled || !d.Cached {
				t.Errorf("then = {Enabled:%v Cached:%v}, want the fresh value cached {Enabled:false Cached:true}", d.Enabled, d.Cached)
			}
		})
	}
}

// TestGateStaticCacheExpiresAndCloses covers the endpoint-wide entry of a
// STATIC decision: it serves other contexts, expires with CacheTTL, is
// cleared by every provider event and by Invalidate, and is bypassed after
// Close.
func TestGateStaticCacheExpiresAndCloses(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Unix(1000, 0)}
	f := &fakeClient{} // answers STATIC
	f.value.Store(true)
	g, err := gate.New(f, &toggle.Config{CacheSize: 2, CacheTTL: time.Second, Now: clk.Now, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	calls := func() int64 { return f.calls.Load() }
	fresh := func(what string, r gate.Request) {
		t.Helper()
		before := calls()
		if d := g.Evaluate(t.Context(), r); d.Cached || calls() != before+1 {
			t.Errorf("%s: Cached = %v, want a fresh evaluation", what, d.Cached)
		}
	}
	cached := func(what string, r gate.Request) {
		t.Helper()
		before := calls()
		if d := g.Evaluate(t.Context(), r); !d.Cached || calls() != before {
			t.Errorf("%s: Cached = %v, want a cached decision", what, d.Cached)
		}
	}
	fresh("first", newReq)
	other := newReq
	other.CompanyID, other.EventType = "c2", "x"
	cached("another context", other)
	legacy := newReq
	legacy.Endpoint = gate.EndpointLegacy
	fresh("the other endpoint", legacy)
	cached("the other endpoint again", legacy)

	clk.Advance(999 * time.Millisecond)
	cached("just before the TTL", newReq)
	clk.Advance(time.Millisecond)
	fresh("at the TTL", newReq)

	for _, et := range []openfeature.EventType{openfeature.ProviderConfigChange, openfeature.ProviderReady, openfeature.ProviderError, openfeature.ProviderStale} {
		f.fire(et)
		fresh("after "+string(et), newReq)
		cached("after "+string(et)+", again", newReq)
	}
	g.Invalidate()
	fresh("after Invalidate", newReq)
	_ = g.Close()
	fresh("after Close", newReq)
	fresh("after Close, again", newReq)
}

func TestGateCache(t *testing.T) {
	t.Parallel()
	clk := &testClock{t: time.Unix(1000, 0)}
	// A targeted flag: decisions depend on the context, so they are cached
	// per context (STATIC ones are cached per endpoint; see
	// TestGateStaticDecisionsCachedPerEndpoint).
	f := &fakeClient{reason: openfeature.TargetingMatchReason}
	f.value.Store(true)
	log, _ := newLogger()
	g, err := gate.New(f, &toggle.Config{CacheSize: 2, CacheTTL: time.Second, Now: clk.Now, Timeout: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	calls := func() int64 { return f.calls.Load() }

	g.Evaluate(t.Context(), newReq)
	if d := g.Evaluate(t.Context(), newReq); !d.Cached || calls() != 1 {
		t.Errorf("repeat: Cached = %v, calls = %d, want true, 1", d.Cached, calls())
	}
	other := newReq
	other.CompanyID = "c2"
	if d := g.Evaluate(t.Context(), other); d.Cached || calls() != 2 {
		t.Errorf("other company: Cached = %v, calls = %d, want false, 2", d.Cached, calls())
	}
	// Every field of the context is part of the key.
	for _, mod := range []func(*gate.Request){
		func(r *gate.Request) { r.EventType = "x" },
		func(r *gate.Request) { r.Format = "legacy" },
		func(r *gate.Request) { r.DataType = "invoices" },
		func(r *gate.Request) { r.ConnectionID = "k" },
		func(r *gate.Request) { r.ClientHeader = "h" },
		func(r *gate.Request) { r.Endpoint = gate.EndpointLegacy },
	} {
		r := newReq
		mod(&r)
		before := calls()
		if d := g.Evaluate(t.Context(), r); d.Cached || calls() != before+1 {
			t.Errorf("request %+v: Cached = %v, want a fresh evaluation", r, d.Cached)
		}
	}
	// TTL.
	g.Evaluate(t.Context(), newReq)
	clk.Advance(2 * time.Second)
	before := calls()
	if d := g.Evaluate(t.Context(), newReq); d.Cached || calls() != before+1 {
		t.Errorf("after TTL: Cached = %v, want false", d.Cached)
	}
	// Each subscribed event type invalidates.
	for _, et := range []openfeature.EventType{openfeature.ProviderConfigChange, openfeature.ProviderReady, openfeature.ProviderError, openfeature.ProviderStale} {
		g.Evaluate(t.Context(), newReq)
		f.fire(et)
		before := calls()
		if d := g.Evaluate(t.Context(), newReq); d.Cached || calls() != before+1 {
			t.Errorf("after %s: Cached = %v, want false", et, d.Cached)
		}
	}
	// Transaction context bypasses the cache.
	ctx := openfeature.WithTransactionContext(t.Context(), openfeature.NewEvaluationContext("tenant", nil))
	g.Evaluate(ctx, newReq)
	before = calls()
	if d := g.Evaluate(ctx, newReq); d.Cached || calls() != before+1 {
		t.Errorf("with transaction context: Cached = %v, want false", d.Cached)
	}
	// Failures are not cached.
	f.eval = func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
		return openfeature.BooleanEvaluationDetails{Value: true}, errors.New("boom")
	}
	g.Invalidate()
	g.Evaluate(t.Context(), newReq)
	before = calls()
	if d := g.Evaluate(t.Context(), newReq); d.Cached || d.Err == nil || calls() != before+1 {
		t.Errorf("after failure: Cached = %v Err = %v, want an uncached failure", d.Cached, d.Err)
	}
	// Close unsubscribes and disables the cache.
	if got, want := f.handlerCount(), 4; got != want {
		t.Errorf("handlers before Close = %d, want %d", got, want)
	}
	_ = g.Close()
	_ = g.Close()
	if got := f.handlerCount(); got != 0 {
		t.Errorf("handlers after Close = %d, want 0", got)
	}
	f.eval = nil
	g.Evaluate(t.Context(), newReq)
	if d := g.Evaluate(t.Context(), newReq); d.Cached {
		t.Errorf("after Close: Cached = true, want false")
	}
}

func TestGateProviderNotReady(t *testing.T) {
	t.Parallel()
	api := isolated.NewAPI()
	p := &slowInitProvider{InMemoryProvider: memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false)}), release: make(chan struct{})}
	if err := api.SetProvider(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	log, buf := newLogger()
	g, err := gate.New(api.NewClient(), &toggle.Config{Logger: log, CacheSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	d := g.Evaluate(t.Context(), newReq)
	var re openfeature.ResolutionError
	if !d.Enabled || !d.Fallback || !errors.As(d.Err, &re) || !strings.Contains(d.Err.Error(), string(openfeature.ProviderNotReadyCode)) {
		t.Errorf("not ready: decision = %+v, want fail-open fallback with PROVIDER_NOT_READY", d)
	}
	if got := buf.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "PROVIDER_NOT_READY") {
		t.Errorf("log = %q, want a warning naming PROVIDER_NOT_READY", got)
	}
	close(p.release)
	waitFor(t, "provider ready", func() bool { return !g.Evaluate(t.Context(), newReq).Enabled })
	if got := g.Stats().New.Errors; got == 0 {
		t.Errorf("Errors = 0, want > 0")
	}
}

type slowInitProvider struct {
	*memprovider.InMemoryProvider
	release chan struct{}
}

func (p *slowInitProvider) Init(openfeature.EvaluationContext) error { <-p.release; return nil }
func (p *slowInitProvider) Shutdown()                                {}

func TestGateProviderErrorAndFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		eval     func(ctx context.Context, flag string, def bool, ec openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error)
		sentinel error
		timeouts uint64
	}{
		{
			name: "provider error",
			eval: func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
				return openfeature.BooleanEvaluationDetails{Value: true}, openfeature.NewGeneralResolutionError("backend down")
			},
		},
		{
			name: "provider ignoring its context times out",
			eval: func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
				time.Sleep(300 * time.Millisecond)
				return openfeature.BooleanEvaluationDetails{Value: false}, nil
			},
			sentinel: gate.ErrTimeout, timeouts: 1,
		},
		{
			name: "provider honouring its context times out",
			eval: func(ctx context.Context, _ string, def bool, _ openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
				<-ctx.Done()
				return openfeature.BooleanEvaluationDetails{Value: def}, ctx.Err()
			},
			sentinel: gate.ErrTimeout, timeouts: 1,
		},
		{
			name: "provider panic is recovered",
			eval: func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
				panic("kaboom")
			},
			sentinel: gate.ErrProviderPanic,
		},
	}
	for _, tt := range tests {
		for _, timeout := range []time.Duration{20 * time.Millisecond, -1} {
			if timeout < 0 && strings.Contains(tt.name, "ignoring") {
				continue // without a timeout nothing bounds such a provider
			}
			t.Run(fmt.Sprintf("%s/timeout=%v", tt.name, timeout), func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				if timeout < 0 && tt.timeouts > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
					defer cancel()
				}
				log, buf := newLogger()
				g, err := gate.New(&fakeClient{eval: tt.eval}, &toggle.Config{Timeout: timeout, Logger: log})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				d := g.Evaluate(ctx, newReq)
				if el := time.Since(start); el > 200*time.Millisecond {
					t.Errorf("Evaluate took %v, want it bounded by the timeout", el)
				}
				if !d.Enabled || !d.Fallback || d.Err == nil {
					t.Errorf("decision = %+v, want fail-open fallback with an error", d)
				}
				if tt.sentinel != nil && timeout > 0 && !errors.Is(d.Err, tt.sentinel) {
					t.Errorf("Err = %v, want %v", d.Err, tt.sentinel)
				}
				st := g.Stats().New
				if st.Errors != 1 {
					t.Errorf("Errors = %d, want 1", st.Errors)
				}
				if timeout > 0 && st.Timeouts != tt.timeouts {
					t.Errorf("Timeouts = %d, want %d", st.Timeouts, tt.timeouts)
				}
				if !strings.Contains(buf.String(), "fallback applied") {
					t.Errorf("log = %q, want a fallback warning", buf.String())
				}
			})
		}
	}
}

func TestGateWarningsAreRateLimited(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	log, buf := newLogger()
	f := &fakeClient{eval: func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
		return openfeature.BooleanEvaluationDetails{Value: true}, errors.New("down")
	}}
	var mu sync.Mutex
	g, err := gate.New(f, &toggle.Config{Logger: log, Timeout: -1, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		g.Evaluate(t.Context(), newReq)
	}
	if got, want := strings.Count(buf.String(), "level=WARN"), 1; got != want {
		t.Fatalf("warnings = %d, want %d", got, want)
	}
	mu.Lock()
	now = now.Add(gate.WarnInterval)
	mu.Unlock()
	g.Evaluate(t.Context(), newReq)
	if got, want := strings.Count(buf.String(), "level=WARN"), 2; got != want {
		t.Errorf("warnings = %d, want %d", got, want)
	}
	if !strings.Contains(buf.String(), "suppressed_since_last=4") {
		t.Errorf("log = %q, want suppressed_since_last=4", buf.String())
	}
	if got, want := g.Stats().New.Errors, uint64(6); got != want {
		t.Errorf("Errors = %d, want %d", got, want)
	}
}

func TestNewGateErrors(t *testing.T) {
	t.Parallel()
	type onlyClient struct{ toggle.Client }
	tests := []struct {
		name string
		c    toggle.Client
		cfg  *toggle.Config
	}{
		{name: "nil client", c: nil},
		{name: "cache without event source", c: onlyClient{&fakeClient{}}, cfg: &toggle.Config{CacheSize: 1}},
		{name: "negative cache size", c: &fakeClient{}, cfg: &toggle.Config{CacheSize: -1}},
		{name: "negative MaxInFlight", c: &fakeClient{}, cfg: &toggle.Config{MaxInFlight: -1}},
		{name: "negative RetryAfter", c: &fakeClient{}, cfg: &toggle.Config{Legacy: toggle.EndpointConfig{RetryAfter: -time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if g, err := gate.New(tt.c, tt.cfg); err == nil {
				t.Errorf("NewGate = %v, nil; want an error", g)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	t.Parallel()
	for a, want := range map[gate.Action]string{gate.ActionProcess: "process", gate.ActionAcknowledge: "acknowledge", gate.ActionDefer: "defer", 9: "Action(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}
