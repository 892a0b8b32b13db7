package normalize_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/codathook/codathook/normalize"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want normalize.Format
	}{
		{"an envelope with eventType is new", `{"id":"1","eventType":"company.created","payload":{}}`, normalize.FormatNew},
		{"eventType in another case is new", `{"EVENTTYPE":"company.created"}`, normalize.FormatNew},
		{"eventType wins over AlertId", `{"eventType":"company.created","AlertId":"a"}`, normalize.FormatNew},
		{"RuleType is legacy", `{"RuleType":"Data sync completed"}`, normalize.FormatLegacy},
		{"camelCase ruleType is legacy", `{"ruleType":"Data sync completed"}`, normalize.FormatLegacy},
		{"AlertId alone is legacy", `{"AlertId":"a"}`, normalize.FormatLegacy},
		{"alertId in camelCase is legacy", `{"alertId":"a"}`, normalize.FormatLegacy},
		{"Type without a dot is legacy", `{"Type":"Data sync completed"}`, normalize.FormatLegacy},
		{"type with a dot is the new A′ shape", `{"type":"connection.connected","payload":{}}`, normalize.FormatNew},
		{"type with a dot next to AlertId is legacy", `{"type":"x.y","AlertId":"a"}`, normalize.FormatLegacy},
		{"empty eventType is ignored", `{"eventType":"","RuleType":"Sync Failed"}`, normalize.FormatLegacy},
		{"null eventType is ignored", `{"eventType":null}`, normalize.FormatUnknown},
		{"pre-2025 bank feed body is unknown", `{"companyId":"c","connectionId":"x","bankAccount":{}}`, normalize.FormatUnknown},
		{"empty object is unknown", `{}`, normalize.FormatUnknown},
		{"leading whitespace is fine", " \n\t{\"eventType\":\"a.b\"}", normalize.FormatNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalize.Classify([]byte(tt.body))
			if err != nil {
				t.Fatalf("Classify() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Classify() = %q, want %q", got, tt.want)
			}
			ev, err := normalize.Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if ev.Format != tt.want {
				t.Errorf("Parse().Format = %q, want %q", ev.Format, tt.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantReason string
		wantJSON   bool // wraps an encoding/json error
	}{
		{"empty body", ``, "empty body", false},
		{"only whitespace", "  \n", "empty body", false},
		{"invalid JSON", `{"eventType":`, "invalid JSON", true},
		{"trailing garbage", `{} x`, "invalid JSON", true},
		{"top-level null", `null`, "not an object", false},
		{"top-level array", `[{"eventType":"a.b"}]`, "not an object", false},
		{"top-level string", `"x"`, "not an object", false},
		{"eventType of the wrong type", `{"eventType":5}`, "eventType", true},
		{"payload of the wrong type", `{"eventType":"company.created","payload":"x"}`, "payload", true},
		{"a typed payload field of the wrong type", `{"eventType":"client.rateLimit.reached","payload":{"dailyQuota":"ten"}}`, "payload.dailyQuota", true},
		{"legacy Data of the wrong type", `{"RuleType":"Sync Failed","Data":[1]}`, "Data", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := normalize.Parse([]byte(tt.body))
			var me *normalize.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Parse() = %v, %v; want a *MalformedError", ev, err)
			}
			if ev != nil {
				t.Errorf("Parse() event = %v, want nil with an error", ev)
			}
			if !strings.Contains(me.Error(), tt.wantReason) {
				t.Errorf("Error() = %q, want it to contain %q", me.Error(), tt.wantReason)
			}
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			if got := errors.As(err, &se) || errors.As(err, &te); got != tt.wantJSON {
				t.Errorf("wraps a json error = %v, want %v", got, tt.wantJSON)
			}
		})
	}
	// Classify agrees on what it looks at.
	if _, err := normalize.Classify([]byte(`[1]`)); !errors.As(err, new(*normalize.MalformedError)) {
		t.Errorf("Classify([1]) error = %v, want *MalformedError", err)
	}
}

func TestUnknownRuleTypesInUnknownDataAreNotErrors(t *testing.T) {
	t.Parallel()
	ev, err := normalize.Parse([]byte(`{"RuleType":"Something New","Data":[1,"x"]}`))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	u, ok := ev.Typed.(*normalize.UnknownLegacyEvent)
	if !ok {
		t.Fatalf("Typed = %T, want *UnknownLegacyEvent", ev.Typed)
	}
	if got, want := u.Payload.RuleType, "Something New"; got != want {
		t.Errorf("RuleType = %q, want %q", got, want)
	}
	if got, want := string(u.Payload.Data), `[1,"x"]`; got != want {
		t.Errorf("Data = %s, want %s", got, want)
	}
}

func TestRuleNameMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ruleType string
		want     string // Svix name; "" for unknown
	}{
		{"DataConnectionStatusChanged", "DataConnectionStatusChanged"},
		{"dataconnectionstatuschanged", "DataConnectionStatusChanged"},
		{"New company synchronised", "NewCompanySynchronized"},
		{"New company synchronized", "NewCompanySynchronized"},
		{"NEW COMPANY SYNCHRONISED", "NewCompanySynchronized"},
		{"NewCompanySynchronized", "NewCompanySynchronized"},
		{"NewCompanySynchronised", "NewCompanySynchronized"},
		{"Data sync completed", "DataSyncCompleted"},
		{"DataSyncCompleted", "DataSyncCompleted"},
		{"Dataset data changed", "DatasetDataChanged"},
		{"DatasetDataChanged", "DatasetDataChanged"},
		{"Data Sync Status Changed To Error", "DataSyncStatusChangedToError"},
		{"Data Sync Status Changed to Error", "DataSyncStatusChangedToError"},
		{"DataSyncStatusChangedToError", "DataSyncStatusChangedToError"},
		{"Push Operation Status Changed()", "PushOperationStatusChanged"},
		{"Push Operation Status Changed", "PushOperationStatusChanged"},
		{"  push operation status changed ( )  ", "PushOperationStatusChanged"},
		{"PushOperationStatusChanged", "PushOperationStatusChanged"},
		{"Push Operation Timed Out", "PushOperationTimedOut"},
		{"PushOperationTimedOut", "PushOperationTimedOut"},
		{"Account Categories Updated", "AccountCategoriesUpdated"},
		{"account-categories-updated", "AccountCategoriesUpdated"},
		{"AccountCategoriesUpdated", "AccountCategoriesUpdated"},
		{"Sync Connection Deleted", "SyncConnectionDeleted"},
		{"SyncConnectionDeleted", "SyncConnectionDeleted"},
		{"Sync Completed", "SyncCompleted"},
		{"SyncCompleted", "SyncCompleted"},
		{"Sync Failed", "SyncFailed"},
		{"SyncFailed", "SyncFailed"},
		{"Rate Limit Reached", "ClientRateLimitReached"},
		{"ClientRateLimitReached", "ClientRateLimitReached"},
		{"Rate Limit Reset", "ClientRateLimitReset"},
		{"ClientRateLimitReset", "ClientRateLimitReset"},
		{"Sync Started", "SyncStarted"},
		{"SyncStarted", "SyncStarted"},
		{"\tSync Started\n", "SyncStarted"},
		{"CurrentAssetsCurrentLiabilitiesRatio(>,0)", ""},
		{"Sync", ""},
		{"", ""},
		{"()", ""},
		{strings.Repeat("a", 200), ""},
		{"Dáta sync completed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ruleType, func(t *testing.T) {
			t.Parallel()
			got, ok := normalize.LegacyRuleName(tt.ruleType)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("LegacyRuleName(%q) = %q, %v; want %q, %v", tt.ruleType, got, ok, tt.want, tt.want != "")
			}
			body, _ := json.Marshal(map[string]any{"AlertId": "a", "RuleType": tt.ruleType})
			ev, err := normalize.Parse(body)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if got := ev.Legacy.Rule; got != tt.want {
				t.Errorf("Legacy.Rule = %q, want %q", got, tt.want)
			}
			if tt.want == "" && ev.Type != normalize.TypeUnknownLegacyRule {
				t.Errorf("Type = %q, want %q", ev.Type, normalize.TypeUnknownLegacyRule)
			}
			if got, want := ev.Legacy.RuleType, tt.ruleType; got != want {
				t.Errorf("Legacy.RuleType = %q, want it as sent, %q", got, want)
			}
		})
	}
}

// TestConnectionTransitions gives every pair of statuses (plus none and an
// unknown value) a tested outcome.
func TestConnectionTransitions(t *testing.T) {
	t.Parallel()
	statuses := []string{"", "PendingAuth", "Linked", "Unlinked", "Deauthorized", "SomethingNew"}
	want := map[[2]string]string{
		{"", "PendingAuth"}:             normalize.TypeConnectionCreated,
		{"PendingAuth", "Linked"}:       normalize.TypeConnectionConnected,
		{"Linked", "Unlinked"}:          normalize.TypeConnectionDisconnected,
		{"Linked", "Deauthorized"}:      normalize.TypeConnectionDisconnected,
		{"Unlinked", "Linked"}:          normalize.TypeConnectionReconnected,
		{"Deauthorized", "Linked"}:      normalize.TypeConnectionReconnected,
		{"", ""}:                        normalize.TypeConnectionDeleted,
		{"pendingauth", "LINKED"}:       normalize.TypeConnectionConnected, // case-insensitive
		{"Unlinked", "Deauthorized"}:    normalize.TypeDataConnectionStatusChanged,
		{"PendingAuth", "Deauthorized"}: normalize.TypeDataConnectionStatusChanged,
	}
	pairs := [][2]string{{"pendingauth", "LINKED"}}
	for _, o := range statuses {
		for _, n := range statuses {
			pairs = append(pairs, [2]string{o, n})
		}
	}
	for _, p := range pairs {
		exp, ok := want[p]
		if !ok {
			exp = normalize.TypeDataConnectionStatusChanged
		}
		t.Run(p[0]+"->"+p[1], func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(map[string]any{
				"AlertId": "a", "RuleType": "DataConnectionStatusChanged", "CompanyId": "c", "DataConnectionId": "d",
				"Data": map[string]string{"oldStatus": p[0], "newStatus": p[1], "platformKey": "gbol"},
			})
			ev, err := normalize.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if got := ev.Type; got != exp {
				t.Errorf("Type = %q, want %q", got, exp)
			}
			c, ok := ev.Typed.(*normalize.ConnectionEvent)
			if !ok {
				t.Fatalf("Typed = %T, want *ConnectionEvent", ev.Typed)
			}
			if c.Payload.Connection.Status != p[1] || c.Payload.Connection.IntegrationKey != "gbol" || c.Payload.Connection.ID != "d" {
				t.Errorf("Connection = %+v, want status %q, integrationKey gbol, id d", c.Payload.Connection, p[1])
			}
			if c.Legacy != ev.Legacy || c.Legacy.Data.OldStatus != p[0] {
				t.Errorf("Envelope.Legacy = %p (oldStatus %q), want Event.Legacy %p with oldStatus %q", c.Legacy, c.Legacy.Data.OldStatus, ev.Legacy, p[0])
			}
		})
	}
}

func TestPushStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule, status, dataType, key, guid string
		wantType, wantStatus, wantID      string
	}{
		{"Push Operation Status Changed()", "Success", "invoices", "k", "", "invoices.write.successful", "Success", "k"},
		{"Push Operation Status Changed()", "Failed", "bills", "k", "", "bills.write.unsuccessful", "Failed", "k"},
		{"Push Operation Status Changed()", "TimedOut", "bills", "k", "", "bills.write.unsuccessful", "TimedOut", "k"},
		{"Push Operation Status Changed()", "success", "bills", "k", "", "bills.write.successful", "success", "k"},
		{"Push Operation Status Changed()", "Pending", "bills", "k", "", normalize.TypePushOperationPending, "Pending", "k"},
		{"Push Operation Status Changed()", "Cancelled", "bills", "k", "", normalize.TypePushOperationStatusChanged, "Cancelled", "k"},
		{"Push Operation Status Changed()", "", "bills", "k", "", normalize.TypePushOperationStatusChanged, "", "k"},
		{"Push Operation Status Changed()", "Success", "", "k", "", normalize.TypePushOperationStatusChanged, "Success", "k"},
		{"Push Operation Status Changed()", "Success", "invoices", "", "g", "invoices.write.successful", "Success", "g"},
		{"Push Operation Timed Out", "", "invoices", "k", "g", "invoices.write.unsuccessful", "TimedOut", "k"},
		{"Push Operation Timed Out", "", "invoices", "", "g", "invoices.write.unsuccessful", "TimedOut", "g"},
		{"Push Operation Timed Out", "", "", "", "g", normalize.TypePushOperationStatusChanged, "TimedOut", "g"},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.status+"/"+tt.dataType, func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(map[string]any{"AlertId": "a", "RuleType": tt.rule, "DataConnectionId": "c",
				"Data": map[string]string{"dataType": tt.dataType, "status": tt.status, "pushOperationKey": tt.key, "pushOperationGuid": tt.guid}})
			ev, err := normalize.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := ev.Typed.(*normalize.WriteEvent)
			if !ok {
				t.Fatalf("Typed = %T, want *WriteEvent", ev.Typed)
			}
			if ev.Type != tt.wantType || w.EventType != tt.wantType {
				t.Errorf("Type = %q (Envelope %q), want %q", ev.Type, w.EventType, tt.wantType)
			}
			if w.Payload.Status != tt.wantStatus || w.Payload.ID != tt.wantID || w.Payload.ConnectionID != "c" {
				t.Errorf("Payload = %+v, want status %q, id %q, connectionId c", w.Payload, tt.wantStatus, tt.wantID)
			}
			if got, want := w.DataType(), tt.dataType; got != want {
				t.Errorf("DataType() = %q, want %q", got, want)
			}
			occ := ev.Occurrences()
			if len(occ) != 1 || occ[0].ExactID != tt.wantID || occ[0].Element != -1 {
				t.Errorf("Occurrences() = %+v, want one with ExactID %q and Element -1", occ, tt.wantID)
			}
		})
	}
}

func TestReadRulesHaveOneElement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule         string
		data         string
		wantStatus   string
		wantModified bool
	}{
		{"Data sync completed", `{"dataType":"invoices","datasetId":"ds"}`, "Complete", false},
		{"Dataset data changed", `{"DataType":"invoices","DatasetId":"ds"}`, "Complete", true},
		{"Data Sync Status Changed To Error", `{"dataType":"invoices","datasetStatus":"FetchError","datasetId":"ds"}`, "FetchError", false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			body := `{"AlertId":"a","RuleType":"` + tt.rule + `","CompanyId":"co","DataConnectionId":"cn","Data":` + tt.data + `}`
			ev, err := normalize.Parse([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			r, ok := ev.Typed.(*normalize.ReadCompletedEvent)
			if !ok || ev.Type != normalize.TypeReadCompleted {
				t.Fatalf("Type, Typed = %q, %T; want read.completed, *ReadCompletedEvent", ev.Type, ev.Typed)
			}
			want := []normalize.DataTypeReadSummary{{ConnectionID: "cn", DataType: "invoices", RecordsModified: tt.wantModified, Status: tt.wantStatus}}
			if !reflect.DeepEqual(r.Payload.DataTypes, want) {
				t.Errorf("DataTypes = %+v, want %+v", r.Payload.DataTypes, want)
			}
			wantOcc := []normalize.Occurrence{{Type: "read.completed", CompanyID: "co", ConnectionID: "cn", DataType: "invoices", Status: tt.wantStatus, DatasetID: "ds", Element: 0}}
			if got := ev.Occurrences(); !reflect.DeepEqual(got, wantOcc) {
				t.Errorf("Occurrences() = %+v, want %+v", got, wantOcc)
			}
		})
	}
}

func TestLegacyDataShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantRaw string
	}{
		{"Data missing", `{"AlertId":"a","RuleType":"Sync Connection Deleted","CompanyId":"c"}`, ""},
		{"Data empty", `{"AlertId":"a","RuleType":"Sync Connection Deleted","CompanyId":"c","Data":{}}`, "{}"},
		{"Data null", `{"AlertId":"a","RuleType":"Sync Connection Deleted","CompanyId":"c","Data":null}`, "null"},
		{"camelCase keys and Type", `{"alertId":"a","type":"Sync Connection Deleted","companyId":"c","data":{}}`, "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := normalize.Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != normalize.TypeConnectionDeleted || ev.ID != "a" || ev.CompanyID != "c" {
				t.Errorf("Type, ID, CompanyID = %q, %q, %q; want connection.deleted, a, c", ev.Type, ev.ID, ev.CompanyID)
			}
			if got := string(ev.Legacy.RawData); got != tt.wantRaw {
				t.Errorf("RawData = %q, want %q", got, tt.wantRaw)
			}
		})
	}
}

func TestLegacyKeepsDroppedFields(t *testing.T) {
	t.Parallel()
	body := []byte(`{"AlertId":"a","RuleType":"Rate Limit Reset","RuleId":"r","ClientId":"cl","ClientName":"Bank","Message":"m",` +
		`"Data":{"QuotaRemaining":7,"ResetReason":"new day","DailyQuota":1000,"ExpiresUtc":"2024-09-01T23:59:99Z"}}`)
	ev, err := normalize.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	lg := ev.Legacy
	if lg.RuleID != "r" || lg.ClientID != "cl" || lg.ClientName != "Bank" || lg.Message != "m" || lg.Data.ResetReason != "new day" {
		t.Errorf("Legacy = %+v, want every dropped field kept", lg)
	}
	if ev.ClientID != "cl" {
		t.Errorf("ClientID = %q, want cl", ev.ClientID)
	}
	r := ev.Typed.(*normalize.RateLimitEvent)
	want := normalize.RateLimitPayload{DailyQuota: 1000, QuotaRemaining: 7, ExpiryDate: "2024-09-01T23:59:99Z"}
	if r.Payload != want {
		t.Errorf("Payload = %+v, want %+v", r.Payload, want)
	}
	if r.Legacy != lg {
		t.Errorf("Envelope.Legacy != Event.Legacy")
	}
	if ev.CompanyID != "" {
		t.Errorf("CompanyID = %q, want empty for a rate limit", ev.CompanyID)
	}
}

func TestGoTypeCoversEventTypes(t *testing.T) {
	t.Parallel()
	names := normalize.EventTypes()
	if got, want := len(names), 30+36; got != want {
		t.Errorf("len(EventTypes()) = %d, want %d", got, want)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("EventTypes() lists %q twice", n)
		}
		seen[n] = true
		if _, ok := normalize.GoType(n); !ok {
			t.Errorf("GoType(%q) unknown", n)
		}
	}
	tests := []struct {
		name string
		want reflect.Type
	}{
		{"connection.connected", reflect.TypeFor[*normalize.ConnectionEvent]()},
		{normalize.TypeDataConnectionStatusChanged, reflect.TypeFor[*normalize.ConnectionEvent]()},
		{"anything.write.successful", reflect.TypeFor[*normalize.WriteEvent]()},
		{"{dataType}.write.unsuccessful", reflect.TypeFor[*normalize.WriteEvent]()},
		{normalize.TypePushOperationPending, reflect.TypeFor[*normalize.WriteEvent]()},
		{"read.completed.initial", reflect.TypeFor[*normalize.ReadCompletedEvent]()},
		{"reports.spendAnalysis.generate.unsuccessful", reflect.TypeFor[*normalize.ReportEvent]()},
		{normalize.TypeUnknownLegacyRule, reflect.TypeFor[*normalize.UnknownLegacyEvent]()},
		{".write.successful", nil},
		{"read.complete", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got, ok := normalize.GoType(tt.name)
		if got != tt.want || ok != (tt.want != nil) {
			t.Errorf("GoType(%q) = %v, %v; want %v", tt.name, got, ok, tt.want)
		}
	}
}

// TestTypedMatchesGoType parses every fixture and checks Typed's dynamic type
// is what GoType promises for Type.
func TestTypedMatchesGoType(t *testing.T) {
	t.Parallel()
	for _, files := range fixtures(t) {
		for _, f := range files {
			ev, err := normalize.Parse(edit(t, strings.TrimPrefix(f, "testdata/"), nil))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			want, ok := normalize.GoType(ev.Type)
			if !ok {
				if ev.Typed != nil {
					t.Errorf("%s: Typed = %T for unknown type %q, want nil", f, ev.Typed, ev.Type)
				}
				continue
			}
			if got := reflect.TypeOf(ev.Typed); got != want {
				t.Errorf("%s: Typed = %v, want %v", f, got, want)
			}
		}
	}
}

func TestOccurrencesOfNewReadCompleted(t *testing.T) {
	t.Parallel()
	ev, err := normalize.Parse([]byte(`{"id":"i","eventType":"read.completed","payload":{"referenceCompany":{"id":"co"},"dataTypes":[` +
		`{"connectionId":"c1","dataType":"invoices","status":"Complete"},{"connectionId":"c2","dataType":"bills","status":"FetchError"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []normalize.Occurrence{
		{Type: "read.completed", CompanyID: "co", ConnectionID: "c1", DataType: "invoices", Status: "Complete", Element: 0},
		{Type: "read.completed", CompanyID: "co", ConnectionID: "c2", DataType: "bills", Status: "FetchError", Element: 1},
	}
	if got := ev.Occurrences(); !reflect.DeepEqual(got, want) {
		t.Errorf("Occurrences() = %+v, want %+v", got, want)
	}
	unknown, err := normalize.Parse([]byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := unknown.Occurrences(); got != nil {
		t.Errorf("Occurrences() of an unknown body = %+v, want nil", got)
	}
}
