package bench

import (
	"fmt"
	"strings"
)

// Secret signs every benchmark delivery.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// NewBody returns the ~600-byte read.completed delivery of
// codat-delivery-facts.md §1.9 with n dataTypes elements (n=1: 567 bytes,
// n=9: about 1.5 KB) and the given ids, so that each delivery is distinct.
func NewBody(eventID, companyID string, n int) []byte {
	var dts []string
	types := []string{"invoices", "bills", "customers", "suppliers", "payments", "billPayments", "creditNotes", "journals", "items"}
	for i := range n {
		dts = append(dts, fmt.Sprintf(`{"connectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","dataType":%q,"recordsModified":false,"status":"Complete","issues":[]}`, types[i%len(types)]))
	}
	return fmt.Appendf(nil, `{"id":%q,"eventType":"read.completed","generatedDate":"2022-10-23T00:00:00.000Z","payload":{"referenceCompany":{"id":%q,"name":"Toft stores"},"modifiedFromDate":"2022-10-23T00:00:00.000Z","dataTypes":[%s]}}`,
		eventID, companyID, strings.Join(dts, ","))
}

// NewLegacyBody returns a legacy "Data sync completed" body.
func NewLegacyBody(alertID, companyID string) []byte {
	return fmt.Appendf(nil, `{"AlertId":%q,"RuleType":"Data sync completed","RuleId":"97e1f4a4-0b4f-4b58-9d3b-4f6fbb8b4f0c","ClientId":"bae71d36-ff47-420a-b4a6-f8c9ddf41140","ClientName":"Bank of Dave","CompanyId":%q,"DataConnectionId":"2e9d2c44-f675-40ba-8049-353bfcb5e171","Message":"Data sync completed for invoices","Data":{"dataType":"invoices","datasetId":"7ee2ac2d-0c4b-4b2e-9e55-7d3c2f3b2a11"}}`,
		alertID, companyID)
}

// Typed structs a team would decode the new envelope into (baseline A).
type (
	ReadCompleted struct {
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
)
