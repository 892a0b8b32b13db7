package normalize_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/codathook/codathook/normalize"
)

const (
	readmePath  = "../README.md"
	beginMarker = "<!-- BEGIN mapping"
	endMarker   = "<!-- END mapping -->"
)

// TestREADMEMapping fails when README.md's mapping section is not exactly what
// normalize.MappingMarkdown generates; -update rewrites only that section.
func TestREADMEMapping(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Index(readme, []byte(beginMarker))
	if b < 0 {
		t.Fatalf("README.md has no %q marker", beginMarker)
	}
	start := b + bytes.IndexByte(readme[b:], '\n') + 1
	end := bytes.Index(readme[start:], []byte(endMarker))
	if end < 0 {
		t.Fatalf("README.md has no %q marker after %q", endMarker, beginMarker)
	}
	end += start
	got := string(readme[start:end])
	want := normalize.MappingMarkdown()
	if got == want {
		return
	}
	if *update {
		var out bytes.Buffer
		out.Write(readme[:start])
		out.WriteString(want)
		out.Write(readme[end:])
		if err := os.WriteFile(readmePath, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md mapping section differs from normalize.MappingMarkdown() (go test ./normalize -run TestREADMEMapping -update rewrites it)\ngot:\n%s\nwant:\n%s", got, want)
}
