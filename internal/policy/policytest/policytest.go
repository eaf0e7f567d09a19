// Package policytest runs policy fixtures: YAML files under tests/ in a
// policy directory, each feeding alarm payloads to the policies and listing
// the policies that must match. `medic policy test` and the tests of the
// policies package run them.
//
// A fixture file holds one case or a list of cases:
//
//	cases:
//	  - name: the target-5xx alarm scales checkout first
//	    alarm: alarms/eventbridge-alb-target-5xx.json   # relative to this file
//	    expect:
//	      - policy: checkout-target-5xx
//	        action: ecs.scale                  # the step's action (optional)
//	        params: {service: checkout}        # some of its rendered params (optional)
//	      - policy: checkout-target-5xx
//	        step: 3                            # a later ladder step (1-based; default 1)
//	        action: alb.maintenance
//	  - name: the OK matches nothing
//	    payload: {...}                         # or the payload inline (YAML or a JSON string)
//	    expect: []
//	  - name: a deploy just before the spike and failing targets: roll back
//	    alarm: alarms/eventbridge-alb-target-5xx.json
//	    evidence:                              # what the collectors would find (optional)
//	      source: elb
//	      code: "502"
//	      unhealthy_targets: 3
//	      deploy_before_spike: 4m              # the last deployment, this long before the spike began
//	    expect: [{policy: checkout-target-5xx, action: ecs.rollback}]
//	  - name: the card reads the evidence
//	    alarm: alarms/eventbridge-alb-target-5xx.json
//	    evidence:
//	      source: elb
//	      code: "502"
//	      error_rate: 0.12                     # of requests (a fraction)
//	      unhealthy_targets: 3
//	      targets: 6                           # registered (default: unhealthy_targets)
//	      reason: Target.ResponseCodeMismatch  # the unhealthy targets' top reason code
//	      target_group: checkout               # default "the target group"
//	      deploy_before_spike: 4m
//	      task_definition: checkout:42         # of that deployment (default "unknown")
//	    reading: "ELB 502s (12% of requests), 3 of 6 targets unhealthy (Target.ResponseCodeMismatch), began 4 min after task definition checkout:42"
//	    expect: [{policy: checkout-target-5xx, action: ecs.rollback}]
//
// The action expected is that of the step the ladder proposes first: the
// first whose `when:` conditions hold for the case's evidence
// (policy.FirstStep); without evidence, conditions do not hold.
//
// reading (optional) is the line the card would read for the case's
// evidence (evidence.Read with the shipped reading rules; see
// docs/readings.md); it is checked whatever the alarm matched.
//
// An empty expect means that no policy may match; a payload that is not an
// alarm state change (alarm.IgnoredError) matches nothing.
package policytest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

// Dir is where fixtures live inside a policy directory.
const Dir = "tests"

// Expect is one expected (or actual) match.
type Expect struct {
	Policy string `yaml:"policy" json:"policy"`
	// Step is the ladder step (1-based) whose action and params are
	// expected; 0 means the first.
	Step   int            `yaml:"step,omitempty" json:"step,omitempty"`
	Action string         `yaml:"action,omitempty" json:"action,omitempty"`
	Params map[string]any `yaml:"params,omitempty" json:"params,omitempty"`
}

// String renders e as "policy -> action", or "policy step N -> action"
// for a later step.
func (e Expect) String() string {
	name := e.Policy
	if e.Step > 1 {
		name = fmt.Sprintf("%s step %d", e.Policy, e.Step)
	}
	if e.Action == "" {
		return name
	}
	return name + " -> " + e.Action
}

// step is e's 1-based step.
func (e Expect) step() int { return max(e.Step, 1) }

// Result is the outcome of one case.
type Result struct {
	File string // the fixture file, relative to the policy directory
	Name string // the case's name, or "case N"
	Want []Expect
	// Got lists what matched: each policy with the action and rendered
	// params of the step proposed first for the case's evidence.
	Got []Expect
	// WantReading is the reading the case expects, nil when it expects
	// none; Reading is the one the evidence gave, and ReadingRules the
	// reading rules that said its clauses.
	WantReading  *string
	Reading      string
	ReadingRules []string
	// Ignored is the reason the payload is not an alarm state change.
	Ignored string
	// Err is why the case could not run or a matched step failed to render.
	Err error
}

// Passed reports whether the case ran and matched as expected.
func (r *Result) Passed() bool {
	if r.Err != nil || len(r.Got) != len(r.Want) || !r.ReadingPassed() {
		return false
	}
	for i, w := range r.Want {
		g := r.Got[i]
		if w.Policy != g.Policy || w.step() != g.step() || w.Action != "" && w.Action != g.Action {
			return false
		}
		for k, v := range w.Params {
			if !sameValue(v, g.Params[k]) {
				return false
			}
		}
	}
	return true
}

// ReadingPassed reports whether the reading is the one expected, or none
// was.
func (r *Result) ReadingPassed() bool { return r.WantReading == nil || *r.WantReading == r.Reading }

// ParamDiffs names each expected param that differs from the rendered one,
// policy by policy: `params of P step 1: service: expected "payments", got
// "checkout"`. It is empty when every expected param is as rendered.
func (r *Result) ParamDiffs() []string {
	var out []string
	for i, w := range r.Want {
		if i >= len(r.Got) || r.Got[i].Policy != w.Policy || len(w.Params) == 0 {
			continue
		}
		g := r.Got[i]
		var diffs []string
		for _, k := range slices.Sorted(maps.Keys(w.Params)) {
			got, ok := g.Params[k]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s: expected %s, not rendered", k, show(w.Params[k])))
			case !sameValue(w.Params[k], got):
				diffs = append(diffs, fmt.Sprintf("%s: expected %s, got %s", k, show(w.Params[k]), show(got)))
			}
		}
		if len(diffs) > 0 {
			out = append(out, fmt.Sprintf("params of %s step %d: %s", w.Policy, g.step(), strings.Join(diffs, "; ")))
		}
	}
	return out
}

// show writes a param value as JSON, so strings are quoted.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

type rawCase struct {
	Name     string    `yaml:"name"`
	Alarm    string    `yaml:"alarm"`
	Payload  yaml.Node `yaml:"payload"`
	Evidence *Evidence `yaml:"evidence"`
	Reading  *string   `yaml:"reading"`
	Expect   *[]Expect `yaml:"expect"`
}

// Evidence is what a case says the collectors found, in the terms of
// `when:` conditions (policy.Facts) and of the reading's view. Every field
// is optional: a missing one is unknown.
type Evidence struct {
	// Source (elb or target) and Code (502, 503, 504, 5xx) are where most
	// 5xx came from and their dominant code; ErrorRate their share of
	// requests, a fraction (0.12 reads "12%").
	Source    string   `yaml:"source"`
	Code      string   `yaml:"code"`
	ErrorRate *float64 `yaml:"error_rate"`
	// UnhealthyTargets and Targets count the target group's unhealthy and
	// registered targets (Targets defaults to UnhealthyTargets); Reason is
	// the unhealthy targets' most frequent reason code; TargetGroup names
	// the group (default "the target group"). Giving any of them makes the
	// target health known.
	UnhealthyTargets *int   `yaml:"unhealthy_targets"`
	Targets          *int   `yaml:"targets"`
	Reason           string `yaml:"reason"`
	TargetGroup      string `yaml:"target_group"`
	// DeployBeforeSpike is how long before the spike began the service's
	// last deployment started, e.g. 4m; TaskDefinition is that
	// deployment's (default "unknown").
	DeployBeforeSpike string `yaml:"deploy_before_spike"`
	TaskDefinition    string `yaml:"task_definition"`
}

// spikeStart is when a fixture's spike begins; only differences from it
// matter.
var spikeStart = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// Gathered returns the evidence the collectors would have stored for e,
// from which the reading and the facts of `when:` conditions are drawn as
// for a real incident. Nil e gives empty evidence; a malformed duration or
// a count out of range is an error naming the field.
func (e *Evidence) Gathered() (*store.Evidence, error) {
	ev := &store.Evidence{}
	if e == nil {
		return ev, nil
	}
	var since *time.Duration
	if e.DeployBeforeSpike != "" {
		d, err := time.ParseDuration(e.DeployBeforeSpike)
		if err != nil {
			return nil, fmt.Errorf("evidence.deploy_before_spike: %w", err)
		}
		since = &d
	}
	if e.Source != "" || e.Code != "" || e.ErrorRate != nil || since != nil {
		ev.Pattern = &store.Pattern{Source: e.Source, Code: e.Code, ErrorRate: -1, StartedAt: spikeStart}
		if e.ErrorRate != nil {
			if *e.ErrorRate < 0 || *e.ErrorRate > 1 {
				return nil, fmt.Errorf("evidence.error_rate: must be a fraction from 0 to 1, got %g", *e.ErrorRate)
			}
			ev.Pattern.ErrorRate = *e.ErrorRate
		}
	}
	if e.UnhealthyTargets != nil || e.Targets != nil || e.Reason != "" || e.TargetGroup != "" {
		h := &store.Health{TargetGroup: cmp.Or(e.TargetGroup, "the target group")}
		if e.UnhealthyTargets != nil {
			h.Unhealthy = *e.UnhealthyTargets
		}
		total := h.Unhealthy
		if e.Targets != nil {
			total = *e.Targets
		}
		switch {
		case h.Unhealthy < 0:
			return nil, fmt.Errorf("evidence.unhealthy_targets: must be >= 0, got %d", h.Unhealthy)
		case total < h.Unhealthy:
			return nil, fmt.Errorf("evidence.targets: %d registered cannot hold %d unhealthy", total, h.Unhealthy)
		}
		h.Healthy = total - h.Unhealthy
		if e.Reason != "" {
			h.Reasons = []store.ReasonCount{{Reason: e.Reason, Count: h.Unhealthy}}
		}
		ev.Health = h
	}
	if since != nil {
		ev.Changes = &store.Changes{Deployments: []store.ECSDeployment{{
			Status: "PRIMARY", TaskDefinition: cmp.Or(e.TaskDefinition, "unknown"), CreatedAt: spikeStart.Add(-*since),
		}}}
	}
	return ev, nil
}

type rawFixture struct {
	rawCase `yaml:",inline"`
	Cases   []rawCase `yaml:"cases"`
}

// Run runs every fixture file (*.yaml, *.yml) under tests/ in fsys against
// set. Problems with the fixture files themselves (unreadable, malformed,
// no cases) are returned as a *policy.Errors after the results of the cases
// that could run. A directory without fixtures gives no results and no
// error.
func Run(fsys fs.FS, set *policy.Set) ([]*Result, error) {
	entries, err := fs.ReadDir(fsys, Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var results []*Result
	var problems policy.Errors
	for _, e := range entries {
		if e.IsDir() || !policy.IsPolicyFile(e.Name()) {
			continue
		}
		file := path.Join(Dir, e.Name())
		cases, errs := readFixture(fsys, file)
		if errs != nil {
			problems = append(problems, errs...)
			continue
		}
		for i, c := range cases {
			results = append(results, runCase(fsys, set, file, i, c))
		}
	}
	if len(problems) > 0 {
		return results, &problems
	}
	return results, nil
}

// Payload is the alarm payload one fixture case feeds to the policies.
type Payload struct {
	File string // the fixture file, relative to the policy directory
	Name string // the case's name, or "case N"
	Data []byte
	// Facts are the case's evidence, as steps' `when:` conditions see it;
	// zero (nothing known) when the case gives none.
	Facts policy.Facts
}

// Payloads reads the alarm payload of every fixture case under tests/ in
// fsys, for tools that evaluate the fixtures otherwise (policy diff).
// Fixture files or cases that cannot be read are returned as problems,
// after the payloads that could.
func Payloads(fsys fs.FS) ([]Payload, []error) {
	entries, err := fs.ReadDir(fsys, Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("read fixtures: %w", err)}
	}
	var out []Payload
	var problems []error
	for _, e := range entries {
		if e.IsDir() || !policy.IsPolicyFile(e.Name()) {
			continue
		}
		file := path.Join(Dir, e.Name())
		cases, errs := readFixture(fsys, file)
		for _, pe := range errs {
			problems = append(problems, pe)
		}
		if errs != nil {
			continue
		}
		for i, c := range cases {
			name := caseName(i, c)
			data, err := payloadOf(fsys, file, c)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %s: %w", file, name, err))
				continue
			}
			ev, err := c.Evidence.Gathered()
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %s: %w", file, name, err))
				continue
			}
			out = append(out, Payload{File: file, Name: name, Data: data, Facts: ev.Facts()})
		}
	}
	return out, problems
}

func caseName(i int, c rawCase) string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("case %d", i+1)
}

// readFixture reads one fixture file. Its problems name the file, the line
// and the field, as policy errors do.
func readFixture(fsys fs.FS, file string) ([]rawCase, policy.Errors) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, policy.Errors{{File: file, Msg: err.Error()}}
	}
	var f rawFixture
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, policy.DecodeErrors(file, data, err, reflect.TypeFor[rawFixture](), reflect.TypeFor[rawCase](), reflect.TypeFor[Expect](), reflect.TypeFor[Evidence]())
	}
	single := f.Alarm != "" || f.Payload.Kind != 0 || f.Expect != nil
	switch {
	case single && f.Cases != nil:
		return nil, policy.Errors{{File: file, Line: keyLine(data, "cases"), Path: "cases", Msg: "give either cases or one case (alarm/payload and expect), not both"}}
	case single:
		return []rawCase{f.rawCase}, nil
	case len(f.Cases) == 0:
		return nil, policy.Errors{{File: file, Line: keyLine(data, "cases"), Path: "cases", Msg: "no cases"}}
	}
	return f.Cases, nil
}

// keyLine returns the line of a top-level key of a YAML file, 0 when absent.
func keyLine(data []byte, key string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 0
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

func runCase(fsys fs.FS, set *policy.Set, file string, i int, c rawCase) *Result {
	r := &Result{File: file, Name: caseName(i, c)}
	if c.Expect == nil {
		r.Err = errors.New("expect is required (expect: [] for no match)")
		return r
	}
	r.Want = *c.Expect
	ev, err := c.Evidence.Gathered()
	if err != nil {
		r.Err = err
		return r
	}
	facts := ev.Facts()
	if c.Reading != nil {
		r.WantReading = c.Reading
		rules, err := evidence.ShippedRules()
		if err != nil {
			r.Err = fmt.Errorf("reading rules: %w", err)
			return r
		}
		got := rules.Read(ev)
		r.Reading, r.ReadingRules = got.Line, got.Rules
	}
	payload, err := payloadOf(fsys, file, c)
	if err != nil {
		r.Err = err
		return r
	}
	alarms, err := alarm.Decode(payload)
	var ignored *alarm.IgnoredError
	if errors.As(err, &ignored) {
		r.Ignored = ignored.Reason
		return r
	}
	if err != nil {
		r.Err = fmt.Errorf("decode alarm: %w", err)
		return r
	}
	var errs []error
	for _, a := range alarms {
		for _, p := range set.Match(a) {
			index, _ := p.FirstStep(facts)
			if index < 0 {
				r.Got = append(r.Got, Expect{Policy: p.Name, Action: "(no step: no when: holds)"})
				continue
			}
			// The step the evidence picks, unless the expectation in this
			// place names a step, so that a fixture can check a later one.
			n, explicit := index+1, false
			if i := len(r.Got); i < len(r.Want) && r.Want[i].Policy == p.Name && r.Want[i].Step > 0 {
				n, explicit = r.Want[i].Step, true
			}
			if n > len(p.Steps) {
				errs = append(errs, fmt.Errorf("policy %s has %d step(s); the fixture expects step %d", p.Name, len(p.Steps), n))
				n, explicit = index+1, false
			}
			st := p.Steps[n-1]
			params, err := st.Render(a)
			if err != nil {
				errs = append(errs, err)
			}
			got := Expect{Policy: p.Name, Action: st.Action, Params: params}
			if explicit && n > 1 {
				got.Step = n
			}
			r.Got = append(r.Got, got)
		}
	}
	r.Err = errors.Join(errs...)
	return r
}

func payloadOf(fsys fs.FS, file string, c rawCase) ([]byte, error) {
	switch {
	case c.Alarm != "" && c.Payload.Kind != 0:
		return nil, errors.New("give alarm or payload, not both")
	case c.Alarm != "":
		name := path.Join(path.Dir(file), c.Alarm)
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read alarm payload: %w", err)
		}
		return data, nil
	case c.Payload.Kind == yaml.ScalarNode:
		return []byte(c.Payload.Value), nil
	case c.Payload.Kind != 0:
		var v any
		if err := c.Payload.Decode(&v); err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return data, nil
	}
	return nil, errors.New("alarm (a payload file) or payload is required")
}

// sameValue compares a param as written in a fixture with a rendered one,
// after both went through JSON (so 2 and 2.0 are equal).
func sameValue(want, got any) bool {
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			return v
		}
		var out any
		if json.Unmarshal(b, &out) != nil {
			return v
		}
		return out
	}
	return reflect.DeepEqual(norm(want), norm(got))
}

// Failed returns the results that did not pass.
func Failed(results []*Result) []*Result {
	return slices.DeleteFunc(slices.Clone(results), (*Result).Passed)
}
