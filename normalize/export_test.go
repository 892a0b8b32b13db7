package normalize

import "slices"

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
	MappingMarkdown     = mappingMarkdown
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
