package waf

import "github.com/medicbot/medic/remediations"

// errorKinds maps WAFv2 and Elastic Load Balancing error codes to medic's
// sentinels. WAFOptimisticLockException (the web ACL changed after medic
// read it) is a stale plan. Codes not listed (WAFInternalErrorException,
// WAFUnavailableEntityException, throttling once the SDK's retryer has
// given up, network errors) stay unclassified: a later attempt may succeed.
var errorKinds = map[string]error{
	"WAFNonexistentItemException":                remediations.ErrNotFound,
	"LoadBalancerNotFound":                       remediations.ErrNotFound,
	"WAFOptimisticLockException":                 remediations.ErrStalePlan,
	"AccessDeniedException":                      remediations.ErrAccessDenied,
	"AccessDenied":                               remediations.ErrAccessDenied,
	"WAFInvalidParameterException":               remediations.ErrInvalid,
	"WAFInvalidOperationException":               remediations.ErrInvalid,
	"WAFLimitsExceededException":                 remediations.ErrInvalid,
	"WAFDuplicateItemException":                  remediations.ErrInvalid,
	"WAFAssociatedItemException":                 remediations.ErrInvalid,
	"WAFSubscriptionNotFoundException":           remediations.ErrInvalid,
	"WAFExpiredManagedRuleGroupVersionException": remediations.ErrInvalid,
	"WAFConfigurationWarningException":           remediations.ErrInvalid,
	"WAFTagOperationException":                   remediations.ErrInvalid,
	"ValidationError":                            remediations.ErrInvalid,
}

// APIError is the classified AWS error this package returns.
type APIError = remediations.APIError

func classify(err error, op, resource string) error {
	return remediations.ClassifyAWS(err, errorKinds, op, resource)
}
