package ecs

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/remediations"
)

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

// APIError is an AWS error this package classified: the IAM action that was
// called, the resource it was called on and the medic sentinel it maps to.
// errors.Is finds the sentinel; errors.As finds the SDK's error.
type APIError struct {
	// Op is the IAM action, e.g. "ecs:UpdateService".
	Op string
	// Resource names what the call was about, e.g. "prod/checkout".
	Resource string
	// Kind is remediations.ErrNotFound, ErrAccessDenied or ErrInvalid.
	Kind error
	// Err is the SDK's error.
	Err error
}

// Error says which call on what failed, how medic classifies it and what
// AWS answered, e.g. "ecs:UpdateService on prod/checkout: access denied
// (AccessDeniedException: ...)".
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

// classify wraps err from calling op (an IAM action such as
// "ecs:UpdateService") on resource. Known API error codes become an *APIError
// that errors.Is matches against remediations.ErrNotFound, ErrAccessDenied
// or ErrInvalid; anything else is wrapped with what was being done.
func classify(err error, op, resource string) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if kind, ok := errorKinds[ae.ErrorCode()]; ok {
			return &APIError{Op: op, Resource: resource, Kind: kind, Err: err}
		}
	}
	return fmt.Errorf("%s on %s: %w", op, resource, err)
}
