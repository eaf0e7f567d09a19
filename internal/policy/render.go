package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// value is one parameter value: a literal, a template, or a list or map that
// holds templates somewhere inside.
type value struct {
	lit  any // when nothing inside is templated
	tmpl *paramTemplate
	list []*value
	dict map[string]*value
}

func (val *value) templated() bool { return val.tmpl != nil || val.list != nil || val.dict != nil }

// plain returns the value as written (templates as their source text).
func (val *value) plain() any {
	switch {
	case val.tmpl != nil:
		return val.tmpl.String()
	case val.list != nil:
		out := make([]any, len(val.list))
		for i, e := range val.list {
			out[i] = e.plain()
		}
		return out
	case val.dict != nil:
		out := make(map[string]any, len(val.dict))
		for k, e := range val.dict {
			out[k] = e.plain()
		}
		return out
	}
	return clone(val.lit)
}

// value compiles a decoded YAML value, parsing the templates inside it.
func (v *validator) value(p fieldPath, name string, x any) *value {
	switch x := x.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return &value{lit: x}
		}
		t, err := parseTemplate(name, x)
		if err != nil {
			v.add(p, "bad template: %s", err)
			return &value{lit: x}
		}
		if _, err := t.execute(sampleData, true); err != nil {
			v.add(p, "template fails on a sample alarm: %s", err)
		}
		return &value{tmpl: t}
	case []any:
		out := &value{list: make([]*value, len(x))}
		for i, e := range x {
			out.list[i] = v.value(p.at(i), name, e)
		}
		if !slices.ContainsFunc(out.list, (*value).templated) {
			return &value{lit: x}
		}
		return out
	case map[string]any:
		out := &value{dict: make(map[string]*value, len(x))}
		for k, e := range x {
			out.dict[k] = v.value(p.key(k), name, e)
		}
		if !slices.ContainsFunc(slices.Collect(maps.Values(out.dict)), (*value).templated) {
			return &value{lit: x}
		}
		return out
	case map[any]any:
		v.add(p, "mapping keys must be strings")
	case time.Time:
		v.add(p, "quote dates and times: write %q", x.Format(time.RFC3339))
	}
	return &value{lit: x}
}

func (val *value) render(data *TemplateData) (any, error) {
	switch {
	case val.tmpl != nil:
		s, err := val.tmpl.execute(data, false)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, errors.New("template rendered an empty string")
		}
		return s, nil
	case val.list != nil:
		out := make([]any, len(val.list))
		for i, e := range val.list {
			r, err := e.render(data)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case val.dict != nil:
		out := make(map[string]any, len(val.dict))
		for _, k := range slices.Sorted(maps.Keys(val.dict)) {
			r, err := val.dict[k].render(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return clone(val.lit), nil
}

// clone deep-copies a decoded YAML value so callers cannot change a policy.
func clone(x any) any {
	switch x := x.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	}
	return x
}

// RenderError is a step whose parameters could not be rendered for an
// alarm, or rendered to values the action rejects.
type RenderError struct {
	Policy string
	Step   int // 0-based
	Action string
	Param  string // "" when the problem concerns several parameters
	Err    error
}

// Error reads "policy checkout-5xx step 0 (ecs.scale) param service: ...".
func (e *RenderError) Error() string {
	msg := fmt.Sprintf("policy %s step %d (%s)", e.Policy, e.Step, e.Action)
	if e.Param != "" {
		msg += " param " + e.Param
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *RenderError) Unwrap() error { return e.Err }

// Params returns the step's parameters as written, templates unrendered.
func (st *Step) Params() remediations.Params {
	out := make(remediations.Params, len(st.params))
	for name, val := range st.params {
		out[name] = val.plain()
	}
	return out
}

// Schema returns the parameter schema of the step's action, as the catalog
// the policy was compiled with declares it.
func (st *Step) Schema() remediations.Schema { return st.schema }

// Render renders the step's parameters for alarm a: templates are executed
// (a missing dimension or tag is an error), numeric and boolean strings are
// converted to the types the action declares, and the result is validated
// against the action's schema. Every problem is returned, each as a
// *RenderError (joined with errors.Join when there are several).
func (st *Step) Render(a *alarm.Alarm) (remediations.Params, error) {
	var data *TemplateData
	out := make(remediations.Params, len(st.params))
	var errs []error
	fail := func(param string, err error) {
		errs = append(errs, &RenderError{Policy: st.policy, Step: st.Index, Action: st.Action, Param: param, Err: err})
	}
	for _, name := range st.names {
		val := st.params[name]
		if !val.templated() {
			out[name] = clone(val.lit)
			continue
		}
		if data == nil {
			data = NewTemplateData(a)
		}
		r, err := val.render(data)
		if err != nil {
			fail(name, err)
			continue
		}
		decl, _ := st.schema.Param(name)
		if r, err = convert(decl.Type, r); err != nil {
			fail(name, err)
			continue
		}
		out[name] = r
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	for _, err := range st.schema.Validate(out, nil) {
		var fe *remediations.FieldError
		if errors.As(err, &fe) {
			fail(fe.Param, errors.New(fe.Msg))
			continue
		}
		fail("", err)
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// convert turns a rendered string into the parameter's declared type.
func convert(t remediations.ParamType, r any) (any, error) {
	s, ok := r.(string)
	if !ok {
		return r, nil
	}
	trimmed := strings.TrimSpace(s)
	switch t {
	case remediations.TypeInt:
		n, err := strconv.Atoi(trimmed)
		if err != nil {
			return nil, fmt.Errorf("rendered %q, not a whole number", s)
		}
		return n, nil
	case remediations.TypeNumber:
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return nil, fmt.Errorf("rendered %q, not a number", s)
		}
		return f, nil
	case remediations.TypeBool:
		b, err := strconv.ParseBool(trimmed)
		if err != nil {
			return nil, fmt.Errorf("rendered %q, not true or false", s)
		}
		return b, nil
	}
	return r, nil
}
