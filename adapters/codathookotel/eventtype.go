package codathookotel

import (
	"strings"

	"github.com/codathook/codathook/normalize"
)

// knownTypes are the event types the metrics report as themselves: every
// concrete type of the catalogue, including the documented write types and
// the legacy-only names.
var knownTypes = func() map[string]bool {
	m := make(map[string]bool)
	for _, t := range normalize.EventTypes() {
		m[t] = true
	}
	return m
}()

// eventTypeValue bounds the metrics' event type attribute, as
// codathookprom bounds its label: a delivery's type is normalized, but its
// sender chooses it and any "{dataType}.write.*" parses, so a type this
// version does not know is reported as "other" (or
// "other.write.successful", "other.write.unsuccessful").
func eventTypeValue(t string) string {
	switch {
	case t == "" || knownTypes[t]:
		return t
	case strings.HasSuffix(t, ".write.successful"):
		return "other.write.successful"
	case strings.HasSuffix(t, ".write.unsuccessful"):
		return "other.write.unsuccessful"
	}
	return "other"
}
