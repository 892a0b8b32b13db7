package normalize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// slowParse is Parse without the single-pass fast path.
func slowParse(body []byte) (*Event, error) {
	if err := checkObject(body); err != nil {
		return nil, err
	}
	if k, ok := repeatedKey(body); ok {
		return nil, &MalformedError{Reason: "repeated top-level key " + k, Offset: -1}
	}
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, malformed(err)
	}
	format, typ := shape(w.EventType, w.Type, w.AlertID, w.RuleType)
	switch format {
	case FormatNew:
		return parseNew(body, &w, typ)
	case FormatLegacy:
		return parseLegacy(body, &w, typ)
	}
	return &Event{Format: FormatUnknown, ID: w.ID, CompanyID: w.CompanyID, ConnectionID: w.ConnectionID, Body: body}, nil
}

// FuzzFastPath checks that the single-pass path and the general path agree.
func FuzzFastPath(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"eventType":"company.created","EventType":"read.completed","payload":{}}`))
	f.Add([]byte(`{"eventType":"company.created","eventType":null,"payload":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gerr := Parse(body)
		want, werr := slowParse(body)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("Parse error = %v, general path error = %v", gerr, werr)
		}
		if gerr != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("Parse = %s\ngeneral path = %s", g, w)
		}
	})
}
