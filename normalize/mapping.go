package normalize

import (
	"slices"
	"strings"
)

// ruleMapping is one row of the legacy-to-new mapping: a legacy rule type,
// under a condition, becomes EventType carrying GoType.
type ruleMapping struct {
	Rule      string         // Svix catalogue name, e.g. "PushOperationStatusChanged"
	RuleTypes []string       // RuleType strings Codat has documented for the rule
	When      string         // condition on Data; "" when the row always applies
	EventType string         // normalized event type; "{dataType}.write.successful" style for writes
	GoType    string         // type of Event.Typed, e.g. "*normalize.WriteEvent"
	Fields    []fieldMapping // rule-specific fields; see commonFieldMappings for the rest
}

// commonFieldMappings returns the fields every legacy rule type shares and
// where the normalized event keeps them.
func commonFieldMappings() []fieldMapping {
	return []fieldMapping{
		{"AlertId", "id (Event.ID)"},
		{"RuleType (or Type)", "eventType (normalized; as sent in Event.Legacy.RuleType)"},
		{"CompanyId", "Event.CompanyID"},
		{"DataConnectionId", "Event.ConnectionID"},
		{"ClientId", "Event.ClientID"},
		{"RuleId, ClientName, Message", keptInLegacy},
		{"Data", "Event.Legacy.Data (typed) and Event.Legacy.RawData (as sent)"},
	}
}

// legacyMappings returns every legacy rule type and the event type(s) it maps
// to, one row per case, in the order of Codat's migration guide, followed by
// the unknown-rule row. The caller owns the returned slice.
func legacyMappings() []ruleMapping {
	var out []ruleMapping
	for i := range ruleSpecs {
		s := &ruleSpecs[i]
		row := ruleMapping{
			Rule:      s.svix,
			RuleTypes: slices.Clone(s.names),
			GoType:    "*normalize." + kindTypes[s.kind].Elem().Name(),
			Fields:    slices.Clone(s.fields),
		}
		switch s.id {
		case ruleDataConnectionStatusChanged:
			for _, t := range connectionTransitions {
				r := row
				r.When = "oldStatus " + orNone(t.old) + " → newStatus " + orNone(t.new)
				r.EventType = t.eventType
				out = append(out, r)
			}
			row.When = "any other transition"
			row.EventType = typeDataConnectionStatusChanged
			out = append(out, row)
		case rulePushOperationStatusChanged:
			for _, p := range pushStatuses {
				r := row
				r.When = "status " + p.status
				r.EventType = p.eventType
				out = append(out, r)
			}
			row.When = "any other status, or no dataType"
			row.EventType = typePushOperationStatusChanged
			out = append(out, row)
		case rulePushOperationTimedOut:
			r := row
			r.EventType = placeholderWriteUnsuccessful
			out = append(out, r)
			row.When = "no dataType"
			row.EventType = typePushOperationStatusChanged
			out = append(out, row)
		default:
			row.EventType = s.eventType
			out = append(out, row)
		}
	}
	out = append(out, ruleMapping{
		Rule:      "",
		RuleTypes: []string{"(any other)"},
		EventType: typeUnknownLegacyRule,
		GoType:    "*normalize." + kindTypes[kindUnknownLegacy].Elem().Name(),
		Fields:    []fieldMapping{{"RuleType", "payload.ruleType (as sent)"}, {"Data", "payload.data (as sent)"}},
	})
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// parityCell is one cell of the mapping table's "Empty from legacy" column.
// The package's tests derive the cells from the examples under testdata
// (parity_internal_test.go) each time they check docs/EVENTS.md, so the
// column is not stored here and cannot go stale.
type parityCell struct {
	// Empty lists, as JSON paths of Event.Typed in field order (for example
	// "payload.connection.platformName"; "[]" is every element), the fields
	// that a new-format example of the row's event type carries and that no
	// normalized legacy example of the row fills.
	Empty []string
	// Partly lists the paths that some legacy examples of the row fill and
	// others leave empty (Codat's examples of the rule disagree).
	Partly []string
	// Note says why nothing was compared ("no legacy example", ...); Empty
	// and Partly are nil when it is set.
	Note string
}

// mappingMarkdown renders commonFieldMappings and the mapping catalogue as the
// Markdown that docs/EVENTS.md carries between its mapping markers. parity
// holds the "Empty from legacy" cell of each legacyMappings row; paths that
// every compared row lists are said once, above the table.
func mappingMarkdown(parity []parityCell) string {
	rows := legacyMappings()
	cells := make([]parityCell, len(rows))
	for i := range cells {
		cells[i] = parityCell{Note: "not derived"}
	}
	copy(cells, parity)
	everywhere := commonPaths(cells)
	var b strings.Builder
	b.WriteString("Generated from the mapping catalogue in package normalize (mapping.go); `go test ./normalize -run TestREADMEMapping -update` rewrites it.\n")
	b.WriteString("Rule types match ignoring case and every non-alphanumeric character (so `()`, spaces and the Svix PascalCase names all match); `synchronised` = `synchronized`.\n\n")
	b.WriteString("Every rule type:")
	for i, f := range commonFieldMappings() {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" `" + f.Legacy + "` → " + f.New)
	}
	b.WriteString(".\n\n")
	b.WriteString("*Empty from legacy* is derived by the tests, not written by hand. Every Codat example under `normalize/testdata` " +
		"(the constructed `quirk-*` bodies aside) is normalized: each legacy example of a rule whose rows depend on `Data` once per row, " +
		"with that row's condition applied, and a rule's new-schema example whose own type is none of the rule's event types " +
		"(Codat's `connection.{created,conneected,...}`, for one) once as each of them. The column lists the fields of `Typed` that a new-format example " +
		"of the event type carries and no legacy example of the row fills: a legacy delivery leaves them at the zero value " +
		"(`\"\"`, 0, false, nil) because its body does not carry them, so a callback that serves both formats should not rely on them. " +
		"Paths are JSON; the Go field follows the same path (`payload.connection.platformName` is `Payload.Connection.PlatformName`); `[]` is every element.")
	if len(everywhere) > 0 {
		b.WriteString(" Every compared row also leaves " + codeList(everywhere, ", ") + " empty.")
	}
	b.WriteString("\n\n")
	b.WriteString("| Legacy `RuleType` | Svix name | When | New event type | `Typed` | Field mapping | Empty from legacy |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	prev, prevEmpty := "\x00", ""
	for i, m := range rows {
		names := make([]string, len(m.RuleTypes))
		for i, n := range m.RuleTypes {
			names[i] = "`" + n + "`"
		}
		fields := make([]string, len(m.Fields))
		for i, f := range m.Fields {
			fields[i] = "`" + f.Legacy + "` → " + f.New
		}
		empty := parityMarkdown(cells[i], everywhere)
		shown := empty
		if m.Rule == prev {
			fields = []string{"as above"}
			if empty == prevEmpty {
				shown = "as above"
			}
		}
		prev, prevEmpty = m.Rule, empty
		svix := m.Rule
		if svix != "" {
			svix = "`" + svix + "`"
		}
		b.WriteString("| " + strings.Join(names, "<br>") +
			" | " + svix +
			" | " + m.When +
			" | `" + m.EventType + "`" +
			" | `" + m.GoType + "`" +
			" | " + strings.Join(fields, "<br>") +
			" | " + shown + " |\n")
	}
	return b.String()
}

// commonPaths returns the paths every compared cell lists (none when no
// cell was compared), in the order of the first compared cell.
func commonPaths(cells []parityCell) []string {
	var out []string
	first := true
	for _, c := range cells {
		if c.Note != "" {
			continue
		}
		if first {
			out, first = slices.Clone(c.Empty), false
			continue
		}
		out = slices.DeleteFunc(out, func(p string) bool { return !slices.Contains(c.Empty, p) })
	}
	return out
}

// parityMarkdown renders one "Empty from legacy" cell without the paths
// said above the table.
func parityMarkdown(c parityCell, except []string) string {
	if c.Note != "" {
		return c.Note
	}
	rest := slices.DeleteFunc(slices.Clone(c.Empty), func(p string) bool { return slices.Contains(except, p) })
	out := "none"
	if len(rest) > 0 {
		out = codeList(rest, ", ")
	}
	if len(c.Partly) > 0 {
		out += "; empty in some legacy examples: " + codeList(c.Partly, ", ")
	}
	return out
}

func codeList(items []string, sep string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "`" + s + "`"
	}
	return strings.Join(quoted, sep)
}
