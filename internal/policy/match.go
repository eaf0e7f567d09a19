package policy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/medicbot/medic/internal/alarm"
)

// glob is one compiled pattern with path.Match semantics; literal patterns
// compare with ==.
type glob struct {
	pattern string
	literal bool
}

// prefix returns the literal text before the first wildcard.
func (g glob) prefix() string {
	if g.literal {
		return g.pattern
	}
	i := strings.IndexAny(g.pattern, `*?[\`)
	return g.pattern[:i]
}

func (g glob) match(s string) bool {
	if g.literal {
		return g.pattern == s
	}
	ok, _ := path.Match(g.pattern, s)
	return ok
}

// globs match when empty (no constraint) or when any of them matches.
type globs []glob

func (gs globs) match(s string) bool {
	if len(gs) == 0 {
		return true
	}
	for _, g := range gs {
		if g.match(s) {
			return true
		}
	}
	return false
}

// keyGlob constrains the value of one key of a map (a dimension or a tag).
type keyGlob struct {
	key  string
	glob glob
}

// ActsOn reports whether medic acts on an alarm that moved to state s: it
// does only on ALARM. This is the one answer to "does this policy ever run"
// that validation, Match, `medic policy lint`, `medic policy test`,
// `medic simulate` and the engine share:
//
//   - validation refuses a policy whose match.state is one ActsOn rejects
//     (OK, INSUFFICIENT_DATA), since its steps would never run;
//   - Match and Policy.Matches return nothing for an alarm in such a state;
//   - the engine opens incidents and proposes steps only for such alarms.
//
// A change to OK is a recovery: the engine resolves the alarm's open
// incidents, cancels what still waits, and, for policies with
// on_recovery: undo, undoes their reversible auto steps. A change to
// INSUFFICIENT_DATA is ignored.
func ActsOn(s alarm.State) bool { return s == alarm.StateAlarm }

// matcher is a compiled match block.
type matcher struct {
	enabled   bool
	state     alarm.State
	alarm     globs
	accounts  globs
	regions   globs
	tags      []keyGlob
	namespace globs
	metric    globs
	dims      []keyGlob
}

// matches reports whether a satisfies every constraint.
func (m *matcher) matches(a *alarm.Alarm) bool {
	if !m.enabled || !ActsOn(a.State) || a.State != m.state || !m.alarm.match(a.Name) ||
		!m.accounts.match(a.Account) || !m.regions.match(a.Region) {
		return false
	}
	for _, t := range m.tags {
		v, ok := a.Tags[t.key]
		if !ok || !t.glob.match(v) {
			return false
		}
	}
	if len(m.namespace) == 0 && len(m.metric) == 0 && len(m.dims) == 0 {
		return true
	}
	for i := range a.Metrics {
		if m.matchesMetric(&a.Metrics[i]) {
			return true
		}
	}
	return false // includes composite alarms, which watch no metric
}

func (m *matcher) matchesMetric(met *alarm.Metric) bool {
	if !m.namespace.match(met.Namespace) || !m.metric.match(met.Name) {
		return false
	}
	for _, d := range m.dims {
		v, ok := met.Dimensions[d.key]
		if !ok || !d.glob.match(v) {
			return false
		}
	}
	return true
}

func (v *validator) match(p fieldPath, rm *rawMatch) (Match, matcher) {
	if rm == nil {
		v.add(p, "required: say which alarms this policy answers (alarm, namespace, metric, dimensions or tags)")
		return Match{}, matcher{}
	}
	out := Match{
		Alarm:      slices.Clone(rm.Alarm),
		State:      alarm.State(rm.State),
		Namespace:  slices.Clone(rm.Namespace),
		Metric:     slices.Clone(rm.Metric),
		Dimensions: maps.Clone(rm.Dimensions),
		Accounts:   slices.Clone(rm.Accounts),
		Regions:    slices.Clone(rm.Regions),
		Tags:       maps.Clone(rm.Tags),
	}
	if out.State == "" {
		out.State = alarm.StateAlarm
	}
	switch {
	case !out.State.Valid():
		v.add(p.key("state"), "must be ALARM (CloudWatch's states are ALARM, OK or INSUFFICIENT_DATA, and medic acts only on ALARM), got %q", rm.State)
	case !ActsOn(out.State):
		v.add(p.key("state"), "medic acts only on ALARM state changes, so a policy on %s never runs; "+
			"recovery (the alarm back to OK) is handled by on_recovery (on_recovery: undo undoes the policy's reversible auto steps): "+
			"leave state out or write state: ALARM", out.State)
	}
	if len(rm.Alarm)+len(rm.Namespace)+len(rm.Metric)+len(rm.Dimensions)+len(rm.Tags) == 0 {
		v.add(p, "must constrain at least one of alarm, namespace, metric, dimensions or tags: a policy for every alarm is almost certainly a mistake")
	}
	m := matcher{
		state:     out.State,
		alarm:     v.globs(p.key("alarm"), rm.Alarm),
		accounts:  v.globs(p.key("accounts"), v.expandAccounts(p.key("accounts"), rm.Accounts)),
		regions:   v.globs(p.key("regions"), rm.Regions),
		namespace: v.globs(p.key("namespace"), rm.Namespace),
		metric:    v.globs(p.key("metric"), rm.Metric),
		dims:      v.keyGlobs(p.key("dimensions"), rm.Dimensions),
		tags:      v.keyGlobs(p.key("tags"), rm.Tags),
	}
	return out, m
}

func (v *validator) globs(p fieldPath, patterns []string) globs {
	var out globs
	for i, s := range patterns {
		if g, ok := v.glob(p.at(i), s); ok {
			out = append(out, g)
		}
	}
	return out
}

func (v *validator) keyGlobs(p fieldPath, m map[string]string) []keyGlob {
	var out []keyGlob
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" {
			v.add(p, "has an empty key")
			continue
		}
		if g, ok := v.glob(p.key(k), m[k]); ok {
			out = append(out, keyGlob{k, g})
		}
	}
	return out
}

func (v *validator) glob(p fieldPath, s string) (glob, bool) {
	if s == "" {
		v.add(p, "empty pattern")
		return glob{}, false
	}
	if _, err := path.Match(s, ""); err != nil {
		v.add(p, "bad pattern %q: %v (path.Match syntax: *, ?, [a-z], \\ escapes)", s, err)
		return glob{}, false
	}
	return glob{pattern: s, literal: !strings.ContainsAny(s, `*?[\`)}, true
}

// index narrows the policies an alarm can match without looking at each.
// Every enabled policy is filed under its most selective key: the alarm
// names (exact, or the literal prefix of a glob), else the metric names,
// else the scan list. Entries are policy positions in declaration order.
type index struct {
	exact      map[string][]int32
	prefix     map[string][]int32
	prefixLens []int // distinct lengths of the keys of prefix, ascending
	metric     map[string][]int32
	scan       []int32
}

func newSet(policies []*Policy) *Set {
	s := &Set{
		policies: policies,
		byName:   make(map[string]*Policy, len(policies)),
		index: index{
			exact:  make(map[string][]int32),
			prefix: make(map[string][]int32),
			metric: make(map[string][]int32),
		},
	}
	for i, p := range policies {
		s.byName[p.Name] = p
		if p.Enabled {
			s.index.add(int32(i), &p.matcher)
		}
	}
	for k := range s.index.prefix {
		s.index.prefixLens = append(s.index.prefixLens, len(k))
	}
	slices.Sort(s.index.prefixLens)
	s.index.prefixLens = slices.Compact(s.index.prefixLens)
	return s
}

func (ix *index) add(i int32, m *matcher) {
	file := func(bucket map[string][]int32, key string) {
		if ids := bucket[key]; len(ids) == 0 || ids[len(ids)-1] != i {
			bucket[key] = append(ids, i)
		}
	}
	switch {
	case len(m.alarm) > 0 && !slices.ContainsFunc(m.alarm, func(g glob) bool { return g.prefix() == "" }):
		for _, g := range m.alarm {
			if g.literal {
				file(ix.exact, g.pattern)
			} else {
				file(ix.prefix, g.prefix())
			}
		}
	case len(m.metric) > 0 && !slices.ContainsFunc(m.metric, func(g glob) bool { return !g.literal }):
		for _, g := range m.metric {
			file(ix.metric, g.pattern)
		}
	default:
		ix.scan = append(ix.scan, i)
	}
}

// Match returns the enabled policies matching a, in declaration order, or
// nil. It allocates only the returned slice.
func (s *Set) Match(a *alarm.Alarm) []*Policy {
	var buf [16]int32
	hits := s.check(buf[:0], s.index.exact[a.Name], a)
	for _, n := range s.index.prefixLens {
		if n > len(a.Name) {
			break
		}
		hits = s.check(hits, s.index.prefix[a.Name[:n]], a)
	}
	for i := range a.Metrics {
		name := a.Metrics[i].Name
		if !slices.ContainsFunc(a.Metrics[:i], func(m alarm.Metric) bool { return m.Name == name }) {
			hits = s.check(hits, s.index.metric[name], a)
		}
	}
	hits = s.check(hits, s.index.scan, a)
	if len(hits) == 0 {
		return nil
	}
	slices.Sort(hits)
	hits = slices.Compact(hits)
	out := make([]*Policy, len(hits))
	for i, h := range hits {
		out[i] = s.policies[h]
	}
	return out
}

// check appends to hits the candidates that match a.
func (s *Set) check(hits, candidates []int32, a *alarm.Alarm) []int32 {
	for _, i := range candidates {
		if s.policies[i].matcher.matches(a) {
			hits = append(hits, i)
		}
	}
	return hits
}

// OutsideDeployment returns a warning for each policy whose match.accounts
// does not include account, or whose match.regions does not include region:
// medic acts only in the account and region it is deployed in, so it would
// block such a policy's steps. Each warning names the file, line and field
// the way validation errors do; they are warnings, not errors (the set is
// valid, and a file shared by several deployments may name others). An
// empty account or region (not known) skips that check; a policy without
// accounts or regions matches any, so it is never warned about.
func (s *Set) OutsideDeployment(account, region string) []*Error {
	var out []*Error
	for _, p := range s.policies {
		base := fieldPath{"policies", p.pos, "match"}
		if account != "" && len(p.matcher.accounts) > 0 && !p.matcher.accounts.match(account) {
			out = append(out, &Error{File: p.File, Line: p.accountsLine, Path: base.key("accounts").String(),
				Msg: fmt.Sprintf("does not include account %s: medic acts only in account %s (its own) and would block this policy's steps", account, account)})
		}
		if region != "" && len(p.matcher.regions) > 0 && !p.matcher.regions.match(region) {
			out = append(out, &Error{File: p.File, Line: p.regionsLine, Path: base.key("regions").String(),
				Msg: fmt.Sprintf("does not include region %s: medic acts only in region %s (its own) and would block this policy's steps", region, region)})
		}
	}
	Errors(out).sort()
	return out
}

// Matches reports whether the policy matches a (a disabled policy never
// does).
func (p *Policy) Matches(a *alarm.Alarm) bool { return p.matcher.matches(a) }

// Policies returns every policy, disabled ones included, in declaration
// order (files in name order).
func (s *Set) Policies() []*Policy { return slices.Clone(s.policies) }

// Policy returns the named policy, or nil.
func (s *Set) Policy(name string) *Policy { return s.byName[name] }

// DisruptiveActions are the actions that turn users away (the ALB answers
// every request with a maintenance page): lint warns when one runs with
// approval: auto.
var DisruptiveActions = []string{"alb.maintenance"}

// AutoDisruptive warns about each step that runs one of the
// DisruptiveActions with approval: auto, i.e. without a person deciding to
// turn users away. Such a policy is valid: the warning does not fail lint.
func (s *Set) AutoDisruptive() []*Error {
	var out []*Error
	for _, p := range s.policies {
		for _, st := range p.Steps {
			if st.Approval != ApprovalAuto || !slices.Contains(DisruptiveActions, st.Action) {
				continue
			}
			path := fieldPath{"policies", p.pos, "steps"}.at(st.Index).key("approval")
			out = append(out, &Error{File: p.File, Line: p.Line, Path: path.String(),
				Msg: fmt.Sprintf("auto runs %s without anyone approving: it turns every user away with the maintenance page; use approval: required unless that is what you mean", st.Action)})
		}
	}
	Errors(out).sort()
	return out
}
