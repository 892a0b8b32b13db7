package codathookprom

import (
	"strings"

	"github.com/codathook/codathook/normalize"
)

// The event_type values that stand for types this version does not know.
const (
	otherType              = "other"
	otherWriteSuccessful   = "other.write.successful"
	otherWriteUnsuccessful = "other.write.unsuccessful"
)

// knownTypes are the event types reported as themselves: every concrete
// type of the catalogue, including the 36 documented write types and the
// legacy-only names.
var knownTypes = func() map[string]bool {
	m := make(map[string]bool)
	for _, t := range normalize.EventTypes() {
		m[t] = true
	}
	return m
}()

// eventTypeLabel bounds the event_type label: a delivery's type is already
// normalized, but a sender chooses it, and any "{dataType}.write.*" parses.
func eventTypeLabel(t string) string {
	switch {
	case t == "" || knownTypes[t]:
		return t
	case strings.HasSuffix(t, ".write.successful"):
		return otherWriteSuccessful
	case strings.HasSuffix(t, ".write.unsuccessful"):
		return otherWriteUnsuccessful
	}
	return otherType
}

// matchTwin is the match of a cross-format twin.
const matchTwin = "twin"

// matches are the kinds of key a duplicate can match ([codathook.Outcome]).
var matches = [...]string{"message", "event", "occurrence", matchTwin}

// matchLabel returns m, or "other" for a kind this version does not know.
func matchLabel(m string) string {
	for _, k := range matches {
		if m == k {
			return m
		}
	}
	return otherType
}
