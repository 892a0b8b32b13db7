package toggle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

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

	provider, err := toggle.NewFileProvider(path, nil)
	if err != nil {
		panic(err)
	}
	api := isolated.NewAPI()
	defer api.Shutdown(ctx) // also shuts the provider down
	if err := api.SetProviderAndWait(ctx, provider); err != nil {
		panic(err)
	}
	client := api.NewClient()
	for _, flag := range []string{toggle.DefaultLegacyFlag, toggle.DefaultNewFlag} {
		d, _ := client.BooleanValueDetails(ctx, flag, true, openfeature.NewEvaluationContext("c1", nil))
		fmt.Printf("%s: %v (%s)\n", flag, d.Value, d.Reason)
	}
	// Output:
	// codat-legacy-endpoint: false (STATIC)
	// codat-new-endpoint: true (STATIC)
}
