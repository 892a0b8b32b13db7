package gendecode

// What the generator decodes: the fields of a struct, their json names and
// how each Go type is read.

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"reflect"
	"strconv"
	"strings"
)

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
