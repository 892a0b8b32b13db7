// Package gendecode generates normalize's fast decoder (decode_gen.go) from
// the declarations of the types it fills: for every struct, the list of its
// json field names and a method of normalize's reader that decodes an object
// into it, field by field, by Go type. The reader runtime (jsonread.go,
// jsonset.go) and the top-level dispatch (decode.go) stay hand-written.
//
// The command in ./cmd runs it from normalize's //go:generate line;
// normalize's TestGeneratedDecoderIsCurrent runs it from the same line and
// compares the result with decode_gen.go.
package gendecode

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Config says what to generate.
type Config struct {
	// Out is the generated file's name, relative to the package directory.
	Out string
	// Tops are the top-level wire structs, as VAR=Type: VAR lists the json
	// names of Type's fields, its embedded structs' flattened in; a constant
	// VAR without "Fields" plus the Go name gives the index of each field not
	// embedded. An embedded struct E must come first and hold strings only
	// (the envelope's keys): it gets a method strFields returning pointers to
	// its fields, indexed alike.
	Tops []Top
	// Events are typed events (structs with a Payload field): the generated
	// payload method dispatches on them to their payload's decoder.
	Events []string
	// Structs are further structs to generate decoders for.
	Structs []string
}

// Top is one top-level wire struct.
type Top struct{ Var, Type string }

// ParseArgs reads the command line of the //go:generate line (without the
// command): -o FILE -top VAR=Type,... -events T,... -structs T,...
func ParseArgs(args []string) (Config, error) {
	fs := flag.NewFlagSet("gendecode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "decode_gen.go", "output file")
	tops := fs.String("top", "", "top-level wire structs, VAR=Type,...")
	events := fs.String("events", "", "typed events, comma-separated")
	structs := fs.String("structs", "", "other structs, comma-separated")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := Config{Out: *out, Events: list(*events), Structs: list(*structs)}
	for _, t := range list(*tops) {
		v, typ, ok := strings.Cut(t, "=")
		if !ok || v == "" || typ == "" {
			return Config{}, fmt.Errorf("-top %q: want VAR=Type", t)
		}
		cfg.Tops = append(cfg.Tops, Top{v, typ})
	}
	return cfg, nil
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Run generates the decoder for the package in dir: it parses every
// non-test Go file there but the output and returns the output's path and
// its content.
func Run(dir string, cfg Config) (path string, src []byte, err error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", nil, err
	}
	sort.Strings(names)
	path = filepath.Join(dir, cfg.Out)
	files := map[string][]byte{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || filepath.Base(name) == cfg.Out {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return "", nil, err
		}
		files[filepath.Base(name)] = b
	}
	src, err = Generate(cfg, files)
	return path, src, err
}

// kind is how a field is decoded.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kNumber  // json.Number
	kRaw     // json.RawMessage
	kStrings // []string
	kStrMap  // map[string]string
	kStruct  // a struct of the package, by value
	kPtr     // a pointer to one
	kSlice   // a slice of them
)

type field struct {
	goName, name string
	kind         kind
	elem         string // the struct type of kStruct, kPtr, kSlice
	embedded     bool   // a top struct's embedded struct, elem
}

type generator struct {
	fset    *token.FileSet
	structs map[string]*ast.StructType
	jsonPkg map[*ast.StructType]string // the name encoding/json is imported as

	done   map[string]bool
	order  []string
	slices map[string]bool
	fields map[string][]field
}

// Generate returns decode_gen.go for the package whose non-test files are
// files (name to content).
func Generate(cfg Config, files map[string][]byte) ([]byte, error) {
	g := &generator{
		fset:    token.NewFileSet(),
		structs: map[string]*ast.StructType{},
		jsonPkg: map[*ast.StructType]string{},
		done:    map[string]bool{},
		slices:  map[string]bool{},
		fields:  map[string][]field{},
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := parser.ParseFile(g.fset, name, files[name], parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		jsonName := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "encoding/json" {
				jsonName = "json"
				if imp.Name != nil {
					jsonName = imp.Name.Name
				}
			}
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if st, ok := ts.Type.(*ast.StructType); ok && ts.TypeParams == nil {
					g.structs[ts.Name.Name] = st
					g.jsonPkg[st] = jsonName
				}
			}
		}
	}

	var out bytes.Buffer
	out.WriteString("// Code generated by gendecode; DO NOT EDIT.\n\n")
	out.WriteString("// The field lists and the decoding methods of the structs the fast decoder\n")
	out.WriteString("// fills, generated from their declarations (json tags and Go types) by\n")
	out.WriteString("// go generate ./normalize; see decode.go for the directive and the top level.\n\n")
	out.WriteString("package normalize\n\n")

	// Top-level wire structs.
	embedAt := map[string]int{} // embedded struct -> its first index
	var embeds []string
	for _, top := range cfg.Tops {
		fs, err := g.topFields(top.Type)
		if err != nil {
			return nil, err
		}
		prefix := strings.TrimSuffix(top.Var, "Fields")
		fmt.Fprintf(&out, "// %s are the json names of %s's fields, matched ignoring case.\n", top.Var, top.Type)
		fmt.Fprintf(&out, "var %s = %s\n\n", top.Var, nameList(fs))
		out.WriteString("const (\n")
		for i, f := range fs {
			if !f.embedded {
				fmt.Fprintf(&out, "\t%s%s = %d // index of %q in %s\n", prefix, f.goName, i, f.name, top.Var)
			}
		}
		out.WriteString(")\n\n")
		for i, f := range fs {
			if !f.embedded || (i > 0 && fs[i-1].embedded && fs[i-1].elem == f.elem) {
				continue
			}
			if at, ok := embedAt[f.elem]; !ok {
				embedAt[f.elem] = i
				embeds = append(embeds, f.elem)
			} else if at != i {
				return nil, fmt.Errorf("%s: embedded %s at field %d, elsewhere at %d: the indices of %s must agree", top.Type, f.elem, i, at, f.elem)
			}
		}
	}
	for _, e := range embeds {
		fs, err := g.structFields(e)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if f.kind != kString {
				return nil, fmt.Errorf("%s.%s: the fields of a struct embedded in a top-level struct must be strings", e, f.goName)
			}
		}
		at := embedAt[e]
		if at != 0 {
			return nil, fmt.Errorf("%s must be the first field of the top-level structs", e)
		}
		fmt.Fprintf(&out, "// strFields returns pointers to %s's fields, indexed as in the field lists of\n", e)
		fmt.Fprintf(&out, "// the top-level structs that embed it; a small literal that inlines, unlike a\n// switch over the fields.\n")
		fmt.Fprintf(&out, "func (p *%s) strFields() [%d]*string {\n\treturn [...]*string{", e, len(fs))
		for i, f := range fs {
			if i > 0 {
				out.WriteString(", ")
			}
			fmt.Fprintf(&out, "&p.%s", f.goName)
		}
		out.WriteString("}\n}\n\n")
	}

	// Typed events: the payload dispatch.
	var roots []string
	if len(cfg.Events) > 0 {
		out.WriteString("// payload decodes the payload value into the typed event's Payload.\n")
		out.WriteString("func (d *reader) payload(typed any) {\n\tswitch t := typed.(type) {\n")
		for _, ev := range cfg.Events {
			p, err := g.payloadType(ev)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&out, "\tcase *%s:\n\t\td.dec%s(&t.Payload)\n", ev, p)
			roots = append(roots, p)
		}
		out.WriteString("\tdefault:\n\t\td.fail = true\n\t}\n}\n\n")
	}
	roots = append(roots, cfg.Structs...)
	for _, r := range roots {
		if err := g.visit(r); err != nil {
			return nil, err
		}
	}

	// Field lists, then one method per struct.
	out.WriteString("// Field names (the json tags, matched ignoring case), in the order of the\n// decoding switches below.\nvar (\n")
	for _, s := range g.order {
		fmt.Fprintf(&out, "\t%sFields = %s\n", lower(s), nameList(g.fields[s]))
	}
	out.WriteString(")\n\n")
	for _, s := range g.order {
		g.decodeStruct(&out, s)
		if g.slices[s] {
			g.decodeSlice(&out, s)
		}
	}

	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated code: %v", err)
	}
	return src, nil
}

// visit records s and, depth first, the structs its fields hold.
func (g *generator) visit(s string) error {
	if g.done[s] {
		return nil
	}
	g.done[s] = true
	fs, err := g.structFields(s)
	if err != nil {
		return err
	}
	g.order = append(g.order, s)
	g.fields[s] = fs
	for _, f := range fs {
		switch f.kind {
		case kStruct, kPtr, kSlice:
			if f.kind == kSlice {
				g.slices[f.elem] = true
			}
			if err := g.visit(f.elem); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *generator) payloadType(ev string) (string, error) {
	st, ok := g.structs[ev]
	if !ok {
		return "", fmt.Errorf("event %s: no such struct", ev)
	}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.Name != "Payload" {
				continue
			}
			if id, ok := f.Type.(*ast.Ident); ok && g.structs[id.Name] != nil {
				return id.Name, nil
			}
			return "", fmt.Errorf("event %s: Payload is not a struct of the package", ev)
		}
	}
	return "", fmt.Errorf("event %s: no Payload field", ev)
}

// jsonName returns the field's json name, or "" when encoding/json ignores
// the field.
func jsonName(f *ast.Field, goName string) (string, error) {
	if !ast.IsExported(goName) {
		return "", nil
	}
	var tag string
	if f.Tag != nil {
		t, err := strconv.Unquote(f.Tag.Value)
		if err != nil {
			return "", err
		}
		tag = reflect.StructTag(t).Get("json")
	}
	if tag == "-" {
		return "", nil
	}
	name, opts, _ := strings.Cut(tag, ",")
	for _, o := range strings.Split(opts, ",") {
		if o == "string" {
			return "", fmt.Errorf("field %s: the ,string option is not supported", goName)
		}
	}
	if name == "" {
		name = goName
	}
	return name, nil
}

// structFields returns the decodable fields of struct s in declaration order.
func (g *generator) structFields(s string) ([]field, error) {
	st, ok := g.structs[s]
	if !ok {
		return nil, fmt.Errorf("%s: no such struct in the package", s)
	}
	var fs []field
	for _, af := range st.Fields.List {
		if len(af.Names) == 0 {
			return nil, fmt.Errorf("%s: embedded field %s is not supported", s, exprString(af.Type))
		}
		for _, n := range af.Names {
			name, err := jsonName(af, n.Name)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %v", s, n.Name, err)
			}
			if name == "" {
				continue
			}
			f := field{goName: n.Name, name: name}
			if f.kind, f.elem, err = g.fieldKind(st, af.Type); err != nil {
				return nil, fmt.Errorf("%s.%s: %v", s, n.Name, err)
			}
			fs = append(fs, f)
		}
	}
	return fs, checkNames(s, fs)
}

// topFields returns the fields of top-level struct s, those of its embedded
// structs flattened in; their types are not looked at.
func (g *generator) topFields(s string) ([]field, error) {
	st, ok := g.structs[s]
	if !ok {
		return nil, fmt.Errorf("%s: no such struct in the package", s)
	}
	var fs []field
	for _, af := range st.Fields.List {
		if len(af.Names) == 0 {
			id, ok := af.Type.(*ast.Ident)
			if !ok || g.structs[id.Name] == nil || af.Tag != nil {
				return nil, fmt.Errorf("%s: embedded %s: only untagged structs of the package are supported", s, exprString(af.Type))
			}
			efs, err := g.structFields(id.Name)
			if err != nil {
				return nil, err
			}
			for _, f := range efs {
				f.embedded, f.elem = true, id.Name
				fs = append(fs, f)
			}
			continue
		}
		for _, n := range af.Names {
			name, err := jsonName(af, n.Name)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %v", s, n.Name, err)
			}
			if name != "" {
				fs = append(fs, field{goName: n.Name, name: name})
			}
		}
	}
	return fs, checkNames(s, fs)
}

// checkNames enforces what the reader's field matching assumes: at most 32
// fields (the seen mask), names of ASCII letters only (eqFoldLetters), and
// no two names equal ignoring case (the first would always win).
func checkNames(s string, fs []field) error {
	if len(fs) > 32 {
		return fmt.Errorf("%s: %d fields, more than the reader's seen mask holds (32)", s, len(fs))
	}
	seen := map[string]string{}
	for _, f := range fs {
		for _, c := range []byte(f.name) {
			if c|0x20 < 'a' || c|0x20 > 'z' {
				return fmt.Errorf("%s.%s: json name %q is not ASCII letters only", s, f.goName, f.name)
			}
		}
		l := strings.ToLower(f.name)
		if prev, ok := seen[l]; ok {
			return fmt.Errorf("%s: json names %q and %q are equal ignoring case", s, prev, f.name)
		}
		seen[l] = f.name
	}
	return nil
}

func (g *generator) fieldKind(st *ast.StructType, t ast.Expr) (kind, string, error) {
	switch t := t.(type) {
	case *ast.Ident:
		switch t.Name {
		case "string":
			return kString, "", nil
		case "bool":
			return kBool, "", nil
		case "int":
			return kInt, "", nil
		}
		if g.structs[t.Name] != nil {
			return kStruct, t.Name, nil
		}
	case *ast.StarExpr:
		if id, ok := t.X.(*ast.Ident); ok && g.structs[id.Name] != nil {
			return kPtr, id.Name, nil
		}
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && t.Len == nil {
			if id.Name == "string" {
				return kStrings, "", nil
			}
			if g.structs[id.Name] != nil {
				return kSlice, id.Name, nil
			}
		}
	case *ast.MapType:
		k, kok := t.Key.(*ast.Ident)
		v, vok := t.Value.(*ast.Ident)
		if kok && vok && k.Name == "string" && v.Name == "string" {
			return kStrMap, "", nil
		}
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok && x.Name == g.jsonPkg[st] && x.Name != "" {
			switch t.Sel.Name {
			case "RawMessage":
				return kRaw, "", nil
			case "Number":
				return kNumber, "", nil
			}
		}
	}
	return 0, "", errors.New("type " + exprString(t) + " is not supported by the reader: add a setter to jsonset.go and a case to gendecode")
}

func exprString(e ast.Expr) string {
	var b bytes.Buffer
	format.Node(&b, token.NewFileSet(), e)
	return b.String()
}

func (g *generator) decodeField(out *bytes.Buffer, f field) {
	switch f.kind {
	case kString:
		fmt.Fprintf(out, "\t\td.setStr(&p.%s)\n", f.goName)
	case kBool:
		fmt.Fprintf(out, "\t\td.setBool(&p.%s)\n", f.goName)
	case kInt:
		fmt.Fprintf(out, "\t\td.setInt(&p.%s)\n", f.goName)
	case kNumber:
		fmt.Fprintf(out, "\t\td.setNumber((*string)(&p.%s))\n", f.goName)
	case kRaw:
		fmt.Fprintf(out, "\t\tp.%s = d.raw()\n", f.goName)
	case kStrings:
		fmt.Fprintf(out, "\t\td.strings(&p.%s)\n", f.goName)
	case kStrMap:
		fmt.Fprintf(out, "\t\td.strMap(&p.%s)\n", f.goName)
	case kStruct:
		fmt.Fprintf(out, "\t\td.dec%s(&p.%s)\n", f.elem, f.goName)
	case kPtr:
		fmt.Fprintf(out, "\t\tif d.peek() == 'n' {\n\t\t\td.lit(\"null\")\n\t\t} else {\n\t\t\tp.%s = new(%s)\n\t\t\td.dec%s(p.%s)\n\t\t}\n", f.goName, f.elem, f.elem, f.goName)
	case kSlice:
		fmt.Fprintf(out, "\t\td.dec%sSlice(&p.%s)\n", f.elem, f.goName)
	}
}

func (g *generator) decodeStruct(out *bytes.Buffer, s string) {
	fmt.Fprintf(out, "// dec%s decodes an object into *p; null leaves it unchanged.\n", s)
	fmt.Fprintf(out, "func (d *reader) dec%s(p *%s) {\n", s, s)
	fmt.Fprintf(out, "\tif !d.object() {\n\t\treturn\n\t}\n\tvar seen uint32\n\tfor n := 0; ; {\n")
	fmt.Fprintf(out, "\t\tkey, more := d.key(&n)\n\t\tif !more {\n\t\t\treturn\n\t\t}\n")
	fmt.Fprintf(out, "\t\tswitch d.field(key, %sFields, &seen) {\n", lower(s))
	for i, f := range g.fields[s] {
		fmt.Fprintf(out, "\t\tcase %d: // %s\n", i, f.name)
		var b bytes.Buffer
		g.decodeField(&b, f)
		for _, line := range strings.SplitAfter(b.String(), "\n") {
			if line != "" {
				out.WriteString("\t" + line)
			}
		}
	}
	out.WriteString("\t\tdefault:\n\t\t\td.skip()\n\t\t}\n\t}\n}\n\n")
}

func (g *generator) decodeSlice(out *bytes.Buffer, s string) {
	fmt.Fprintf(out, `// dec%[1]sSlice decodes an array into *p; null leaves it unchanged and []
// gives a non-nil empty slice, as encoding/json does. Up to 16 elements are
// decoded into a stack buffer first so that the slice is allocated once, at
// its final length.
func (d *reader) dec%[1]sSlice(p *[]%[1]s) {
	if !d.array() {
		return
	}
	if d.peek() == ']' {
		d.i++
		*p = []%[1]s{}
		return
	}
	var buf [16]%[1]s
	var out []%[1]s
	n := 0
	for d.next(&n, ']') {
		if n <= len(buf) {
			d.dec%[1]s(&buf[n-1])
			continue
		}
		if out == nil {
			out = make([]%[1]s, len(buf), 2*len(buf))
			copy(out, buf[:])
		}
		out = append(out, %[1]s{})
		d.dec%[1]s(&out[len(out)-1])
	}
	if d.fail {
		return
	}
	if out == nil {
		out = make([]%[1]s, n)
		copy(out, buf[:n])
	}
	*p = out
}

`, s)
}

func nameList(fs []field) string {
	q := make([]string, len(fs))
	for i, f := range fs {
		q[i] = strconv.Quote(f.name)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func lower(s string) string { return strings.ToLower(s[:1]) + s[1:] }
func upper(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
