package remediations

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

var testSchema = Schema{
	Params: []Param{
		{Name: "cluster", Type: TypeString, Required: true},
		{Name: "add", Type: TypeInt, Min: Ptr(1)},
		{Name: "set", Type: TypeInt, Min: Ptr(0)},
		{Name: "factor", Type: TypeNumber, Min: Ptr(1)},
		{Name: "format", Type: TypeString, Enum: []string{"html", "json"}},
		{Name: "wait", Type: TypeDuration},
		{Name: "allow_ips", Type: TypeCIDRList},
		{Name: "inputs", Type: TypeStringMap},
		{Name: "merge", Type: TypeBool},
	},
	ExactlyOne: [][]string{{"add", "set", "factor"}},
}

func TestSchemaValidate(t *testing.T) {
	tests := []struct {
		name   string
		params Params
		skip   map[string]bool
		want   []string // substrings, one per expected error
	}{
		{"valid params pass", Params{"cluster": "prod", "add": 2, "format": "json", "wait": "10m", "allow_ips": []any{"10.0.0.0/8"}, "inputs": map[string]any{"a": "b"}, "merge": true}, nil, nil},
		{"a missing required param is named", Params{"add": 1}, nil, []string{"cluster: required"}},
		{"an unknown param lists the known ones", Params{"cluster": "p", "add": 1, "bogus": 1}, nil, []string{"bogus: unknown parameter (known: cluster"}},
		{"types and bounds are checked", Params{"cluster": 3, "add": 0.5, "format": "xml", "wait": "soon", "allow_ips": "10.0.0.300/8", "merge": "yes"}, nil,
			[]string{"add: must be a whole number", "allow_ips: \"10.0.0.300/8\" is not a CIDR block", "cluster: must be a string", "format: must be one of html, json", "merge: must be true or false", "wait: must be a duration"}},
		{"exactly one of a group", Params{"cluster": "p", "add": 1, "set": 3}, nil, []string{"exactly one of add, set, factor must be given (got 2)"}},
		{"templated params are only checked for presence", Params{"cluster": "{{ .X }}", "add": "{{ .Y }}"}, map[string]bool{"cluster": true, "add": true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := testSchema.Validate(tt.params, tt.skip)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
}

func TestClassifyAWSMapsCodesToSentinels(t *testing.T) {
	kinds := map[string]error{"ServiceNotFoundException": ErrNotFound, "AccessDeniedException": ErrAccessDenied}
	notFound := &smithy.GenericAPIError{Code: "ServiceNotFoundException", Message: "Service not found."}
	err := ClassifyAWS(notFound, kinds, "ecs:UpdateService", "prod/checkout")
	var api *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &api) || api.Op != "ecs:UpdateService" {
		t.Fatalf("err = %v", err)
	}
	if got := err.Error(); got != "ecs:UpdateService on prod/checkout: not found (ServiceNotFoundException: Service not found.)" {
		t.Errorf("message = %q", got)
	}
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException"}
	err = ClassifyAWS(throttled, kinds, "ecs:UpdateService", "prod/checkout")
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || !errors.Is(err, throttled) {
		t.Errorf("an unknown code must stay unclassified and wrapped: %v", err)
	}
	if ClassifyAWS(nil, kinds, "x", "y") != nil {
		t.Error("nil must stay nil")
	}
}
