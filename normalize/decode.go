package normalize

// This file decodes new-format bodies of the common families straight into
// their typed events with the reader in jsonread.go. It implements the subset
// of encoding/json's semantics these types need: keys matched ignoring ASCII
// case, unknown keys ignored (but validated), null leaving a field unset,
// [] giving a non-nil empty slice, {} a non-nil empty map, strings unescaped
// byte for byte as encoding/json does. Whatever falls outside that (errors,
// repeated keys, keys with escapes or non-ASCII bytes, numbers that do not
// fit, rarer families) makes decodeNew give up, and Parse decodes the body
// with encoding/json instead, so results are identical either way
// (FuzzDecoderDifferential checks it).
//
// The field lists and the per-struct decoding methods (decT for each struct
// T, decTSlice, payload, head.strFields) are generated into decode_gen.go
// from the declarations of the types in types.go and parse.go by the
// directive below; this file keeps the top level of both formats. After
// changing a type, run go generate ./normalize (TestGeneratedDecoderIsCurrent
// fails until then). -events lists the typed events decodeNew fills (the kinds
// of newDecoded), -structs the other roots.

//go:generate go run ./internal/gendecode/cmd -o decode_gen.go -top topFields=newWire,legacyTopFields=wire -events ReadCompletedEvent,ConnectionEvent,WriteEvent,CompanyEvent,CompanyProductEvent,RateLimitEvent,SourceAccountEvent,ExpensesSyncEvent,ReportEvent -structs LegacyData

// decodeNew decodes body, whose text s is, as a new-format event of a
// family it handles. ok is false when it gives up; the result is then
// discarded.
func decodeNew(s string, body []byte) (ev *Event, ok bool) {
	d := reader{s: s}
	if !d.object() {
		return nil, false
	}
	var (
		h        head
		seen     uint32
		env      *Envelope
		payStart = -1
	)
	hf := h.strFields()
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			break
		}
		switch f := d.field(key, topFields, &seen); f {
		case topPayload:
			if h.EventType == "" {
				// The type is not known yet: validate now, decode at the end.
				d.ws()
				payStart = d.i
				d.skip()
				break
			}
			if ev, env = newDecoded(kindOf(h.EventType)); ev == nil {
				return nil, false
			}
			d.payload(ev.Typed)
		case -1:
			d.skip()
		default:
			d.setStr(hf[f])
		}
		if d.fail || (h.EventType == "" && (h.AlertID != "" || h.RuleType != "")) {
			return nil, false // probably legacy: not worth finishing
		}
	}
	if d.ws(); d.fail || d.i != len(d.s) {
		return nil, false
	}
	format, typ := shape(h.EventType, h.Type, h.AlertID, h.RuleType)
	if format != FormatNew {
		return nil, false
	}
	if ev == nil {
		if ev, env = newDecoded(kindOf(typ)); ev == nil {
			return nil, false
		}
		if payStart >= 0 {
			d.i = payStart
			d.payload(ev.Typed)
			if d.fail {
				return nil, false
			}
		}
	}
	*env = Envelope{ID: h.ID, EventType: typ, GeneratedDate: h.GeneratedDate}
	ev.ID = h.ID
	ev.Type = typ
	ev.GeneratedDate = h.GeneratedDate
	ev.Format = FormatNew
	ev.Body = body
	fillIDs(ev)
	return ev, true
}

// newDecoded allocates an Event and the typed event of kind k together, or
// returns nil for a kind decodeNew leaves to encoding/json.
func newDecoded(k kind) (*Event, *Envelope) {
	switch k {
	case kindRead:
		return bundle[ReadCompletedEvent](func(t *ReadCompletedEvent) *Envelope { return &t.Envelope })
	case kindConnection:
		return bundle[ConnectionEvent](func(t *ConnectionEvent) *Envelope { return &t.Envelope })
	case kindWrite:
		return bundle[WriteEvent](func(t *WriteEvent) *Envelope { return &t.Envelope })
	case kindCompany:
		return bundle[CompanyEvent](func(t *CompanyEvent) *Envelope { return &t.Envelope })
	case kindCompanyProduct:
		return bundle[CompanyProductEvent](func(t *CompanyProductEvent) *Envelope { return &t.Envelope })
	case kindRateLimit:
		return bundle[RateLimitEvent](func(t *RateLimitEvent) *Envelope { return &t.Envelope })
	case kindSourceAccount:
		return bundle[SourceAccountEvent](func(t *SourceAccountEvent) *Envelope { return &t.Envelope })
	case kindExpenses:
		return bundle[ExpensesSyncEvent](func(t *ExpensesSyncEvent) *Envelope { return &t.Envelope })
	case kindReport:
		return bundle[ReportEvent](func(t *ReportEvent) *Envelope { return &t.Envelope })
	}
	return nil, nil
}

// bundle allocates an Event and a T in one allocation; Typed points to the T.
func bundle[T any](envOf func(*T) *Envelope) (*Event, *Envelope) {
	b := new(struct {
		ev Event
		t  T
	})
	b.ev.Typed = &b.t
	return &b.ev, envOf(&b.t)
}

// decodeLegacy decodes a legacy body with the reader. ok is false when it
// gives up (not legacy, or anything decodeNew would give up on); the result
// is then discarded and encoding/json decodes the body.
func decodeLegacy(s string, body []byte) (ev *Event, ok bool) {
	d := reader{s: s}
	if !d.object() {
		return nil, false
	}
	var (
		w                  wire
		seen               uint32
		dataStart, dataEnd = -1, -1
	)
	h := &w.head
	hf := h.strFields()
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			break
		}
		switch f := d.field(key, legacyTopFields, &seen); f {
		case legacyTopData:
			d.ws()
			dataStart = d.i
			d.skip()
			dataEnd = d.i
		case legacyTopPayload, -1: // payload is kept raw by wire, unused for legacy
			d.skip()
		default:
			d.setStr(hf[f])
		}
		if d.fail || h.EventType != "" {
			return nil, false
		}
	}
	if d.ws(); d.fail || d.i != len(d.s) {
		return nil, false
	}
	format, ruleType := shape(h.EventType, h.Type, h.AlertID, h.RuleType)
	if format != FormatLegacy {
		return nil, false
	}
	if dataStart >= 0 {
		w.Data = []byte(s[dataStart:dataEnd])
	}
	lg := &Legacy{
		AlertID:          h.AlertID,
		RuleType:         ruleType,
		RuleID:           h.RuleID,
		ClientID:         h.ClientID,
		ClientName:       h.ClientName,
		CompanyID:        h.CompanyID,
		DataConnectionID: h.DataConnectionID,
		Message:          h.Message,
		RawData:          w.Data,
	}
	spec := lookupRule(ruleType)
	if spec != nil && dataStart >= 0 {
		d.i = dataStart
		d.decLegacyData(&lg.Data)
		if d.fail {
			return nil, false
		}
	}
	return buildLegacy(body, &w, ruleType, spec, lg), true
}
