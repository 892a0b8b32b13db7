package normalize

import "time"

// Format is the shape of a webhook body.
type Format string

// The body shapes Classification and [Parse] recognise.
const (
	FormatNew     Format = "new"     // {id, eventType, generatedDate, payload}
	FormatLegacy  Format = "legacy"  // {AlertId, RuleType, ... Data}
	FormatUnknown Format = "unknown" // a JSON object that is neither
)

// Event is one normalized delivery. Parse fills it; it is not modified
// afterwards and is safe to read from several goroutines.
type Event struct {
	ID            string `json:"id"`            // body id, or AlertId for legacy bodies
	Type          string `json:"type"`          // normalized (new) event type, e.g. "connection.connected"; "" for FormatUnknown
	GeneratedDate string `json:"generatedDate"` // as sent (never parsed); "" for legacy bodies
	Format        Format `json:"format"`        // the body's shape
	CompanyID     string `json:"companyId"`     // "" when none (rate limits)
	// ConnectionID is the connection the event is about: payload.connection.id,
	// payload.connectionId, the first dataTypes[].connectionId of a read event,
	// or the legacy DataConnectionId (else Data.dataConnectionId).
	ConnectionID string `json:"connectionId"`
	ClientID     string `json:"clientId"` // legacy ClientId when present
	// Typed is a pointer to the typed event (see [GoType]); nil when Type is
	// not known to this version or Format is FormatUnknown.
	Typed any `json:"typed"`
	// Legacy is non-nil iff Format is FormatLegacy: every legacy field, typed,
	// plus the raw Data.
	Legacy *Legacy `json:"legacy,omitempty"`
	// Body is the exact bytes passed to Parse (not copied): do not modify them.
	Body []byte `json:"-"`
}

// Occurrence is what deduplication matches across the two formats: the same
// real-world occurrence delivered once as a legacy body and once as a new
// event gives equal Occurrences (except DatasetID and Element). Only fields
// that every legacy rule mapped to the type carries are set: a
// connection.deleted has no ConnectionID, since Sync Connection Deleted
// names none.
type Occurrence struct {
	Type         string // normalized type
	CompanyID    string
	ConnectionID string
	DataType     string
	Status       string // connection status, read status, write status, source account status
	// ExactID is an identifier both formats share: the push operation key
	// (write payload.id), the expenses syncId or the report id; "" when none.
	ExactID string
	// DatasetID is the legacy Data.datasetId (relates Data sync completed and
	// Dataset data changed of one sync); "" for new bodies.
	DatasetID string
	// Element is the index into ReadCompletedEvent.Payload.DataTypes; -1 otherwise.
	Element int
}

// Occurrences lists what dedupe matches across formats: one element for most
// events, one per dataTypes[] element for read.completed and
// read.completed.initial (a read event with no element, such as a legacy New
// company synchronised, gives one Occurrence with Element -1). It returns nil
// for FormatUnknown, which has nothing to match. Each call returns a new slice.
func (e *Event) Occurrences() []Occurrence {
	// Small enough to inline: a caller that does not keep the slice gets
	// the usual single element on its own stack instead of the heap.
	var one [1]Occurrence
	return e.occurrences(one[:])
}

// occurrences implements Occurrences. buf has length 1; it returns buf when
// there is exactly one Occurrence.
func (e *Event) occurrences(buf []Occurrence) []Occurrence {
	if e == nil || e.Format == FormatUnknown || e.Format == "" {
		return nil
	}
	base := Occurrence{
		Type:         e.Type,
		CompanyID:    e.CompanyID,
		ConnectionID: e.ConnectionID,
		Element:      -1,
	}
	if e.Legacy != nil {
		base.DatasetID = e.Legacy.Data.DatasetID
	}
	switch t := e.Typed.(type) {
	case *ReadCompletedEvent:
		if e.Type == typeReadCompletedInitial || len(t.Payload.DataTypes) == 0 {
			// read.completed.initial is one occurrence per event: its legacy
			// twin, New company synchronised, names no data types.
			break
		}
		out := buf
		if len(t.Payload.DataTypes) > len(buf) {
			out = make([]Occurrence, len(t.Payload.DataTypes))
		}
		for i, dt := range t.Payload.DataTypes {
			o := base
			o.ConnectionID = dt.ConnectionID
			o.DataType = dt.DataType
			o.Status = dt.Status
			o.Element = i
			out[i] = o
		}
		return out
	case *WriteEvent:
		base.DataType = t.DataType()
		base.Status = t.Payload.Status
		base.ExactID = t.Payload.ID
	case *ConnectionEvent:
		if e.Type == typeConnectionDeleted {
			// A deletion follows any status, and one of its legacy twins,
			// Sync Connection Deleted, carries neither a status nor a
			// connection id: it is matched on what both formats carry,
			// its type and company.
			base.ConnectionID = ""
		} else {
			base.Status = t.Payload.Connection.Status
		}
	case *RateLimitEvent:
		base.ExactID = instant(t.Payload.ExpiryDate)
	case *ExpensesSyncEvent:
		base.ExactID = t.Payload.SyncID
	case *ReportEvent:
		base.ExactID = t.Payload.ID
	case *SourceAccountEvent:
		base.Status = t.Payload.SourceAccount.Status
	case *SyncStartedEvent:
		base.ExactID = t.Payload.SyncID
	}
	buf[0] = base
	return buf
}

// instant returns a date as one RFC 3339 UTC spelling (no trailing zero
// fraction) so that both formats' dates of one instant match: legacy
// ExpiresUtc may come without a zone (it is UTC) and the new expiryDate with
// milliseconds. A date that parses as neither is kept as sent.
func instant(date string) string {
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, date); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return date
}
