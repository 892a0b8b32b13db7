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

// mappingMarkdown renders commonFieldMappings and the mapping catalogue as the
// Markdown that docs/EVENTS.md carries between its mapping markers.
func mappingMarkdown() string {
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
	b.WriteString("| Legacy `RuleType` | Svix name | When | New event type | `Typed` | Field mapping |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	prev := "\x00"
	for _, m := range legacyMappings() {
		names := make([]string, len(m.RuleTypes))
		for i, n := range m.RuleTypes {
			names[i] = "`" + n + "`"
		}
		fields := make([]string, len(m.Fields))
		for i, f := range m.Fields {
			fields[i] = "`" + f.Legacy + "` → " + f.New
		}
		if m.Rule == prev {
			fields = []string{"as above"}
		}
		prev = m.Rule
		svix := m.Rule
		if svix != "" {
			svix = "`" + svix + "`"
		}
		b.WriteString("| " + strings.Join(names, "<br>") +
			" | " + svix +
			" | " + m.When +
			" | `" + m.EventType + "`" +
			" | `" + m.GoType + "`" +
			" | " + strings.Join(fields, "<br>") + " |\n")
	}
	return b.String()
}
