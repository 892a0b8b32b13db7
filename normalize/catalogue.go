package normalize

import (
	"reflect"
	"slices"
)

// Event type names of the new Codat catalogue.
const (
	TypeCompanyCreated        = "company.created"
	TypeCompanyDeleted        = "company.deleted"
	TypeCompanyProductAdded   = "company.product.added"
	TypeCompanyProductRemoved = "company.product.removed"

	TypeConnectionCreated      = "connection.created"
	TypeConnectionConnected    = "connection.connected"
	TypeConnectionDisconnected = "connection.disconnected"
	TypeConnectionReconnected  = "connection.reconnected"
	TypeConnectionFailed       = "connection.failed"
	TypeConnectionDeleted      = "connection.deleted"

	TypeReadCompleted        = "read.completed"
	TypeReadCompletedInitial = "read.completed.initial"

	TypeClientRateLimitReached = "client.rateLimit.reached"
	TypeClientRateLimitReset   = "client.rateLimit.reset"

	TypeBankFeedsSourceAccountConnected    = "bankFeeds.sourceAccount.connected"
	TypeBankFeedsSourceAccountDisconnected = "bankFeeds.sourceAccount.disconnected"

	TypeExpensesSyncSuccessful   = "expenses.sync.successful"
	TypeExpensesSyncUnsuccessful = "expenses.sync.unsuccessful"

	TypeReportsCategorizedBankStatementSuccessful   = "reports.categorizedBankStatement.generate.successful"
	TypeReportsCategorizedBankStatementUnsuccessful = "reports.categorizedBankStatement.generate.unsuccessful"
	TypeReportsCreditModelSuccessful                = "reports.creditModel.generate.successful"
	TypeReportsCreditModelUnsuccessful              = "reports.creditModel.generate.unsuccessful"
	TypeReportsSpendAnalysisSuccessful              = "reports.spendAnalysis.generate.successful"
	TypeReportsSpendAnalysisUnsuccessful            = "reports.spendAnalysis.generate.unsuccessful"
)

// Legacy-only stable event type names: legacy rules, or legacy rule variants,
// that have no new event type. Codat never sends these as an eventType; they
// are what [Parse] gives such legacy bodies so that they stay reachable.
const (
	// TypeDataConnectionStatusChanged is a DataConnectionStatusChanged rule
	// whose transition has no connection.* equivalent (*ConnectionEvent).
	TypeDataConnectionStatusChanged = "DataConnectionStatusChanged"
	// TypePushOperationPending is Push Operation Status Changed with status
	// Pending (*WriteEvent).
	TypePushOperationPending = "PushOperationPending"
	// TypePushOperationStatusChanged is a push rule whose status is none of
	// Success, Failed, TimedOut, Pending, or that names no dataType (*WriteEvent).
	TypePushOperationStatusChanged = "PushOperationStatusChanged"
	// TypeAccountCategoriesUpdated is Account Categories Updated
	// (*AccountCategoriesUpdatedEvent), the name in Codat's current catalogue.
	TypeAccountCategoriesUpdated = "AccountCategoriesUpdated"
	// TypeSyncStarted is the Expenses rule Sync Started (*SyncStartedEvent).
	TypeSyncStarted = "SyncStarted"
	// TypeUnknownLegacyRule is a legacy rule type this version does not know
	// (*UnknownLegacyEvent).
	TypeUnknownLegacyRule = "UnknownLegacyRule"
)

const (
	writeSuccessfulSuffix   = ".write.successful"
	writeUnsuccessfulSuffix = ".write.unsuccessful"
)

// WriteSuccessful returns the event type "{dataType}.write.successful".
func WriteSuccessful(dataType string) string { return dataType + writeSuccessfulSuffix }

// WriteUnsuccessful returns the event type "{dataType}.write.unsuccessful".
func WriteUnsuccessful(dataType string) string { return dataType + writeUnsuccessfulSuffix }

// writeDataTypes are the 18 data types of Codat's 36 concrete write event names.
var writeDataTypes = []string{
	"bankAccounts", "bankTransactions", "billCreditNotes", "billPayments", "bills",
	"chartOfAccounts", "creditNotes", "customers", "directCosts", "directIncomes",
	"invoices", "items", "journalEntries", "journals", "payments", "purchaseOrders",
	"suppliers", "transfers",
}

// WriteDataTypes returns the data types of Codat's documented write event
// names, in catalogue order. [GoType] accepts any other data type too.
func WriteDataTypes() []string { return slices.Clone(writeDataTypes) }

// kind is the Go type family of an event type.
type kind uint8

const (
	kindNone kind = iota
	kindCompany
	kindCompanyProduct
	kindConnection
	kindRead
	kindWrite
	kindRateLimit
	kindSourceAccount
	kindExpenses
	kindReport
	kindAccountCategories
	kindSyncStarted
	kindUnknownLegacy
)

var kindTypes = [...]reflect.Type{
	kindCompany:           reflect.TypeFor[*CompanyEvent](),
	kindCompanyProduct:    reflect.TypeFor[*CompanyProductEvent](),
	kindConnection:        reflect.TypeFor[*ConnectionEvent](),
	kindRead:              reflect.TypeFor[*ReadCompletedEvent](),
	kindWrite:             reflect.TypeFor[*WriteEvent](),
	kindRateLimit:         reflect.TypeFor[*RateLimitEvent](),
	kindSourceAccount:     reflect.TypeFor[*SourceAccountEvent](),
	kindExpenses:          reflect.TypeFor[*ExpensesSyncEvent](),
	kindReport:            reflect.TypeFor[*ReportEvent](),
	kindAccountCategories: reflect.TypeFor[*AccountCategoriesUpdatedEvent](),
	kindSyncStarted:       reflect.TypeFor[*SyncStartedEvent](),
	kindUnknownLegacy:     reflect.TypeFor[*UnknownLegacyEvent](),
}

// catalogue lists the fixed (non-write) names in catalogue order; writes are
// inserted after read.completed.initial by EventTypes.
var catalogue = []struct {
	name string
	kind kind
}{
	{TypeCompanyCreated, kindCompany},
	{TypeCompanyDeleted, kindCompany},
	{TypeCompanyProductAdded, kindCompanyProduct},
	{TypeCompanyProductRemoved, kindCompanyProduct},
	{TypeConnectionCreated, kindConnection},
	{TypeConnectionConnected, kindConnection},
	{TypeConnectionDisconnected, kindConnection},
	{TypeConnectionReconnected, kindConnection},
	{TypeConnectionFailed, kindConnection},
	{TypeConnectionDeleted, kindConnection},
	{TypeReadCompleted, kindRead},
	{TypeReadCompletedInitial, kindRead},
	{TypeClientRateLimitReached, kindRateLimit},
	{TypeClientRateLimitReset, kindRateLimit},
	{TypeBankFeedsSourceAccountConnected, kindSourceAccount},
	{TypeBankFeedsSourceAccountDisconnected, kindSourceAccount},
	{TypeExpensesSyncSuccessful, kindExpenses},
	{TypeExpensesSyncUnsuccessful, kindExpenses},
	{TypeReportsCategorizedBankStatementSuccessful, kindReport},
	{TypeReportsCategorizedBankStatementUnsuccessful, kindReport},
	{TypeReportsCreditModelSuccessful, kindReport},
	{TypeReportsCreditModelUnsuccessful, kindReport},
	{TypeReportsSpendAnalysisSuccessful, kindReport},
	{TypeReportsSpendAnalysisUnsuccessful, kindReport},
	{TypeDataConnectionStatusChanged, kindConnection},
	{TypePushOperationPending, kindWrite},
	{TypePushOperationStatusChanged, kindWrite},
	{TypeAccountCategoriesUpdated, kindAccountCategories},
	{TypeSyncStarted, kindSyncStarted},
	{TypeUnknownLegacyRule, kindUnknownLegacy},
}

var kindByName = func() map[string]kind {
	m := make(map[string]kind, len(catalogue))
	for _, c := range catalogue {
		m[c.name] = c.kind
	}
	return m
}()

// kindOf returns the family of eventType, handling "{dataType}.write.*" for
// any non-empty dataType.
func kindOf(eventType string) kind {
	if k, ok := kindByName[eventType]; ok {
		return k
	}
	if _, ok := writeDataType(eventType); ok {
		return kindWrite
	}
	return kindNone
}

// EventTypes returns every concrete event type name this version knows, in
// catalogue order: the new names (with the 36 documented write names after
// read.completed.initial), then the legacy-only stable names. The caller owns
// the returned slice.
func EventTypes() []string {
	out := make([]string, 0, len(catalogue)+2*len(writeDataTypes))
	for _, c := range catalogue {
		out = append(out, c.name)
		if c.name == TypeReadCompletedInitial {
			for _, dt := range writeDataTypes {
				out = append(out, WriteSuccessful(dt), WriteUnsuccessful(dt))
			}
		}
	}
	return out
}

// GoType returns the pointer type that [Event].Typed has for eventType, for
// example reflect.TypeFor[*ConnectionEvent]() for "connection.connected". It
// handles "{dataType}.write.successful|unsuccessful" for any non-empty
// dataType. It reports false for a type this version does not know.
func GoType(eventType string) (reflect.Type, bool) {
	k := kindOf(eventType)
	if k == kindNone {
		return nil, false
	}
	return kindTypes[k], true
}
