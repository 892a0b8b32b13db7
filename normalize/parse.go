package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// MalformedError reports a body that is not a JSON object, or whose known
// fields have the wrong JSON type. A receiver answers it with 400. The error
// text names the problem and a byte offset, never body content.
type MalformedError struct {
	Reason string // short description, e.g. "invalid JSON" or "top-level value is not an object"
	Offset int64  // byte offset of the problem in the body, -1 when unknown
	Err    error  // the underlying *json.SyntaxError or *json.UnmarshalTypeError, or nil
}

// Error implements error.
func (e *MalformedError) Error() string {
	s := "normalize: malformed body: " + e.Reason
	if e.Offset >= 0 {
		s += " at offset " + strconv.FormatInt(e.Offset, 10)
	}
	return s
}

// Unwrap returns the underlying encoding/json error, if any.
func (e *MalformedError) Unwrap() error { return e.Err }

// head holds the scalar top-level keys of both formats; encoding/json
// matches keys ignoring case.
type head struct {
	ID            string `json:"id"`
	EventType     string `json:"eventType"`
	Type          string `json:"type"`
	GeneratedDate string `json:"generatedDate"`

	AlertID          string `json:"AlertId"`
	RuleType         string `json:"RuleType"`
	RuleID           string `json:"RuleId"`
	ClientID         string `json:"ClientId"`
	ClientName       string `json:"ClientName"`
	CompanyID        string `json:"CompanyId"`
	DataConnectionID string `json:"DataConnectionId"`
	Message          string `json:"Message"`

	// ConnectionID is only read from unknown bodies (pre-2025 bank feeds).
	ConnectionID string `json:"connectionId"`
}

// wire is the union of the top-level keys of both formats, decoded in one
// pass, with payload and Data left raw.
type wire struct {
	head
	Payload json.RawMessage `json:"payload"`
	Data    json.RawMessage `json:"Data"`
}

// newWire decodes a new-format body in one pass: Payload holds a pointer to
// the typed event's payload, which encoding/json fills in place.
type newWire struct {
	head
	Payload any `json:"payload"`
}

// classifyHead is the subset of wire that classify needs.
type classifyHead struct {
	EventType string `json:"eventType"`
	Type      string `json:"type"`
	AlertID   string `json:"AlertId"`
	RuleType  string `json:"RuleType"`
}

// shape applies the classification rules in the package documentation and
// returns the format and the (new) event type or legacy rule type as sent.
func shape(eventType, typ, alertID, ruleType string) (Format, string) {
	switch {
	case eventType != "":
		return FormatNew, eventType
	case ruleType != "":
		return FormatLegacy, ruleType
	case alertID != "":
		return FormatLegacy, typ
	case typ != "":
		if strings.IndexByte(typ, '.') >= 0 {
			return FormatNew, typ
		}
		return FormatLegacy, typ
	}
	return FormatUnknown, ""
}

// classify reports the body's shape. Malformed JSON or a top-level value that
// is not an object returns a [*MalformedError]. classify looks at the
// classifying keys only; [Parse] may still reject a body whose other known
// fields have the wrong JSON type.
func classify(body []byte) (Format, error) {
	if err := checkObject(body); err != nil {
		return "", err
	}
	var h classifyHead
	if err := json.Unmarshal(body, &h); err != nil {
		return "", malformed(err)
	}
	f, _ := shape(h.EventType, h.Type, h.AlertID, h.RuleType)
	return f, nil
}

// Parse classifies, decodes and normalizes body in one pass. It never panics.
// FormatUnknown is not an error: it returns an *Event with Format
// FormatUnknown and Type "" (CompanyID and ConnectionID are filled from
// top-level companyId and connectionId when present). Errors are always
// [*MalformedError]. The returned Event keeps body in Event.Body without
// copying it; the strings of the Event and its typed event never refer to
// body (they are unescaped copies, or substrings of one private copy of it).
func Parse(body []byte) (*Event, error) {
	if err := checkObject(body); err != nil {
		return nil, err
	}
	// The hand-written decoder takes the common bodies; whatever it is not
	// sure about goes to encoding/json below. Its strings are substrings of
	// this private copy of the body, which nothing ever modifies.
	s := string(body)
	if ev, ok := decodeNew(s, body); ok {
		return ev, nil
	}
	if ev, ok := decodeLegacy(s, body); ok {
		return ev, nil
	}
	// Past the hand-written decoders (which give up on a repeated key they
	// read), a body that repeats a key Parse reads is refused: encoding/json
	// would keep the last copy of a raw value but merge the copies of an
	// object decoded into a struct, so the event dedupe keys and the event a
	// wrapped handler decodes from the same bytes could differ.
	if k, ok := repeatedKey(body); ok {
		return nil, &MalformedError{Reason: "repeated top-level key " + k, Offset: -1}
	}
	if typ, ok := prescan(body); ok && typ != nil {
		if k := kindOf(string(typ)); k != kindNone {
			if ev, ok, err := parseNewFast(body, typ, k); ok {
				return ev, err
			}
		}
	}
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, malformed(err)
	}
	format, typ := shape(w.EventType, w.Type, w.AlertID, w.RuleType)
	switch format {
	case FormatNew:
		return parseNew(body, &w, typ)
	case FormatLegacy:
		return parseLegacy(body, &w, typ)
	}
	return &Event{
		Format:       FormatUnknown,
		ID:           w.ID,
		CompanyID:    w.CompanyID,
		ConnectionID: w.ConnectionID,
		Body:         body,
	}, nil
}

// readKeys are the top-level keys Parse reads, matched ignoring case as
// encoding/json matches them.
var readKeys = append(append([]string(nil), topFields...), "Data")

// repeatedKey returns the name of a top-level key that Parse reads and that
// body holds more than once (in any spelling encoding/json matches to it),
// spelled as Parse spells it: never body content. It
// reports false for a body that is not a valid JSON object: decoding reports
// that.
func repeatedKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	var seen uint64
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := t.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
		for i, name := range readKeys {
			if strings.EqualFold(k, name) {
				if seen&(1<<i) != 0 {
					return name, true
				}
				seen |= 1 << i
				break
			}
		}
	}
	return "", false
}

// checkObject rejects bodies whose first non-space byte is not '{' before
// encoding/json would silently accept a top-level null.
func checkObject(body []byte) error {
	for i, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return nil
		}
		if json.Valid(body) {
			return &MalformedError{Reason: "top-level value is not an object", Offset: int64(i)}
		}
		var v any
		return malformed(json.Unmarshal(body, &v))
	}
	return &MalformedError{Reason: "empty body", Offset: -1}
}

// malformed wraps an encoding/json error.
func malformed(err error) *MalformedError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &MalformedError{Reason: "invalid JSON", Offset: se.Offset, Err: err}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(value)"
		}
		return &MalformedError{Reason: "field " + field + " has JSON type " + te.Value, Offset: te.Offset, Err: err}
	}
	return &MalformedError{Reason: "invalid JSON", Offset: -1, Err: err}
}

// isNull reports whether raw is absent or the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// decodePayload decodes raw into v unless raw is absent or null.
func decodePayload(raw json.RawMessage, v any, field string) error {
	if isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			f := field
			if te.Field != "" {
				f += "." + te.Field
			}
			return &MalformedError{Reason: "field " + f + " has JSON type " + te.Value, Offset: -1, Err: err}
		}
		return malformed(err)
	}
	return nil
}

// unknownPayload is what Parse reads from the payload of a new event type it
// does not know, to fill CompanyID and ConnectionID.
type unknownPayload struct {
	ReferenceCompany struct {
		ID string `json:"id"`
	} `json:"referenceCompany"`
	Connection struct {
		ID string `json:"id"`
	} `json:"connection"`
	CompanyID    string `json:"companyId"`
	ConnectionID string `json:"connectionId"`
}

// newTyped allocates the typed event of kind k and returns it with a pointer
// to its Envelope and to its Payload.
func newTyped(k kind) (typed any, env *Envelope, payload any) {
	switch k {
	case kindCompany:
		t := &CompanyEvent{}
		return t, &t.Envelope, &t.Payload
	case kindCompanyProduct:
		t := &CompanyProductEvent{}
		return t, &t.Envelope, &t.Payload
	case kindConnection:
		t := &ConnectionEvent{}
		return t, &t.Envelope, &t.Payload
	case kindRead:
		t := &ReadCompletedEvent{}
		return t, &t.Envelope, &t.Payload
	case kindWrite:
		t := &WriteEvent{}
		return t, &t.Envelope, &t.Payload
	case kindRateLimit:
		t := &RateLimitEvent{}
		return t, &t.Envelope, &t.Payload
	case kindSourceAccount:
		t := &SourceAccountEvent{}
		return t, &t.Envelope, &t.Payload
	case kindExpenses:
		t := &ExpensesSyncEvent{}
		return t, &t.Envelope, &t.Payload
	case kindReport:
		t := &ReportEvent{}
		return t, &t.Envelope, &t.Payload
	case kindAccountCategories:
		t := &AccountCategoriesUpdatedEvent{}
		return t, &t.Envelope, &t.Payload
	case kindSyncStarted:
		t := &SyncStartedEvent{}
		return t, &t.Envelope, &t.Payload
	case kindUnknownLegacy:
		t := &UnknownLegacyEvent{}
		return t, &t.Envelope, &t.Payload
	}
	return nil, nil, nil
}

// fillIDs sets ev.CompanyID and ev.ConnectionID from a typed new-format event.
func fillIDs(ev *Event) {
	switch t := ev.Typed.(type) {
	case *CompanyEvent:
		ev.CompanyID = t.Payload.ID
	case *CompanyProductEvent:
		ev.CompanyID = t.Payload.ID
	case *ConnectionEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
		ev.ConnectionID = t.Payload.Connection.ID
	case *ReadCompletedEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
		for _, dt := range t.Payload.DataTypes {
			if dt.ConnectionID != "" {
				ev.ConnectionID = dt.ConnectionID
				break
			}
		}
	case *WriteEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
		ev.ConnectionID = t.Payload.ConnectionID
	case *SourceAccountEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
		if ev.CompanyID == "" {
			ev.CompanyID = t.Payload.CompanyID
		}
		ev.ConnectionID = t.Payload.ConnectionID
	case *ExpensesSyncEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
	case *ReportEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
	case *AccountCategoriesUpdatedEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
		ev.ConnectionID = t.Payload.ConnectionID
	case *SyncStartedEvent:
		ev.CompanyID = t.Payload.ReferenceCompany.ID
	case *UnknownLegacyEvent:
		ev.CompanyID = t.Payload.CompanyID
		ev.ConnectionID = t.Payload.ConnectionID
	}
}

// parseNewFast decodes a new-format body of known kind k in a single
// encoding/json pass. ok is false when the decoded classifying keys disagree
// with prescan's reading (duplicate keys in odd cases, ...); the caller then
// takes the general path.
func parseNewFast(body, eventType []byte, k kind) (ev *Event, ok bool, err error) {
	typed, env, payload := newTyped(k)
	w := newWire{Payload: payload}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, true, malformed(err)
	}
	if f, typ := shape(w.EventType, w.Type, w.AlertID, w.RuleType); f != FormatNew || typ != string(eventType) {
		return nil, false, nil
	}
	*env = Envelope{ID: w.ID, EventType: string(eventType), GeneratedDate: w.GeneratedDate}
	ev = &Event{
		ID:            w.ID,
		Type:          env.EventType,
		GeneratedDate: w.GeneratedDate,
		Format:        FormatNew,
		Typed:         typed,
		Body:          body,
	}
	fillIDs(ev)
	return ev, true, nil
}

func parseNew(body []byte, w *wire, eventType string) (*Event, error) {
	ev := &Event{
		ID:            w.ID,
		Type:          eventType,
		GeneratedDate: w.GeneratedDate,
		Format:        FormatNew,
		Body:          body,
	}
	if typed, env, payload := newTyped(kindOf(eventType)); typed != nil {
		*env = Envelope{ID: w.ID, EventType: eventType, GeneratedDate: w.GeneratedDate}
		if err := decodePayload(w.Payload, payload, "payload"); err != nil {
			return nil, err
		}
		ev.Typed = typed
		fillIDs(ev)
		return ev, nil
	}
	// An event type Codat added after this version: acknowledged with a nil
	// Typed. Wrong types in its payload are not an error.
	var p unknownPayload
	if !isNull(w.Payload) && json.Unmarshal(w.Payload, &p) == nil {
		ev.CompanyID = p.ReferenceCompany.ID
		if ev.CompanyID == "" {
			ev.CompanyID = p.CompanyID
		}
		ev.ConnectionID = p.ConnectionID
		if ev.ConnectionID == "" {
			ev.ConnectionID = p.Connection.ID
		}
	}
	return ev, nil
}
