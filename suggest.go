package codathook

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/codathook/codathook/normalize"
)

// unknownPattern is the error of a pattern that matches none of names (the
// event types this version knows and those [WithNewerEventTypes] declared):
// it names the legacy rule type's event types when pattern is a legacy rule
// type, else the nearest name or pattern over names, and says how to
// declare a type newer than this version.
func unknownPattern(pattern string, names []string) error {
	const newer = "for an event type newer than this version, declare it with codathook.WithNewerEventTypes"
	if ex := legacyRuleExample(pattern); ex != "" {
		return fmt.Errorf("codathook: %q is a legacy rule type, not an event type: register the event types it is normalized to, such as %q (docs/EVENTS.md has the mapping)", pattern, ex)
	}
	if s := suggest(pattern, names); s != "" {
		return fmt.Errorf("codathook: %q matches no event type this version knows: did you mean %q? (%s)", pattern, s, newer)
	}
	return fmt.Errorf("codathook: %q matches no event type this version knows (docs/EVENTS.md lists them; %s)", pattern, newer)
}

// legacyRuleExample returns an event type that legacy rule type rule is
// normalized to ("*.write.successful" for a push rule), or "" when rule is
// not a legacy rule type this version knows.
func legacyRuleExample(rule string) string {
	if strings.Contains(rule, "*") {
		return ""
	}
	// Data fields that make each rule normalize to its usual event type.
	body, err := json.Marshal(map[string]any{"AlertId": "probe", "RuleType": rule, "CompanyId": "probe",
		"Data": map[string]string{"dataType": "invoices", "status": "Success", "newStatus": "Linked", "oldStatus": "PendingAuth"}})
	if err != nil {
		return ""
	}
	ev, err := normalize.Parse(body)
	if err != nil || ev.Type == "" || ev.Type == "UnknownLegacyRule" || ev.Type == rule {
		return ""
	}
	if rest, ok := strings.CutPrefix(ev.Type, "invoices."); ok {
		return "*." + rest
	}
	return ev.Type
}

// suggest returns the name, or pattern over names, nearest to pattern by
// edit distance (ignoring case), or "" when none is near: for a pattern
// with wildcards, the candidates are names with the pattern's wildcards
// put in the same places ("conection.*" is near "connection.*").
func suggest(pattern string, names []string) string {
	pseg := strings.Split(pattern, ".")
	lower := strings.ToLower(pattern)
	best, bestD := "", 0
	for _, name := range names {
		c, ok := shapeLike(pseg, name)
		if !ok {
			continue
		}
		if d := distance(lower, strings.ToLower(c)); best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(pattern)/4) {
		return ""
	}
	return best
}

// shapeLike returns name with the wildcards of the pattern whose segments
// are pseg in their places, or name itself for a pattern without wildcards;
// ok is false when name has too few or too many segments for the pattern.
func shapeLike(pseg []string, name string) (string, bool) {
	if !strings.Contains(strings.Join(pseg, "."), "*") {
		return name, true
	}
	nseg := strings.Split(name, ".")
	last := len(pseg) - 1
	if len(nseg) < len(pseg) || pseg[last] != "*" && len(nseg) != len(pseg) {
		return "", false
	}
	out := make([]string, len(pseg))
	for i, p := range pseg {
		if p == "*" {
			out[i] = "*"
		} else {
			out[i] = nseg[i]
		}
	}
	return strings.Join(out, "."), true
}

// distance is the optimal string alignment distance between a and b
// (Levenshtein's, with a swap of two adjacent bytes counting as one edit).
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// typeName names t as a program that imports this package does: the event
// types re-exported from normalize as codathook.ConnectionEvent and so on,
// any other type as reflect does.
func typeName(t reflect.Type) string {
	base, stars := t, ""
	for base.Kind() == reflect.Pointer {
		base, stars = base.Elem(), stars+"*"
	}
	if reexported[base] {
		return stars + "codathook." + base.Name()
	}
	return t.String()
}
