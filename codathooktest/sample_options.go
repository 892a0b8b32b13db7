package codathooktest

import (
	"bytes"
	"fmt"
	"strings"
)

// SampleOptions changes the identifying fields of a body from [Sample],
// [LegacySample] or [Twin], so that tests can make distinct occurrences of
// one event type, or cross-format twins (the same occurrence in the new and
// the legacy shape). The zero SampleOptions returns the sample exactly as
// published; otherwise the body is re-encoded as compact JSON with object
// keys sorted, numbers and strings kept exactly. Empty fields leave the body
// unchanged. The table says where each field goes; a field that a
// body has no place for is ignored.
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
//	ClientID       -                                         ClientId
//	GeneratedDate  generatedDate                             -
//
// CompanyID, ConnectionID and ClientID are added to a legacy body that lacks
// them (for example Sync Connection Deleted has no DataConnectionId). Keys
// are matched as the samples spell them; human text such as a legacy
// Message is left as it is. A DataType for a write event that is not a plain
// data type name ("invoices", "banking-accounts") is an error.
type SampleOptions struct {
	ID            string
	CompanyID     string
	ConnectionID  string
	DataType      string
	Status        string
	OldStatus     string
	OperationID   string
	ClientID      string
	GeneratedDate string
}

// rewrite applies o to a new-format or legacy body (see [SampleOptions]).
// With zero options it returns a copy of body unchanged. Malformed JSON, a
// body that is not a JSON object, or an invalid write DataType, is an error.
func rewrite(body []byte, o SampleOptions) ([]byte, error) {
	if o == (SampleOptions{}) {
		return bytes.Clone(body), nil
	}
	var werr error
	out, err := editJSON(body, func(doc map[string]any) {
		if _, isNew := doc["eventType"]; isNew {
			werr = rewriteNew(doc, o)
		} else {
			rewriteLegacy(doc, o)
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

func rewriteNew(doc map[string]any, o SampleOptions) error {
	setIf(doc, "id", o.ID)
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
		setIf(p, "id", o.CompanyID)
	case isWrite || isReport:
		setIf(p, "id", o.OperationID)
	}
	setIf(object(p["referenceCompany"]), "id", o.CompanyID)
	setIf(p, "companyId", o.CompanyID)
	setIf(p, "connectionId", o.ConnectionID)
	setIf(p, "syncId", o.OperationID)
	if isWrite {
		setIf(p, "status", o.Status)
	}
	if c := object(p["connection"]); c != nil {
		setIf(c, "id", o.ConnectionID)
		setIf(c, "status", o.Status)
	}
	setIf(object(p["sourceAccount"]), "status", o.Status)
	if dts, ok := p["dataTypes"].([]any); ok {
		for _, e := range dts {
			m := object(e)
			setIf(m, "connectionId", o.ConnectionID)
			setIf(m, "dataType", o.DataType)
			setIf(m, "status", o.Status)
		}
	}
	return nil
}

func rewriteLegacy(doc map[string]any, o SampleOptions) {
	setIf(doc, "AlertId", o.ID)
	if o.CompanyID != "" {
		doc["CompanyId"] = o.CompanyID
	}
	if o.ConnectionID != "" {
		doc["DataConnectionId"] = o.ConnectionID
	}
	if o.ClientID != "" {
		doc["ClientId"] = o.ClientID
	}
	d := object(doc["Data"])
	setIf(d, "dataConnectionId", o.ConnectionID)
	setIf(d, "dataType", o.DataType)
	setIf(d, "newStatus", o.Status)
	setIf(d, "datasetStatus", o.Status)
	setIf(d, "status", o.Status)
	setIf(d, "oldStatus", o.OldStatus)
	setIf(d, "pushOperationKey", o.OperationID)
	setIf(d, "pushOperationGuid", o.OperationID)
	setIf(d, "syncId", o.OperationID)
}
