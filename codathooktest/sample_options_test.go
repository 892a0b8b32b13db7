package codathooktest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/codathook/codathook/codathooktest"
)

// fields extracts the identifying fields of a body in either format.
type fields struct {
	ID, Type, Company, Connection, DataType, Status, OldStatus, Operation, Client string
}

func extract(t *testing.T, body []byte) fields {
	t.Helper()
	var b struct {
		ID        string `json:"id"`
		EventType string `json:"eventType"`
		Payload   struct {
			ID               string `json:"id"`
			ReferenceCompany struct {
				ID string `json:"id"`
			} `json:"referenceCompany"`
			ConnectionID string `json:"connectionId"`
			Connection   struct{ ID, Status string }
			DataTypes    []struct{ ConnectionID, DataType, Status string }
			Status       string `json:"status"`
			SyncID       string `json:"syncId"`
		} `json:"payload"`
		AlertID          string `json:"AlertId"`
		RuleType         string
		CompanyID        string `json:"CompanyId"`
		DataConnectionID string `json:"DataConnectionId"`
		ClientID         string `json:"ClientId"`
		Data             struct {
			DataConnectionID string `json:"dataConnectionId"`
			DataType         string `json:"dataType"`
			NewStatus        string `json:"newStatus"`
			OldStatus        string `json:"oldStatus"`
			DatasetStatus    string `json:"datasetStatus"`
			Status           string `json:"status"`
			PushOperationKey string `json:"pushOperationKey"`
			SyncID           string `json:"syncId"`
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if b.EventType != "" {
		p := b.Payload
		f := fields{ID: b.ID, Type: b.EventType, Company: p.ReferenceCompany.ID, Connection: p.Connection.ID + p.ConnectionID, Status: p.Connection.Status + p.Status, Operation: p.SyncID}
		if strings.Contains(b.EventType, ".write.") {
			f.Operation = p.ID
		}
		if len(p.DataTypes) > 0 {
			f.Connection, f.DataType, f.Status = p.DataTypes[0].ConnectionID, p.DataTypes[0].DataType, p.DataTypes[0].Status
		}
		return f
	}
	d := b.Data
	return fields{ID: b.AlertID, Type: b.RuleType, Company: b.CompanyID, Connection: b.DataConnectionID, DataType: d.DataType,
		Status: d.NewStatus + d.DatasetStatus + d.Status, OldStatus: d.OldStatus, Operation: d.PushOperationKey + d.SyncID, Client: b.ClientID}
}

func TestSampleOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		legacy bool
		typ    string
		o      codathooktest.SampleOptions
		want   fields
	}{
		{
			name: "connection ids and status", typ: "connection.connected",
			o:    codathooktest.SampleOptions{ID: "e1", CompanyID: "c1", ConnectionID: "k1", Status: "Unlinked"},
			want: fields{ID: "e1", Type: "connection.connected", Company: "c1", Connection: "k1", Status: "Unlinked"},
		},
		{
			name: "read element", typ: "read.completed",
			o:    codathooktest.SampleOptions{ConnectionID: "k2", DataType: "bills", Status: "FetchError", Published: true},
			want: fields{Type: "read.completed", Company: "8a210b68-6988-11ed-a1eb-0242ac120002", Connection: "k2", DataType: "bills", Status: "FetchError"},
		},
		{
			name: "write renames the event type", typ: "invoices.write.unsuccessful",
			o:    codathooktest.SampleOptions{DataType: "bills", OperationID: "op1", Status: "Failed", Published: true},
			want: fields{Type: "bills.write.unsuccessful", Company: "8a210b68-6988-11ed-a1eb-0242ac120002", Connection: "2e9d2c44-f675-40ba-8049-353bfcb5e171", Status: "Failed", Operation: "op1"},
		},
		{
			name: "rate limit ignores company", typ: "client.rateLimit.reached",
			o:    codathooktest.SampleOptions{ID: "e3", CompanyID: "c3"},
			want: fields{ID: "e3", Type: "client.rateLimit.reached"},
		},
		{
			name: "legacy connection", legacy: true, typ: "DataConnectionStatusChanged",
			o:    codathooktest.SampleOptions{ID: "a1", CompanyID: "c1", ConnectionID: "k1", Status: "Deauthorized", OldStatus: "Linked", ClientID: "cl"},
			want: fields{ID: "a1", Type: "DataConnectionStatusChanged", Company: "c1", Connection: "k1", Status: "Deauthorized", OldStatus: "Linked", Client: "cl"},
		},
		{
			name: "legacy adds a missing connection", legacy: true, typ: "Sync Connection Deleted",
			o:    codathooktest.SampleOptions{ConnectionID: "k9", Published: true},
			want: fields{Type: "Sync Connection Deleted", Company: "8a210b68-6988-11ed-a1eb-0242ac120002", Connection: "k9", Client: "bae71d36-ff47-420a-b4a6-f8c9ddf41140"},
		},
		{
			name: "legacy push", legacy: true, typ: "Push Operation Status Changed()",
			o:    codathooktest.SampleOptions{DataType: "bills", Status: "Failed", OperationID: "op2", Published: true},
			want: fields{Type: "Push Operation Status Changed()", Company: "8a210b68-6988-11ed-a1eb-0242ac120002", Connection: "2e9d2c44-f675-40ba-8049-353bfcb5e171", DataType: "bills", Status: "Failed", Operation: "op2", Client: "bae71d36-ff47-420a-b4a6-f8c9ddf41140"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body []byte
			var err error
			if tt.legacy {
				body, err = codathooktest.LegacySample(tt.typ, tt.o)
			} else {
				body, err = codathooktest.Sample(tt.typ, tt.o)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.ID == "" { // unchanged: the sample's own id
				published := codathooktest.SampleOptions{Published: true}
				orig, err := codathooktest.LegacySample(tt.typ, published)
				if !tt.legacy {
					orig, err = codathooktest.Sample(tt.typ, published)
				}
				if err != nil {
					t.Fatal(err)
				}
				want.ID = extract(t, orig).ID
			}
			if got := extract(t, body); got != want {
				t.Errorf("fields = %+v\nwant     %+v", got, want)
			}
		})
	}
}

// Sample applies options to the bodies it serves: Published alone returns
// the published bytes, others re-encode (HTML characters kept), and an invalid
// write data type is an error. rewrite_internal_test.go covers bodies that
// are not samples.
func TestSampleOptionsEdges(t *testing.T) {
	t.Parallel()
	plain, err := codathooktest.Sample("invoices.write.successful", codathooktest.SampleOptions{Published: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(plain), `{"id":`) {
		t.Errorf("Sample with only Published = %s; want the published key order (id first)", plain)
	}
	got, err := codathooktest.Sample("invoices.write.successful", codathooktest.SampleOptions{ID: "y<&>"})
	if err != nil || !strings.HasPrefix(string(got), `{"eventType":"invoices.write.successful","generatedDate":`) || !strings.Contains(string(got), `"id":"y<&>"`) {
		t.Errorf("Sample with ID y<&> = %s, %v; want sorted keys and the id unescaped", got, err)
	}
	if _, err := codathooktest.Sample("invoices.write.successful", codathooktest.SampleOptions{DataType: "a.b"}); err == nil {
		t.Error("Sample with DataType a.b error = nil, want an error")
	}
}

func TestTwin(t *testing.T) {
	t.Parallel()
	o := codathooktest.SampleOptions{ID: "ev-1", CompanyID: "co-1", ConnectionID: "cn-1"}
	tests := []struct {
		typ, rule, oldStatus string
		o                    codathooktest.SampleOptions
	}{
		{typ: "connection.created", rule: "DataConnectionStatusChanged", o: o},
		{typ: "connection.connected", rule: "DataConnectionStatusChanged", oldStatus: "PendingAuth", o: o},
		{typ: "connection.disconnected", rule: "DataConnectionStatusChanged", oldStatus: "Linked", o: o},
		{typ: "connection.reconnected", rule: "DataConnectionStatusChanged", oldStatus: "Deauthorized", o: o},
		{typ: "connection.deleted", rule: "Sync Connection Deleted", o: o},
		{typ: "read.completed", rule: "Data sync completed", o: o},
		{typ: "read.completed", rule: "Data Sync Status Changed To Error", o: codathooktest.SampleOptions{Status: "AuthError"}},
		{typ: "read.completed.initial", rule: "New company synchronised", o: o},
		{typ: "bills.write.successful", rule: "Push Operation Status Changed()", o: o},
		{typ: "invoices.write.unsuccessful", rule: "Push Operation Timed Out", o: o},
		{typ: "invoices.write.unsuccessful", rule: "Push Operation Status Changed()", o: codathooktest.SampleOptions{Status: "Failed", DataType: "journals"}},
		{typ: "client.rateLimit.reached", rule: "Rate Limit Reached", o: o},
		{typ: "client.rateLimit.reset", rule: "Rate Limit Reset", o: o},
		{typ: "expenses.sync.successful", rule: "Sync Completed", o: o},
		{typ: "expenses.sync.unsuccessful", rule: "Sync Failed", o: o},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.rule, func(t *testing.T) {
			t.Parallel()
			nb, lb, err := codathooktest.Twin(tt.typ, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			n, l := extract(t, nb), extract(t, lb)
			if got, want := l.Type, tt.rule; got != want {
				t.Errorf("legacy RuleType = %q, want %q", got, want)
			}
			if got, want := l.OldStatus, tt.oldStatus; got != want {
				t.Errorf("legacy oldStatus = %q, want %q", got, want)
			}
			if tt.typ == "connection.created" && strings.Contains(string(lb), "oldStatus") {
				t.Errorf("connection.created twin has an oldStatus: %s", lb)
			}
			if n.ID != l.ID || n.Company != l.Company || n.Operation != l.Operation {
				t.Errorf("twins differ:\nnew    %+v\nlegacy %+v", n, l)
			}
			if tt.rule != "Rate Limit Reached" && tt.rule != "Rate Limit Reset" && n.Connection != l.Connection {
				t.Errorf("connection: new %q, legacy %q", n.Connection, l.Connection)
			}
			if tt.o.ID != "" && n.ID != tt.o.ID {
				t.Errorf("id = %q, want %q", n.ID, tt.o.ID)
			}
			if tt.rule == "Push Operation Status Changed()" || tt.rule == "Data Sync Status Changed To Error" {
				if n.Status != l.Status {
					t.Errorf("status: new %q, legacy %q", n.Status, l.Status)
				}
				if wantDT := strings.Split(n.Type, ".")[0]; strings.Contains(tt.rule, "Push") && l.DataType != wantDT {
					t.Errorf("legacy dataType = %q, want %q", l.DataType, wantDT)
				}
			}
		})
	}
	for _, typ := range []string{"company.created", "connection.failed", "reports.creditModel.generate.successful", "nope"} {
		if _, _, err := codathooktest.Twin(typ, codathooktest.SampleOptions{}); err == nil {
			t.Errorf("Twin(%q) error = nil, want an error", typ)
		}
	}
}
