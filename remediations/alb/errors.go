package alb

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/remediations"
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

// APIError is an Elastic Load Balancing error this package classified: the
// IAM action that was called, the resource it was called on and the medic
// sentinel it maps to. errors.Is finds the sentinel; errors.As finds the
// SDK's error.
type APIError struct {
	// Op is the IAM action, e.g. "elasticloadbalancing:CreateRule".
	Op string
	// Resource names what the call was about, usually an ARN.
	Resource string
	// Kind is remediations.ErrNotFound, ErrAccessDenied or ErrInvalid.
	Kind error
	// Err is the SDK's error.
	Err error
}

func (e *APIError) Error() string {
	msg := e.Op + " on " + e.Resource + ": " + e.Kind.Error()
	var ae smithy.APIError
	if errors.As(e.Err, &ae) {
		msg += " (" + ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		msg += ")"
	}
	return msg
}

// Unwrap returns the sentinel and the SDK's error.
func (e *APIError) Unwrap() []error { return []error{e.Kind, e.Err} }

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// classify wraps err from calling op (an IAM action such as
// "elasticloadbalancing:CreateRule") on resource. Known error codes become an
// *APIError matching remediations.ErrNotFound, ErrAccessDenied or ErrInvalid;
// anything else is wrapped with what was being done.
func classify(err error, op, resource string) error {
	if err == nil {
		return nil
	}
	if kind, ok := errorKinds[errorCode(err)]; ok {
		return &APIError{Op: op, Resource: resource, Kind: kind, Err: err}
	}
	return fmt.Errorf("%s on %s: %w", op, resource, err)
}
