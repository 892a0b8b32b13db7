package normalize_test

import (
	"testing"

	"github.com/codathook/codathook/normalize"
)

// matchKey is what dedupe pairs twins on.
type matchKey struct{ Type, CompanyID, ConnectionID, DataType, Status, ExactID string }

func matchKeys(t *testing.T, body string) []matchKey {
	t.Helper()
	ev, err := normalize.Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	var ks []matchKey
	for _, o := range ev.Occurrences() {
		ks = append(ks, matchKey{o.Type, o.CompanyID, o.ConnectionID, o.DataType, o.Status, o.ExactID})
	}
	return ks
}

// Twins whose formats carry different fields still produce equal match keys,
// so that dedupe processes them once. These are decisions, not accidents:
// connection.deleted ignores the status (the legacy twin has none),
// read.completed.initial is one occurrence per event (the legacy twin names no
// data types), and rate limits are identified by their quota expiry.
func TestTwinOccurrencesMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, legacy, new string
	}{
		{"connection.deleted",
			`{"AlertId":"a","RuleType":"Sync Connection Deleted","CompanyId":"co","DataConnectionId":"k"}`,
			`{"id":"n","eventType":"connection.deleted","payload":{"referenceCompany":{"id":"co"},"connection":{"id":"k","status":"Linked"}}}`},
		{"read.completed.initial",
			`{"AlertId":"a","RuleType":"New company synchronised","CompanyId":"co","DataConnectionId":"k","Data":{}}`,
			`{"id":"n","eventType":"read.completed.initial","payload":{"referenceCompany":{"id":"co"},"dataTypes":[{"connectionId":"k","dataType":"invoices","status":"Complete"},{"connectionId":"k","dataType":"bills","status":"Complete"}]}}`},
		{"client.rateLimit.reached, expiry written differently",
			`{"AlertId":"a","RuleType":"Rate Limit Reached","Data":{"DailyQuota":1000,"ExpiresUtc":"2023-05-03T00:00:00"}}`,
			`{"id":"n","eventType":"client.rateLimit.reached","payload":{"dailyQuota":1000,"quotaRemaining":0,"expiryDate":"2023-05-03T00:00:00.000Z"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, n := matchKeys(t, tc.legacy), matchKeys(t, tc.new)
			if len(l) != 1 || len(n) != 1 || l[0] != n[0] {
				t.Errorf("legacy %+v, new %+v: want one equal match key each", l, n)
			}
		})
	}
	if a, b := matchKeys(t, `{"id":"1","eventType":"client.rateLimit.reached","payload":{"expiryDate":"2023-05-03T00:00:00Z"}}`),
		matchKeys(t, `{"id":"2","eventType":"client.rateLimit.reached","payload":{"expiryDate":"2023-05-04T00:00:00Z"}}`); a[0] == b[0] {
		t.Errorf("rate limits with different expiries share a match key %+v", a[0])
	}
}
