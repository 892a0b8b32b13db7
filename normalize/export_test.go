package normalize

import (
	"slices"
	"testing"
)

// Unexported names the external tests use.
const (
	TypeAccountCategoriesUpdated                    = typeAccountCategoriesUpdated
	TypeBankFeedsSourceAccountConnected             = typeBankFeedsSourceAccountConnected
	TypeBankFeedsSourceAccountDisconnected          = typeBankFeedsSourceAccountDisconnected
	TypeClientRateLimitReached                      = typeClientRateLimitReached
	TypeClientRateLimitReset                        = typeClientRateLimitReset
	TypeCompanyCreated                              = typeCompanyCreated
	TypeCompanyDeleted                              = typeCompanyDeleted
	TypeCompanyProductAdded                         = typeCompanyProductAdded
	TypeCompanyProductRemoved                       = typeCompanyProductRemoved
	TypeConnectionConnected                         = typeConnectionConnected
	TypeConnectionCreated                           = typeConnectionCreated
	TypeConnectionDeleted                           = typeConnectionDeleted
	TypeConnectionDisconnected                      = typeConnectionDisconnected
	TypeConnectionFailed                            = typeConnectionFailed
	TypeConnectionReconnected                       = typeConnectionReconnected
	TypeDataConnectionStatusChanged                 = typeDataConnectionStatusChanged
	TypeExpensesSyncSuccessful                      = typeExpensesSyncSuccessful
	TypeExpensesSyncUnsuccessful                    = typeExpensesSyncUnsuccessful
	TypePushOperationPending                        = typePushOperationPending
	TypePushOperationStatusChanged                  = typePushOperationStatusChanged
	TypeReadCompleted                               = typeReadCompleted
	TypeReadCompletedInitial                        = typeReadCompletedInitial
	TypeReportsCategorizedBankStatementSuccessful   = typeReportsCategorizedBankStatementSuccessful
	TypeReportsCategorizedBankStatementUnsuccessful = typeReportsCategorizedBankStatementUnsuccessful
	TypeReportsCreditModelSuccessful                = typeReportsCreditModelSuccessful
	TypeReportsCreditModelUnsuccessful              = typeReportsCreditModelUnsuccessful
	TypeReportsSpendAnalysisSuccessful              = typeReportsSpendAnalysisSuccessful
	TypeReportsSpendAnalysisUnsuccessful            = typeReportsSpendAnalysisUnsuccessful
	TypeSyncStarted                                 = typeSyncStarted
	TypeUnknownLegacyRule                           = typeUnknownLegacyRule
)

var (
	Classify            = classify
	CommonFieldMappings = commonFieldMappings
	LegacyMappings      = legacyMappings
	LegacyRuleName      = legacyRuleName
	WriteSuccessful     = writeSuccessful
	WriteUnsuccessful   = writeUnsuccessful
)

type (
	FieldMapping = fieldMapping
	RuleMapping  = ruleMapping
)

// WriteDataTypes returns the data types of the write event names.
func WriteDataTypes() []string { return slices.Clone(writeDataTypes) }

// MappingMarkdown returns the mapping section of docs/EVENTS.md, with the
// "Empty from legacy" column derived from the examples under testdata.
func MappingMarkdown(tb testing.TB) string { return mappingMarkdown(legacyParity(tb)) }
