package normalize_test

import (
	"errors"
	"testing"

	"github.com/codathook/codathook/normalize"
)

// A body that repeats a top-level key Parse reads is refused (400 at the
// receiver): encoding/json would keep the last copy of a raw value but merge
// the copies of an object decoded into a struct, so dedupe and a wrapped
// handler decoding the same bytes could see different events. Repeated keys
// Parse does not read change nothing it reports, and are accepted.
func TestParseRepeatedKeys(t *testing.T) {
	t.Parallel()
	const conn = `{"referenceCompany":{"id":"co"},"connection":{"id":"k","status":"Linked"}}`
	refused := []struct{ name, body string }{
		{"payload twice", `{"id":"1","eventType":"connection.connected","payload":` + conn + `,"payload":{"referenceCompany":{"id":"other"}}}`},
		{"payload in two spellings", `{"id":"1","eventType":"connection.connected","payload":` + conn + `,"Payload":{"connection":{"status":"Unlinked"}}}`},
		{"eventType twice", `{"id":"1","eventType":"connection.connected","eventType":"company.deleted","payload":` + conn + `}`},
		{"id and ID", `{"id":"1","ID":"2","eventType":"connection.connected","payload":` + conn + `}`},
		{"legacy Data twice", `{"AlertId":"a","RuleType":"DataConnectionStatusChanged","CompanyId":"co","Data":{"newStatus":"Linked"},"Data":{"newStatus":"Unlinked"}}`},
		{"legacy CompanyId twice", `{"AlertId":"a","RuleType":"DataConnectionStatusChanged","CompanyId":"co","CompanyId":"co2","Data":{}}`},
		{"escaped spelling", `{"id":"1","eventType":"connection.connected","payload":` + conn + `,"p\u0061yload":{}}`},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := normalize.Parse([]byte(tc.body))
			var me *normalize.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Parse = %+v, %v; want a *MalformedError", ev, err)
			}
		})
	}
	accepted := []string{
		`{"id":"1","eventType":"connection.connected","extra":1,"extra":2,"payload":` + conn + `}`,
		`{"id":"1","eventType":"connection.connected","payload":{"referenceCompany":{"id":"co","tags":{"a":"1","a":"2"}},"connection":{"id":"k"}}}`,
	}
	for _, body := range accepted {
		if _, err := normalize.Parse([]byte(body)); err != nil {
			t.Errorf("Parse(%s) error = %v, want accepted", body, err)
		}
	}
}
