package codathook_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// snippetFrom marks a Markdown Go block as a copy of code that runs: the
// line before the block's fence is <!-- from FILE FUNC -->, FILE relative to
// the repository root.
var snippetFrom = regexp.MustCompile(`^<!-- from (\S+) (\w+) -->$`)

// docBlock is one ```go block of a Markdown file.
type docBlock struct {
	line     int    // line of the opening fence
	file, fn string // from the marker; "" when unmarked
	code     []string
}

// TestDocSnippets checks that the Go code the documentation shows is copied
// from code that runs, never the other way round: every marked block of
// README.md and docs/*.md is a run of consecutive lines (at any one
// indentation) of the function it names, and every Go block of README.md is
// marked and copied from an Example function with an "// Output:" comment,
// which go test runs.
func TestDocSnippets(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range append([]string{"README.md"}, docs...) {
		for _, b := range goBlocks(t, md) {
			if b.fn == "" {
				if md == "README.md" {
					t.Errorf("%s:%d: Go block without a <!-- from FILE FUNC --> line before it: README code must be copied from an Example", md, b.line)
				}
				continue
			}
			body, err := funcBody(b.file, b.fn)
			if err != nil {
				t.Errorf("%s:%d: %v", md, b.line, err)
				continue
			}
			if !containsRun(body, b.code) {
				t.Errorf("%s:%d: Go block is not a copy of consecutive lines of %s in %s", md, b.line, b.fn, b.file)
			}
			if md == "README.md" && (!strings.HasPrefix(b.fn, "Example") || !strings.Contains(strings.Join(body, "\n"), "// Output:")) {
				t.Errorf("%s:%d: %s in %s is not an Example with an // Output: comment", md, b.line, b.fn, b.file)
			}
		}
	}
}

// goBlocks returns the ```go blocks of the Markdown file md.
func goBlocks(t *testing.T, md string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```go" {
			continue
		}
		b := docBlock{line: i + 1}
		if i > 0 {
			if m := snippetFrom.FindStringSubmatch(lines[i-1]); m != nil {
				b.file, b.fn = filepath.FromSlash(m[1]), m[2]
			}
		}
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			b.code = append(b.code, lines[i])
		}
		if i == len(lines) {
			t.Errorf("%s:%d: Go block is not closed", md, b.line)
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// funcBody returns the lines of the top-level function fn in the Go file
// path, from its signature to its closing brace.
func funcBody(path, fn string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var body []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !in && strings.HasPrefix(line, "func "+fn+"(") {
			in = true
		}
		if in {
			body = append(body, line)
			if line == "}" {
				return body, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, &os.PathError{Op: "find func " + fn, Path: path, Err: os.ErrNotExist}
}

// containsRun reports whether code appears in body as consecutive lines,
// each indented by one common run of tabs (empty lines stay empty).
func containsRun(body, code []string) bool {
	if len(code) == 0 {
		return false
	}
	for i := range body {
		indent, ok := strings.CutSuffix(body[i], code[0])
		if !ok || strings.Trim(indent, "\t") != "" || i+len(code) > len(body) {
			continue
		}
		match := true
		for j, c := range code {
			want := indent + c
			if c == "" {
				want = ""
			}
			if body[i+j] != want {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
