package codathooktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Twin returns one occurrence in both formats: the new-format sample for
// eventType changed by o (see [Sample]), and the legacy body that
// Codat's migration guide maps to it, carrying the same event id (AlertId),
// company, connection, data type, status and push operation key or sync id.
// The twins share these ids on purpose, fresh ones unless o sets them or
// o.Published keeps the published ones (see [SampleOptions]); the legacy
// body's other ids (its datasetId) are fresh or as o sets them. Tests use
// it to check that a receiver running both endpoints processes the
// occurrence once.
//
//	new event type                 legacy rule (transition)
//	connection.created             DataConnectionStatusChanged (none → PendingAuth)
//	connection.connected           DataConnectionStatusChanged (PendingAuth → Linked)
//	connection.disconnected        DataConnectionStatusChanged (Linked → status)
//	connection.reconnected         DataConnectionStatusChanged (Deauthorized → Linked)
//	connection.deleted             Sync Connection Deleted
//	read.completed                 Data sync completed; Data Sync Status Changed
//	                               To Error when the status is not Complete
//	read.completed.initial         New company synchronised
//	{dataType}.write.successful    Push Operation Status Changed() (Success)
//	{dataType}.write.unsuccessful  Push Operation Timed Out when TimedOut, else
//	                               Push Operation Status Changed() (Failed)
//	client.rateLimit.reached       Rate Limit Reached
//	client.rateLimit.reset         Rate Limit Reset
//	expenses.sync.successful       Sync Completed
//	expenses.sync.unsuccessful     Sync Failed
//
// A read event is paired on its first dataTypes element. Other event types
// have no legacy twin and give an error.
//
// The new body's generatedDate is the current time unless o sets one: a
// receiver pairs the two formats of an occurrence by its time (the new
// event's generatedDate, the legacy delivery's arrival), so twins are an
// occurrence happening now. A test on a fake clock sets o.GeneratedDate
// from it.
func Twin(eventType string, o SampleOptions) (newBody, legacyBody []byte, err error) {
	if o.GeneratedDate == "" {
		o.GeneratedDate = time.Now().UTC().Format(time.RFC3339Nano)
	}
	newBody, err = Sample(eventType, o)
	if err != nil {
		return nil, nil, err
	}
	var nb struct {
		ID      string `json:"id"`
		Payload struct {
			ID               string `json:"id"`
			ReferenceCompany struct {
				ID string `json:"id"`
			} `json:"referenceCompany"`
			ConnectionID string `json:"connectionId"`
			Connection   struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"connection"`
			DataTypes []struct {
				ConnectionID string `json:"connectionId"`
				DataType     string `json:"dataType"`
				Status       string `json:"status"`
			} `json:"dataTypes"`
			Status string `json:"status"`
			SyncID string `json:"syncId"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(newBody, &nb); err != nil {
		return nil, nil, fmt.Errorf("codathooktest: twin: %w", err)
	}
	p := nb.Payload
	lo := SampleOptions{ID: nb.ID, CompanyID: p.ReferenceCompany.ID, ClientID: o.ClientID, DatasetID: o.DatasetID, Published: o.Published}
	var rule string
	dropOldStatus := false
	switch eventType {
	case "connection.created", "connection.connected", "connection.disconnected", "connection.reconnected":
		rule = "DataConnectionStatusChanged"
		lo.ConnectionID, lo.Status = p.Connection.ID, p.Connection.Status
		switch eventType {
		case "connection.created":
			dropOldStatus = true
		case "connection.connected":
			lo.OldStatus = "PendingAuth"
		case "connection.disconnected":
			lo.OldStatus = "Linked"
		case "connection.reconnected":
			lo.OldStatus = "Deauthorized"
		}
	case "connection.deleted":
		rule = "Sync Connection Deleted"
		lo.ConnectionID = p.Connection.ID
	case "read.completed", "read.completed.initial":
		rule = "New company synchronised"
		if len(p.DataTypes) > 0 {
			lo.ConnectionID = p.DataTypes[0].ConnectionID
			if eventType == "read.completed" {
				lo.DataType, lo.Status = p.DataTypes[0].DataType, p.DataTypes[0].Status
				rule = "Data sync completed"
				if !strings.EqualFold(lo.Status, "Complete") {
					rule = "Data Sync Status Changed To Error"
				}
			}
		}
	case "client.rateLimit.reached":
		rule = "Rate Limit Reached"
	case "client.rateLimit.reset":
		rule = "Rate Limit Reset"
	case "expenses.sync.successful", "expenses.sync.unsuccessful":
		rule = "Sync Completed"
		if eventType == "expenses.sync.unsuccessful" {
			rule = "Sync Failed"
		}
		lo.OperationID = p.SyncID
	default:
		dt, outcome, ok := writeType(eventType)
		if !ok {
			return nil, nil, fmt.Errorf("codathooktest: event type %q has no legacy twin", eventType)
		}
		if o.DataType != "" {
			dt = o.DataType
		}
		rule = "Push Operation Status Changed()"
		lo.ConnectionID, lo.DataType, lo.OperationID, lo.Status = p.ConnectionID, dt, p.ID, p.Status
		if outcome == "unsuccessful" && strings.EqualFold(p.Status, "TimedOut") {
			rule = "Push Operation Timed Out"
		}
	}
	legacyBody, err = LegacySample(rule, lo)
	if err != nil {
		return nil, nil, err
	}
	if dropOldStatus {
		legacyBody, err = editJSON(legacyBody, func(doc map[string]any) {
			delete(object(doc["Data"]), "oldStatus")
		})
		if err != nil {
			return nil, nil, fmt.Errorf("codathooktest: twin: %w", err)
		}
	}
	return newBody, legacyBody, nil
}

// editJSON decodes a JSON object, lets fn change it and re-encodes it
// compactly (keys sorted, numbers kept exactly).
func editJSON(body []byte, fn func(map[string]any)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("body is not a JSON object")
	}
	fn(doc)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
