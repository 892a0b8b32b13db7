package codathooktest_test

import (
	"testing"

	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/normalize"
)

// TestSamplesParse checks every sample against the receiver's own parser:
// new samples normalize to their name with a typed event, legacy samples to a
// known type.
func TestSamplesParse(t *testing.T) {
	t.Parallel()
	eventTypes, ruleTypes := codathooktest.SampleNames()
	for _, typ := range append(eventTypes, "bills.write.unsuccessful") {
		body, err := codathooktest.Sample(typ, codathooktest.SampleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := normalize.Parse(body)
		if err != nil {
			t.Errorf("Parse(Sample(%q)): %v", typ, err)
			continue
		}
		if ev.Format != normalize.FormatNew || ev.Type != typ || ev.Typed == nil {
			t.Errorf("Parse(Sample(%q)) = format %q type %q typed %T; want new, %q, typed", typ, ev.Format, ev.Type, ev.Typed, typ)
		}
	}
	for _, rule := range ruleTypes {
		body, err := codathooktest.LegacySample(rule, codathooktest.SampleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := normalize.Parse(body)
		if err != nil {
			t.Errorf("Parse(LegacySample(%q)): %v", rule, err)
			continue
		}
		if ev.Format != normalize.FormatLegacy || ev.Type == "" || ev.Type == "UnknownLegacyRule" || ev.Typed == nil {
			t.Errorf("Parse(LegacySample(%q)) = format %q type %q typed %T; want a known legacy rule", rule, ev.Format, ev.Type, ev.Typed)
		}
	}
}

// TestTwinsNormalizeAlike checks that each twin's two bodies normalize to the
// same event type and the same first occurrence.
func TestTwinsNormalizeAlike(t *testing.T) {
	t.Parallel()
	o := codathooktest.SampleOptions{ID: "7d5f0a52-0c1e-4f57-9d7b-3a8e4f0c2b61", CompanyID: "c0ffee00-0000-4000-8000-000000000001", ConnectionID: "c0ffee00-0000-4000-8000-000000000002"}
	for _, typ := range []string{
		"connection.created", "connection.connected", "connection.disconnected", "connection.reconnected", "connection.deleted",
		"read.completed", "read.completed.initial", "bills.write.successful", "invoices.write.unsuccessful",
		"client.rateLimit.reached", "client.rateLimit.reset", "expenses.sync.successful", "expenses.sync.unsuccessful",
	} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			nb, lb, err := codathooktest.Twin(typ, o)
			if err != nil {
				t.Fatal(err)
			}
			ne, err := normalize.Parse(nb)
			if err != nil {
				t.Fatal(err)
			}
			le, err := normalize.Parse(lb)
			if err != nil {
				t.Fatal(err)
			}
			if ne.Type != le.Type || ne.ID != le.ID || ne.CompanyID != le.CompanyID {
				t.Errorf("new: type %q id %q company %q; legacy: type %q id %q company %q", ne.Type, ne.ID, ne.CompanyID, le.Type, le.ID, le.CompanyID)
			}
			if ne.ConnectionID != le.ConnectionID {
				t.Errorf("connection: new %q, legacy %q", ne.ConnectionID, le.ConnectionID)
			}
			no, lo := ne.Occurrences(), le.Occurrences()
			if len(no) == 0 || len(lo) == 0 {
				t.Fatalf("occurrences: new %d, legacy %d", len(no), len(lo))
			}
			if typ == "read.completed.initial" {
				return // the legacy body names no data type
			}
			a, b := no[0], lo[0]
			if typ == "connection.deleted" {
				// Sync Connection Deleted carries no status, while
				// connection.deleted carries the connection's last one.
				a.Status = ""
			}
			if a.Type != b.Type || a.DataType != b.DataType || a.Status != b.Status || a.ExactID != b.ExactID || a.ConnectionID != b.ConnectionID {
				t.Errorf("occurrences differ:\nnew    %+v\nlegacy %+v", a, b)
			}
		})
	}
}
