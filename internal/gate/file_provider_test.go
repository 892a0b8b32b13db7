package gate_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
)

// TestFileProviderDrivesGate shows the end-to-end path: an edit of the flag
// file flips the Gate's decision, with the Gate's cache on.
func TestFileProviderDrivesGate(t *testing.T) {
	t.Parallel()
	flags := func(variant string) string {
		return `{"flags": {"codat-new-endpoint": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "` + variant + `"}}}`
	}
	path := filepath.Join(t.TempDir(), "flags.json")
	if err := os.WriteFile(path, []byte(flags("on")), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := toggle.NewFileProvider(path, &toggle.FileConfig{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(t.Context()) })
	if err := api.SetProviderAndWait(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(api.NewClient(), &toggle.Config{CacheSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	req := gate.Request{Endpoint: gate.EndpointNew, Format: "new", EventType: "read.completed", CompanyID: "c1"}
	if d := g.Evaluate(t.Context(), req); !d.Enabled {
		t.Fatalf("before edit: %+v, want enabled", d)
	}
	before := g.Stats().Invalidations
	// A different size, so that the edit is seen even within the file
	// system's timestamp granularity.
	if err := os.WriteFile(path, []byte(flags("off")+" "), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for g.Stats().Invalidations == before {
		if time.Now().After(deadline) {
			t.Fatal("no cache invalidation within 5s of the edit")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := g.Evaluate(t.Context(), req); d.Enabled || d.Action != gate.ActionAcknowledge {
		t.Errorf("after edit: %+v, want acknowledged", d)
	}
}
