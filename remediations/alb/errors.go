package alb

import "github.com/medicbot/medic/remediations"

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
