package normalize

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// This file derives the "Empty from legacy" column of the mapping table in
// docs/EVENTS.md from the examples under testdata. TestREADMEMapping renders
// the table with it (MappingMarkdown in export_test.go) and compares the
// result with the document, so a mapping that starts or stops filling a
// field changes the column and fails that test until -update rewrites it.

// parityKey is what a legacy example is filed under: the rule it matched
// (Legacy.Rule, "" when unknown) and its event type, with a write's data
// type replaced by "{dataType}" as in the table.
type parityKey struct{ rule, eventType string }

// typeKey spells eventType as the mapping table does.
func typeKey(eventType string) string {
	if _, ok := writeDataType(eventType); ok {
		if strings.HasSuffix(eventType, writeSuccessfulSuffix) {
			return placeholderWriteSuccessful
		}
		return placeholderWriteUnsuccessful
	}
	return eventType
}

// legacyOnlyType reports whether eventType is one of the stable legacy-only
// names, which Codat never sends in the new format (they are the known
// names that start with an upper-case letter).
func legacyOnlyType(eventType string) bool {
	return eventType != "" && 'A' <= eventType[0] && eventType[0] <= 'Z' && kindOf(eventType) != kindNone
}

// parityExamples returns the Typed values of the normalized examples the
// column is derived from:
//
//   - legacy, by parityKey: every testdata/legacy example (quirk-* bodies
//     aside, see examples), and each example of a rule whose rows depend on
//     Data (DataConnectionStatusChanged, Push Operation Status Changed)
//     once more per row condition, with that row's Data values set;
//   - newer, by typeKey: every testdata/new example of a known type, and
//     Codat's "New schema" example of a rule's section of the migration
//     guide (new/migrate-<rule>.json) once per event type of the rule when
//     the example's own type is none of them (Codat's slips: the
//     Rate Limit Reset example says client.rateLimit.reached, the Push
//     Operation Timed Out one invoices.write.successful, and the
//     DataConnectionStatusChanged one connection.{created,conneected,...}).
func parityExamples(tb testing.TB) (legacy map[parityKey][]any, newer map[string][]any) {
	tb.Helper()
	legacy, newer = map[parityKey][]any{}, map[string][]any{}
	addLegacy := func(body []byte, from string) *Event {
		tb.Helper()
		ev := mustParse(tb, body, from)
		if ev.Format != FormatLegacy {
			tb.Fatalf("%s: Format = %q, want legacy", from, ev.Format)
		}
		k := parityKey{ev.Legacy.Rule, typeKey(ev.Type)}
		legacy[k] = append(legacy[k], ev.Typed)
		return ev
	}
	for _, file := range examples(tb, "legacy") {
		body := readFile(tb, file)
		spec := lookupRule(addLegacy(body, file).Legacy.RuleType)
		switch {
		case spec == nil:
		case spec.id == ruleDataConnectionStatusChanged:
			for _, t := range connectionTransitions {
				addLegacy(withData(tb, body, "oldStatus", t.old, "newStatus", t.new), file+" ("+t.old+" → "+t.new+")")
			}
		case spec.id == rulePushOperationStatusChanged:
			for _, p := range pushStatuses {
				addLegacy(withData(tb, body, "status", p.status), file+" (status "+p.status+")")
			}
		}
	}
	for _, file := range examples(tb, "new") {
		if ev := mustParse(tb, readFile(tb, file), file); ev.Typed != nil {
			newer[typeKey(ev.Type)] = append(newer[typeKey(ev.Type)], ev.Typed)
		}
	}
	rows := legacyMappings()
	for _, s := range ruleSpecs {
		file := filepath.Join("testdata", "new", "migrate-"+strings.ToLower(s.svix)+".json")
		body, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // Codat's guide has no section for the rule
		} else if err != nil {
			tb.Fatal(err)
		}
		var types []string
		for _, m := range rows {
			if m.Rule == s.svix && !legacyOnlyType(m.EventType) && !slices.Contains(types, m.EventType) {
				types = append(types, m.EventType)
			}
		}
		own := mustParse(tb, body, file).Type
		if slices.Contains(types, typeKey(own)) {
			continue // already in newer as it is
		}
		for _, t := range types {
			concrete := t
			if dt, ok := strings.CutPrefix(t, "{dataType}"); ok {
				d, isWrite := writeDataType(own)
				if !isWrite {
					tb.Fatalf("%s: eventType %q names no data type for %s", file, own, t)
				}
				concrete = d + dt
			}
			ev := mustParse(tb, retype(tb, body, concrete), file+" as "+concrete)
			if ev.Type != concrete || ev.Typed == nil {
				tb.Fatalf("%s as %s: Type = %q, Typed = %T", file, concrete, ev.Type, ev.Typed)
			}
			newer[t] = append(newer[t], ev.Typed)
		}
	}
	return legacy, newer
}

// legacyParity derives the "Empty from legacy" cell of every legacyMappings row.
func legacyParity(tb testing.TB) []parityCell {
	tb.Helper()
	legacy, newer := parityExamples(tb)
	rows := legacyMappings()
	cells := make([]parityCell, len(rows))
	for i, m := range rows {
		cells[i] = parity(tb, m.EventType, legacy[parityKey{m.Rule, m.EventType}], newer[m.EventType])
	}
	return cells
}

// parity computes one cell: the leaf paths that some new-format example
// sets and no legacy example does (Empty) or only some do (Partly).
func parity(tb testing.TB, eventType string, legacy, newer []any) parityCell {
	tb.Helper()
	switch {
	case legacyOnlyType(eventType):
		return parityCell{Note: "legacy-only type: no new format to compare"}
	case len(newer) == 0:
		return parityCell{Note: "no new-format example"}
	case len(legacy) == 0:
		return parityCell{Note: "no legacy example"}
	}
	typ := reflect.TypeOf(newer[0])
	carried, filled := map[string]bool{}, map[string]int{}
	for _, v := range newer {
		nonZeroLeaves(reflect.ValueOf(v), "", carried)
	}
	for _, v := range legacy {
		if reflect.TypeOf(v) != typ {
			tb.Fatalf("%s: legacy example is %T, new-format example %v", eventType, v, typ)
		}
		one := map[string]bool{}
		nonZeroLeaves(reflect.ValueOf(v), "", one)
		for p := range one {
			filled[p]++
		}
	}
	c := parityCell{Empty: []string{}}
	for _, p := range leafPaths(typ, "") {
		switch {
		case !carried[p]:
		case filled[p] == 0:
			c.Empty = append(c.Empty, p)
		case filled[p] < len(legacy):
			c.Partly = append(c.Partly, p)
		}
	}
	return c
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	index  int
	name   string
	inline bool // an embedded struct whose fields are promoted
}

// jsonFields lists the fields of struct type t that encoding/json encodes.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		inline := f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{index: i, name: name, inline: inline})
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// elemStruct reports whether a slice of t is walked element by element.
func elemStruct(t reflect.Type) bool {
	e := t.Elem()
	if e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return e.Kind() == reflect.Struct
}

// leafPaths lists every leaf path of type t in field order: strings,
// numbers, booleans, maps, json.RawMessage and slices of non-structs are
// leaves; structs, pointers and slices of structs ("[]") are walked.
func leafPaths(t reflect.Type, prefix string) []string {
	switch t.Kind() {
	case reflect.Pointer:
		return leafPaths(t.Elem(), prefix)
	case reflect.Struct:
		var out []string
		for _, f := range jsonFields(t) {
			p := join(prefix, f.name)
			if f.inline {
				p = prefix
			}
			out = append(out, leafPaths(t.Field(f.index).Type, p)...)
		}
		return out
	case reflect.Slice:
		if elemStruct(t) {
			return leafPaths(t.Elem(), prefix+"[]")
		}
	}
	return []string{prefix}
}

// nonZeroLeaves adds to out the leaf paths (as leafPaths spells them) whose
// value in v is not the zero value, an empty slice or an empty map.
func nonZeroLeaves(v reflect.Value, prefix string, out map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			nonZeroLeaves(v.Elem(), prefix, out)
		}
	case reflect.Struct:
		for _, f := range jsonFields(v.Type()) {
			p := join(prefix, f.name)
			if f.inline {
				p = prefix
			}
			nonZeroLeaves(v.Field(f.index), p, out)
		}
	case reflect.Slice, reflect.Map:
		if v.Kind() == reflect.Slice && elemStruct(v.Type()) {
			for i := range v.Len() {
				nonZeroLeaves(v.Index(i), prefix+"[]", out)
			}
		} else if v.Len() > 0 {
			out[prefix] = true
		}
	default:
		if !v.IsZero() {
			out[prefix] = true
		}
	}
}

// examples returns testdata/<dir>/*.json except the quirk-* bodies: those
// are constructed edge cases (all-zero ids, misspelt keys, ...) and say
// nothing about which fields a format carries.
func examples(tb testing.TB, dir string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures in testdata/%s (%v)", dir, err)
	}
	return slices.DeleteFunc(files, func(f string) bool { return strings.HasPrefix(filepath.Base(f), "quirk-") })
}

func readFile(tb testing.TB, file string) []byte {
	tb.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func mustParse(tb testing.TB, body []byte, from string) *Event {
	tb.Helper()
	ev, err := Parse(body)
	if err != nil {
		tb.Fatalf("%s: Parse() error = %v", from, err)
	}
	return ev
}

// edit decodes a JSON object, applies set and encodes it again.
func edit(tb testing.TB, body []byte, set func(map[string]any)) []byte {
	tb.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		tb.Fatal(err)
	}
	set(v)
	out, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// setKey sets key in m, replacing every key equal to it ignoring case (as
// Parse matches keys); an empty value removes the key.
func setKey(m map[string]any, key, value string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
	if value != "" {
		m[key] = value
	}
}

// withData returns body with the Data fields kv (name, value pairs) set.
func withData(tb testing.TB, body []byte, kv ...string) []byte {
	tb.Helper()
	return edit(tb, body, func(v map[string]any) {
		var data map[string]any
		for k, d := range v {
			if strings.EqualFold(k, "Data") {
				data, _ = d.(map[string]any)
				delete(v, k)
			}
		}
		if data == nil {
			data = map[string]any{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			setKey(data, kv[i], kv[i+1])
		}
		v["Data"] = data
	})
}

// retype returns a new-format body with its eventType set to eventType.
func retype(tb testing.TB, body []byte, eventType string) []byte {
	tb.Helper()
	return edit(tb, body, func(v map[string]any) { setKey(v, "eventType", eventType) })
}
