package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Facts are what a step's `when:` conditions are judged against: the
// evidence gathered when the incident opened, reduced to the few facts
// conditions name. A nil or empty field is unknown, and a condition over
// an unknown fact does not hold.
type Facts struct {
	// Source is where most 5xx came from: "elb" or "target"; "" unknown.
	Source string
	// Code is the dominant code of that source: "502", "503", "504" or
	// "5xx"; "" unknown.
	Code string
	// UnhealthyTargets counts the target group's unhealthy targets;
	// Targets all its registered targets, whatever their state.
	UnhealthyTargets *int
	Targets          *int
	// SinceDeploy is how long after the service's last deployment the
	// spike began (negative: the deployment came after it began).
	SinceDeploy *time.Duration
	// Deploy names that deployment, e.g. "task definition checkout:42".
	Deploy string
}

// When is a step's compiled `when:` block. The zero When always holds.
type When struct {
	// DeployWithin > 0: the spike began within this long after the last
	// deployment.
	DeployWithin time.Duration
	// Unhealthy, when Op is set: UnhealthyTargets Op Unhealthy.
	Op        string
	Unhealthy int
	// Source and Codes, when set: the facts' Source is Source and Code one
	// of Codes.
	Source string
	Codes  []string
	// TargetsOp, when set: Targets TargetsOp TargetsCount. Only the
	// conditions of other files than policies (CompileConditions) set it.
	TargetsOp    string
	TargetsCount int
}

// IsZero reports whether w has no condition.
func (w *When) IsZero() bool {
	return w == nil || (w.DeployWithin == 0 && w.Op == "" && w.Source == "" && len(w.Codes) == 0 && w.TargetsOp == "")
}

// String gives the conditions as written, e.g. "deploy_within: 30m,
// unhealthy_targets: >= 1".
func (w *When) String() string {
	if w.IsZero() {
		return ""
	}
	var parts []string
	if w.DeployWithin > 0 {
		parts = append(parts, "deploy_within: "+short(w.DeployWithin))
	}
	if w.Op != "" {
		parts = append(parts, fmt.Sprintf("unhealthy_targets: %s %d", w.Op, w.Unhealthy))
	}
	if w.Source != "" {
		parts = append(parts, "source: "+w.Source)
	}
	if len(w.Codes) > 0 {
		parts = append(parts, "code: "+strings.Join(w.Codes, "|"))
	}
	if w.TargetsOp != "" {
		parts = append(parts, fmt.Sprintf("targets: %s %d", w.TargetsOp, w.TargetsCount))
	}
	return strings.Join(parts, ", ")
}

// Holds reports whether every condition of w holds for f; when one does
// not, why says which, in words ("no deployment within 30m before the
// spike (last: 2h10m before)").
func (w *When) Holds(f Facts) (ok bool, why string) {
	if w.IsZero() {
		return true, ""
	}
	if w.DeployWithin > 0 {
		switch {
		case f.SinceDeploy == nil:
			return false, "deploy_within: no deployment time or spike start known"
		case *f.SinceDeploy < 0 || *f.SinceDeploy > w.DeployWithin:
			return false, fmt.Sprintf("deploy_within %s: the spike began %s after the last deployment", short(w.DeployWithin), signed(*f.SinceDeploy))
		}
	}
	if w.Op != "" {
		switch {
		case f.UnhealthyTargets == nil:
			return false, "unhealthy_targets: target health unknown"
		case !compare(*f.UnhealthyTargets, w.Op, w.Unhealthy):
			return false, fmt.Sprintf("unhealthy_targets %s %d: %d unhealthy", w.Op, w.Unhealthy, *f.UnhealthyTargets)
		}
	}
	if w.Source != "" {
		switch {
		case f.Source == "":
			return false, "source: the 5xx source is unknown"
		case f.Source != w.Source:
			return false, fmt.Sprintf("source %s: most 5xx came from the %s", w.Source, f.Source)
		}
	}
	if len(w.Codes) > 0 {
		switch {
		case f.Code == "":
			return false, "code: the dominant 5xx code is unknown"
		case !slices.Contains(w.Codes, f.Code):
			return false, fmt.Sprintf("code %s: the dominant code is %s", strings.Join(w.Codes, "|"), f.Code)
		}
	}
	if w.TargetsOp != "" {
		switch {
		case f.Targets == nil:
			return false, "targets: target health unknown"
		case !compare(*f.Targets, w.TargetsOp, w.TargetsCount):
			return false, fmt.Sprintf("targets %s %d: %d registered", w.TargetsOp, w.TargetsCount, *f.Targets)
		}
	}
	return true, ""
}

func signed(d time.Duration) string {
	if d < 0 {
		return short(-d) + " before (not after)"
	}
	return short(d)
}

// short writes whole hours and minutes without the zero tail: 30m, 1h,
// 1h30m.
func short(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func compare(n int, op string, m int) bool {
	switch op {
	case ">=":
		return n >= m
	case "<=":
		return n <= m
	case ">":
		return n > m
	case "<":
		return n < m
	}
	return n == m
}

// codes are the values `when.code` accepts.
var codes = []string{"502", "503", "504", "5xx"}

// when validates and compiles a step's when block.
func (v *validator) when(p fieldPath, rw *rawWhen) *When {
	if rw == nil {
		return nil
	}
	if rw.empty() {
		v.add(p, "has no condition: give deploy_within, unhealthy_targets, source or code, or leave when out")
		return nil
	}
	w := v.conditions(p, rw)
	if w.IsZero() {
		return nil // every condition was invalid, and said so
	}
	return w
}

func (rw *rawWhen) empty() bool {
	return rw.DeployWithin == "" && strings.TrimSpace(rw.UnhealthyTargets) == "" && rw.Source == "" && len(rw.Code) == 0
}

// count compiles a count condition such as ">= 1" or "0".
func (v *validator) count(p fieldPath, s string) (op string, n int) {
	m := patterns["count"].FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		v.add(p, `must be a count with an optional operator such as ">= 1" or "0", got %q`, s)
		return "", 0
	}
	op = m[1]
	if op == "" {
		op = "=="
	}
	n, _ = strconv.Atoi(m[2])
	return op, n
}

// conditions compiles the conditions of rw that are given.
func (v *validator) conditions(p fieldPath, rw *rawWhen) *When {
	w := &When{}
	if rw.DeployWithin != "" {
		w.DeployWithin = v.duration(p.key("deploy_within"), rw.DeployWithin, 0)
		if d, err := time.ParseDuration(rw.DeployWithin); err == nil && d == 0 {
			v.add(p.key("deploy_within"), "must be more than 0s")
		}
	}
	if strings.TrimSpace(rw.UnhealthyTargets) != "" {
		w.Op, w.Unhealthy = v.count(p.key("unhealthy_targets"), rw.UnhealthyTargets)
	}
	switch rw.Source {
	case "", "elb", "target":
		w.Source = rw.Source
	default:
		v.add(p.key("source"), "must be elb or target, got %q", rw.Source)
	}
	for i, c := range rw.Code {
		c = strings.ToLower(c)
		if !slices.Contains(codes, c) {
			v.add(p.key("code").at(i), "must be one of %s, got %q", strings.Join(codes, ", "), rw.Code[i])
			continue
		}
		w.Codes = append(w.Codes, c)
	}
	return w
}

// Conditions is a `when:` block written in another YAML file than a policy
// (the reading rules of package evidence): the conditions of steps, and
// targets, the number of targets registered in the target group ("0": none).
// Decode it strictly (yaml.v3 KnownFields) and compile it with
// CompileConditions.
type Conditions struct {
	rawWhen `yaml:",inline"`
	Targets string `yaml:"targets"`
}

// CompileConditions validates and compiles c, found at path at in file
// (root is the file's YAML tree, for line numbers). Every problem is
// returned at once, each naming file, line and path, as policy errors do.
// A nil c compiles to nil, which always holds.
func CompileConditions(file string, root *yaml.Node, at []any, c *Conditions) (*When, Errors) {
	if c == nil {
		return nil, nil
	}
	var v validator
	p := fieldPath(at)
	var w *When
	if c.rawWhen.empty() && strings.TrimSpace(c.Targets) == "" {
		v.add(p, "has no condition: give deploy_within, unhealthy_targets, targets, source or code, or leave when out")
	} else {
		w = v.conditions(p, &c.rawWhen)
		if strings.TrimSpace(c.Targets) != "" {
			w.TargetsOp, w.TargetsCount = v.count(p.key("targets"), c.Targets)
		}
	}
	var errs Errors
	for _, pe := range v.errs {
		errs = append(errs, &Error{File: file, Line: LineOf(root, pe.path), Path: pe.path.String(), Msg: pe.msg})
	}
	if errs != nil {
		return nil, errs
	}
	return w, nil
}

// HasConditions reports whether any step of p has `when:` conditions.
func (p *Policy) HasConditions() bool {
	return slices.ContainsFunc(p.Steps, func(st *Step) bool { return !st.When.IsZero() })
}

// FirstStep is the rule the engine, `medic simulate` and the fixtures
// share: the index of p's first step whose `when:` conditions hold for f,
// and why each step before it was skipped ("step 1 (ecs.scale) skipped:
// unhealthy_targets == 0: 3 unhealthy"); -1 when no step's conditions
// hold. A step without conditions always holds.
func (p *Policy) FirstStep(f Facts) (int, []string) { return p.FirstStepFrom(0, f) }

// FirstStepFrom is FirstStep among the steps from index from on: the rule
// the ladder applies when it moves on to a later step.
func (p *Policy) FirstStepFrom(from int, f Facts) (int, []string) {
	var skipped []string
	for i := max(from, 0); i < len(p.Steps); i++ {
		st := p.Steps[i]
		ok, why := st.When.Holds(f)
		if ok {
			return i, skipped
		}
		skipped = append(skipped, fmt.Sprintf("step %d (%s) skipped: %s", i+1, st.Action, why))
	}
	return -1, skipped
}
