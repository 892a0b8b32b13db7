package normalize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// jsonSinglePass is the encoding/json single-pass decode of a new-format
// body of a known kind (parseNewFast), or ok false when it does not apply.
func jsonSinglePass(body []byte) (*Event, bool, error) {
	typ, ok := prescan(body)
	if !ok || typ == nil {
		return nil, false, nil
	}
	k := kindOf(string(typ))
	if k == kindNone {
		return nil, false, nil
	}
	return parseNewFast(body, typ, k)
}

// checkDecoder compares decodeNew and decodeLegacy with encoding/json on
// body: whenever either accepts a body, the general path and the encoding/json single
// pass must accept it too and give a deeply equal Event.
func checkDecoder(t *testing.T, body []byte) (accepted bool) {
	t.Helper()
	got, ok := decodeNew(string(body), body)
	if !ok {
		if got, ok = decodeLegacy(string(body), body); !ok {
			return false
		}
	}
	want, err := slowParse(body)
	if err != nil {
		t.Fatalf("decodeNew accepted a body the general path rejects: %v\nbody: %q", err, body)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("decodeNew = %s\ngeneral path = %s\nbody: %q", g, w, body)
	}
	if single, ok, err := jsonSinglePass(body); ok {
		if err != nil {
			t.Fatalf("decodeNew accepted a body encoding/json's single pass rejects: %v\nbody: %q", err, body)
		}
		if !reflect.DeepEqual(got, single) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(single)
			t.Fatalf("decodeNew = %s\nencoding/json single pass = %s\nbody: %q", g, w, body)
		}
	}
	return true
}

// decoderSeeds are bodies that exercise the decoder's edges; they are seeds
// of FuzzDecoderDifferential and cases of TestDecoderDifferential.
var decoderSeeds = []string{
	`{"id":"1","eventType":"connection.connected","payload":{"connection":{"id":"k"}},"payload":{"connection":{"status":"Linked"}}}`,
	`{"id":"1","eventType":"connection.connected","payload":{"connection":{"id":"k"},"connection":{"status":"Linked"}}}`,
	`{"id":"1","eventType":"read.completed","payload":{"dataTypes":[{"dataType":"a"}],"dataTypes":[{"status":"b"}]}}`,
	`{"id":"1","Id":"2","eventType":"read.completed","payload":{}}`,
	`{"AlertId":"a","RuleType":"Data sync completed","Data":{"dataType":"x"},"data":{"datasetId":"y"}}`,
	`{"id":"1","eventType":"read.completed","payload":{"dataTypes":[]}}`,
	`{"id":"1","eventType":"read.completed","payload":{"dataTypes":null,"referenceCompany":null}}`,
	`{"ID":"1","EVENTTYPE":"read.completed","Payload":{"DataTypes":[{"ConnectionId":"c","RECORDSMODIFIED":true,"issues":[{"type":"t","links":{"logs":"l"}}]}]}}`,
	`{"payload":{"referenceCompany":{"id":"c","tags":{"a":"b","a":null,"\u00e9":"x"}}},"eventType":"read.completed"}`,
	`{"eventType":"read.completed","payload":{"dataTypes":[null,{},{"dataType":"a\u0000\ud83d\ude00\ud800\udc00\ud800x\\\/\"\b\f\n\r\t"}]}}`,
	`{"eventType":"read.completed","payload":{"referenceCompany":{"name":"\xff\xfe\xed\xa0\x80 caf\u00e9 café"}}}`,
	`{"eventType":"read.completed","payload":{"dataTypes":[{"recordsModified":null,"status":null,"unknown":[1,-2.5e+3,true,false,null,{"a":[{}]}]}]}}`,
	` {"eventType" : "read.completed.initial" , "payload" : { } } ` + "\n",
	`{"type":"connection.connected","payload":{"connection":{"id":"x","status":"Linked","connectionInfo":{"a": [1, 2]},"dataConnectionErrors":[{"statusCode":"500"}]}}}`,
	`{"eventType":"connection.deleted","payload":{"connection":{"connectionInfo":null}}}`,
	`{"eventType":"invoices.write.successful","payload":{"id":"p","record":{"id":"r"},"referenceCompany":{"links":{"portal":"u"}}}}`,
	`{"eventType":"invoices.write.unsuccessful","payload":{"record":null}}`,
	`{"eventType":"client.rateLimit.reached","payload":{"dailyQuota":1000,"quotaRemaining":-0,"expiryDate":"x"}}`,
	`{"eventType":"client.rateLimit.reached","payload":{"dailyQuota":1e3}}`,
	`{"eventType":"client.rateLimit.reached","payload":{"dailyQuota":99999999999999999999}}`,
	`{"eventType":"client.rateLimit.reached","payload":{"dailyQuota":"10"}}`,
	`{"eventType":"bankFeeds.sourceAccount.connected","payload":{"sourceAccount":{"balance":"12.50","accountInfo":{"availableBalance":-0.5e-3},"routingInfo":{"bankCode":"b"}}}}`,
	`{"eventType":"bankFeeds.sourceAccount.connected","payload":{"sourceAccount":{"balance":"12.50x"}}}`,
	`{"eventType":"bankFeeds.sourceAccount.connected","payload":{"sourceAccount":{"balance":null}}}`,
	`{"eventType":"expenses.sync.successful","payload":{"syncId":"s","transactions":[{"id":"t"},null]}}`,
	`{"eventType":"reports.creditModel.generate.successful","payload":{"id":"r"}}`,
	`{"eventType":"company.created","payload":{"products":["a",null],"tags":{},"referenceParentCompany":{"id":"p"},"referenceSubsidiaryCompanies":[{"id":"s"}]}}`,
	`{"eventType":"company.product.added","payload":{"productId":"p","products":[]}}`,
	`{"eventType":"company.created","payload":null}`,
	`{"eventType":"company.created","payload":{},"payload":null}`,
	`{"eventType":"company.created","payload":null,"payload":{"id":"x"}}`,
	`{"eventType":"company.created","eventType":"read.completed","payload":{}}`,
	`{"eventType":"company.created","Message":5}`,
	`{"eventType":"company.created","Message":null,"ClientId":"c"}`,
	`{"eventType":"company.created"}x`,
	`{"eventType":"company.created",}`,
	`{"eventType":"company.created","payload":{"id":"a"},"ſd":1}`,
	`{"eventType":"company.created","payload":{"ſtatus":"a"}}`,
	`{"eventType":"company.created","payload":{"i\u0064":"a"}}`,
	`{"eventType":"","type":"read.completed","payload":{}}`,
	`{"eventType":"read.completed","AlertId":"a","payload":{}}`,
	`{"AlertId":"a","eventType":"read.completed","payload":{}}`,
	`{"eventType":"unknown.type","payload":{}}`,
	`{"eventType":"AccountCategoriesUpdated","payload":{}}`,
	`{"eventType":"read.completed","payload":{"dataTypes":[{"status":"a"},]}}`,
	`{"eventType":"read.completed","payload":{"dataTypes":[01]}}`,
	`{"eventType":"read.completed","payload":{"x":[1.]}}`,
	`{"eventType":"read.completed","payload":{"x":"\q"}}`,
	`{"eventType":"read.completed","payload":{"x":"` + "\x01" + `"}}`,
	`{"AlertId":"a","RuleType":"Push Operation Status Changed()","CompanyId":"c","Data":{"dataType":"invoices","status":"Success","pushOperationKey":"k"}}`,
	`{"alertId":"a","ruleType":"Data sync completed","companyId":"c","data":{"DataType":"bills","DATASETID":"d"},"payload":[1]}`,
	`{"AlertId":"a","RuleType":"Data sync completed","Data":null}`,
	`{"AlertId":"a","RuleType":"Data sync completed","Data":[1]}`,
	`{"AlertId":"a","RuleType":"Data sync completed","Data":"x"}`,
	`{"AlertId":"a","RuleType":"Ratio changed","Data":"x"}`,
	`{"AlertId":"a","RuleType":"Ratio changed","Data":{"a":[1,{"b":null}]}}`,
	`{"AlertId":"a","RuleType":"Rate Limit Reached","Data":{"DailyQuota":1000,"QuotaRemaining":0,"ExpiresUtc":"2023-05-03T00:00:00"}}`,
	`{"AlertId":"a","RuleType":"Rate Limit Reached","Data":{"DailyQuota":1000.5}}`,
	`{"AlertId":"a","RuleType":"Rate Limit Reached","Data":{"DailyQuota":1},"Data":{"QuotaRemaining":2}}`,
	`{"AlertId":"a","Type":"Sync Failed","Data":{"syncId":"s","FailureStage":"x"}}`,
	`{"AlertId":"a","RuleType":"Sync Failed","eventType":"","Message":null,"ClientId":5}`,
	`{"AlertId":"a"}`,
	`{"AlertId":"a","RuleType":"DataConnectionStatusChanged","Data":{"oldStatus":"PendingAuth","newStatus":"Linked","dataConnectionId":"k"}}`,
}

func TestDecoderDifferential(t *testing.T) {
	t.Parallel()
	for _, s := range decoderSeeds {
		checkDecoder(t, []byte(s))
	}
}

// TestDecoderTakesFixtures makes sure the fast decoders are the path the
// fixtures of the common families actually take.
func TestDecoderTakesFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := slowParse(body)
		if err != nil {
			t.Fatal(err)
		}
		wantFast := ev.Typed != nil
		if got := checkDecoder(t, body); got != wantFast {
			t.Errorf("%s: decodeNew accepted = %v, want %v", file, got, wantFast)
		}
	}
}

// FuzzDecoderDifferential compares the hand-written decoder with
// encoding/json on random and mutated bodies.
func FuzzDecoderDifferential(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoder(t, body)
		// Parse as a whole still agrees with the general path.
		got, gerr := Parse(body)
		want, werr := slowParse(body)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("Parse error = %v, general path error = %v", gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("Parse = %s\ngeneral path = %s", g, w)
		}
		// One answer per body: a wrapped handler decoding the same bytes
		// with encoding/json into the typed event gets what Parse gave.
		if gerr == nil && got.Format == FormatNew && got.Typed != nil {
			var head struct{ EventType string }
			if json.Unmarshal(body, &head) != nil || head.EventType != got.Type {
				return // classified through "type", or normalized: not the same decode
			}
			v := reflect.New(reflect.TypeOf(got.Typed).Elem())
			if err := json.Unmarshal(body, v.Interface()); err != nil {
				t.Fatalf("Parse accepted a body encoding/json refuses as %T: %v", got.Typed, err)
			}
			if !reflect.DeepEqual(v.Interface(), got.Typed) {
				g, _ := json.Marshal(got.Typed)
				w, _ := json.Marshal(v.Interface())
				t.Fatalf("Parse's typed event = %s\nencoding/json into %T = %s", g, got.Typed, w)
			}
		}
	})
}

// FuzzReaderValid checks that the reader accepts exactly the JSON values
// encoding/json accepts (up to its own nesting limit) and unescapes strings
// exactly as encoding/json does.
func FuzzReaderValid(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{`"\ud800\udc00"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud800"`, "\"\xed\xa0\x80\"", `-0.0e-0`, `[1,2`, `{"a":}`, `nul`, `truex`, `"a\u00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := reader{s: string(b)}
		d.skip()
		d.ws()
		got := !d.fail && d.i == len(b)
		if want := json.Valid(b); got != want {
			if want && strings.Count(string(b), "[")+strings.Count(string(b), "{") > maxSkipDepth {
				return // deeper than the reader goes
			}
			t.Fatalf("reader accepts %q: %v, json.Valid: %v", b, got, want)
		}
		if !got {
			return
		}
		// A string value: unquoted as encoding/json does.
		if d := (reader{s: string(b)}); d.peek() == '"' {
			gs := d.str()
			var ws string
			if err := json.Unmarshal(b, &ws); err != nil {
				t.Fatal(err)
			}
			if gs != ws {
				t.Fatalf("unquote(%q) = %q, encoding/json = %q", b, gs, ws)
			}
		}
		// A number: validNumber agrees.
		if v := strings.Trim(string(b), " \t\r\n"); v[0] == '-' || '0' <= v[0] && v[0] <= '9' {
			if !validNumber(v) {
				t.Fatalf("validNumber(%q) = false", v)
			}
		}
	})
}

// TestDecoderFieldNames checks each field list against the json tags of
// the struct it decodes, in declaration order, so that a field added to a
// type is not silently skipped by the fast decoder.
func TestDecoderFieldNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		names []string
		typ   reflect.Type
	}{
		{topFields, reflect.TypeFor[newWire]()},
		{legacyTopFields, reflect.TypeFor[wire]()},
		{legacyDataFields, reflect.TypeFor[LegacyData]()},
		{companyReferenceFields, reflect.TypeFor[CompanyReference]()},
		{companyLinksFields, reflect.TypeFor[CompanyLinks]()},
		{readCompletedPayloadFields, reflect.TypeFor[ReadCompletedPayload]()},
		{dataTypeReadSummaryFields, reflect.TypeFor[DataTypeReadSummary]()},
		{readIssueFields, reflect.TypeFor[ReadIssue]()},
		{readIssueLinksFields, reflect.TypeFor[ReadIssueLinks]()},
		{connectionPayloadFields, reflect.TypeFor[ConnectionPayload]()},
		{connectionFields, reflect.TypeFor[Connection]()},
		{dataConnectionErrorFields, reflect.TypeFor[DataConnectionError]()},
		{writePayloadFields, reflect.TypeFor[WritePayload]()},
		{writeRecordFields, reflect.TypeFor[WriteRecord]()},
		{rateLimitPayloadFields, reflect.TypeFor[RateLimitPayload]()},
		{companyFields, reflect.TypeFor[Company]()},
		{companyProductFields, reflect.TypeFor[CompanyProduct]()},
		{expensesSyncPayloadFields, reflect.TypeFor[ExpensesSyncPayload]()},
		{expensesTransactionFields, reflect.TypeFor[ExpensesTransaction]()},
		{reportPayloadFields, reflect.TypeFor[ReportPayload]()},
		{sourceAccountPayloadFields, reflect.TypeFor[SourceAccountPayload]()},
		{sourceAccountFields, reflect.TypeFor[SourceAccount]()},
		{routingInfoFields, reflect.TypeFor[RoutingInfo]()},
		{sourceAccountInfoFields, reflect.TypeFor[SourceAccountInfo]()},
	}
	for _, tt := range tests {
		var want []string
		for _, f := range reflect.VisibleFields(tt.typ) {
			if f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			want = append(want, name)
		}
		if got := tt.names; !reflect.DeepEqual(got, want) {
			t.Errorf("%s fields = %q, want %q", tt.typ, got, want)
		}
		for _, name := range tt.names {
			for _, c := range []byte(name) {
				if c|0x20 < 'a' || c|0x20 > 'z' {
					t.Errorf("%s field %q: not ASCII letters only", tt.typ, name)
				}
			}
		}
		if len(tt.names) > 32 {
			t.Errorf("%s: %d fields, more than the seen mask holds", tt.typ, len(tt.names))
		}
	}
}
