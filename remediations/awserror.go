package remediations

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// APIError is an AWS API error an action classified: the IAM action that
// was called, the resource it was called on and the sentinel it maps to.
// errors.Is finds the sentinel; errors.As finds the SDK's error.
type APIError struct {
	// Op is the IAM action, e.g. "ecs:UpdateService".
	Op string
	// Resource names what the call was about, e.g. "prod/checkout" or an ARN.
	Resource string
	// Kind is ErrNotFound, ErrAccessDenied or ErrInvalid.
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

// AWSErrorCode returns the AWS error code of err, or "".
func AWSErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// ClassifyAWS wraps err from calling op (an IAM action such as
// "ecs:UpdateService") on resource. Error codes found in kinds become an
// *APIError matching their sentinel; anything else (throttling and 5xx once
// the SDK's bounded retryer has given up, network errors) is wrapped with
// what was being done and stays retryable.
func ClassifyAWS(err error, kinds map[string]error, op, resource string) error {
	if err == nil {
		return nil
	}
	if kind, ok := kinds[AWSErrorCode(err)]; ok {
		return &APIError{Op: op, Resource: resource, Kind: kind, Err: err}
	}
	return fmt.Errorf("%s on %s: %w", op, resource, err)
}
