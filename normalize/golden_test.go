package normalize_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codathook/codathook/normalize"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.golden and the mapping section of docs/EVENTS.md")

// golden is what a .golden file holds: the Event (Body omitted, Typed and
// Legacy included) and its Occurrences.
type golden struct {
	Event       *normalize.Event       `json:"event"`
	Occurrences []normalize.Occurrence `json:"occurrences"`
}

// fixtures returns testdata/<dir>/*.json for dir in legacy, new, unknown.
func fixtures(tb testing.TB) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	for _, dir := range []string{"legacy", "new", "unknown"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			tb.Fatal(err)
		}
		if len(files) == 0 {
			tb.Fatalf("no fixtures in testdata/%s", dir)
		}
		out[dir] = files
	}
	return out
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for dir, files := range fixtures(t) {
		for _, file := range files {
			t.Run(filepath.ToSlash(file), func(t *testing.T) {
				t.Parallel()
				body, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := normalize.Parse(body)
				if err != nil {
					t.Fatalf("Parse() error = %v, want nil", err)
				}
				if got, want := string(ev.Format), dir; got != want {
					t.Errorf("Format = %q, want %q (the fixture's directory)", got, want)
				}
				f, err := normalize.Classify(body)
				if err != nil || f != ev.Format {
					t.Errorf("Classify() = %q, %v; want %q, nil", f, err, ev.Format)
				}
				if !bytes.Equal(ev.Body, body) {
					t.Errorf("Body differs from the bytes passed to Parse")
				}
				got, err := json.MarshalIndent(golden{ev, ev.Occurrences()}, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				goldenFile := strings.TrimSuffix(file, ".json") + ".golden"
				if *update {
					if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(goldenFile)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("normalized output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", goldenFile, got, want)
				}
			})
		}
	}
}
