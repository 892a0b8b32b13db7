package gate_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
)

// A STATIC decision (no targeting) is cached once for the endpoint: deliveries
// for other companies are served from the cache, and a flip still applies
// once the provider's CONFIGURATION_CHANGED event has cleared it. A targeted
// decision is cached per context only.
func TestGateStaticDecisionsCachedPerEndpoint(t *testing.T) {
	t.Parallel()
	targeted := func(this memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		return fc["targetingKey"] == "pilot", openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason}
	}
	legacy := boolFlag(true)
	legacy.ContextEvaluator = &targeted
	c, p := newMemClient(t, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(true), toggle.DefaultLegacyFlag: legacy})
	g, err := gate.New(c, &toggle.Config{CacheSize: 100, CacheTTL: -1, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	req := func(ep, company string) gate.Request {
		return gate.Request{Endpoint: ep, Format: "new", EventType: "connection.connected", CompanyID: company}
	}
	for i := range 10 {
		if d := g.Evaluate(t.Context(), req(gate.EndpointNew, "co-"+strconv.Itoa(i))); !d.Enabled {
			t.Fatalf("company %d: not enabled", i)
		}
	}
	if got, want := g.Stats().New.CacheHits, uint64(9); got != want {
		t.Errorf("static: CacheHits = %d, want %d (one evaluation serves every company)", got, want)
	}
	for i := range 3 {
		company := "co-" + strconv.Itoa(i)
		if i == 0 {
			company = "pilot"
		}
		if d := g.Evaluate(t.Context(), req(gate.EndpointLegacy, company)); d.Enabled != (company == "pilot") {
			t.Errorf("targeted: %s enabled = %v", company, d.Enabled)
		}
	}
	if got := g.Stats().Legacy.CacheHits; got != 0 {
		t.Errorf("targeted: CacheHits = %d, want 0 (each company evaluated)", got)
	}

	before := g.Stats().Invalidations
	p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(false), toggle.DefaultLegacyFlag: legacy})
	deadline := time.Now().Add(5 * time.Second)
	for g.Stats().Invalidations == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if d := g.Evaluate(t.Context(), req(gate.EndpointNew, "co-1")); d.Enabled || d.Cached {
		t.Errorf("after the flip: enabled = %v cached = %v, want a fresh false", d.Enabled, d.Cached)
	}
}
