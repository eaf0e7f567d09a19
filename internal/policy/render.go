package policy

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// TemplateData is what a parameter template sees as dot, e.g.
// "{{ .Dimensions.ServiceName }}". A missing map key is an error when the
// step is rendered; use `index .Tags "name"` to get "" instead.
type TemplateData struct {
	Name          string
	ARN           string
	Account       string
	Region        string
	State         string
	PreviousState string
	Reason        string
	Description   string
	Timestamp     time.Time
	// Dimensions merges the dimensions of every metric, first one wins.
	Dimensions map[string]string
	Tags       map[string]string
	Metrics    []alarm.Metric
	// HTTP5xx is the zero value when the alarm is not an ALB 5xx alarm.
	HTTP5xx alarm.HTTP5xx
}

// NewTemplateData returns the template view of a.
func NewTemplateData(a *alarm.Alarm) *TemplateData {
	d := &TemplateData{
		Name:          a.Name,
		ARN:           a.ARN,
		Account:       a.Account,
		Region:        a.Region,
		State:         string(a.State),
		PreviousState: string(a.PreviousState),
		Reason:        a.Reason,
		Description:   a.Description,
		Timestamp:     a.Timestamp,
		Dimensions:    a.Dimensions(),
		Tags:          a.Tags,
		Metrics:       a.Metrics,
	}
	if a.HTTP5xx != nil {
		d.HTTP5xx = *a.HTTP5xx
	}
	return d
}

// templateFuncs are the helpers parameter templates may call besides the
// text/template built-ins. Each is total: it never fails.
var templateFuncs = template.FuncMap{
	// tail returns what follows the first "/": "app/checkout/50dc" -> "checkout/50dc".
	"tail": func(s string) string {
		_, after, _ := strings.Cut(s, "/")
		return after
	},
	// last returns what follows the last "/": "app/checkout/50dc" -> "50dc".
	"last": func(s string) string { return s[strings.LastIndex(s, "/")+1:] },
	// segment returns the n-th "/"-separated part (from 0), or "":
	// segment 1 "targetgroup/checkout-prod/73e2" -> "checkout-prod".
	"segment": func(n int, s string) string {
		parts := strings.Split(s, "/")
		if n < 0 || n >= len(parts) {
			return ""
		}
		return parts[n]
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	// default returns s, or def when s is empty: index .Tags "service" | default "checkout".
	"default": func(def, s string) string {
		if s == "" {
			return def
		}
		return s
	},
}

// sampleData is the alarm templates are tried on at load time, to catch
// unknown fields and misused functions before an alarm fires.
var sampleData = &TemplateData{
	Name: "sample-alarm", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sample-alarm",
	Account: "123456789012", Region: "us-east-1", State: "ALARM", PreviousState: "OK",
	Reason: "Threshold Crossed", Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	Dimensions: map[string]string{}, Tags: map[string]string{},
	Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{}}},
	HTTP5xx: alarm.HTTP5xx{Source: "target", Code: "5XX"},
}

// value is one parameter value: a literal, a template, or a list or map that
// holds templates somewhere inside.
type value struct {
	lit  any // when nothing inside is templated
	tmpl *template.Template
	list []*value
	dict map[string]*value
}

func (val *value) templated() bool { return val.tmpl != nil || val.list != nil || val.dict != nil }

// plain returns the value as written (templates as their source text).
func (val *value) plain() any {
	switch {
	case val.tmpl != nil:
		return val.tmpl.Root.String()
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
		t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(x)
		if err != nil {
			v.add(p, "bad template: %s", templateMsg(err))
			return &value{lit: x}
		}
		trial, err := t.Clone()
		if err == nil {
			err = trial.Option("missingkey=zero").Execute(discard{}, sampleData)
		}
		if err != nil {
			v.add(p, "template fails on a sample alarm: %s", templateMsg(err))
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

// templateMsg shortens a text/template error to what a policy author needs.
func templateMsg(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": executing "); ok {
		if _, rest, ok := strings.Cut(after, " at "); ok {
			msg = rest
		}
	} else {
		msg = templatePos.ReplaceAllString(msg, "")
	}
	return strings.ReplaceAll(msg, "type *policy.TemplateData", "the alarm (fields: .Name .ARN .Account .Region .State .PreviousState .Reason .Description .Timestamp .Dimensions .Tags .Metrics .HTTP5xx)")
}

var templatePos = regexp.MustCompile(`^template: [^:]*:\d+(:\d+)?: `)

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (val *value) render(data *TemplateData) (any, error) {
	switch {
	case val.tmpl != nil:
		var b strings.Builder
		if err := val.tmpl.Execute(&b, data); err != nil {
			return nil, errors.New(templateMsg(err))
		}
		if b.Len() == 0 {
			return nil, errors.New("template rendered an empty string")
		}
		return b.String(), nil
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
