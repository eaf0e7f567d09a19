package remediations

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// ParamType is the type of one action parameter.
type ParamType string

// The parameter types actions can declare.
const (
	TypeString     ParamType = "string"
	TypeInt        ParamType = "integer"
	TypeNumber     ParamType = "number"
	TypeBool       ParamType = "boolean"
	TypeDuration   ParamType = "duration"    // Go duration string, e.g. "10m"
	TypeStringList ParamType = "string-list" // list of strings (a single string is accepted as a one-element list)
	TypeCIDRList   ParamType = "cidr-list"   // list of CIDR blocks
	TypeStringMap  ParamType = "string-map"  // map of string to string
)

// Param declares one parameter of an action.
type Param struct {
	Name        string    `json:"name"`
	Type        ParamType `json:"type"`
	Required    bool      `json:"required,omitempty"`
	Description string    `json:"description"`
	Enum        []string  `json:"enum,omitempty"`
	Min         *float64  `json:"min,omitempty"`
	Max         *float64  `json:"max,omitempty"`
	Default     any       `json:"default,omitempty"`
	// Widens marks a parameter whose larger value lets the action do more:
	// an upper bound or an amount (a number: max, add, factor), a reach (a
	// duration: how far back to look) or a permission (a boolean, true
	// doing more). Policy review (`medic policy diff`) flags a step that
	// runs without approval when such a parameter goes up, or is given where
	// it was not.
	Widens bool `json:"widens,omitempty"`
	// WidensDown marks a parameter whose smaller value lets the action do
	// more: a threshold (a number), e.g. waf.rate_limit's limit, where a
	// lower limit throttles more clients. Policy review flags a step that
	// runs without approval when such a parameter goes down.
	WidensDown bool `json:"widens_down,omitempty"`
}

// IAMPermission is one statement an action needs: the IAM actions and the
// resource ARN pattern they apply to.
type IAMPermission struct {
	Actions  []string `json:"actions"`
	Resource string   `json:"resource"`
}

// Schema declares an action's parameters and the IAM permissions it needs.
type Schema struct {
	Description string  `json:"description"`
	Params      []Param `json:"params"`
	// ExactlyOne lists groups of parameter names of which exactly one must
	// be given.
	ExactlyOne [][]string `json:"exactly_one,omitempty"`
	// Check validates relations between parameters once each has the right
	// type (e.g. min <= max). It may be nil.
	Check func(Params) []error `json:"-"`
	// Reversible is true when the action implements Undoer.
	Reversible bool `json:"reversible"`
	// IAM lists the permissions the action needs, for least privilege.
	IAM []IAMPermission `json:"iam,omitempty"`
}

// Catalog maps action names to their schemas. Policy validation needs only
// this; a Registry provides the same lookup for built actions.
type Catalog map[string]Schema

// Schema returns the named action's schema.
func (c Catalog) Schema(name string) (Schema, bool) {
	s, ok := c[name]
	return s, ok
}

// Param returns the declaration of the named parameter.
func (s Schema) Param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// FieldError is one problem with one parameter.
type FieldError struct {
	Param string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return e.Param + ": " + e.Msg
}

// Validate checks p against the schema and returns every problem, sorted by
// parameter name. Parameters named in skip (e.g. templated values not yet
// rendered) are checked for presence only.
func (s Schema) Validate(p Params, skip map[string]bool) []error {
	var errs []error
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		decl, ok := s.Param(name)
		if !ok {
			errs = append(errs, &FieldError{name, "unknown parameter" + s.known()})
			continue
		}
		if skip[name] {
			continue
		}
		if err := checkValue(decl, p[name]); err != nil {
			errs = append(errs, &FieldError{name, err.Error()})
		}
	}
	for _, decl := range s.Params {
		if _, ok := p[decl.Name]; decl.Required && !ok {
			errs = append(errs, &FieldError{decl.Name, "required"})
		}
	}
	for _, group := range s.ExactlyOne {
		n := 0
		for _, name := range group {
			if _, ok := p[name]; ok {
				n++
			}
		}
		if n != 1 {
			errs = append(errs, &FieldError{"", fmt.Sprintf("exactly one of %s must be given (got %d)", strings.Join(group, ", "), n)})
		}
	}
	if len(errs) == 0 && s.Check != nil && len(skip) == 0 {
		errs = append(errs, s.Check(p)...)
	}
	return errs
}

func (s Schema) known() string {
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

func checkValue(decl Param, v any) error {
	switch decl.Type {
	case TypeString:
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string, got %s", kind(v))
		}
		if len(decl.Enum) > 0 && !slices.Contains(decl.Enum, str) {
			return fmt.Errorf("must be one of %s, got %q", strings.Join(decl.Enum, ", "), str)
		}
	case TypeInt, TypeNumber:
		f, ok := AsNumber(v)
		if !ok {
			return fmt.Errorf("must be a number, got %s", kind(v))
		}
		if decl.Type == TypeInt && f != math.Trunc(f) {
			return fmt.Errorf("must be a whole number, got %v", f)
		}
		if decl.Min != nil && f < *decl.Min {
			return fmt.Errorf("must be >= %v, got %v", *decl.Min, f)
		}
		if decl.Max != nil && f > *decl.Max {
			return fmt.Errorf("must be <= %v, got %v", *decl.Max, f)
		}
	case TypeBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("must be true or false, got %s", kind(v))
		}
	case TypeDuration:
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a duration such as \"10m\", got %s", kind(v))
		}
		if d, err := time.ParseDuration(str); err != nil || d < 0 {
			return fmt.Errorf("must be a duration such as \"10m\", got %q", str)
		}
	case TypeStringList, TypeCIDRList:
		list, err := StringList(v)
		if err != nil {
			return err
		}
		if decl.Type == TypeCIDRList {
			for _, c := range list {
				if _, err := netip.ParsePrefix(c); err != nil {
					return fmt.Errorf("%q is not a CIDR block", c)
				}
			}
		}
	case TypeStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("must be a map of strings, got %s", kind(v))
		}
		for k, val := range m {
			if _, ok := val.(string); !ok {
				return fmt.Errorf("%s: must be a string, got %s", k, kind(val))
			}
		}
	default:
		return fmt.Errorf("has unknown declared type %q", decl.Type)
	}
	return nil
}

// StringList converts a string or a list of strings to []string.
func StringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []string:
		return t, nil
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d must be a string, got %s", i, kind(e))
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a list of strings, got %s", kind(v))
}

// AsNumber reads a numeric parameter value as YAML or JSON decodes it
// (int, int64, uint64 or float64).
func AsNumber(v any) (float64, bool) {
	switch t := v.(type) {
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case float64:
		return t, true
	case uint64:
		return float64(t), true
	}
	return 0, false
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

// String returns the named string parameter, or "" when absent.
func (p Params) String(name string) string {
	s, _ := p[name].(string)
	return s
}

// Int returns the named whole-number parameter and whether it was given.
func (p Params) Int(name string) (int, bool) {
	f, ok := AsNumber(p[name])
	return int(f), ok
}

// Number returns the named numeric parameter and whether it was given.
func (p Params) Number(name string) (float64, bool) {
	return AsNumber(p[name])
}

// Bool returns the named boolean parameter, or def when absent.
func (p Params) Bool(name string, def bool) bool {
	if b, ok := p[name].(bool); ok {
		return b
	}
	return def
}

// Duration returns the named duration parameter, or def when absent or invalid.
func (p Params) Duration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(p.String(name)); err == nil {
		return d
	}
	return def
}

// Strings returns the named list parameter, or nil when absent.
func (p Params) Strings(name string) []string {
	l, _ := StringList(p[name])
	return l
}

// Ptr returns a pointer to f, for Param.Min and Param.Max.
func Ptr(f float64) *float64 { return &f }
