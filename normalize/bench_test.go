package normalize_test

import (
	"encoding/json"
	"os"
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

func BenchmarkParseNew(b *testing.B) {
	body := readFixture(b, newBench)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := normalize.Parse(body); err != nil {
			b.Fatal(err)
		}
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
	body := readFixture(b, newBench)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v baselineReadCompleted
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
