package normalize

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type probeInner struct {
	A string   `json:"a,omitempty"`
	B []string `json:"b"`
}

type probe struct {
	Envelope                   // promoted; its Legacy is json:"-"
	Name     string            `json:"name"`
	NoTag    int               // named as Go names it
	P        *probeInner       `json:"p"`
	S        []probeInner      `json:"s"`
	M        map[string]string `json:"m"`
	R        json.RawMessage   `json:"r"`
	Skipped  string            `json:"-"`
	hidden   string
}

// TestLeafPaths pins the walk the "Empty from legacy" column is made of:
// paths are encoding/json's names, embedded structs are promoted, "-" and
// unexported fields are skipped, pointers and slices of structs are walked
// ("[]"), and nil, empty and zero values count as empty.
func TestLeafPaths(t *testing.T) {
	t.Parallel()
	got := leafPaths(reflect.TypeFor[*probe](), "")
	want := []string{"id", "eventType", "generatedDate", "name", "NoTag", "p.a", "p.b", "s[].a", "s[].b", "m", "r"}
	if !slices.Equal(got, want) {
		t.Errorf("leafPaths = %q, want %q", got, want)
	}
	v := &probe{
		Envelope: Envelope{ID: "x", Legacy: &Legacy{AlertID: "x"}},
		S:        []probeInner{{}, {A: "y"}},
		M:        map[string]string{},
		R:        json.RawMessage(`{}`),
		Skipped:  "z",
		hidden:   "z",
	}
	nonZero := map[string]bool{}
	nonZeroLeaves(reflect.ValueOf(v), "", nonZero)
	if want := map[string]bool{"id": true, "s[].a": true, "r": true}; !reflect.DeepEqual(nonZero, want) {
		t.Errorf("nonZeroLeaves = %v, want %v", nonZero, want)
	}
	var typed any = &ConnectionEvent{Payload: ConnectionPayload{Connection: Connection{PlatformName: "Xero"}}}
	nonZero = map[string]bool{}
	nonZeroLeaves(reflect.ValueOf(typed), "", nonZero)
	if !nonZero["payload.connection.platformName"] || len(nonZero) != 1 {
		t.Errorf("nonZeroLeaves(ConnectionEvent) = %v, want only payload.connection.platformName", nonZero)
	}
}

func TestParity(t *testing.T) {
	t.Parallel()
	conn := func(id, platform string) any {
		return &ConnectionEvent{Payload: ConnectionPayload{Connection: Connection{ID: id, PlatformName: platform}}}
	}
	tests := []struct {
		name              string
		eventType         string
		legacy, newFormat []any
		want              parityCell
	}{
		{"a legacy-only type is not compared", typeSyncStarted, []any{&SyncStartedEvent{}}, nil,
			parityCell{Note: "legacy-only type: no new format to compare"}},
		{"a row without a new-format example says so", typeConnectionConnected, []any{conn("c", "")}, nil,
			parityCell{Note: "no new-format example"}},
		{"a row without a legacy example says so", typeConnectionConnected, nil, []any{conn("c", "Xero")},
			parityCell{Note: "no legacy example"}},
		{"a field the new format carries and legacy leaves empty is listed", typeConnectionConnected,
			[]any{conn("c", "")}, []any{conn("c", "Xero")},
			parityCell{Empty: []string{"payload.connection.platformName"}}},
		{"a field only some legacy examples fill is listed apart", typeConnectionConnected,
			[]any{conn("c", ""), conn("c", "Xero")}, []any{conn("c", "Xero")},
			parityCell{Empty: []string{}, Partly: []string{"payload.connection.platformName"}}},
		{"a field no new-format example carries is not listed", typeConnectionConnected,
			[]any{conn("", "")}, []any{conn("", "Xero")},
			parityCell{Empty: []string{"payload.connection.platformName"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parity(t, tt.eventType, tt.legacy, tt.newFormat); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parity() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMappingMarkdownParity checks the rendering of the column: paths every
// compared row lists are said once above the table, a cell equal to the one
// above in the same rule says "as above", and notes are kept.
func TestMappingMarkdownParity(t *testing.T) {
	t.Parallel()
	rows := legacyMappings()
	cells := make([]parityCell, len(rows))
	for i := range cells {
		cells[i] = parityCell{Note: "not compared"}
	}
	cells[0] = parityCell{Empty: []string{"generatedDate", "payload.a"}}
	cells[1] = parityCell{Empty: []string{"generatedDate", "payload.a"}}
	cells[2] = parityCell{Empty: []string{"generatedDate"}, Partly: []string{"payload.b"}}
	md := mappingMarkdown(cells)
	for _, want := range []string{
		" Every compared row also leaves `generatedDate` empty.\n",
		"| `connection.created` | `*normalize.ConnectionEvent` | ",
		" | `payload.a` |\n",
		" | as above | as above |\n",
		" | none; empty in some legacy examples: `payload.b` |\n",
		" | not compared |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("mappingMarkdown() lacks %q:\n%s", want, md)
		}
	}
	if got := strings.Count(md, "`generatedDate`"); got != 1 {
		t.Errorf("generatedDate appears %d times, want once (above the table)", got)
	}
}

// TestPackageDocLegacyConnected holds the example of the package
// documentation (and of the sentence above the table in docs/EVENTS.md)
// to the examples: a legacy connection.connected fills only the company id
// and the connection's id, integrationKey and status, and leaves
// platformName and generatedDate empty although the new format carries them.
func TestPackageDocLegacyConnected(t *testing.T) {
	t.Parallel()
	legacy, newer := parityExamples(t)
	examples := legacy[parityKey{"DataConnectionStatusChanged", typeConnectionConnected}]
	if len(examples) == 0 {
		t.Fatal("no legacy connection.connected example")
	}
	filled := map[string]bool{}
	for _, ev := range examples {
		nonZeroLeaves(reflect.ValueOf(ev), "", filled)
	}
	want := map[string]bool{
		"id": true, "eventType": true, "payload.referenceCompany.id": true,
		"payload.connection.id": true, "payload.connection.integrationKey": true, "payload.connection.status": true,
	}
	if !reflect.DeepEqual(filled, want) {
		t.Errorf("legacy connection.connected fills %v, want %v (update doc.go, # Legacy rule types)", filled, want)
	}
	c := parity(t, typeConnectionConnected, examples, newer[typeConnectionConnected])
	for _, p := range []string{"generatedDate", "payload.connection.platformName"} {
		if !slices.Contains(c.Empty, p) {
			t.Errorf("connection.connected: %s is not empty from legacy (Empty = %q); update doc.go", p, c.Empty)
		}
	}
}
