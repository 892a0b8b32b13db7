package codathook

import (
	"reflect"

	"github.com/codathook/codathook/normalize"
)

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

// reexported holds the types above, which error messages name as this
// package's ([typeName]).
var reexported = map[reflect.Type]bool{
	reflect.TypeFor[Event]():                         true,
	reflect.TypeFor[CompanyEvent]():                  true,
	reflect.TypeFor[CompanyProductEvent]():           true,
	reflect.TypeFor[ConnectionEvent]():               true,
	reflect.TypeFor[ReadCompletedEvent]():            true,
	reflect.TypeFor[WriteEvent]():                    true,
	reflect.TypeFor[RateLimitEvent]():                true,
	reflect.TypeFor[SourceAccountEvent]():            true,
	reflect.TypeFor[ExpensesSyncEvent]():             true,
	reflect.TypeFor[ReportEvent]():                   true,
	reflect.TypeFor[AccountCategoriesUpdatedEvent](): true,
	reflect.TypeFor[SyncStartedEvent]():              true,
	reflect.TypeFor[UnknownLegacyEvent]():            true,
}
