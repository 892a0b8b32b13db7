package normalize_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/codathook/codathook/normalize"
)

func readFixture(b *testing.B, name string) []byte {
	b.Helper()
	body, err := os.ReadFile("testdata/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// legacyBench is the documented Push Operation Status Changed() body.
const legacyBench = "legacy/rules-push-operation-status-changed.json"

// newBench is the read.completed body of codat-delivery-facts.md §1.9.
const newBench = "new/facts-read-completed.json"

func BenchmarkParseLegacy(b *testing.B) {
	body := readFixture(b, legacyBench)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := normalize.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalMapBaseline decodes the same legacy body into
// map[string]any: the baseline BenchmarkParseLegacy is compared with.
func BenchmarkUnmarshalMapBaseline(b *testing.B) {
	body := readFixture(b, legacyBench)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// newBodies returns the read.completed body of codat-delivery-facts.md §1.9
// (the §1.9 bytes) and the same event with
// nine dataTypes (about 1.5 KB), as in dependency-notes.md §6.
func newBodies(b *testing.B) []struct {
	name string
	body []byte
} {
	b.Helper()
	small := readFixture(b, newBench)
	const elem = `{"connectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","dataType":"invoices","recordsModified":false,"status":"Complete","issues":[]}`
	if !bytes.Contains(small, []byte(elem)) {
		b.Fatalf("%s no longer holds the dataTypes element", newBench)
	}
	var elems []string
	for _, dt := range []string{"invoices", "bills", "customers", "suppliers", "payments", "billPayments", "creditNotes", "journals", "items"} {
		elems = append(elems, strings.Replace(elem, "invoices", dt, 1))
	}
	large := bytes.Replace(small, []byte(elem), []byte(strings.Join(elems, ",")), 1)
	return []struct {
		name string
		body []byte
	}{{"dataTypes=1", small}, {"dataTypes=9", large}}
}

func BenchmarkParseNew(b *testing.B) {
	for _, bb := range newBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := normalize.Parse(bb.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// baselineReadCompleted is what a user would decode read.completed into
// with encoding/json and no library: a typed struct of the same shape.
type baselineReadCompleted struct {
	ID            string `json:"id"`
	EventType     string `json:"eventType"`
	GeneratedDate string `json:"generatedDate"`
	Payload       struct {
		ReferenceCompany struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"referenceCompany"`
		ModifiedFromDate string `json:"modifiedFromDate"`
		DataTypes        []struct {
			ConnectionID    string `json:"connectionId"`
			DataType        string `json:"dataType"`
			RecordsModified bool   `json:"recordsModified"`
			Status          string `json:"status"`
			Issues          []struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"issues"`
		} `json:"dataTypes"`
	} `json:"payload"`
}

// BenchmarkUnmarshalTypedBaseline decodes the same read.completed body with
// encoding/json into a typed struct: the baseline for BenchmarkParseNew.
func BenchmarkUnmarshalTypedBaseline(b *testing.B) {
	for _, bb := range newBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				var v baselineReadCompleted
				if err := json.Unmarshal(bb.body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
