package codathooktest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/codathook/codathook/codathooktest"
)

// wantNewTypes is every new event type named in the brief and in
// codat-delivery-facts.md §4, with invoices standing for {dataType}.
var wantNewTypes = []string{
	"company.created", "company.deleted", "company.product.added", "company.product.removed",
	"connection.created", "connection.connected", "connection.disconnected", "connection.reconnected",
	"connection.failed", "connection.deleted", "read.completed", "read.completed.initial",
	"invoices.write.successful", "invoices.write.unsuccessful",
	"client.rateLimit.reached", "client.rateLimit.reset",
	"bankFeeds.sourceAccount.connected", "bankFeeds.sourceAccount.disconnected",
	"expenses.sync.successful", "expenses.sync.unsuccessful",
	"reports.categorizedBankStatement.generate.successful", "reports.categorizedBankStatement.generate.unsuccessful",
	"reports.creditModel.generate.successful", "reports.creditModel.generate.unsuccessful",
	"reports.spendAnalysis.generate.successful", "reports.spendAnalysis.generate.unsuccessful",
}

var wantRuleTypes = []string{
	"DataConnectionStatusChanged", "New company synchronised", "Data sync completed", "Dataset data changed",
	"Data Sync Status Changed To Error", "Push Operation Status Changed()", "Push Operation Timed Out",
	"Account Categories Updated", "Sync Connection Deleted", "Sync Completed", "Sync Failed", "Sync Started",
	"Rate Limit Reached", "Rate Limit Reset",
}

func TestSampleNamesComplete(t *testing.T) {
	t.Parallel()
	eventTypes, ruleTypes := codathooktest.SampleNames()
	if !slices.Equal(eventTypes, wantNewTypes) {
		t.Errorf("SampleNames() event types = %q, want %q", eventTypes, wantNewTypes)
	}
	if !slices.Equal(ruleTypes, wantRuleTypes) {
		t.Errorf("SampleNames() rule types = %q, want %q", ruleTypes, wantRuleTypes)
	}
	// Every file is listed: no sample is embedded but unreachable.
	for dir, n := range map[string]int{"new": len(wantNewTypes), "legacy": len(wantRuleTypes)} {
		files, err := filepath.Glob(filepath.Join("samples", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(files); got != n {
			t.Errorf("samples/%s has %d files, want %d", dir, got, n)
		}
	}
	// The returned slices are copies.
	eventTypes[0], ruleTypes[0] = "x", "y"
	if again, againRules := codathooktest.SampleNames(); again[0] != "company.created" || againRules[0] != "DataConnectionStatusChanged" {
		t.Errorf("SampleNames() after caller's write = %q, %q; want company.created, DataConnectionStatusChanged", again[0], againRules[0])
	}
}

// envelope is the new shape; every field must be present in a sample.
type envelope struct {
	ID            string          `json:"id"`
	EventType     string          `json:"eventType"`
	GeneratedDate string          `json:"generatedDate"`
	Payload       json.RawMessage `json:"payload"`
}

func TestNewSamplesShape(t *testing.T) {
	t.Parallel()
	ids := map[string]string{}
	for _, typ := range wantNewTypes {
		t.Run(typ, func(t *testing.T) {
			body, err := codathooktest.Sample(typ, codathooktest.SampleOptions{})
			if err != nil {
				t.Fatalf("Sample: %v", err)
			}
			if !json.Valid(body) {
				t.Fatalf("Sample(%q) is not valid JSON: %s", typ, body)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, body); err != nil || !bytes.Equal(compact.Bytes(), body) {
				t.Errorf("Sample(%q) is not compact JSON", typ)
			}
			var env envelope
			dec := json.NewDecoder(bytes.NewReader(body))
			if err := dec.Decode(&env); err != nil {
				t.Fatal(err)
			}
			if got := env.EventType; got != typ {
				t.Errorf("eventType = %q, want %q", got, typ)
			}
			if len(env.ID) != 36 || env.GeneratedDate == "" {
				t.Errorf("id = %q, generatedDate = %q; want a UUID and a date", env.ID, env.GeneratedDate)
			}
			var payload map[string]any
			if err := json.Unmarshal(env.Payload, &payload); err != nil || len(payload) == 0 {
				t.Errorf("payload = %s, want a non-empty object (err %v)", env.Payload, err)
			}
			if prev, dup := ids[env.ID]; dup {
				t.Errorf("id %s is also the id of %s", env.ID, prev)
			}
			ids[env.ID] = typ
		})
	}
}

func TestLegacySamplesShape(t *testing.T) {
	t.Parallel()
	ids := map[string]string{}
	for _, rule := range wantRuleTypes {
		t.Run(rule, func(t *testing.T) {
			body, err := codathooktest.LegacySample(rule, codathooktest.SampleOptions{})
			if err != nil {
				t.Fatalf("LegacySample: %v", err)
			}
			var b struct {
				AlertID   string `json:"AlertId"`
				RuleType  string
				ClientID  string `json:"ClientId"`
				CompanyID string `json:"CompanyId"`
				Message   string
				EventType *string `json:"eventType"`
			}
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatalf("LegacySample(%q) is not valid JSON: %v", rule, err)
			}
			if got := b.RuleType; got != rule {
				t.Errorf("RuleType = %q, want %q", got, rule)
			}
			if len(b.AlertID) != 36 || b.ClientID == "" || b.Message == "" || b.EventType != nil {
				t.Errorf("AlertId %q, ClientId %q, Message %q, eventType %v: want legacy fields and no eventType", b.AlertID, b.ClientID, b.Message, b.EventType)
			}
			if rateLimit := strings.HasPrefix(rule, "Rate Limit"); (b.CompanyID == "") != rateLimit {
				t.Errorf("CompanyId = %q; want one unless a rate-limit rule", b.CompanyID)
			}
			if prev, dup := ids[b.AlertID]; dup {
				t.Errorf("AlertId %s is also the AlertId of %s", b.AlertID, prev)
			}
			ids[b.AlertID] = rule
		})
	}
}

func TestSampleWriteDataTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  string
		ok   bool
		want string
	}{
		{"bills.write.successful", true, "bills.write.successful"},
		{"banking-accounts.write.unsuccessful", true, "banking-accounts.write.unsuccessful"},
		{"invoices.write.successful", true, "invoices.write.successful"},
		{".write.successful", false, ""},
		{"{dataType}.write.successful", false, ""},
		{"bills.write.pending", false, ""},
		{"connection.unknown", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			body, err := codathooktest.Sample(tt.typ, codathooktest.SampleOptions{})
			if (err == nil) != tt.ok {
				t.Fatalf("Sample(%q) error = %v, want ok %v", tt.typ, err, tt.ok)
			}
			if !tt.ok {
				return
			}
			var env envelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if got := env.EventType; got != tt.want {
				t.Errorf("eventType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLegacySampleSpellings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		wantData string // a key of Data that identifies the sample
	}{
		{"Push Operation Status Changed", "pushOperationKey"},
		{"PushOperationStatusChanged", "pushOperationKey"},
		{"push operation status changed()", "pushOperationKey"},
		{"New company synchronized", "sourceType"},
		{"NewCompanySynchronized", "sourceType"},
		{"Data Sync Status Changed to Error", "datasetStatus"},
		{"account-categories-updated", "modifiedDate"},
		{"ClientRateLimitReached", "ExpiresUtc"},
		{"ClientRateLimitReset", "ResetReason"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			body, err := codathooktest.LegacySample(tt.in, codathooktest.SampleOptions{})
			if err != nil {
				t.Fatalf("LegacySample(%q): %v", tt.in, err)
			}
			var b struct {
				RuleType string
				Data     map[string]any
			}
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatal(err)
			}
			if got := b.RuleType; got != tt.in {
				t.Errorf("RuleType = %q, want %q as given", got, tt.in)
			}
			if _, ok := b.Data[tt.wantData]; !ok {
				t.Errorf("Data = %v, want key %q", b.Data, tt.wantData)
			}
		})
	}
	for _, bad := range []string{"", "  ", "Sync", "Company Deleted"} {
		if _, err := codathooktest.LegacySample(bad, codathooktest.SampleOptions{}); err == nil {
			t.Errorf("LegacySample(%q) error = nil, want an error", bad)
		}
	}
}

// TestSamplesMatchFiles guards the embed: a file decodes to its published
// body.
func TestSamplesMatchFiles(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("samples", "new", "read.completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, raw); err != nil {
		t.Fatal(err)
	}
	got, err := codathooktest.Sample("read.completed", codathooktest.SampleOptions{Published: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("Sample(read.completed, Published) = %s, want %s", got, want.Bytes())
	}
	got[0] = 'X' // the caller owns the slice
	if again, _ := codathooktest.Sample("read.completed", codathooktest.SampleOptions{Published: true}); again[0] != '{' {
		t.Error("a caller's write changed the embedded sample")
	}
}
