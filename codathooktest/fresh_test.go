package codathooktest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// ids are the identifiers of one body, wherever it carries them.
type ids struct {
	id         string
	companies  []string // every place the body names its company
	conns      []string // every place it names its connection
	operations []string // push operation key, sync id, report id
	dataset    string
}

func bodyIDs(t *testing.T, body []byte) ids {
	t.Helper()
	var b struct {
		ID        string `json:"id"`
		EventType string `json:"eventType"`
		Payload   struct {
			ID               string `json:"id"`
			ReferenceCompany struct {
				ID string `json:"id"`
			} `json:"referenceCompany"`
			CompanyID    string `json:"companyId"`
			ConnectionID string `json:"connectionId"`
			Connection   struct {
				ID string `json:"id"`
			} `json:"connection"`
			DataTypes []struct {
				ConnectionID string `json:"connectionId"`
			} `json:"dataTypes"`
			SyncID string `json:"syncId"`
		} `json:"payload"`
		AlertID          string `json:"AlertId"`
		CompanyID        string `json:"CompanyId"`
		DataConnectionID string `json:"DataConnectionId"`
		Data             struct {
			DataConnectionID  string `json:"dataConnectionId"`
			PushOperationKey  string `json:"pushOperationKey"`
			PushOperationGUID string `json:"pushOperationGuid"`
			SyncID            string `json:"syncId"`
			DatasetID         string `json:"datasetId"`
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	var out ids
	add := func(list *[]string, vs ...string) {
		for _, v := range vs {
			if v != "" {
				*list = append(*list, v)
			}
		}
	}
	if b.EventType != "" {
		p := b.Payload
		out.id = b.ID
		add(&out.companies, p.ReferenceCompany.ID, p.CompanyID)
		add(&out.conns, p.ConnectionID, p.Connection.ID)
		for _, dt := range p.DataTypes {
			add(&out.conns, dt.ConnectionID)
		}
		switch {
		case strings.HasPrefix(b.EventType, "company."):
			add(&out.companies, p.ID)
		case strings.Contains(b.EventType, ".write.") || strings.HasPrefix(b.EventType, "reports."):
			add(&out.operations, p.ID)
		}
		add(&out.operations, p.SyncID)
		return out
	}
	d := b.Data
	out.id, out.dataset = b.AlertID, d.DatasetID
	add(&out.companies, b.CompanyID)
	add(&out.conns, b.DataConnectionID, d.DataConnectionID)
	add(&out.operations, d.PushOperationKey, d.PushOperationGUID, d.SyncID)
	return out
}

// one returns the single value of list (every place agrees), or "".
func one(t *testing.T, what string, list []string) string {
	t.Helper()
	for _, v := range list {
		if v != list[0] {
			t.Errorf("%s differs within one body: %q", what, list)
		}
	}
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// TestSamplesGetFreshIDs checks that every sample, in either format, gets a
// fresh id in each identifier it carries, the same wherever the body repeats
// it, never one it did not carry; and that Published keeps Codat's.
func TestSamplesGetFreshIDs(t *testing.T) {
	t.Parallel()
	eventTypes, ruleTypes := codathooktest.SampleNames()
	type sample struct {
		name   string
		legacy bool
	}
	var all []sample
	for _, typ := range eventTypes {
		all = append(all, sample{typ, false})
	}
	for _, rule := range ruleTypes {
		all = append(all, sample{rule, true})
	}
	for _, s := range all {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			get := func(o codathooktest.SampleOptions) ids {
				t.Helper()
				body, err := codathooktest.Sample(s.name, o)
				if s.legacy {
					body, err = codathooktest.LegacySample(s.name, o)
				}
				if err != nil {
					t.Fatal(err)
				}
				return bodyIDs(t, body)
			}
			pub, a, b := get(codathooktest.SampleOptions{Published: true}), get(codathooktest.SampleOptions{}), get(codathooktest.SampleOptions{})
			fields := []struct {
				name          string
				pub, got, two []string
			}{
				{"event id", []string{pub.id}, []string{a.id}, []string{b.id}},
				{"company", pub.companies, a.companies, b.companies},
				{"connection", pub.conns, a.conns, b.conns},
				{"operation id", pub.operations, a.operations, b.operations},
				{"dataset id", []string{pub.dataset}, []string{a.dataset}, []string{b.dataset}},
			}
			for _, f := range fields {
				p, x, y := one(t, f.name, f.pub), one(t, f.name, f.got), one(t, f.name, f.two)
				switch {
				case len(f.pub) != len(f.got):
					t.Errorf("%s: published in %d places, fresh in %d: %q, %q", f.name, len(f.pub), len(f.got), f.pub, f.got)
				case p == "":
				case x == p || x == y:
					t.Errorf("%s: published %q, two samples %q and %q; want two fresh ids", f.name, p, x, y)
				case len(x) != 36:
					t.Errorf("%s: %q, want a UUID", f.name, x)
				}
			}
		})
	}
}

// TestSamplesOfTwoCompaniesDoNotCollide sends, per identifier that a
// receiver matches exactly (push operation key, sync id, report id, legacy
// datasetId), two samples for different companies: each is processed. With
// the published ids they are one occurrence to the receiver, which shows
// the test can fail.
func TestSamplesOfTwoCompaniesDoNotCollide(t *testing.T) {
	t.Parallel()
	pairs := []struct {
		name           string
		first, second  string // new event types, or legacy rules when legacy
		legacy         bool
		publishedMatch string
	}{
		{name: "push operation", first: "invoices.write.successful", second: "invoices.write.successful", publishedMatch: "occurrence"},
		{name: "expenses sync", first: "expenses.sync.successful", second: "expenses.sync.successful", publishedMatch: "occurrence"},
		{name: "report", first: "reports.creditModel.generate.successful", second: "reports.creditModel.generate.successful", publishedMatch: "occurrence"},
		{name: "legacy dataset", first: "Dataset data changed", second: "Data Sync Status Changed To Error", legacy: true, publishedMatch: "occurrence"},
		{name: "legacy push operation", first: "Push Operation Timed Out", second: "Push Operation Timed Out", legacy: true, publishedMatch: "occurrence"},
	}
	for _, tt := range pairs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, published := range []bool{false, true} {
				rcv, err := codathook.New(
					codathook.WithSecrets(codathooktest.DevSecret),
					codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
					codathook.WithLogger(slog.New(slog.DiscardHandler)),
				)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { rcv.Close(context.Background()) })
				send := func(typ, company string) *http.Response {
					t.Helper()
					// Its own event id: only the other ids can match.
					o := codathooktest.SampleOptions{ID: codathooktest.NewID(), CompanyID: company, Published: published}
					if !tt.legacy {
						body, err := codathooktest.Sample(typ, o)
						if err != nil {
							t.Fatal(err)
						}
						return codathooktest.Do(rcv.Handler(codathook.EndpointNew), codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/", body))
					}
					body, err := codathooktest.LegacySample(typ, o)
					if err != nil {
						t.Fatal(err)
					}
					return codathooktest.Do(rcv.Handler(codathook.EndpointLegacy), codathooktest.NewLegacyRequest("/", codathooktest.DevAuthorization, body))
				}
				first, second := send(tt.first, codathooktest.NewID()), send(tt.second, codathooktest.NewID())
				if got := first.Header.Get(codathook.HeaderResult); got != "processed" {
					t.Fatalf("published=%v: first company: %s = %q, want processed", published, codathook.HeaderResult, got)
				}
				got, match := second.Header.Get(codathook.HeaderResult), second.Header.Get("Codathook-Match")
				if !published && got != "processed" {
					t.Errorf("second company, fresh ids: %s = %q (match %q), want processed", codathook.HeaderResult, got, match)
				}
				if published && (got != "duplicate" || match != tt.publishedMatch) {
					t.Errorf("second company, published ids: %s = %q (match %q), want duplicate (match %s)", codathook.HeaderResult, got, match, tt.publishedMatch)
				}
			}
		})
	}
}
