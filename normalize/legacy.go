package normalize

import (
	"bytes"
	"strings"
)

// ruleID identifies a legacy rule type.
type ruleID uint8

const (
	ruleUnknown ruleID = iota
	ruleDataConnectionStatusChanged
	ruleNewCompanySynchronized
	ruleDataSyncCompleted
	ruleDatasetDataChanged
	ruleDataSyncStatusChangedToError
	rulePushOperationStatusChanged
	rulePushOperationTimedOut
	ruleAccountCategoriesUpdated
	ruleSyncConnectionDeleted
	ruleSyncCompleted
	ruleSyncFailed
	ruleClientRateLimitReached
	ruleClientRateLimitReset
	ruleSyncStarted
)

// ruleSpec is one legacy rule type: the data both the mapping code and the
// mapping table of docs/EVENTS.md are built from.
type ruleSpec struct {
	id    ruleID
	svix  string   // Svix catalogue name
	names []string // RuleType strings Codat has documented, first is canonical
	// eventType is the fixed normalized type; "" when it depends on Data
	// (connectionTransitions, pushStatuses).
	eventType string
	kind      kind
	fields    []fieldMapping
}

// fieldMapping is one legacy field and where it goes in the normalized event.
type fieldMapping struct {
	Legacy string // legacy property, e.g. "Data.pushOperationKey"
	New    string // new property, e.g. "payload.id", or where a dropped field is kept
}

const keptInLegacy = "Event.Legacy only"

var (
	fCompany        = fieldMapping{"CompanyId", "payload.referenceCompany.id"}
	fReadConnection = fieldMapping{"DataConnectionId", "payload.dataTypes[0].connectionId"}
	fReadDataType   = fieldMapping{"Data.dataType", "payload.dataTypes[0].dataType"}
	fDatasetID      = fieldMapping{"Data.datasetId", keptInLegacy + " (Occurrence.DatasetID)"}
	fWriteConn      = fieldMapping{"DataConnectionId", "payload.connectionId"}
	fWriteDataType  = fieldMapping{"Data.dataType", "eventType prefix ({dataType}.write.*)"}
	fWriteKey       = fieldMapping{"Data.pushOperationKey", "payload.id"}
	fSyncID         = fieldMapping{"Data.syncId", "payload.syncId"}
	fSyncType       = fieldMapping{"Data.syncType", keptInLegacy}
	fDailyQuota     = fieldMapping{"Data.DailyQuota", "payload.dailyQuota"}
	fExpiresUtc     = fieldMapping{"Data.ExpiresUtc", "payload.expiryDate"}
)

var ruleSpecs = []ruleSpec{
	{
		id: ruleDataConnectionStatusChanged, svix: "DataConnectionStatusChanged",
		names: []string{"DataConnectionStatusChanged"}, kind: kindConnection,
		fields: []fieldMapping{
			fCompany,
			{"DataConnectionId", "payload.connection.id"},
			{"Data.dataConnectionId", "payload.connection.id (when DataConnectionId is missing)"},
			{"Data.newStatus", "payload.connection.status"},
			{"Data.oldStatus", keptInLegacy},
			{"Data.platformKey", "payload.connection.integrationKey"},
		},
	},
	{
		id: ruleNewCompanySynchronized, svix: "NewCompanySynchronized",
		names:     []string{"New company synchronised", "New company synchronized"},
		eventType: typeReadCompletedInitial, kind: kindRead,
		fields: []fieldMapping{
			fCompany,
			{"DataConnectionId", "Event.ConnectionID (payload.dataTypes is empty)"},
			{"Data.companyName, Data.sourceType", keptInLegacy},
		},
	},
	{
		id: ruleDataSyncCompleted, svix: "DataSyncCompleted",
		names:     []string{"Data sync completed"},
		eventType: typeReadCompleted, kind: kindRead,
		fields: []fieldMapping{
			fCompany, fReadConnection, fReadDataType,
			{"(constant)", "payload.dataTypes[0].status = Complete, recordsModified = false"},
			fDatasetID,
		},
	},
	{
		id: ruleDatasetDataChanged, svix: "DatasetDataChanged",
		names:     []string{"Dataset data changed"},
		eventType: typeReadCompleted, kind: kindRead,
		fields: []fieldMapping{
			fCompany, fReadConnection, fReadDataType,
			{"(constant)", "payload.dataTypes[0].status = Complete, recordsModified = true"},
			fDatasetID,
		},
	},
	{
		id: ruleDataSyncStatusChangedToError, svix: "DataSyncStatusChangedToError",
		names:     []string{"Data Sync Status Changed To Error"},
		eventType: typeReadCompleted, kind: kindRead,
		fields: []fieldMapping{
			fCompany, fReadConnection, fReadDataType,
			{"Data.datasetStatus", "payload.dataTypes[0].status (recordsModified = false)"},
			fDatasetID,
		},
	},
	{
		id: rulePushOperationStatusChanged, svix: "PushOperationStatusChanged",
		names: []string{"Push Operation Status Changed()", "Push Operation Status Changed"},
		kind:  kindWrite,
		fields: []fieldMapping{
			fCompany, fWriteConn, fWriteDataType,
			{"Data.status", "payload.status"},
			fWriteKey,
			{"Data.pushOperationGuid", "payload.id (when pushOperationKey is missing)"},
		},
	},
	{
		id: rulePushOperationTimedOut, svix: "PushOperationTimedOut",
		names: []string{"Push Operation Timed Out"},
		kind:  kindWrite,
		fields: []fieldMapping{
			fCompany, fWriteConn, fWriteDataType,
			{"(constant)", "payload.status = TimedOut"},
			fWriteKey,
			{"Data.pushOperationGuid", "payload.id (when pushOperationKey is missing)"},
		},
	},
	{
		id: ruleSyncCompleted, svix: "SyncCompleted",
		names:     []string{"Sync Completed"},
		eventType: typeExpensesSyncSuccessful, kind: kindExpenses,
		fields: []fieldMapping{fCompany, fSyncID, fSyncType},
	},
	{
		id: ruleSyncFailed, svix: "SyncFailed",
		names:     []string{"Sync Failed"},
		eventType: typeExpensesSyncUnsuccessful, kind: kindExpenses,
		fields: []fieldMapping{fCompany, fSyncID, fSyncType, {"Data.FailureStage", keptInLegacy}},
	},
	{
		id: ruleSyncConnectionDeleted, svix: "SyncConnectionDeleted",
		names:     []string{"Sync Connection Deleted"},
		eventType: typeConnectionDeleted, kind: kindConnection,
		fields: []fieldMapping{fCompany, {"DataConnectionId", "payload.connection.id"}},
	},
	{
		id: ruleClientRateLimitReached, svix: "ClientRateLimitReached",
		names:     []string{"Rate Limit Reached"},
		eventType: typeClientRateLimitReached, kind: kindRateLimit,
		fields: []fieldMapping{fDailyQuota, fExpiresUtc, {"(constant)", "payload.quotaRemaining = 0 unless Data.QuotaRemaining is sent"}},
	},
	{
		id: ruleClientRateLimitReset, svix: "ClientRateLimitReset",
		names:     []string{"Rate Limit Reset"},
		eventType: typeClientRateLimitReset, kind: kindRateLimit,
		fields: []fieldMapping{
			fDailyQuota, fExpiresUtc,
			{"Data.QuotaRemaining", "payload.quotaRemaining"},
			{"Data.ResetReason", keptInLegacy},
		},
	},
	{
		id: ruleAccountCategoriesUpdated, svix: "AccountCategoriesUpdated",
		names:     []string{"Account Categories Updated", "account-categories-updated"},
		eventType: typeAccountCategoriesUpdated, kind: kindAccountCategories,
		fields: []fieldMapping{
			fCompany,
			{"DataConnectionId", "payload.connectionId"},
			{"Data.modifiedDate", "payload.modifiedDate"},
		},
	},
	{
		id: ruleSyncStarted, svix: "SyncStarted",
		names:     []string{"Sync Started"},
		eventType: typeSyncStarted, kind: kindSyncStarted,
		fields: []fieldMapping{
			fCompany, fSyncID,
			{"Data.syncType", "payload.syncType"},
			{"Data.SyncDateRangeStartUtc", "payload.syncDateRangeStartUtc"},
			{"Data.SyncDateRangeFinishUtc", "payload.syncDateRangeFinishUtc"},
		},
	},
}

// connectionTransitions maps DataConnectionStatusChanged by (oldStatus,
// newStatus), compared ignoring ASCII case. A transition not listed gives
// typeDataConnectionStatusChanged.
var connectionTransitions = []struct{ old, new, eventType string }{
	{"", "PendingAuth", typeConnectionCreated},
	{"PendingAuth", "Linked", typeConnectionConnected},
	{"Linked", "Unlinked", typeConnectionDisconnected},
	{"Linked", "Deauthorized", typeConnectionDisconnected},
	{"Unlinked", "Linked", typeConnectionReconnected},
	{"Deauthorized", "Linked", typeConnectionReconnected},
	{"", "", typeConnectionDeleted},
}

// Placeholder names used by pushStatuses for the dynamic write types.
const (
	placeholderWriteSuccessful   = "{dataType}" + writeSuccessfulSuffix
	placeholderWriteUnsuccessful = "{dataType}" + writeUnsuccessfulSuffix
)

// pushStatuses maps Push Operation Status Changed by Data.status, compared
// ignoring ASCII case. Any other status gives typePushOperationStatusChanged.
var pushStatuses = []struct{ status, eventType string }{
	{"Success", placeholderWriteSuccessful},
	{"Failed", placeholderWriteUnsuccessful},
	{"TimedOut", placeholderWriteUnsuccessful},
	{"Pending", typePushOperationPending},
}

var ruleByCanonical = func() map[string]*ruleSpec {
	m := make(map[string]*ruleSpec)
	add := func(name string, s *ruleSpec) {
		var buf [canonicalMax]byte
		if k := canonical(name, &buf); k != nil {
			m[string(k)] = s
		}
	}
	for i := range ruleSpecs {
		s := &ruleSpecs[i]
		add(s.svix, s)
		for _, n := range s.names {
			add(n, s)
		}
	}
	return m
}()

const canonicalMax = 64

var synchronis = []byte("synchronis")

// canonical writes the lookup form of a rule name into buf: ASCII letters
// lower-cased, digits kept, everything else dropped, "synchronis" spelled
// "synchroniz". It returns nil when the form would not fit.
func canonical(name string, buf *[canonicalMax]byte) []byte {
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			continue
		}
		if n == len(buf) {
			return nil
		}
		buf[n] = c
		n++
	}
	out := buf[:n]
	if i := bytes.Index(out, synchronis); i >= 0 {
		out[i+len(synchronis)-1] = 'z'
	}
	return out
}

// lookupRule finds the rule spec for a RuleType as sent; nil when unknown.
func lookupRule(ruleType string) *ruleSpec {
	var buf [canonicalMax]byte
	k := canonical(ruleType, &buf)
	if len(k) == 0 {
		return nil
	}
	return ruleByCanonical[string(k)]
}

// legacyRuleName returns the Svix catalogue name (for example
// "PushOperationStatusChanged") of a legacy RuleType as sent, matched as
// described in the package documentation; false when the rule is unknown.
func legacyRuleName(ruleType string) (string, bool) {
	if s := lookupRule(ruleType); s != nil {
		return s.svix, true
	}
	return "", false
}

func connectionEventType(oldStatus, newStatus string) string {
	for _, t := range connectionTransitions {
		if strings.EqualFold(t.old, oldStatus) && strings.EqualFold(t.new, newStatus) {
			return t.eventType
		}
	}
	return typeDataConnectionStatusChanged
}

func pushEventType(status, dataType string) string {
	if dataType == "" {
		return typePushOperationStatusChanged
	}
	for _, p := range pushStatuses {
		if strings.EqualFold(p.status, status) {
			switch p.eventType {
			case placeholderWriteSuccessful:
				return writeSuccessful(dataType)
			case placeholderWriteUnsuccessful:
				return writeUnsuccessful(dataType)
			}
			return p.eventType
		}
	}
	return typePushOperationStatusChanged
}

func parseLegacy(body []byte, w *wire, ruleType string) (*Event, error) {
	lg := &Legacy{
		AlertID:          w.AlertID,
		RuleType:         ruleType,
		RuleID:           w.RuleID,
		ClientID:         w.ClientID,
		ClientName:       w.ClientName,
		CompanyID:        w.CompanyID,
		DataConnectionID: w.DataConnectionID,
		Message:          w.Message,
		RawData:          w.Data,
	}
	spec := lookupRule(ruleType)
	if spec != nil {
		if err := decodePayload(w.Data, &lg.Data, "Data"); err != nil {
			return nil, err
		}
	}
	return buildLegacy(body, w, ruleType, spec, lg), nil
}

// buildLegacy normalizes a legacy body whose top-level fields are in w and
// whose Data (when spec is not nil) is decoded into lg.Data.
func buildLegacy(body []byte, w *wire, ruleType string, spec *ruleSpec, lg *Legacy) *Event {
	if spec != nil {
		lg.Rule = spec.svix
	}
	d := &lg.Data
	ev := &Event{
		ID:           w.AlertID,
		Format:       FormatLegacy,
		CompanyID:    w.CompanyID,
		ConnectionID: w.DataConnectionID,
		ClientID:     w.ClientID,
		Legacy:       lg,
		Body:         body,
	}
	if ev.ConnectionID == "" {
		ev.ConnectionID = d.DataConnectionID
	}
	env := Envelope{ID: w.AlertID, Legacy: lg}
	company := CompanyReference{ID: w.CompanyID}
	if spec == nil {
		env.EventType = typeUnknownLegacyRule
		ev.Typed = &UnknownLegacyEvent{Envelope: env, Payload: UnknownLegacyPayload{
			RuleType:     ruleType,
			CompanyID:    w.CompanyID,
			ConnectionID: w.DataConnectionID,
			Data:         w.Data,
		}}
		ev.Type = env.EventType
		return ev
	}
	env.EventType = spec.eventType
	switch spec.id {
	case ruleDataConnectionStatusChanged, ruleSyncConnectionDeleted:
		if spec.id == ruleDataConnectionStatusChanged {
			env.EventType = connectionEventType(d.OldStatus, d.NewStatus)
		}
		ev.Typed = &ConnectionEvent{Envelope: env, Payload: ConnectionPayload{
			ReferenceCompany: company,
			Connection: Connection{
				ID:             ev.ConnectionID,
				IntegrationKey: d.PlatformKey,
				Status:         d.NewStatus,
			},
		}}
	case ruleNewCompanySynchronized:
		ev.Typed = &ReadCompletedEvent{Envelope: env, Payload: ReadCompletedPayload{
			ReferenceCompany: company,
			DataTypes:        []DataTypeReadSummary{},
		}}
	case ruleDataSyncCompleted, ruleDatasetDataChanged, ruleDataSyncStatusChangedToError:
		el := DataTypeReadSummary{ConnectionID: ev.ConnectionID, DataType: d.DataType, Status: "Complete"}
		switch spec.id {
		case ruleDatasetDataChanged:
			el.RecordsModified = true
		case ruleDataSyncStatusChangedToError:
			el.Status = d.DatasetStatus
		}
		ev.Typed = &ReadCompletedEvent{Envelope: env, Payload: ReadCompletedPayload{
			ReferenceCompany: company,
			DataTypes:        []DataTypeReadSummary{el},
		}}
	case rulePushOperationStatusChanged, rulePushOperationTimedOut:
		status := d.Status
		if spec.id == rulePushOperationTimedOut {
			status = "TimedOut"
		}
		env.EventType = pushEventType(status, d.DataType)
		id := d.PushOperationKey
		if id == "" {
			id = d.PushOperationGUID
		}
		ev.Typed = &WriteEvent{Envelope: env, Payload: WritePayload{
			ID:               id,
			ReferenceCompany: company,
			ConnectionID:     ev.ConnectionID,
			Status:           status,
		}}
	case ruleSyncCompleted, ruleSyncFailed:
		ev.Typed = &ExpensesSyncEvent{Envelope: env, Payload: ExpensesSyncPayload{
			ReferenceCompany: company,
			SyncID:           d.SyncID,
		}}
	case ruleClientRateLimitReached, ruleClientRateLimitReset:
		ev.Typed = &RateLimitEvent{Envelope: env, Payload: RateLimitPayload{
			DailyQuota:     d.DailyQuota,
			QuotaRemaining: d.QuotaRemaining,
			ExpiryDate:     d.ExpiresUtc,
		}}
	case ruleAccountCategoriesUpdated:
		ev.Typed = &AccountCategoriesUpdatedEvent{Envelope: env, Payload: AccountCategoriesUpdatedPayload{
			ReferenceCompany: company,
			ConnectionID:     ev.ConnectionID,
			ModifiedDate:     d.ModifiedDate,
		}}
	case ruleSyncStarted:
		ev.Typed = &SyncStartedEvent{Envelope: env, Payload: SyncStartedPayload{
			ReferenceCompany:       company,
			SyncID:                 d.SyncID,
			SyncType:               d.SyncType,
			SyncDateRangeStartUtc:  d.SyncDateRangeStartUtc,
			SyncDateRangeFinishUtc: d.SyncDateRangeFinishUtc,
		}}
	}
	ev.Type = env.EventType
	return ev
}
