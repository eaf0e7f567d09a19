package policy_test

import (
	"fmt"

	"github.com/medicbot/medic/remediations"
)

// testCatalog holds small stand-ins for the built-in actions, so that these
// tests exercise the policy package alone.
var testCatalog = remediations.Catalog{
	"ecs.scale": {
		Params: []remediations.Param{
			{Name: "cluster", Type: remediations.TypeString},
			{Name: "service", Type: remediations.TypeString},
			{Name: "add", Type: remediations.TypeInt, Min: remediations.Ptr(1)},
			{Name: "factor", Type: remediations.TypeNumber, Min: remediations.Ptr(1)},
			{Name: "min", Type: remediations.TypeInt, Min: remediations.Ptr(0)},
			{Name: "max", Type: remediations.TypeInt, Required: true, Min: remediations.Ptr(1)},
		},
		ExactlyOne: [][]string{{"add", "factor"}},
		Check: func(p remediations.Params) []error {
			lo, okLo := p.Int("min")
			hi, okHi := p.Int("max")
			if okLo && okHi && lo > hi {
				return []error{&remediations.FieldError{Param: "max", Msg: fmt.Sprintf("must be >= min (%d), got %d", lo, hi)}}
			}
			return nil
		},
		Reversible: true,
	},
	"ecs.restart": {
		Params: []remediations.Param{
			{Name: "cluster", Type: remediations.TypeString},
			{Name: "service", Type: remediations.TypeString},
		},
	},
	"github.rollback": {
		Params: []remediations.Param{
			{Name: "repo", Type: remediations.TypeString, Required: true},
			{Name: "environment", Type: remediations.TypeString, Required: true},
			{Name: "auto_merge", Type: remediations.TypeBool},
			{Name: "inputs", Type: remediations.TypeStringMap},
		},
		Reversible: true,
	},
	"alb.maintenance": {
		Params: []remediations.Param{
			{Name: "listener", Type: remediations.TypeString},
			{Name: "host_headers", Type: remediations.TypeStringList},
			{Name: "retry_after", Type: remediations.TypeInt, Min: remediations.Ptr(0)},
			{Name: "format", Type: remediations.TypeString, Enum: []string{"html", "json"}},
		},
		Reversible: true,
	},
}
