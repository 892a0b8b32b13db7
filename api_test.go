package codathook_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxExported bounds the core module's public API: exported top-level
// names and exported methods of exported types, struct fields not counted,
// internal packages and tests excluded. Issue 14 set it at 180; the
// migration-readiness report (issue 15) added six: Migration,
// TypeMigration, OccurrenceCounts, MigrationStep, Receiver.Migration and
// Receiver.MigrationHandler; the transactional commit (issue 16) two:
// dedupe.TxStore and dedupe.Tx; one round trip per delivery (issue 16)
// two: dedupe.ErrNotRun, what a batch's gate leaves undone, and
// dedupe.DoInSteps, with which a store whose batch is a pipeline honours
// the gate; permanent failures (issue 17) three: Permanent, which a
// callback wraps its error in to stop Svix retrying, ErrPermanent, the
// sentinel errors.Is finds in it (for the app's own tests and for errors it
// wraps with %w), and ResultRejected, the result such a delivery is
// counted, labelled and answered under; registration that catches typos
// (issue 17) one: WithNewerEventTypes, the explicit opt-in for event types
// newer than this version, which On now refuses otherwise.
const maxExported = 194

// TestAPISize counts the core module's exported identifiers and checks that
// each has a doc comment. Run with -v to list them.
func TestAPISize(t *testing.T) {
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != "." {
			base := d.Name()
			if strings.HasPrefix(base, ".") || base == "testdata" || base == "internal" || base == "examples" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		dirs = append(dirs, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, dir := range dirs {
		names, undocumented := exported(t, dir)
		if len(names) == 0 {
			continue
		}
		total += len(names)
		t.Logf("%s (%d): %s", dir, len(names), strings.Join(names, " "))
		for _, n := range undocumented {
			t.Errorf("%s: %s has no doc comment", dir, n)
		}
	}
	t.Logf("total: %d exported identifiers (limit %d)", total, maxExported)
	if total > maxExported {
		t.Errorf("the core module exports %d identifiers, more than %d: move what only the receiver uses under internal/", total, maxExported)
	}
}

// exported lists the exported identifiers declared in dir's non-test files,
// and those without a doc comment (a spec in a documented group counts as
// documented).
func exported(t *testing.T, dir string) (names, undocumented []string) {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	add := func(name string, doc bool) {
		names = append(names, name)
		if !doc {
			undocumented = append(undocumented, name)
		}
	}
	for _, f := range files {
		if f.Name.Name == "main" {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				name := d.Name.Name
				if d.Recv != nil {
					recv := d.Recv.List[0].Type
					if s, ok := recv.(*ast.StarExpr); ok {
						recv = s.X
					}
					if ix, ok := recv.(*ast.IndexExpr); ok {
						recv = ix.X
					}
					id, ok := recv.(*ast.Ident)
					if !ok || !id.IsExported() {
						continue
					}
					name = id.Name + "." + name
				}
				add(name, d.Doc != nil)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							add(s.Name.Name, d.Doc != nil || s.Doc != nil || s.Comment != nil)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								add(n.Name, d.Doc != nil || s.Doc != nil || s.Comment != nil)
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names, undocumented
}

// maxFileLines bounds a hand-written source file (issue 14): past it, a
// file holds more than one concept.
const maxFileLines = 450

// TestFileSizes checks every non-test, non-generated Go file of the
// repository, all modules, against maxFileLines.
func TestFileSizes(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "\n// Code generated ") || strings.HasPrefix(string(src), "// Code generated ") {
			return nil
		}
		if n := strings.Count(string(src), "\n"); n > maxFileLines {
			t.Errorf("%s has %d lines, more than %d: split it by concept", path, n, maxFileLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
