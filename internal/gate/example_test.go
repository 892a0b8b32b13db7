package gate_test

import (
	"context"
	"fmt"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// ExampleNew gates the two endpoints with in-memory flags: the new
// endpoint is rolled out to one company, the legacy endpoint stays on, and
// gated-off deliveries on the new endpoint are deferred.
func ExampleNew() {
	ctx := context.Background()
	pilot := func(_ memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		on := fc["targetingKey"] == "pilot-company"
		return on, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason}
	}
	api := isolated.NewAPI()
	defer api.Shutdown(ctx)
	_ = api.SetProviderAndWait(ctx, memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		"codat-new-endpoint": {State: memprovider.Enabled, DefaultVariant: "off",
			Variants: map[string]any{"on": true, "off": false}, ContextEvaluator: &pilot},
		"codat-legacy-endpoint": {State: memprovider.Enabled, DefaultVariant: "on",
			Variants: map[string]any{"on": true, "off": false}},
	}))

	g, err := gate.New(api.NewClient(), &toggle.Config{
		New: toggle.EndpointConfig{Defer: true},
	})
	if err != nil {
		panic(err)
	}
	defer g.Close()

	for _, req := range []gate.Request{
		{Endpoint: gate.EndpointNew, Format: "new", EventType: "connection.connected", CompanyID: "pilot-company"},
		{Endpoint: gate.EndpointNew, Format: "new", EventType: "connection.connected", CompanyID: "other-company"},
		{Endpoint: gate.EndpointLegacy, Format: "legacy", EventType: "connection.connected", CompanyID: "other-company"},
	} {
		d := g.Evaluate(ctx, req)
		fmt.Printf("%s %s: %s %v\n", req.Endpoint, req.CompanyID, d.Action, d.RetryAfter)
	}
	fmt.Printf("new endpoint: %d enabled, %d disabled\n", g.Stats().New.Enabled, g.Stats().New.Disabled)
	// Output:
	// new pilot-company: process 0s
	// new other-company: defer 1m0s
	// legacy other-company: process 0s
	// new endpoint: 1 enabled, 1 disabled
}
