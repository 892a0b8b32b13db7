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

// Field names (the json tags, matched ignoring case), in the order of the
// decoding switches below.
var (
	topFields = []string{"id", "eventType", "type", "generatedDate", "AlertId", "RuleType",
		"RuleId", "ClientId", "ClientName", "CompanyId", "DataConnectionId", "Message",
		"connectionId", "payload"}
	companyRefFields    = []string{"id", "name", "description", "links", "tags"}
	portalFields        = []string{"portal"}
	readPayloadFields   = []string{"referenceCompany", "modifiedFromDate", "dataTypes"}
	readSummaryFields   = []string{"connectionId", "dataType", "recordsModified", "status", "issues"}
	readIssueFields     = []string{"type", "message", "links"}
	issueLinksFields    = []string{"logs", "portal", "readMore"}
	connPayloadFields   = []string{"referenceCompany", "connection"}
	connectionFields    = []string{"id", "integrationId", "integrationKey", "sourceId", "sourceType", "platformName", "linkUrl", "status", "lastSync", "created", "dataConnectionErrors", "connectionInfo"}
	connErrorFields     = []string{"statusCode", "statusText", "errorMessage", "erroredOnUtc", "status", "resolvedOnUtc"}
	writePayloadFields  = []string{"id", "type", "referenceCompany", "connectionId", "requestedOnDate", "completedOnDate", "status", "record", "attachmentId"}
	idFields            = []string{"id"}
	rateLimitFields     = []string{"dailyQuota", "quotaRemaining", "expiryDate"}
	companyFields       = []string{"id", "name", "description", "redirect", "lastSync", "created", "createdByUserName", "products", "tags", "referenceParentCompany", "referenceSubsidiaryCompanies"}
	productFields       = []string{"id", "name", "description", "productId", "productName", "products"}
	expensesFields      = []string{"referenceCompany", "syncId", "transactions"}
	transactionFields   = []string{"id", "status", "errorMessage"}
	reportFields        = []string{"id", "referenceCompany"}
	sourcePayloadFields = []string{"referenceCompany", "companyId", "connectionId", "sourceAccount"}
	sourceAccountFields = []string{"id", "accountName", "accountType", "accountNumber", "sortCode", "routingInfo", "currency", "balance", "accountInfo", "modifiedDate", "status", "feedStartDate"}
	routingFields       = []string{"bankCode", "type"}
	accountInfoFields   = []string{"description", "nickname", "accountOpenDate", "availableBalance"}
)

const topPayload = 13 // index of "payload" in topFields

// decodeNew decodes body, whose text s is, as a new-format event of a
// family it handles. ok is false when it gives up; the result is then
// discarded.
func decodeNew(s string, body []byte) (ev *Event, ok bool) {
	d := reader{s: s}
	if !d.object() {
		return nil, false
	}
	var (
		id, eventType, typ, generated, alertID, ruleType string
		seen                                             uint32
		env                                              *Envelope
		payStart                                         = -1
	)
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			break
		}
		switch f := d.field(key, topFields, &seen); f {
		case 0:
			d.setStr(&id)
		case 1:
			d.setStr(&eventType)
		case 2:
			d.setStr(&typ)
		case 3:
			d.setStr(&generated)
		case 4:
			d.setStr(&alertID)
		case 5:
			d.setStr(&ruleType)
		case topPayload:
			if eventType == "" {
				// The type is not known yet: validate now, decode at the end.
				d.ws()
				payStart = d.i
				d.skip()
				break
			}
			if ev, env = newDecoded(kindOf(eventType)); ev == nil {
				return nil, false
			}
			d.payload(ev.Typed)
		default:
			if f >= 0 { // the other head fields: strings
				var s string
				d.setStr(&s)
			} else {
				d.skip()
			}
		}
		if d.fail || (eventType == "" && (alertID != "" || ruleType != "")) {
			return nil, false // probably legacy: not worth finishing
		}
	}
	if d.ws(); d.fail || d.i != len(d.s) {
		return nil, false
	}
	format, typ := shape(eventType, typ, alertID, ruleType)
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
	*env = Envelope{ID: id, EventType: typ, GeneratedDate: generated}
	ev.ID = id
	ev.Type = typ
	ev.GeneratedDate = generated
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

// payload decodes the payload value into the typed event's Payload.
func (d *reader) payload(typed any) {
	switch t := typed.(type) {
	case *ReadCompletedEvent:
		d.readPayload(&t.Payload)
	case *ConnectionEvent:
		d.connectionPayload(&t.Payload)
	case *WriteEvent:
		d.writePayload(&t.Payload)
	case *CompanyEvent:
		d.company(&t.Payload)
	case *CompanyProductEvent:
		d.companyProduct(&t.Payload)
	case *RateLimitEvent:
		d.rateLimitPayload(&t.Payload)
	case *SourceAccountEvent:
		d.sourceAccountPayload(&t.Payload)
	case *ExpensesSyncEvent:
		d.expensesPayload(&t.Payload)
	case *ReportEvent:
		d.reportPayload(&t.Payload)
	default:
		d.fail = true
	}
}

func (d *reader) companyRef(p *CompanyReference) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, companyRefFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.Name)
		case 2:
			d.setStr(&p.Description)
		case 3:
			d.companyLinks(&p.Links)
		case 4:
			d.strMap(&p.Tags)
		default:
			d.skip()
		}
	}
}

// companyRefPtr decodes null (nil) or an object into a new CompanyReference.
func (d *reader) companyRefPtr(pp **CompanyReference) {
	if d.peek() == 'n' {
		d.lit("null")
		return
	}
	p := new(CompanyReference)
	*pp = p
	d.companyRef(p)
}

func (d *reader) companyLinks(pp **CompanyLinks) {
	if !d.object() {
		return
	}
	p := new(CompanyLinks)
	*pp = p
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		if d.field(key, portalFields, &seen) == 0 {
			d.setStr(&p.Portal)
		} else {
			d.skip()
		}
	}
}

func (d *reader) readPayload(p *ReadCompletedPayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, readPayloadFields, &seen) {
		case 0:
			d.companyRef(&p.ReferenceCompany)
		case 1:
			d.setStr(&p.ModifiedFromDate)
		case 2:
			d.readSummaries(&p.DataTypes)
		default:
			d.skip()
		}
	}
}

// readSummaries decodes dataTypes into a stack buffer first so that the
// slice is allocated once, at its final length.
func (d *reader) readSummaries(p *[]DataTypeReadSummary) {
	if !d.array() {
		return
	}
	var buf [16]DataTypeReadSummary
	var out []DataTypeReadSummary
	n := 0
	for d.next(&n, ']') {
		if n <= len(buf) {
			d.readSummary(&buf[n-1])
			continue
		}
		if out == nil {
			out = make([]DataTypeReadSummary, len(buf), 2*len(buf))
			copy(out, buf[:])
		}
		out = append(out, DataTypeReadSummary{})
		d.readSummary(&out[len(out)-1])
	}
	if d.fail {
		return
	}
	if out == nil {
		out = make([]DataTypeReadSummary, n)
		copy(out, buf[:n])
	}
	*p = out
}

func (d *reader) readSummary(p *DataTypeReadSummary) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, readSummaryFields, &seen) {
		case 0:
			d.setStr(&p.ConnectionID)
		case 1:
			d.setStr(&p.DataType)
		case 2:
			d.setBool(&p.RecordsModified)
		case 3:
			d.setStr(&p.Status)
		case 4:
			if d.array() {
				p.Issues = []ReadIssue{}
				for n := 0; d.next(&n, ']'); {
					d.readIssue(grow(&p.Issues))
				}
			}
		default:
			d.skip()
		}
	}
}

func (d *reader) readIssue(p *ReadIssue) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, readIssueFields, &seen) {
		case 0:
			d.setStr(&p.Type)
		case 1:
			d.setStr(&p.Message)
		case 2:
			d.issueLinks(&p.Links)
		default:
			d.skip()
		}
	}
}

func (d *reader) issueLinks(pp **ReadIssueLinks) {
	if !d.object() {
		return
	}
	p := new(ReadIssueLinks)
	*pp = p
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, issueLinksFields, &seen) {
		case 0:
			d.setStr(&p.Logs)
		case 1:
			d.setStr(&p.Portal)
		case 2:
			d.setStr(&p.ReadMore)
		default:
			d.skip()
		}
	}
}

func (d *reader) connectionPayload(p *ConnectionPayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, connPayloadFields, &seen) {
		case 0:
			d.companyRef(&p.ReferenceCompany)
		case 1:
			d.connection(&p.Connection)
		default:
			d.skip()
		}
	}
}

func (d *reader) connection(p *Connection) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch f := d.field(key, connectionFields, &seen); f {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.IntegrationID)
		case 2:
			d.setStr(&p.IntegrationKey)
		case 3:
			d.setStr(&p.SourceID)
		case 4:
			d.setStr(&p.SourceType)
		case 5:
			d.setStr(&p.PlatformName)
		case 6:
			d.setStr(&p.LinkURL)
		case 7:
			d.setStr(&p.Status)
		case 8:
			d.setStr(&p.LastSync)
		case 9:
			d.setStr(&p.Created)
		case 10:
			if d.array() {
				p.DataConnectionErrors = []DataConnectionError{}
				for n := 0; d.next(&n, ']'); {
					d.connError(grow(&p.DataConnectionErrors))
				}
			}
		case 11:
			p.ConnectionInfo = d.raw()
		default:
			d.skip()
		}
	}
}

func (d *reader) connError(p *DataConnectionError) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, connErrorFields, &seen) {
		case 0:
			d.setStr(&p.StatusCode)
		case 1:
			d.setStr(&p.StatusText)
		case 2:
			d.setStr(&p.ErrorMessage)
		case 3:
			d.setStr(&p.ErroredOnUtc)
		case 4:
			d.setStr(&p.Status)
		case 5:
			d.setStr(&p.ResolvedOnUtc)
		default:
			d.skip()
		}
	}
}

func (d *reader) writePayload(p *WritePayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, writePayloadFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.Type)
		case 2:
			d.companyRef(&p.ReferenceCompany)
		case 3:
			d.setStr(&p.ConnectionID)
		case 4:
			d.setStr(&p.RequestedOnDate)
		case 5:
			d.setStr(&p.CompletedOnDate)
		case 6:
			d.setStr(&p.Status)
		case 7:
			d.writeRecord(&p.Record)
		case 8:
			d.setStr(&p.AttachmentID)
		default:
			d.skip()
		}
	}
}

func (d *reader) writeRecord(pp **WriteRecord) {
	if !d.object() {
		return
	}
	p := new(WriteRecord)
	*pp = p
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		if d.field(key, idFields, &seen) == 0 {
			d.setStr(&p.ID)
		} else {
			d.skip()
		}
	}
}

func (d *reader) rateLimitPayload(p *RateLimitPayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, rateLimitFields, &seen) {
		case 0:
			d.setInt(&p.DailyQuota)
		case 1:
			d.setInt(&p.QuotaRemaining)
		case 2:
			d.setStr(&p.ExpiryDate)
		default:
			d.skip()
		}
	}
}

func (d *reader) company(p *Company) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, companyFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.Name)
		case 2:
			d.setStr(&p.Description)
		case 3:
			d.setStr(&p.Redirect)
		case 4:
			d.setStr(&p.LastSync)
		case 5:
			d.setStr(&p.Created)
		case 6:
			d.setStr(&p.CreatedByUserName)
		case 7:
			d.strings(&p.Products)
		case 8:
			d.strMap(&p.Tags)
		case 9:
			d.companyRefPtr(&p.ReferenceParentCompany)
		case 10:
			if d.array() {
				p.ReferenceSubsidiaryCompanies = []CompanyReference{}
				for n := 0; d.next(&n, ']'); {
					d.companyRef(grow(&p.ReferenceSubsidiaryCompanies))
				}
			}
		default:
			d.skip()
		}
	}
}

func (d *reader) companyProduct(p *CompanyProduct) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, productFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.Name)
		case 2:
			d.setStr(&p.Description)
		case 3:
			d.setStr(&p.ProductID)
		case 4:
			d.setStr(&p.ProductName)
		case 5:
			d.strings(&p.Products)
		default:
			d.skip()
		}
	}
}

func (d *reader) expensesPayload(p *ExpensesSyncPayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, expensesFields, &seen) {
		case 0:
			d.companyRef(&p.ReferenceCompany)
		case 1:
			d.setStr(&p.SyncID)
		case 2:
			if d.array() {
				p.Transactions = []ExpensesTransaction{}
				for n := 0; d.next(&n, ']'); {
					d.transaction(grow(&p.Transactions))
				}
			}
		default:
			d.skip()
		}
	}
}

func (d *reader) transaction(p *ExpensesTransaction) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, transactionFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.Status)
		case 2:
			d.setStr(&p.ErrorMessage)
		default:
			d.skip()
		}
	}
}

func (d *reader) reportPayload(p *ReportPayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, reportFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.companyRef(&p.ReferenceCompany)
		default:
			d.skip()
		}
	}
}

func (d *reader) sourceAccountPayload(p *SourceAccountPayload) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, sourcePayloadFields, &seen) {
		case 0:
			d.companyRef(&p.ReferenceCompany)
		case 1:
			d.setStr(&p.CompanyID)
		case 2:
			d.setStr(&p.ConnectionID)
		case 3:
			d.sourceAccount(&p.SourceAccount)
		default:
			d.skip()
		}
	}
}

func (d *reader) sourceAccount(p *SourceAccount) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, sourceAccountFields, &seen) {
		case 0:
			d.setStr(&p.ID)
		case 1:
			d.setStr(&p.AccountName)
		case 2:
			d.setStr(&p.AccountType)
		case 3:
			d.setStr(&p.AccountNumber)
		case 4:
			d.setStr(&p.SortCode)
		case 5:
			d.routingInfo(&p.RoutingInfo)
		case 6:
			d.setStr(&p.Currency)
		case 7:
			d.setNumber((*string)(&p.Balance))
		case 8:
			d.accountInfo(&p.AccountInfo)
		case 9:
			d.setStr(&p.ModifiedDate)
		case 10:
			d.setStr(&p.Status)
		case 11:
			d.setStr(&p.FeedStartDate)
		default:
			d.skip()
		}
	}
}

func (d *reader) routingInfo(pp **RoutingInfo) {
	if !d.object() {
		return
	}
	p := new(RoutingInfo)
	*pp = p
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, routingFields, &seen) {
		case 0:
			d.setStr(&p.BankCode)
		case 1:
			d.setStr(&p.Type)
		default:
			d.skip()
		}
	}
}

func (d *reader) accountInfo(pp **SourceAccountInfo) {
	if !d.object() {
		return
	}
	p := new(SourceAccountInfo)
	*pp = p
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, accountInfoFields, &seen) {
		case 0:
			d.setStr(&p.Description)
		case 1:
			d.setStr(&p.Nickname)
		case 2:
			d.setStr(&p.AccountOpenDate)
		case 3:
			d.setNumber((*string)(&p.AvailableBalance))
		default:
			d.skip()
		}
	}
}

// legacyTopFields are the top-level fields of wire: head, payload, Data.
var legacyTopFields = append(append([]string(nil), topFields...), "Data")

const legacyTopData = topPayload + 1 // index of "Data" in legacyTopFields

var legacyDataFields = []string{"dataConnectionId", "platformKey", "newStatus", "oldStatus", "dataType",
	"datasetId", "datasetStatus", "status", "pushOperationKey", "pushOperationGuid", "modifiedDate",
	"syncId", "syncType", "FailureStage", "SyncDateRangeStartUtc", "SyncDateRangeFinishUtc",
	"DailyQuota", "QuotaRemaining", "ExpiresUtc", "ResetReason", "companyName", "sourceType"}

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
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			break
		}
		switch f := d.field(key, legacyTopFields, &seen); f {
		case 0:
			d.setStr(&h.ID)
		case 1:
			d.setStr(&h.EventType)
		case 2:
			d.setStr(&h.Type)
		case 3:
			d.setStr(&h.GeneratedDate)
		case 4:
			d.setStr(&h.AlertID)
		case 5:
			d.setStr(&h.RuleType)
		case 6:
			d.setStr(&h.RuleID)
		case 7:
			d.setStr(&h.ClientID)
		case 8:
			d.setStr(&h.ClientName)
		case 9:
			d.setStr(&h.CompanyID)
		case 10:
			d.setStr(&h.DataConnectionID)
		case 11:
			d.setStr(&h.Message)
		case 12:
			d.setStr(&h.ConnectionID)
		case legacyTopData:
			d.ws()
			dataStart = d.i
			d.skip()
			dataEnd = d.i
		default: // payload (kept raw by wire, unused for legacy) and unknown keys
			d.skip()
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
		d.legacyData(&lg.Data)
		if d.fail {
			return nil, false
		}
	}
	return buildLegacy(body, &w, ruleType, spec, lg), true
}

func (d *reader) legacyData(p *LegacyData) {
	if !d.object() {
		return
	}
	var seen uint32
	for n := 0; ; {
		key, more := d.key(&n)
		if !more {
			return
		}
		switch d.field(key, legacyDataFields, &seen) {
		case 0:
			d.setStr(&p.DataConnectionID)
		case 1:
			d.setStr(&p.PlatformKey)
		case 2:
			d.setStr(&p.NewStatus)
		case 3:
			d.setStr(&p.OldStatus)
		case 4:
			d.setStr(&p.DataType)
		case 5:
			d.setStr(&p.DatasetID)
		case 6:
			d.setStr(&p.DatasetStatus)
		case 7:
			d.setStr(&p.Status)
		case 8:
			d.setStr(&p.PushOperationKey)
		case 9:
			d.setStr(&p.PushOperationGUID)
		case 10:
			d.setStr(&p.ModifiedDate)
		case 11:
			d.setStr(&p.SyncID)
		case 12:
			d.setStr(&p.SyncType)
		case 13:
			d.setStr(&p.FailureStage)
		case 14:
			d.setStr(&p.SyncDateRangeStartUtc)
		case 15:
			d.setStr(&p.SyncDateRangeFinishUtc)
		case 16:
			d.setInt(&p.DailyQuota)
		case 17:
			d.setInt(&p.QuotaRemaining)
		case 18:
			d.setStr(&p.ExpiresUtc)
		case 19:
			d.setStr(&p.ResetReason)
		case 20:
			d.setStr(&p.CompanyName)
		case 21:
			d.setStr(&p.SourceType)
		default:
			d.skip()
		}
	}
}
