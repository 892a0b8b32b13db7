package normalize

import (
	"encoding/json"
	"strings"
)

// Envelope is the part every typed event shares: the new envelope's id,
// eventType and generatedDate. For an event normalized from a legacy body, ID
// is the AlertId, EventType the normalized type, GeneratedDate is empty and
// Legacy holds the legacy fields; payload fields the legacy body does not
// carry stay empty too (see "Legacy rule types" in the package
// documentation, and the "Empty from legacy" column of docs/EVENTS.md).
type Envelope struct {
	ID            string  `json:"id"`
	EventType     string  `json:"eventType"`
	GeneratedDate string  `json:"generatedDate"`
	Legacy        *Legacy `json:"-"` // non-nil when normalized from a legacy body
}

// CompanyReference is Codat's companyReference: the company an event is about.
type CompanyReference struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"` // "" when null
	Links       *CompanyLinks     `json:"links,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// CompanyLinks holds the links of a [CompanyReference].
type CompanyLinks struct {
	Portal string `json:"portal,omitempty"`
}

// Company is the company object carried by company.created and company.deleted.
type Company struct {
	ID                           string             `json:"id"`
	Name                         string             `json:"name"`
	Description                  string             `json:"description,omitempty"`
	Redirect                     string             `json:"redirect,omitempty"`
	LastSync                     string             `json:"lastSync,omitempty"`
	Created                      string             `json:"created,omitempty"`
	CreatedByUserName            string             `json:"createdByUserName,omitempty"`
	Products                     []string           `json:"products,omitempty"`
	Tags                         map[string]string  `json:"tags,omitempty"`
	ReferenceParentCompany       *CompanyReference  `json:"referenceParentCompany,omitempty"`
	ReferenceSubsidiaryCompanies []CompanyReference `json:"referenceSubsidiaryCompanies,omitempty"`
}

// CompanyEvent is company.created or company.deleted.
type CompanyEvent struct {
	Envelope
	Payload Company `json:"payload"`
}

// CompanyProduct is the payload of company.product.added and company.product.removed.
type CompanyProduct struct {
	ID          string   `json:"id"` // company id
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	ProductID   string   `json:"productId,omitempty"`
	ProductName string   `json:"productName,omitempty"`
	Products    []string `json:"products,omitempty"`
}

// CompanyProductEvent is company.product.added or company.product.removed.
type CompanyProductEvent struct {
	Envelope
	Payload CompanyProduct `json:"payload"`
}

// Connection is Codat's Connection schema. Status is one of PendingAuth,
// Linked, Unlinked, Deauthorized (kept as sent; Codat may add values).
type Connection struct {
	ID                   string                `json:"id"`
	IntegrationID        string                `json:"integrationId,omitempty"`
	IntegrationKey       string                `json:"integrationKey,omitempty"`
	SourceID             string                `json:"sourceId,omitempty"`
	SourceType           string                `json:"sourceType,omitempty"`
	PlatformName         string                `json:"platformName,omitempty"`
	LinkURL              string                `json:"linkUrl,omitempty"`
	Status               string                `json:"status,omitempty"`
	LastSync             string                `json:"lastSync,omitempty"`
	Created              string                `json:"created,omitempty"`
	DataConnectionErrors []DataConnectionError `json:"dataConnectionErrors,omitempty"`
	ConnectionInfo       json.RawMessage       `json:"connectionInfo,omitempty"`
}

// DataConnectionError is one entry of [Connection].DataConnectionErrors.
type DataConnectionError struct {
	StatusCode    string `json:"statusCode,omitempty"`
	StatusText    string `json:"statusText,omitempty"`
	ErrorMessage  string `json:"errorMessage,omitempty"`
	ErroredOnUtc  string `json:"erroredOnUtc,omitempty"`
	Status        string `json:"status,omitempty"`
	ResolvedOnUtc string `json:"resolvedOnUtc,omitempty"`
}

// ConnectionPayload is the payload of the connection.* events.
type ConnectionPayload struct {
	ReferenceCompany CompanyReference `json:"referenceCompany"`
	Connection       Connection       `json:"connection"`
}

// ConnectionEvent is connection.created, .connected, .disconnected,
// .reconnected, .failed, .deleted, or the legacy-only
// DataConnectionStatusChanged for transitions with no new equivalent.
type ConnectionEvent struct {
	Envelope
	Payload ConnectionPayload `json:"payload"`
}

// DataTypeReadSummary is one element of a read event's dataTypes array.
type DataTypeReadSummary struct {
	ConnectionID    string      `json:"connectionId"`
	DataType        string      `json:"dataType"`
	RecordsModified bool        `json:"recordsModified"`
	Status          string      `json:"status"`
	Issues          []ReadIssue `json:"issues,omitempty"`
}

// ReadIssue is one entry of [DataTypeReadSummary].Issues.
type ReadIssue struct {
	Type    string          `json:"type,omitempty"`
	Message string          `json:"message,omitempty"`
	Links   *ReadIssueLinks `json:"links,omitempty"`
}

// ReadIssueLinks holds the links of a [ReadIssue].
type ReadIssueLinks struct {
	Logs     string `json:"logs,omitempty"`
	Portal   string `json:"portal,omitempty"`
	ReadMore string `json:"readMore,omitempty"`
}

// ReadCompletedPayload is the payload of read.completed and read.completed.initial.
type ReadCompletedPayload struct {
	ReferenceCompany CompanyReference      `json:"referenceCompany"`
	ModifiedFromDate string                `json:"modifiedFromDate,omitempty"`
	DataTypes        []DataTypeReadSummary `json:"dataTypes"`
}

// ReadCompletedEvent is read.completed or read.completed.initial. Handle every
// element of Payload.DataTypes: Codat batches data types into one event.
type ReadCompletedEvent struct {
	Envelope
	Payload ReadCompletedPayload `json:"payload"`
}

// WriteRecord identifies the record a write created or changed.
type WriteRecord struct {
	ID string `json:"id"`
}

// WritePayload is the payload of {dataType}.write.successful|unsuccessful.
// ID is the push operation key. Type is Create, Update, Delete or
// UploadAttachment; Status is Pending, Failed, Success or TimedOut (as sent).
type WritePayload struct {
	ID               string           `json:"id"`
	Type             string           `json:"type,omitempty"`
	ReferenceCompany CompanyReference `json:"referenceCompany"`
	ConnectionID     string           `json:"connectionId,omitempty"`
	RequestedOnDate  string           `json:"requestedOnDate,omitempty"`
	CompletedOnDate  string           `json:"completedOnDate,omitempty"`
	Status           string           `json:"status,omitempty"`
	Record           *WriteRecord     `json:"record,omitempty"`
	AttachmentID     string           `json:"attachmentId,omitempty"`
}

// WriteEvent is {dataType}.write.successful or {dataType}.write.unsuccessful,
// or one of the legacy-only PushOperationPending and
// PushOperationStatusChanged.
type WriteEvent struct {
	Envelope
	Payload WritePayload `json:"payload"`
}

// DataType returns the data type written: the part of EventType before
// ".write.", or, for the legacy-only types, the legacy Data.dataType.
func (e *WriteEvent) DataType() string {
	if dt, ok := writeDataType(e.EventType); ok {
		return dt
	}
	if e.Legacy != nil {
		return e.Legacy.Data.DataType
	}
	return ""
}

// RateLimitPayload is the payload of client.rateLimit.reached and .reset.
type RateLimitPayload struct {
	DailyQuota     int    `json:"dailyQuota"`
	QuotaRemaining int    `json:"quotaRemaining"`
	ExpiryDate     string `json:"expiryDate,omitempty"`
}

// RateLimitEvent is client.rateLimit.reached or client.rateLimit.reset. Rate
// limits are per client: there is no company.
type RateLimitEvent struct {
	Envelope
	Payload RateLimitPayload `json:"payload"`
}

// RoutingInfo is the routing information of a [SourceAccount].
type RoutingInfo struct {
	BankCode string `json:"bankCode,omitempty"`
	Type     string `json:"type,omitempty"`
}

// SourceAccountInfo is the optional account information of a [SourceAccount].
type SourceAccountInfo struct {
	Description      string      `json:"description,omitempty"`
	Nickname         string      `json:"nickname,omitempty"`
	AccountOpenDate  string      `json:"accountOpenDate,omitempty"`
	AvailableBalance json.Number `json:"availableBalance,omitempty"`
}

// SourceAccount is a bank-feed source account, V1 or V2 (V2 adds RoutingInfo
// and AccountInfo). Amounts are kept as exact decimal text.
type SourceAccount struct {
	ID            string             `json:"id"`
	AccountName   string             `json:"accountName,omitempty"`
	AccountType   string             `json:"accountType,omitempty"`
	AccountNumber string             `json:"accountNumber,omitempty"`
	SortCode      string             `json:"sortCode,omitempty"`
	RoutingInfo   *RoutingInfo       `json:"routingInfo,omitempty"`
	Currency      string             `json:"currency,omitempty"`
	Balance       json.Number        `json:"balance,omitempty"`
	AccountInfo   *SourceAccountInfo `json:"accountInfo,omitempty"`
	ModifiedDate  string             `json:"modifiedDate,omitempty"`
	Status        string             `json:"status,omitempty"`
	FeedStartDate string             `json:"feedStartDate,omitempty"`
}

// SourceAccountPayload is the payload of bankFeeds.sourceAccount.*.
// CompanyID is deprecated by Codat in favour of ReferenceCompany.
type SourceAccountPayload struct {
	ReferenceCompany CompanyReference `json:"referenceCompany"`
	CompanyID        string           `json:"companyId,omitempty"`
	ConnectionID     string           `json:"connectionId,omitempty"`
	SourceAccount    SourceAccount    `json:"sourceAccount"`
}

// SourceAccountEvent is bankFeeds.sourceAccount.connected or .disconnected.
type SourceAccountEvent struct {
	Envelope
	Payload SourceAccountPayload `json:"payload"`
}

// ExpensesTransaction is one transaction of an expenses sync.
type ExpensesTransaction struct {
	ID           string `json:"id"`
	Status       string `json:"status,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// ExpensesSyncPayload is the payload of expenses.sync.successful|unsuccessful.
type ExpensesSyncPayload struct {
	ReferenceCompany CompanyReference      `json:"referenceCompany"`
	SyncID           string                `json:"syncId"`
	Transactions     []ExpensesTransaction `json:"transactions,omitempty"`
}

// ExpensesSyncEvent is expenses.sync.successful or expenses.sync.unsuccessful.
type ExpensesSyncEvent struct {
	Envelope
	Payload ExpensesSyncPayload `json:"payload"`
}

// ReportPayload is the payload of the reports.* events: the report id and company.
type ReportPayload struct {
	ID               string           `json:"id"`
	ReferenceCompany CompanyReference `json:"referenceCompany"`
}

// ReportEvent is one of the reports.*.generate.successful|unsuccessful events.
type ReportEvent struct {
	Envelope
	Payload ReportPayload `json:"payload"`
}

// AccountCategoriesUpdatedPayload is the payload of the legacy-only
// AccountCategoriesUpdated.
type AccountCategoriesUpdatedPayload struct {
	ReferenceCompany CompanyReference `json:"referenceCompany"`
	ConnectionID     string           `json:"connectionId,omitempty"`
	ModifiedDate     string           `json:"modifiedDate,omitempty"`
}

// AccountCategoriesUpdatedEvent is the legacy rule Account Categories Updated,
// which Codat still sends legacy-shaped and has no new event type.
type AccountCategoriesUpdatedEvent struct {
	Envelope
	Payload AccountCategoriesUpdatedPayload `json:"payload"`
}

// SyncStartedPayload is the payload of the legacy-only SyncStarted.
type SyncStartedPayload struct {
	ReferenceCompany       CompanyReference `json:"referenceCompany"`
	SyncID                 string           `json:"syncId,omitempty"`
	SyncType               string           `json:"syncType,omitempty"`
	SyncDateRangeStartUtc  string           `json:"syncDateRangeStartUtc,omitempty"`
	SyncDateRangeFinishUtc string           `json:"syncDateRangeFinishUtc,omitempty"`
}

// SyncStartedEvent is the legacy Expenses rule Sync Started, which has no new
// event type.
type SyncStartedEvent struct {
	Envelope
	Payload SyncStartedPayload `json:"payload"`
}

// UnknownLegacyPayload is the payload of UnknownLegacyRule: the rule type
// as sent and the raw Data.
type UnknownLegacyPayload struct {
	RuleType     string          `json:"ruleType"`
	CompanyID    string          `json:"companyId,omitempty"`
	ConnectionID string          `json:"connectionId,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
}

// UnknownLegacyEvent is a legacy body whose rule type this version does not
// know. It is acknowledged like any other event, never rejected.
type UnknownLegacyEvent struct {
	Envelope
	Payload UnknownLegacyPayload `json:"payload"`
}

// Legacy holds every field of a legacy rule body, typed, plus the raw Data.
// Fields are kept as sent, including those the new schema dropped.
type Legacy struct {
	AlertID  string `json:"AlertId"`
	RuleType string `json:"RuleType"` // as sent, from "RuleType" or (older bodies) "Type"
	// Rule is the Svix catalogue name the rule type matched (for example
	// "PushOperationStatusChanged"); "" when the rule type is unknown.
	Rule             string          `json:"Rule"`
	RuleID           string          `json:"RuleId,omitempty"`
	ClientID         string          `json:"ClientId,omitempty"`
	ClientName       string          `json:"ClientName,omitempty"`
	CompanyID        string          `json:"CompanyId,omitempty"`
	DataConnectionID string          `json:"DataConnectionId,omitempty"`
	Message          string          `json:"Message,omitempty"`
	Data             LegacyData      `json:"Data"`
	RawData          json.RawMessage `json:"RawData,omitempty"` // Data exactly as sent; nil when absent
}

// LegacyData holds every Data field any legacy rule type has been documented
// with. Keys are matched ignoring case, so PascalCase and camelCase both fill
// it. Data of an unknown rule type is left in [Legacy].RawData only.
type LegacyData struct {
	DataConnectionID       string `json:"dataConnectionId,omitempty"`
	PlatformKey            string `json:"platformKey,omitempty"`
	NewStatus              string `json:"newStatus,omitempty"`
	OldStatus              string `json:"oldStatus,omitempty"`
	DataType               string `json:"dataType,omitempty"`
	DatasetID              string `json:"datasetId,omitempty"`
	DatasetStatus          string `json:"datasetStatus,omitempty"`
	Status                 string `json:"status,omitempty"`
	PushOperationKey       string `json:"pushOperationKey,omitempty"`
	PushOperationGUID      string `json:"pushOperationGuid,omitempty"`
	ModifiedDate           string `json:"modifiedDate,omitempty"`
	SyncID                 string `json:"syncId,omitempty"`
	SyncType               string `json:"syncType,omitempty"`
	FailureStage           string `json:"FailureStage,omitempty"`
	SyncDateRangeStartUtc  string `json:"SyncDateRangeStartUtc,omitempty"`
	SyncDateRangeFinishUtc string `json:"SyncDateRangeFinishUtc,omitempty"`
	DailyQuota             int    `json:"DailyQuota,omitempty"`
	QuotaRemaining         int    `json:"QuotaRemaining,omitempty"`
	ExpiresUtc             string `json:"ExpiresUtc,omitempty"`
	ResetReason            string `json:"ResetReason,omitempty"`
	CompanyName            string `json:"companyName,omitempty"`
	SourceType             string `json:"sourceType,omitempty"`
}

// writeDataType splits "{dataType}.write.successful|unsuccessful".
func writeDataType(eventType string) (string, bool) {
	if dt, ok := strings.CutSuffix(eventType, writeSuccessfulSuffix); ok && dt != "" {
		return dt, true
	}
	if dt, ok := strings.CutSuffix(eventType, writeUnsuccessfulSuffix); ok && dt != "" {
		return dt, true
	}
	return "", false
}
