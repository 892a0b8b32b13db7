package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Secret signs every benchmark delivery.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// NewBody returns the read.completed delivery of codat-delivery-facts.md
// §1.9 with n dataTypes elements and the given ids, so that each delivery is
// distinct. With UUID-shaped ids as in §1.9 ([EventID], [CompanyID]) it is
// 409 bytes (byte for byte the §1.9 body's shape) for n=1 and 1,484 bytes
// for n=9. Its generatedDate is the current time, in the same 24-character
// form as §1.9's: the receiver pairs it by that time, and a date older than
// its pairing horizon would skip pairing and cost less than a real
// delivery.
func NewBody(eventID, companyID string, n int) []byte {
	var dts []string
	types := []string{"invoices", "bills", "customers", "suppliers", "payments", "billPayments", "creditNotes", "journals", "items"}
	for i := range n {
		dts = append(dts, fmt.Sprintf(`{"connectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","dataType":%q,"recordsModified":false,"status":"Complete","issues":[]}`, types[i%len(types)]))
	}
	return fmt.Appendf(nil, `{"id":%q,"eventType":"read.completed","generatedDate":%q,"payload":{"referenceCompany":{"id":%q,"name":"Toft stores"},"modifiedFromDate":"2022-10-23T00:00:00.000Z","dataTypes":[%s]}}`,
		eventID, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), companyID, strings.Join(dts, ","))
}

// NewLegacyBody returns a legacy "Data sync completed" body, which codathook
// normalizes to read.completed with one element. Its Data.datasetId is
// derived from alertID: the dataset id identifies one sync, so two bodies
// sharing it are one occurrence to dedupe.
func NewLegacyBody(alertID, companyID string) []byte {
	sum := sha256.Sum256([]byte(alertID))
	h := hex.EncodeToString(sum[:16])
	datasetID := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	return fmt.Appendf(nil, `{"AlertId":%q,"RuleType":"Data sync completed","RuleId":"97e1f4a4-0b4f-4b58-9d3b-4f6fbb8b4f0c","ClientId":"bae71d36-ff47-420a-b4a6-f8c9ddf41140","ClientName":"Bank of Dave","CompanyId":%q,"DataConnectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","Message":"Data sync completed for invoices","Data":{"dataType":"invoices","datasetId":%q}}`,
		alertID, companyID, datasetID)
}

// EventID returns a UUID-shaped event id (or legacy AlertId) unique to seq.
func EventID(seq int) string { return fmt.Sprintf("743ec94a-8aa4-44bb-8bd4-%012x", seq) }

// CompanyID returns a UUID-shaped company id unique to seq.
func CompanyID(seq int) string { return fmt.Sprintf("0498e921-9b53-4396-a412-%012x", seq) }

// MsgID returns a Svix-shaped message id (31 characters) unique to seq.
func MsgID(seq int) string { return fmt.Sprintf("msg_2KWPBgLlAfxdpx%013d", seq) }

// ReadCompleted is the typed struct a team decodes a new-format
// read.completed body into (baseline A).
type ReadCompleted struct {
	ID            string `json:"id"`
	EventType     string `json:"eventType"`
	GeneratedDate string `json:"generatedDate"`
	Payload       struct {
		ReferenceCompany struct {
			ID          string            `json:"id"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Links       map[string]string `json:"links"`
			Tags        map[string]string `json:"tags"`
		} `json:"referenceCompany"`
		ModifiedFromDate string `json:"modifiedFromDate"`
		DataTypes        []struct {
			ConnectionID    string `json:"connectionId"`
			DataType        string `json:"dataType"`
			RecordsModified bool   `json:"recordsModified"`
			Status          string `json:"status"`
			Issues          []struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"issues"`
		} `json:"dataTypes"`
	} `json:"payload"`
}

// LegacyAlert is the typed struct a team decodes a legacy body into
// (baseline A).
type LegacyAlert struct {
	AlertID          string `json:"AlertId"`
	RuleType         string `json:"RuleType"`
	RuleID           string `json:"RuleId"`
	ClientID         string `json:"ClientId"`
	ClientName       string `json:"ClientName"`
	CompanyID        string `json:"CompanyId"`
	DataConnectionID string `json:"DataConnectionId"`
	Message          string `json:"Message"`
	Data             struct {
		DataType  string `json:"dataType"`
		DatasetID string `json:"datasetId"`
	} `json:"Data"`
}
