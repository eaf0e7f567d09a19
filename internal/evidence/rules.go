package evidence

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// The reading rules are data: readings.yaml, built into the binary,
// decoded strictly into the raw types below, then validated and compiled
// into Rules once, when first needed. docs/readings.md describes the
// format; testdata/readings/ holds the cases the shipped rules must read.

//go:embed readings.yaml
var shippedRules []byte

// ShippedFile names the rules built into medic in errors.
const ShippedFile = "internal/evidence/readings.yaml"

var shipped = sync.OnceValues(func() (*Rules, error) { return ParseRules(ShippedFile, shippedRules) })

// ShippedRules returns the reading rules built into medic
// (readings.yaml), compiled once. A test keeps them loading.
func ShippedRules() (*Rules, error) { return shipped() }

type rawRules struct {
	Version *int      `yaml:"version"`
	Parts   []string  `yaml:"parts"`
	Rules   []rawRule `yaml:"rules"`
}

type rawRule struct {
	Name string             `yaml:"name"`
	Part string             `yaml:"part"`
	When *policy.Conditions `yaml:"when"`
	Say  string             `yaml:"say"`
}

// Rules are compiled reading rules: the parts of the line, in order, and
// the rules of each part, in file order.
type Rules struct {
	parts []string
	rules map[string][]*Rule
}

// Rule is one compiled reading rule.
type Rule struct {
	Name string
	Part string
	// File and Line locate the rule.
	File string
	Line int
	when *policy.When
	say  *policy.Template
}

// Reading is what rules made of some evidence.
type Reading struct {
	// Line is the reading: the clauses of the parts, joined with ", ".
	Line string
	// Rules names the rule that said each clause, in order.
	Rules []string
}

// ViewFields are the fields of the evidence a rule's say may use, e.g.
// {{ .Unhealthy }}; docs/readings.md describes each. A field that was not
// gathered is unknown: a rule that uses it outside {{ if }} does not hold,
// and inside an if it reads as "" or 0.
var ViewFields = []string{"Source", "Code", "ErrorRate", "TargetGroup", "Unhealthy", "Targets", "TopReason", "SinceDeploy", "Deploy"}

// sampleView is the evidence says are tried on when the rules load, every
// field known.
var sampleView = policy.Values{
	"Source": "elb", "Code": "502", "ErrorRate": "12%", "TargetGroup": "checkout", "Unhealthy": 3, "Targets": 6,
	"TopReason": "Target.ResponseCodeMismatch", "SinceDeploy": "4 min", "Deploy": "task definition checkout:42",
}

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// ParseRules decodes, validates and compiles a reading rules file; file
// names it in errors. On failure the error is a *policy.Errors listing
// every problem, each as "file:line: path: message".
func ParseRules(file string, data []byte) (*Rules, error) {
	var raw rawRules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &policy.Errors{{File: file, Msg: "empty file: want version: 1, parts and rules"}}
		}
		errs := policy.DecodeErrors(file, data, err, reflect.TypeFor[rawRules](), reflect.TypeFor[rawRule](), reflect.TypeFor[policy.Conditions]())
		return nil, &errs
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc) // it decoded above
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	var errs policy.Errors
	add := func(path []any, format string, args ...any) {
		errs = append(errs, &policy.Error{File: file, Line: policy.LineOf(root, path), Path: pathString(path), Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case raw.Version == nil:
		add([]any{"version"}, "required: write version: 1")
	case *raw.Version != 1:
		add([]any{"version"}, "must be 1, got %d", *raw.Version)
	}
	rs := &Rules{rules: make(map[string][]*Rule)}
	if len(raw.Parts) == 0 {
		add([]any{"parts"}, "at least one part is required, e.g. parts: [pattern, targets, change]")
	}
	for i, p := range raw.Parts {
		switch {
		case !ruleName.MatchString(p):
			add([]any{"parts", i}, "must be lower-case letters, digits and dashes, got %q", p)
		case slices.Contains(rs.parts, p):
			add([]any{"parts", i}, "%q is listed twice", p)
		default:
			rs.parts = append(rs.parts, p)
		}
	}
	if len(raw.Rules) == 0 {
		add([]any{"rules"}, "at least one rule is required")
	}
	names := make(map[string]int)
	for i, rr := range raw.Rules {
		at := func(k string) []any { return []any{"rules", i, k} }
		r := &Rule{Name: rr.Name, Part: rr.Part, File: file, Line: policy.LineOf(root, []any{"rules", i})}
		switch first, dup := names[rr.Name]; {
		case rr.Name == "":
			add(at("name"), "required")
		case !ruleName.MatchString(rr.Name):
			add(at("name"), "must be lower-case letters, digits and dashes, got %q", rr.Name)
		case dup:
			add(at("name"), "%q is already the name of the rule at line %d", rr.Name, first)
		default:
			names[rr.Name] = r.Line
		}
		switch {
		case rr.Part == "":
			add(at("part"), "required: one of %s", strings.Join(raw.Parts, ", "))
		case !slices.Contains(rs.parts, rr.Part):
			add(at("part"), "unknown part %q (parts: %s)", rr.Part, strings.Join(raw.Parts, ", "))
		}
		w, werrs := policy.CompileConditions(file, root, at("when"), rr.When)
		errs = append(errs, werrs...)
		r.when = w
		if strings.TrimSpace(rr.Say) == "" {
			add(at("say"), "required: the clause this rule says, a template over the evidence such as \"{{ .Unhealthy }} of {{ .Targets }} targets unhealthy\"")
		} else if t, err := policy.ParseTemplate(rr.Name, rr.Say, ViewFields); err != nil {
			add(at("say"), "bad template: %s", err)
		} else if _, err := t.Execute(sampleView); err != nil {
			add(at("say"), "template fails on a sample of evidence: %s", err)
		} else {
			r.say = t
		}
		rs.rules[rr.Part] = append(rs.rules[rr.Part], r)
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *policy.Error) int { return cmp.Compare(a.Line, b.Line) })
		return nil, &errs
	}
	return rs, nil
}

// pathString writes a path as policy errors do: rules[2].when.code[1].
func pathString(path []any) string {
	var b strings.Builder
	for _, e := range path {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		}
	}
	return b.String()
}

// Read sums ev up with rs: for each part, the clause of its first rule
// that holds. Nil evidence reads as nothing.
func (rs *Rules) Read(ev *store.Evidence) Reading {
	if ev == nil {
		return Reading{}
	}
	return rs.read(ev, ev.Facts())
}

func (rs *Rules) read(ev *store.Evidence, f policy.Facts) Reading {
	v, known := view(ev, f)
	var out Reading
	var clauses []string
	for _, part := range rs.parts {
		for _, r := range rs.rules[part] {
			if s, ok := r.says(f, v, known); ok {
				clauses = append(clauses, s)
				out.Rules = append(out.Rules, r.Name)
				break
			}
		}
	}
	out.Line = strings.Join(clauses, ", ")
	return out
}

// says returns r's clause when r holds: its conditions hold, every field
// its say requires is known, and the say renders to something.
func (r *Rule) says(f policy.Facts, v policy.Values, known map[string]bool) (string, bool) {
	if ok, _ := r.when.Holds(f); !ok {
		return "", false
	}
	for _, name := range r.say.Required() {
		if !known[name] {
			return "", false
		}
	}
	s, err := r.say.Execute(v)
	if err != nil || strings.TrimSpace(s) == "" {
		return "", false
	}
	return s, true
}

// view is what the says see of ev: every field of ViewFields, "" or 0
// when unknown, and which are known.
func view(ev *store.Evidence, f policy.Facts) (policy.Values, map[string]bool) {
	v := policy.Values{"Source": "", "Code": "", "ErrorRate": "", "TargetGroup": "", "Unhealthy": 0, "Targets": 0,
		"TopReason": "", "SinceDeploy": "", "Deploy": ""}
	known := make(map[string]bool, len(v))
	set := func(name string, x any) { v[name], known[name] = x, true }
	if p := ev.Pattern; p != nil {
		if p.Source != "" {
			set("Source", p.Source)
		}
		if p.Code != "" {
			set("Code", p.Code)
		}
		if p.ErrorRate >= 0 {
			set("ErrorRate", percent(p.ErrorRate))
		}
	}
	if h := ev.Health; h != nil && h.TargetGroup != "" {
		set("TargetGroup", h.TargetGroup)
		set("Unhealthy", h.Unhealthy)
		set("Targets", h.Healthy+h.Unhealthy+h.Other)
		if len(h.Reasons) > 0 && h.Reasons[0].Reason != "" {
			set("TopReason", h.Reasons[0].Reason)
		}
	}
	if f.SinceDeploy != nil && *f.SinceDeploy >= 0 {
		set("SinceDeploy", minutes(*f.SinceDeploy))
	}
	if f.Deploy != "" {
		set("Deploy", f.Deploy)
	}
	return v, known
}
