package normalize

import (
	"reflect"
)

// Event type names of the new Codat catalogue.
const (
	typeCompanyCreated        = "company.created"
	typeCompanyDeleted        = "company.deleted"
	typeCompanyProductAdded   = "company.product.added"
	typeCompanyProductRemoved = "company.product.removed"

	typeConnectionCreated      = "connection.created"
	typeConnectionConnected    = "connection.connected"
	typeConnectionDisconnected = "connection.disconnected"
	typeConnectionReconnected  = "connection.reconnected"
	typeConnectionFailed       = "connection.failed"
	typeConnectionDeleted      = "connection.deleted"

	typeReadCompleted        = "read.completed"
	typeReadCompletedInitial = "read.completed.initial"

	typeClientRateLimitReached = "client.rateLimit.reached"
	typeClientRateLimitReset   = "client.rateLimit.reset"

	typeBankFeedsSourceAccountConnected    = "bankFeeds.sourceAccount.connected"
	typeBankFeedsSourceAccountDisconnected = "bankFeeds.sourceAccount.disconnected"

	typeExpensesSyncSuccessful   = "expenses.sync.successful"
	typeExpensesSyncUnsuccessful = "expenses.sync.unsuccessful"

	typeReportsCategorizedBankStatementSuccessful   = "reports.categorizedBankStatement.generate.successful"
	typeReportsCategorizedBankStatementUnsuccessful = "reports.categorizedBankStatement.generate.unsuccessful"
	typeReportsCreditModelSuccessful                = "reports.creditModel.generate.successful"
	typeReportsCreditModelUnsuccessful              = "reports.creditModel.generate.unsuccessful"
	typeReportsSpendAnalysisSuccessful              = "reports.spendAnalysis.generate.successful"
	typeReportsSpendAnalysisUnsuccessful            = "reports.spendAnalysis.generate.unsuccessful"
)

// Legacy-only stable event type names: legacy rules, or legacy rule variants,
// that have no new event type. Codat never sends these as an eventType; they
// are what [Parse] gives such legacy bodies so that they stay reachable.
const (
	// typeDataConnectionStatusChanged is a DataConnectionStatusChanged rule
	// whose transition has no connection.* equivalent (*ConnectionEvent).
	typeDataConnectionStatusChanged = "DataConnectionStatusChanged"
	// typePushOperationPending is Push Operation Status Changed with status
	// Pending (*WriteEvent).
	typePushOperationPending = "PushOperationPending"
	// typePushOperationStatusChanged is a push rule whose status is none of
	// Success, Failed, TimedOut, Pending, or that names no dataType (*WriteEvent).
	typePushOperationStatusChanged = "PushOperationStatusChanged"
	// typeAccountCategoriesUpdated is Account Categories Updated
	// (*AccountCategoriesUpdatedEvent), the name in Codat's current catalogue.
	typeAccountCategoriesUpdated = "AccountCategoriesUpdated"
	// typeSyncStarted is the Expenses rule Sync Started (*SyncStartedEvent).
	typeSyncStarted = "SyncStarted"
	// typeUnknownLegacyRule is a legacy rule type this version does not know
	// (*UnknownLegacyEvent).
	typeUnknownLegacyRule = "UnknownLegacyRule"
)

const (
	writeSuccessfulSuffix   = ".write.successful"
	writeUnsuccessfulSuffix = ".write.unsuccessful"
)

// writeSuccessful returns the event type "{dataType}.write.successful".
func writeSuccessful(dataType string) string { return dataType + writeSuccessfulSuffix }

// writeUnsuccessful returns the event type "{dataType}.write.unsuccessful".
func writeUnsuccessful(dataType string) string { return dataType + writeUnsuccessfulSuffix }

// writeDataTypes are the 18 data types of Codat's 36 concrete write event names.
var writeDataTypes = []string{
	"bankAccounts", "bankTransactions", "billCreditNotes", "billPayments", "bills",
	"chartOfAccounts", "creditNotes", "customers", "directCosts", "directIncomes",
	"invoices", "items", "journalEntries", "journals", "payments", "purchaseOrders",
	"suppliers", "transfers",
}

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
	{typeCompanyCreated, kindCompany},
	{typeCompanyDeleted, kindCompany},
	{typeCompanyProductAdded, kindCompanyProduct},
	{typeCompanyProductRemoved, kindCompanyProduct},
	{typeConnectionCreated, kindConnection},
	{typeConnectionConnected, kindConnection},
	{typeConnectionDisconnected, kindConnection},
	{typeConnectionReconnected, kindConnection},
	{typeConnectionFailed, kindConnection},
	{typeConnectionDeleted, kindConnection},
	{typeReadCompleted, kindRead},
	{typeReadCompletedInitial, kindRead},
	{typeClientRateLimitReached, kindRateLimit},
	{typeClientRateLimitReset, kindRateLimit},
	{typeBankFeedsSourceAccountConnected, kindSourceAccount},
	{typeBankFeedsSourceAccountDisconnected, kindSourceAccount},
	{typeExpensesSyncSuccessful, kindExpenses},
	{typeExpensesSyncUnsuccessful, kindExpenses},
	{typeReportsCategorizedBankStatementSuccessful, kindReport},
	{typeReportsCategorizedBankStatementUnsuccessful, kindReport},
	{typeReportsCreditModelSuccessful, kindReport},
	{typeReportsCreditModelUnsuccessful, kindReport},
	{typeReportsSpendAnalysisSuccessful, kindReport},
	{typeReportsSpendAnalysisUnsuccessful, kindReport},
	{typeDataConnectionStatusChanged, kindConnection},
	{typePushOperationPending, kindWrite},
	{typePushOperationStatusChanged, kindWrite},
	{typeAccountCategoriesUpdated, kindAccountCategories},
	{typeSyncStarted, kindSyncStarted},
	{typeUnknownLegacyRule, kindUnknownLegacy},
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
		if c.name == typeReadCompletedInitial {
			for _, dt := range writeDataTypes {
				out = append(out, writeSuccessful(dt), writeUnsuccessful(dt))
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
