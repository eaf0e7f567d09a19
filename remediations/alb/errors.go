package alb

import (
	"errors"

	"github.com/medicbot/medic/remediations"
)

// Errors alb.maintenance returns besides the remediations sentinels.
var (
	// ErrShadowed: rules medic does not own would answer maintenance
	// requests ahead of the 503 rule and the plan was told not to move
	// them (shadowing: refuse). It comes with remediations.ErrInvalid.
	ErrShadowed = errors.New("the maintenance rule would be shadowed")
	// ErrNotEffective: after Apply made its changes, the listener read back
	// did not answer the maintenance requests with medic's 503 rule. Apply
	// reverted its changes (the error says whether that worked).
	ErrNotEffective = errors.New("maintenance not effective")
)

// errorKinds maps Elastic Load Balancing error codes to medic's sentinels.
// Codes not listed (throttling and 5xx once the SDK's standard retryer has
// given up, network errors) stay unclassified: a later attempt may succeed.
var errorKinds = map[string]error{
	"ListenerNotFound":                         remediations.ErrNotFound,
	"RuleNotFound":                             remediations.ErrNotFound,
	"LoadBalancerNotFound":                     remediations.ErrNotFound,
	"TargetGroupNotFound":                      remediations.ErrNotFound,
	"AccessDenied":                             remediations.ErrAccessDenied,
	"AccessDeniedException":                    remediations.ErrAccessDenied,
	"UnauthorizedOperation":                    remediations.ErrAccessDenied,
	"ValidationError":                          remediations.ErrInvalid,
	"PriorityInUse":                            remediations.ErrInvalid,
	"TooManyRules":                             remediations.ErrInvalid,
	"TooManyTags":                              remediations.ErrInvalid,
	"TooManyActions":                           remediations.ErrInvalid,
	"TooManyTargetGroups":                      remediations.ErrInvalid,
	"TooManyUniqueTargetGroupsPerLoadBalancer": remediations.ErrInvalid,
	"TargetGroupAssociationLimit":              remediations.ErrInvalid,
	"IncompatibleProtocols":                    remediations.ErrInvalid,
	"InvalidConfigurationRequest":              remediations.ErrInvalid,
	"InvalidLoadBalancerAction":                remediations.ErrInvalid,
	"UnsupportedProtocol":                      remediations.ErrInvalid,
	"DuplicateTagKeys":                         remediations.ErrInvalid,
	"OperationNotPermitted":                    remediations.ErrInvalid,
}

// APIError is the classified AWS error this package returns.
type APIError = remediations.APIError

// classify wraps err from calling op (an IAM action) on resource; see
// remediations.ClassifyAWS.
func classify(err error, op, resource string) error {
	return remediations.ClassifyAWS(err, errorKinds, op, resource)
}

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string { return remediations.AWSErrorCode(err) }
