package normalize_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/codathook/codathook/normalize"
)

const (
	// mappingDoc is the Markdown file that carries the generated mapping
	// table between the two markers.
	mappingDoc  = "../docs/EVENTS.md"
	beginMarker = "<!-- BEGIN mapping"
	endMarker   = "<!-- END mapping -->"
)

// TestREADMEMapping fails when docs/EVENTS.md's mapping section is not
// exactly what normalize.MappingMarkdown generates; -update rewrites only
// that section. The test keeps its name because the generated text tells
// readers to run it (go test ./normalize -run TestREADMEMapping -update).
func TestREADMEMapping(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(mappingDoc)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Index(doc, []byte(beginMarker))
	if b < 0 {
		t.Fatalf("%s has no %q marker", mappingDoc, beginMarker)
	}
	start := b + bytes.IndexByte(doc[b:], '\n') + 1
	end := bytes.Index(doc[start:], []byte(endMarker))
	if end < 0 {
		t.Fatalf("%s has no %q marker after %q", mappingDoc, endMarker, beginMarker)
	}
	end += start
	got := string(doc[start:end])
	want := normalize.MappingMarkdown(t)
	if got == want {
		return
	}
	if *update {
		var out bytes.Buffer
		out.Write(doc[:start])
		out.WriteString(want)
		out.Write(doc[end:])
		if err := os.WriteFile(mappingDoc, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	i := 0
	for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
		i++
	}
	g, w := "(end of section)", "(end of section)"
	if i < len(gl) {
		g = gl[i]
	}
	if i < len(wl) {
		w = wl[i]
	}
	// Show the lines from the table cell where they start to differ.
	p := 0
	for p < len(g) && p < len(w) && g[p] == w[p] {
		p++
	}
	if c := strings.LastIndex(g[:p], " | "); c > 0 {
		g, w = "…"+g[c:], "…"+w[c:]
	}
	t.Errorf("%s mapping section differs from normalize.MappingMarkdown (go test ./normalize -run TestREADMEMapping -update rewrites it)\nfirst difference, line %d of the section:\n  have %s\n  want %s", mappingDoc, i+1, g, w)
}
