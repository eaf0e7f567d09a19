package policydiff

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/medicbot/medic/internal/history"
	"github.com/medicbot/medic/internal/policy"
)

// Input is what Compare compares.
type Input struct {
	// Base and Head are the two versions' policies (Set.Policies()); a
	// version without policy files has none.
	Base, Head []*policy.Policy
	// BaseName and HeadName label the versions in the report and prefix
	// the policies' file names, e.g. "main:policies" and "policies".
	BaseName, HeadName string
	// Samples are the alarms evaluated under both versions (the union of
	// both versions' fixtures: see UnionSamples).
	Samples []Sample
	// History, when given, is replayed under both versions; each record is
	// also evaluated as a sample.
	History []history.Record
	// Notes are said under the report's title, e.g. that the base version
	// has no policy directory at all.
	Notes []string
}

// Report is the behaviour change between two versions of the policies.
type Report struct {
	BaseName, HeadName string
	// Notes are Input.Notes.
	Notes []string
	// Widening lists the changes that widen automation, sorted by policy
	// and path.
	Widening []Finding
	// Added and Removed are the policies only head or only base has, by
	// name.
	Added, Removed []PolicyRef
	// Changed lists the policies both versions have whose definitions
	// differ, by name.
	Changed []PolicyChange
	// Alarms lists the alarms whose handling differs, by alarm name and
	// source.
	Alarms []AlarmChange
	// Samples and HistoryRecords count what was evaluated.
	Samples, HistoryRecords int
	// BaseReplay and HeadReplay are the history replays (nil without a
	// history).
	BaseReplay, HeadReplay *history.Replay
}

// PolicyRef names a policy and where it is defined.
type PolicyRef struct {
	Name  string
	Where string // file:line, the file prefixed with the version's name
	// Steps is the ladder in one line: "ecs.scale (auto), github.rollback (required)".
	Steps string
}

// Finding is one change that widens automation.
type Finding struct {
	Policy string
	Where  string // file:line of the policy in head (base when removed)
	Path   string // the field, e.g. steps[0].approval; "" for the whole policy
	// Alarm is set on findings that an alarm shows: an alarm head would
	// handle automatically where base did not.
	Alarm string
	Msg   string
}

// PolicyChange is a policy both versions define differently.
type PolicyChange struct {
	Name  string
	Where string
	// Fields are the differing fields, by path.
	Fields []FieldChange
}

// Cosmetic reports whether only fields that do not change behaviour
// (description, runbook) differ.
func (c *PolicyChange) Cosmetic() bool {
	return !slices.ContainsFunc(c.Fields, func(f FieldChange) bool { return !cosmetic[f.Path] })
}

// FieldChange is one field of a policy that differs; a field one version
// does not have is "".
type FieldChange struct {
	Path, Base, Head string
}

// Outcome is what one policy does first for an alarm.
type Outcome struct {
	Policy   string
	Action   string
	Approval policy.Approval
}

// String renders o as "policy → action (approval)".
func (o Outcome) String() string {
	return fmt.Sprintf("%s → %s (%s)", o.Policy, o.Action, o.Approval)
}

// AlarmChange is an alarm whose matches, first actions or approval modes
// differ between the versions.
type AlarmChange struct {
	Alarm  string
	Source string
	// Count is how many samples of this alarm and source changed the same
	// way (recorded alarms fire many times).
	Count      int
	Base, Head []Outcome
	// Widens is true when head runs something automatically that base did
	// not.
	Widens bool
}

// BehaviourChanged reports whether behaviour differs: a policy added,
// removed or changed in more than its description or runbook, or an alarm
// handled differently.
func (r *Report) BehaviourChanged() bool {
	if len(r.Added) > 0 || len(r.Removed) > 0 || len(r.Alarms) > 0 || len(r.Widening) > 0 {
		return true
	}
	return slices.ContainsFunc(r.Changed, func(c PolicyChange) bool { return !c.Cosmetic() })
}

// Compare compares the two versions of in.
func Compare(in Input) *Report {
	r := &Report{BaseName: in.BaseName, HeadName: in.HeadName, Notes: in.Notes, Samples: len(in.Samples), HistoryRecords: len(in.History)}
	base, head := byName(in.Base), byName(in.Head)
	for _, name := range slices.Sorted(maps.Keys(head)) {
		h := head[name]
		b, ok := base[name]
		if !ok {
			r.Added = append(r.Added, ref(in.HeadName, h))
			r.Widening = append(r.Widening, widensNew(where(in.HeadName, h), h)...)
			continue
		}
		if fields := diffFields(flatten(b), flatten(h)); len(fields) > 0 {
			r.Changed = append(r.Changed, PolicyChange{Name: name, Where: where(in.HeadName, h), Fields: fields})
		}
		r.Widening = append(r.Widening, widens(where(in.HeadName, h), b, h)...)
	}
	for _, name := range slices.Sorted(maps.Keys(base)) {
		if _, ok := head[name]; !ok {
			r.Removed = append(r.Removed, ref(in.BaseName, base[name]))
		}
	}

	samples := slices.Clone(in.Samples)
	for i := range in.History {
		samples = append(samples, Sample{Source: SourceHistory, Alarm: in.History[i].Alarm()})
	}
	r.Alarms = compareAlarms(samples, in.Base, in.Head)
	r.Widening = append(r.Widening, alarmFindings(r.Alarms)...)
	// By policy; within one, the policy's own changes before the alarms
	// that show them.
	slices.SortStableFunc(r.Widening, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.Policy, b.Policy), strings.Compare(a.Alarm, b.Alarm),
			comparePaths(a.Path, b.Path), strings.Compare(a.Msg, b.Msg))
	})
	if in.History != nil {
		r.BaseReplay = history.Run(in.History, in.Base)
		r.HeadReplay = history.Run(in.History, in.Head)
	}
	return r
}

func byName(ps []*policy.Policy) map[string]*policy.Policy {
	out := make(map[string]*policy.Policy, len(ps))
	for _, p := range ps {
		out[p.Name] = p
	}
	return out
}

func where(version string, p *policy.Policy) string {
	file := p.File
	if version != "" {
		file = strings.TrimSuffix(version, "/") + "/" + p.File
	}
	if p.Line > 0 {
		file += ":" + strconv.Itoa(p.Line)
	}
	return file
}

func ref(version string, p *policy.Policy) PolicyRef {
	steps := make([]string, len(p.Steps))
	for i, st := range p.Steps {
		steps[i] = fmt.Sprintf("%s (%s)", st.Action, st.Approval)
	}
	s := strings.Join(steps, ", ")
	if !p.Enabled {
		s += "; disabled"
	}
	return PolicyRef{Name: p.Name, Where: where(version, p), Steps: s}
}

// cosmetic are the fields that change what people read, not what medic does.
var cosmetic = map[string]bool{"description": true, "runbook": true}

// flatten lists a policy's fields by path, values as text, so that two
// versions compare field by field. Defaults are applied (the compiled
// policy), so writing a default out is no change.
func flatten(p *policy.Policy) map[string]string {
	f := map[string]string{
		"description":  p.Description,
		"runbook":      p.Runbook,
		"enabled":      strconv.FormatBool(p.Enabled),
		"cooldown":     policy.FormatDuration(p.Cooldown),
		"max_per_hour": capText(p.MaxPerHour),
		"on_recovery":  p.OnRecovery,
		"slack":        p.SlackChannel,
		"match.state":  string(p.Match.State),
	}
	for name, list := range map[string][]string{
		"alarm": p.Match.Alarm, "namespace": p.Match.Namespace, "metric": p.Match.Metric,
		"accounts": p.Match.Accounts, "regions": p.Match.Regions,
	} {
		if len(list) > 0 {
			f["match."+name] = listText(list)
		}
	}
	for k, v := range p.Match.Dimensions {
		f["match.dimensions."+k] = v
	}
	for k, v := range p.Match.Tags {
		f["match.tags."+k] = v
	}
	for i, st := range p.Steps {
		s := fmt.Sprintf("steps[%d].", i)
		f[s+"action"] = st.Action
		f[s+"approval"] = string(st.Approval)
		f[s+"when"] = st.When.String()
		if i > 0 {
			f[s+"after"] = policy.FormatDuration(st.After)
		}
		if st.Approval == policy.ApprovalRequired {
			f[s+"approvers"] = listText(st.Approvers)
			f[s+"quorum"] = strconv.Itoa(st.Quorum)
			f[s+"expires"] = policy.FormatDuration(st.Expires)
		}
		for name, v := range st.Params() {
			f[s+"params."+name] = valueText(v)
		}
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

func diffFields(base, head map[string]string) []FieldChange {
	keys := slices.Collect(maps.Keys(base))
	for k := range head {
		if _, ok := base[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, comparePaths)
	var out []FieldChange
	for _, k := range keys {
		if base[k] != head[k] {
			out = append(out, FieldChange{Path: k, Base: base[k], Head: head[k]})
		}
	}
	return out
}

// comparePaths orders paths with steps[10] after steps[9].
func comparePaths(a, b string) int {
	ai, aok := stepIndex(a)
	bi, bok := stepIndex(b)
	if aok && bok && ai != bi {
		return cmp.Compare(ai, bi)
	}
	return strings.Compare(a, b)
}

func stepIndex(p string) (int, bool) {
	rest, ok := strings.CutPrefix(p, "steps[")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, "]")
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// capText renders a max_per_hour: "6", or "engine default (3)" when the
// policy sets none.
func capText(n int) string {
	if n == 0 {
		return fmt.Sprintf("engine default (%d)", policy.DefaultMaxPerHour)
	}
	return strconv.Itoa(n)
}

func listText(l []string) string {
	if len(l) == 1 {
		return l[0]
	}
	return "[" + strings.Join(l, ", ") + "]"
}

// valueText renders a parameter as written: strings bare, the rest as JSON
// (maps with sorted keys).
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
