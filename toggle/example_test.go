package toggle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// ExampleNewGate gates the two endpoints with in-memory flags: the new
// endpoint is rolled out to one company, the legacy endpoint stays on, and
// gated-off deliveries on the new endpoint are deferred.
func ExampleNewGate() {
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

	gate, err := toggle.NewGate(api.NewClient(), &toggle.Config{
		New: toggle.EndpointConfig{WhenOff: toggle.ActionDefer},
	})
	if err != nil {
		panic(err)
	}
	defer gate.Close()

	for _, req := range []toggle.Request{
		{Endpoint: toggle.EndpointNew, Format: "new", EventType: "connection.connected", CompanyID: "pilot-company"},
		{Endpoint: toggle.EndpointNew, Format: "new", EventType: "connection.connected", CompanyID: "other-company"},
		{Endpoint: toggle.EndpointLegacy, Format: "legacy", EventType: "connection.connected", CompanyID: "other-company"},
	} {
		d := gate.Evaluate(ctx, req)
		fmt.Printf("%s %s: %s %v\n", req.Endpoint, req.CompanyID, d.Action, d.RetryAfter)
	}
	fmt.Printf("new endpoint: %d enabled, %d disabled\n", gate.Stats().New.Enabled, gate.Stats().New.Disabled)
	// Output:
	// new pilot-company: process 0s
	// new other-company: defer 1m0s
	// legacy other-company: process 0s
	// new endpoint: 1 enabled, 1 disabled
}

// ExampleNewFileProvider serves the gates' flags from a flagd flag file, as
// the quickstart does; editing the file flips the gates within a second.
func ExampleNewFileProvider() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "flags")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.json")
	_ = os.WriteFile(path, []byte(`{"flags": {
	  "codat-legacy-endpoint": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
	  "codat-new-endpoint":    {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}
	}}`), 0o600)

	provider, err := toggle.NewFileProvider(path)
	if err != nil {
		panic(err)
	}
	api := isolated.NewAPI()
	defer api.Shutdown(ctx) // also shuts the provider down
	if err := api.SetProviderAndWait(ctx, provider); err != nil {
		panic(err)
	}
	gate, err := toggle.NewGate(api.NewClient(), nil)
	if err != nil {
		panic(err)
	}
	defer gate.Close()

	for _, ep := range []string{toggle.EndpointLegacy, toggle.EndpointNew} {
		d := gate.Evaluate(ctx, toggle.Request{Endpoint: ep, EventType: "read.completed", CompanyID: "c1"})
		fmt.Printf("%s: %s (%s)\n", ep, d.Action, d.Reason)
	}
	// Output:
	// legacy: acknowledge (STATIC)
	// new: process (STATIC)
}
