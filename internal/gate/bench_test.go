package gate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// benchReq is a typical write delivery: targeting key plus 6 attributes.
var benchReq = gate.Request{
	Endpoint: gate.EndpointNew, Format: "new", EventType: "invoices.write.successful",
	CompanyID: "8a210b68-6988-11ed-a1eb-0242ac120002", ClientHeader: "bae71d36-ff47-420a-b4a6-f8c9ddf41140",
	DataType: "invoices", ConnectionID: "ee2eb431-c0fa-4dc9-93fa-d29781c12bcd",
}

// BenchmarkEvaluate compares Gate.Evaluate with a bare
// client.BooleanValueDetails carrying the same evaluation context.
func BenchmarkEvaluate(b *testing.B) {
	c, _ := newMemClient(b, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: boolFlag(true)})
	attrs := map[string]any{
		"endpoint": "new", "format": "new", "eventType": benchReq.EventType,
		"clientId": benchReq.ClientHeader, "dataType": benchReq.DataType, "connectionId": benchReq.ConnectionID,
	}

	b.Run("baseline/bare-client-prebuilt-context", func(b *testing.B) {
		ec := openfeature.NewEvaluationContext(benchReq.CompanyID, attrs)
		b.ReportAllocs()
		for b.Loop() {
			if d, err := c.BooleanValueDetails(b.Context(), toggle.DefaultNewFlag, true, ec); err != nil || !d.Value {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline/bare-client-context-per-call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ec := openfeature.NewEvaluationContext(benchReq.CompanyID, map[string]any{
				"endpoint": benchReq.Endpoint, "format": benchReq.Format, "eventType": benchReq.EventType,
				"clientId": benchReq.ClientHeader, "dataType": benchReq.DataType, "connectionId": benchReq.ConnectionID,
			})
			if d, err := c.BooleanValueDetails(b.Context(), toggle.DefaultNewFlag, true, ec); err != nil || !d.Value {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		cfg  toggle.Config
	}{
		{"gate/uncached-timeout", toggle.Config{}},
		{"gate/uncached-no-timeout", toggle.Config{Timeout: -1}},
		{"gate/cached", toggle.Config{CacheSize: 10000}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := tc.cfg
			g, err := gate.New(c, &cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			b.ReportAllocs()
			for b.Loop() {
				if d := g.Evaluate(b.Context(), benchReq); !d.Enabled {
					b.Fatal(d)
				}
			}
		})
	}
	b.Run("gate/cached-targeted", func(b *testing.B) {
		// A targeted flag's decision is cached per evaluation context (a
		// STATIC one once per endpoint): this measures the keyed lookup.
		ce := func(memprovider.InMemoryFlag, openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
			return true, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason, Variant: "on"}
		}
		f := boolFlag(true)
		f.ContextEvaluator = &ce
		tc, _ := newMemClient(b, map[string]memprovider.InMemoryFlag{toggle.DefaultNewFlag: f})
		g, err := gate.New(tc, &toggle.Config{CacheSize: 10000})
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		g.Evaluate(b.Context(), benchReq)
		b.ReportAllocs()
		for b.Loop() {
			if d := g.Evaluate(b.Context(), benchReq); !d.Enabled || !d.Cached {
				b.Fatal(d)
			}
		}
	})
	b.Run("gate/cached-parallel", func(b *testing.B) {
		g, err := gate.New(c, &toggle.Config{CacheSize: 10000})
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if d := g.Evaluate(b.Context(), benchReq); !d.Enabled {
					panic(fmt.Sprint(d))
				}
			}
		})
	})
}

// BenchmarkEvaluateFileProvider measures Gate.Evaluate through a
// FileProvider, uncached, with a static flag and with the runbook's step-3
// targeting (the company listed, so the targeting matches).
func BenchmarkEvaluateFileProvider(b *testing.B) {
	for _, tc := range []struct{ name, targeting string }{
		{"static", ""},
		{"targeted", `,"targeting":{"if":[{"in":[{"var":"targetingKey"},["c0","c1","` + benchReq.CompanyID + `"]]},"on","off"]}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "flags.json")
			file := `{"flags":{"codat-new-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"` + tc.targeting + `}}}`
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				b.Fatal(err)
			}
			p, err := toggle.NewFileProvider(path, nil)
			if err != nil {
				b.Fatal(err)
			}
			api := isolated.NewAPI()
			if err := api.SetProviderAndWait(b.Context(), p); err != nil {
				b.Fatal(err)
			}
			defer api.Shutdown(context.Background())
			g, err := gate.New(api.NewClient(), &toggle.Config{Timeout: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			b.ReportAllocs()
			for b.Loop() {
				if d := g.Evaluate(b.Context(), benchReq); !d.Enabled {
					b.Fatal(d)
				}
			}
		})
	}
}
