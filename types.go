package codathook

import "github.com/codathook/codathook/normalize"

// The event types callbacks receive, re-exported from package normalize so
// that one import serves most programs. See normalize for their fields.
type (
	// Event is one normalized delivery of any type; register *Event to
	// receive several families in one callback, or types this version does
	// not know.
	Event = normalize.Event
	// CompanyEvent is company.created and company.deleted.
	CompanyEvent = normalize.CompanyEvent
	// CompanyProductEvent is company.product.added and company.product.removed.
	CompanyProductEvent = normalize.CompanyProductEvent
	// ConnectionEvent is connection.* and the legacy-only DataConnectionStatusChanged.
	ConnectionEvent = normalize.ConnectionEvent
	// ReadCompletedEvent is read.completed and read.completed.initial.
	ReadCompletedEvent = normalize.ReadCompletedEvent
	// WriteEvent is {dataType}.write.successful|unsuccessful and the
	// legacy-only PushOperationPending.
	WriteEvent = normalize.WriteEvent
	// RateLimitEvent is client.rateLimit.reached and client.rateLimit.reset.
	RateLimitEvent = normalize.RateLimitEvent
	// SourceAccountEvent is bankFeeds.sourceAccount.connected|disconnected.
	SourceAccountEvent = normalize.SourceAccountEvent
	// ExpensesSyncEvent is expenses.sync.successful|unsuccessful.
	ExpensesSyncEvent = normalize.ExpensesSyncEvent
	// ReportEvent is reports.*.generate.successful|unsuccessful.
	ReportEvent = normalize.ReportEvent
	// AccountCategoriesUpdatedEvent is the legacy-only AccountCategoriesUpdated.
	AccountCategoriesUpdatedEvent = normalize.AccountCategoriesUpdatedEvent
	// SyncStartedEvent is the legacy-only SyncStarted (Sync for Expenses).
	SyncStartedEvent = normalize.SyncStartedEvent
	// UnknownLegacyEvent is a legacy rule type this version does not know.
	UnknownLegacyEvent = normalize.UnknownLegacyEvent
)
