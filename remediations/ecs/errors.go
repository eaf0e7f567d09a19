package ecs

import "github.com/medicbot/medic/remediations"

// API error codes, by the sentinel they map to. Codes not listed here
// (throttling and 5xx once the SDK's standard retryer has given up, network
// errors) stay unclassified: they may succeed on a later attempt.
var errorKinds = map[string]error{
	// ECS
	"ClusterNotFoundException":                       remediations.ErrNotFound,
	"ServiceNotFoundException":                       remediations.ErrNotFound,
	"ServiceNotActiveException":                      remediations.ErrNotFound,
	"TargetNotFoundException":                        remediations.ErrNotFound,
	"ResourceNotFoundException":                      remediations.ErrNotFound,
	"AccessDeniedException":                          remediations.ErrAccessDenied,
	"InvalidParameterException":                      remediations.ErrInvalid,
	"ClientException":                                remediations.ErrInvalid,
	"UnsupportedFeatureException":                    remediations.ErrInvalid,
	"PlatformUnknownException":                       remediations.ErrInvalid,
	"PlatformTaskDefinitionIncompatibilityException": remediations.ErrInvalid,
	// Application Auto Scaling
	"ObjectNotFoundException": remediations.ErrNotFound,
	"ValidationException":     remediations.ErrInvalid,
	// Generic AWS codes.
	"AccessDenied":          remediations.ErrAccessDenied,
	"UnauthorizedOperation": remediations.ErrAccessDenied,
}

// APIError is the classified AWS error this package returns.
type APIError = remediations.APIError

// classify wraps err from calling op (an IAM action) on resource; see
// remediations.ClassifyAWS.
func classify(err error, op, resource string) error {
	return remediations.ClassifyAWS(err, errorKinds, op, resource)
}
