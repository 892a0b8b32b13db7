package codathooktest

import (
	"bytes"
	"fmt"
	"strings"
)

// SampleOptions changes the identifying fields of a body from [Sample],
// [LegacySample] or [Twin], so that tests can make distinct occurrences of
// one event type, or cross-format twins (the same occurrence in the new and
// the legacy shape).
//
// By default every sample is a distinct occurrence: each identifier the
// body carries and the options leave empty (the event id or AlertId, the
// company, the connection, the push operation key, sync id or report id,
// the legacy datasetId) gets a fresh [NewID], one per field and call, the
// same wherever the body repeats it. Two samples therefore never match on
// an id left fixed by accident (two companies' syncs sharing the
// published syncId, say); a test that wants a duplicate or a twin sets the
// ids it shares, or uses [Twin]. With Published, the fields left empty keep
// the ids Codat published instead.
//
// A sample with any field changed, fresh ids included, is re-encoded as
// compact JSON with object keys sorted, numbers and strings kept exactly;
// the zero SampleOptions with Published returns the published bytes. The
// table says where each field goes; a field that a body has no place for
// is ignored, and a fresh id never adds a field the sample lacks.
//
//	field          new body                                  legacy body
//	ID             id                                        AlertId
//	CompanyID      payload.referenceCompany.id,              CompanyId
//	               payload.companyId; payload.id of
//	               company.* and company.product.*
//	ConnectionID   payload.connection.id,                    DataConnectionId,
//	               payload.connectionId,                     Data.dataConnectionId
//	               payload.dataTypes[].connectionId
//	DataType       the {dataType} of a write event type,     Data.dataType
//	               payload.dataTypes[].dataType
//	Status         payload.connection.status,                Data.newStatus,
//	               payload.dataTypes[].status,               Data.datasetStatus,
//	               payload.status (writes),                  Data.status
//	               payload.sourceAccount.status
//	OldStatus      -                                         Data.oldStatus
//	OperationID    payload.id of writes (push operation      Data.pushOperationKey,
//	               key) and reports; payload.syncId          Data.pushOperationGuid,
//	                                                         Data.syncId
//	DatasetID      -                                         Data.datasetId
//	ClientID       -                                         ClientId
//	GeneratedDate  generatedDate                             -
//
// CompanyID, ConnectionID and ClientID given explicitly are added to a
// legacy body that lacks them (for example Sync Connection Deleted has no
// DataConnectionId). Keys are matched as the samples spell them; human text
// such as a legacy Message or a portal link is left as it is. ClientID,
// DataType, Status, OldStatus and GeneratedDate are never made fresh. A
// DataType for a write event that is not a plain data type name
// ("invoices", "banking-accounts") is an error.
type SampleOptions struct {
	ID            string
	CompanyID     string
	ConnectionID  string
	DataType      string
	Status        string
	OldStatus     string
	OperationID   string
	DatasetID     string
	ClientID      string
	GeneratedDate string

	// Published keeps, in the identifier fields left empty, the ids of the
	// published sample instead of fresh ones.
	Published bool
}

// freshIDs returns the ids that replace a sample's own in the fields o
// leaves empty: a fresh [NewID] for each, or none when o.Published.
func freshIDs(o SampleOptions) SampleOptions {
	if o.Published {
		return SampleOptions{}
	}
	return SampleOptions{ID: NewID(), CompanyID: NewID(), ConnectionID: NewID(), OperationID: NewID(), DatasetID: NewID()}
}

// or returns v, or fresh when v is empty.
func or(v, fresh string) string {
	if v != "" {
		return v
	}
	return fresh
}

// rewrite applies o to a new-format or legacy body (see [SampleOptions]),
// with fresh ids in the identifier fields o leaves empty unless
// o.Published. With nothing to change it returns a copy of body unchanged.
// Malformed JSON, a body that is not a JSON object, or an invalid write
// DataType, is an error.
func rewrite(body []byte, o SampleOptions) ([]byte, error) {
	f := freshIDs(o)
	o.Published = false
	if o == (SampleOptions{}) && f == (SampleOptions{}) {
		return bytes.Clone(body), nil
	}
	var werr error
	out, err := editJSON(body, func(doc map[string]any) {
		if _, isNew := doc["eventType"]; isNew {
			werr = rewriteNew(doc, o, f)
		} else {
			rewriteLegacy(doc, o, f)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("codathooktest: rewrite: %w", err)
	}
	if werr != nil {
		return nil, werr
	}
	return out, nil
}

// setIf replaces m[key] with v when v is not empty and m has key.
func setIf(m map[string]any, key, v string) {
	if m == nil || v == "" {
		return
	}
	if _, ok := m[key]; ok {
		m[key] = v
	}
}

func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// rewriteNew applies o, and f where o is empty, to a new-format body.
func rewriteNew(doc map[string]any, o, f SampleOptions) error {
	id, company, conn, op := or(o.ID, f.ID), or(o.CompanyID, f.CompanyID), or(o.ConnectionID, f.ConnectionID), or(o.OperationID, f.OperationID)
	setIf(doc, "id", id)
	setIf(doc, "generatedDate", o.GeneratedDate)
	eventType, _ := doc["eventType"].(string)
	_, outcome, isWrite := writeType(eventType)
	if isWrite && o.DataType != "" {
		if !validDataType(o.DataType) {
			return fmt.Errorf("codathooktest: rewrite: invalid data type %q", o.DataType)
		}
		doc["eventType"] = o.DataType + ".write." + outcome
	}
	p := object(doc["payload"])
	if p == nil {
		return nil
	}
	isCompany := strings.HasPrefix(eventType, "company.")
	isReport := strings.HasPrefix(eventType, "reports.") || strings.HasPrefix(eventType, "report.")
	switch {
	case isCompany:
		setIf(p, "id", company)
	case isWrite || isReport:
		setIf(p, "id", op)
	}
	setIf(object(p["referenceCompany"]), "id", company)
	setIf(p, "companyId", company)
	setIf(p, "connectionId", conn)
	setIf(p, "syncId", op)
	if isWrite {
		setIf(p, "status", o.Status)
	}
	if c := object(p["connection"]); c != nil {
		setIf(c, "id", conn)
		setIf(c, "status", o.Status)
	}
	setIf(object(p["sourceAccount"]), "status", o.Status)
	if dts, ok := p["dataTypes"].([]any); ok {
		for _, e := range dts {
			m := object(e)
			setIf(m, "connectionId", conn)
			setIf(m, "dataType", o.DataType)
			setIf(m, "status", o.Status)
		}
	}
	return nil
}

// rewriteLegacy applies o, and f where o is empty, to a legacy body. Only
// o's CompanyID, ConnectionID and ClientID add a field the body lacks.
func rewriteLegacy(doc map[string]any, o, f SampleOptions) {
	conn, op := or(o.ConnectionID, f.ConnectionID), or(o.OperationID, f.OperationID)
	setIf(doc, "AlertId", or(o.ID, f.ID))
	addOrSet(doc, "CompanyId", o.CompanyID, f.CompanyID)
	addOrSet(doc, "DataConnectionId", o.ConnectionID, f.ConnectionID)
	addOrSet(doc, "ClientId", o.ClientID, "")
	d := object(doc["Data"])
	setIf(d, "dataConnectionId", conn)
	setIf(d, "dataType", o.DataType)
	setIf(d, "newStatus", o.Status)
	setIf(d, "datasetStatus", o.Status)
	setIf(d, "status", o.Status)
	setIf(d, "oldStatus", o.OldStatus)
	setIf(d, "pushOperationKey", op)
	setIf(d, "pushOperationGuid", op)
	setIf(d, "syncId", op)
	setIf(d, "datasetId", or(o.DatasetID, f.DatasetID))
}

// addOrSet sets m[key] to v when v is not empty, adding the key, else to
// fresh when m already has the key.
func addOrSet(m map[string]any, key, v, fresh string) {
	if v != "" {
		m[key] = v
		return
	}
	setIf(m, key, fresh)
}
