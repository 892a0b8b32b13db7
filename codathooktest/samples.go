package codathooktest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

// The sample bodies are Codat's published examples: the migration guide's
// old/new schema pairs, the legacy rule-types page, the connection.failed
// announcement, and the OpenAPI schemas (company, company.product, bank
// feeds, expenses transactions, reports) where no example page exists. They
// differ from the docs only where the docs are wrong or ambiguous:
//
//   - each sample has its own event id / AlertId (the docs reuse one UUID on
//     most pages, which would make unrelated samples look like one delivery);
//     the twins of the migration guide share theirs, see [Twin];
//   - the client.rateLimit.reset and {dataType}.write.unsuccessful examples
//     carry their own eventType (the docs copy "client.rateLimit.reached" and
//     "invoices.write.successful"), and the timed-out write has its own push
//     operation key;
//   - the connection of every connection.* sample except connection.failed
//     (the blog example, verbatim) is 2e9d2c44-…, the company's connection in
//     the legacy examples; JSON comments are removed.
//
//go:embed samples/new/*.json samples/legacy/*.json
var sampleFiles embed.FS

// newOrder is the catalogue order of the new event types that have a sample.
var newOrder = []string{
	"company.created",
	"company.deleted",
	"company.product.added",
	"company.product.removed",
	"connection.created",
	"connection.connected",
	"connection.disconnected",
	"connection.reconnected",
	"connection.failed",
	"connection.deleted",
	"read.completed",
	"read.completed.initial",
	"invoices.write.successful",
	"invoices.write.unsuccessful",
	"client.rateLimit.reached",
	"client.rateLimit.reset",
	"bankFeeds.sourceAccount.connected",
	"bankFeeds.sourceAccount.disconnected",
	"expenses.sync.successful",
	"expenses.sync.unsuccessful",
	"reports.categorizedBankStatement.generate.successful",
	"reports.categorizedBankStatement.generate.unsuccessful",
	"reports.creditModel.generate.successful",
	"reports.creditModel.generate.unsuccessful",
	"reports.spendAnalysis.generate.successful",
	"reports.spendAnalysis.generate.unsuccessful",
}

// legacyOrder is the order of the legacy rule types (as sent in RuleType):
// Codat's rule-types table, then Sync Started.
var legacyOrder = []string{
	"DataConnectionStatusChanged",
	"New company synchronised",
	"Data sync completed",
	"Dataset data changed",
	"Data Sync Status Changed To Error",
	"Push Operation Status Changed()",
	"Push Operation Timed Out",
	"Account Categories Updated",
	"Sync Connection Deleted",
	"Sync Completed",
	"Sync Failed",
	"Sync Started",
	"Rate Limit Reached",
	"Rate Limit Reset",
}

// legacyAliases maps the Svix catalogue names whose folded form differs from
// the folded RuleType to that RuleType.
var legacyAliases = map[string]string{
	"clientratelimitreached": "Rate Limit Reached",
	"clientratelimitreset":   "Rate Limit Reset",
}

type sampleSet struct {
	bodies map[string][]byte // new event type -> compact body
	legacy map[string][]byte // folded rule type -> compact body
}

var loadSamples = sync.OnceValues(func() (*sampleSet, error) {
	set := &sampleSet{bodies: map[string][]byte{}, legacy: map[string][]byte{}}
	for _, dir := range []string{"samples/new", "samples/legacy"} {
		entries, err := sampleFiles.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			raw, err := sampleFiles.ReadFile(path.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, fmt.Errorf("codathooktest: sample %s: %w", e.Name(), err)
			}
			var head struct{ EventType, RuleType string }
			if err := json.Unmarshal(raw, &head); err != nil {
				return nil, fmt.Errorf("codathooktest: sample %s: %w", e.Name(), err)
			}
			if dir == "samples/new" {
				set.bodies[head.EventType] = buf.Bytes()
			} else {
				set.legacy[foldRule(head.RuleType)] = buf.Bytes()
			}
		}
	}
	for _, t := range newOrder {
		if set.bodies[t] == nil {
			return nil, fmt.Errorf("codathooktest: no embedded sample for %s", t)
		}
	}
	for _, t := range legacyOrder {
		if set.legacy[foldRule(t)] == nil {
			return nil, fmt.Errorf("codathooktest: no embedded sample for %s", t)
		}
	}
	return set, nil
})

// foldRule folds a legacy rule name the way the receiver matches it: ASCII
// letters lowercased, everything but letters and digits dropped,
// "synchronized" spelled "synchronised".
func foldRule(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	f := strings.ReplaceAll(b.String(), "synchronized", "synchronised")
	if canon, ok := legacyAliases[f]; ok {
		return foldRule(canon)
	}
	return f
}

// SampleNames returns the names the samples exist for: the new event types
// that [Sample] has a body of its own for, in Codat's catalogue order (the
// write events once, as invoices.write.successful and
// invoices.write.unsuccessful; [Sample] serves any other data type from
// them), and the legacy rule types of [LegacySample], spelled as Codat sends
// them in RuleType (the 13 rules of Codat's rule-types page, then Sync
// Started).
func SampleNames() (eventTypes, ruleTypes []string) {
	return slices.Clone(newOrder), slices.Clone(legacyOrder)
}

// writeType splits "{dataType}.write.successful|unsuccessful".
func writeType(eventType string) (dataType, outcome string, ok bool) {
	for _, o := range []string{"successful", "unsuccessful"} {
		if dt, found := strings.CutSuffix(eventType, ".write."+o); found && validDataType(dt) {
			return dt, o, true
		}
	}
	return "", "", false
}

// validDataType reports whether s looks like a Codat data type
// ("invoices", "banking-accounts").
func validDataType(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Sample returns Codat's example body for a new event type, changed by o
// (see [SampleOptions]): by default with fresh ids, a distinct occurrence
// on every call. Its "eventType" is eventType; with o.Published and nothing
// else set it is the published sample, compact JSON in the key order of
// the docs. Any "{dataType}.write.successful" or ".write.unsuccessful"
// works: the invoices example is returned with its event type renamed. The
// caller owns the returned slice. An event type without a sample is an
// error.
func Sample(eventType string, o SampleOptions) ([]byte, error) {
	set, err := loadSamples()
	if err != nil {
		return nil, err
	}
	if b, ok := set.bodies[eventType]; ok {
		return rewrite(b, o)
	}
	if dt, outcome, ok := writeType(eventType); ok {
		base := set.bodies["invoices.write."+outcome]
		return rewrite(renameEventType(base, "invoices.write."+outcome, dt+".write."+outcome), o)
	}
	return nil, fmt.Errorf("codathooktest: no sample for event type %q (see SampleNames)", eventType)
}

func renameEventType(body []byte, from, to string) []byte {
	return bytes.Replace(body, []byte(`"eventType":"`+from+`"`), []byte(`"eventType":"`+to+`"`), 1)
}

// LegacySample returns Codat's example body for a legacy rule type, changed
// by o (see [SampleOptions]): by default with fresh ids, a distinct
// occurrence on every call; with o.Published and nothing else set it is
// compact JSON in the docs' key order. ruleType is matched as the receiver matches
// it (case, spaces and punctuation such as a trailing "()" ignored,
// synchronised = synchronized, Svix catalogue names such as
// "ClientRateLimitReached" accepted), and the returned body's RuleType is
// ruleType exactly as given, so tests can exercise each spelling. The caller
// owns the returned slice. A rule type without a sample is an error.
func LegacySample(ruleType string, o SampleOptions) ([]byte, error) {
	set, err := loadSamples()
	if err != nil {
		return nil, err
	}
	b, ok := set.legacy[foldRule(ruleType)]
	if !ok || strings.TrimSpace(ruleType) == "" {
		return nil, fmt.Errorf("codathooktest: no legacy sample for rule type %q (see SampleNames)", ruleType)
	}
	var head struct{ RuleType string }
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, err
	}
	if head.RuleType != ruleType {
		from, _ := json.Marshal(head.RuleType)
		to, _ := json.Marshal(ruleType)
		b = bytes.Replace(b, append([]byte(`"RuleType":`), from...), append([]byte(`"RuleType":`), to...), 1)
	}
	return rewrite(b, o)
}
