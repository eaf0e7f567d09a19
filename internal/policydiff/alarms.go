package policydiff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
)

// outcomes is what the policies do first for a: each matching policy with
// the step the ladder proposes first for the facts (policy.FirstStep: the
// first whose `when:` conditions hold), in declaration order.
func outcomes(ps []*policy.Policy, a *alarm.Alarm, facts policy.Facts) []Outcome {
	var out []Outcome
	for _, p := range ps {
		if !p.Matches(a) || len(p.Steps) == 0 {
			continue
		}
		i, _ := p.FirstStep(facts)
		if i < 0 {
			out = append(out, Outcome{Policy: p.Name, Action: noStepHolds})
			continue
		}
		out = append(out, Outcome{Policy: p.Name, Action: p.Steps[i].Action, Approval: p.Steps[i].Approval})
	}
	return out
}

// noStepHolds is the Action of an outcome where no step's `when:` holds.
const noStepHolds = "(no step: no when: holds)"

// outcomesText renders outcomes in one line, "no match" when empty.
func outcomesText(os []Outcome) string {
	if len(os) == 0 {
		return "no match"
	}
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = o.String()
	}
	return strings.Join(parts, "; ")
}

// widensAlarm reports whether head runs an action automatically for the
// alarm that base did not run automatically (same policy and action).
func widensAlarm(base, head []Outcome) bool {
	for _, h := range head {
		if h.Approval != policy.ApprovalAuto {
			continue
		}
		if !slices.ContainsFunc(base, func(b Outcome) bool {
			return b.Policy == h.Policy && b.Action == h.Action && b.Approval == policy.ApprovalAuto
		}) {
			return true
		}
	}
	return false
}

// compareAlarms evaluates every sample under both versions and returns the
// ones handled differently, grouped by alarm, source and the two outcomes,
// sorted by alarm name then source.
func compareAlarms(samples []Sample, base, head []*policy.Policy) []AlarmChange {
	type key struct{ alarm, source, base, head string }
	index := make(map[key]int)
	var out []AlarmChange
	for _, s := range samples {
		b, h := outcomes(base, s.Alarm, s.Facts), outcomes(head, s.Alarm, s.Facts)
		bt, ht := outcomesText(b), outcomesText(h)
		if bt == ht {
			continue
		}
		k := key{s.Alarm.Name, s.Source, bt, ht}
		if i, ok := index[k]; ok {
			out[i].Count++
			continue
		}
		index[k] = len(out)
		out = append(out, AlarmChange{Alarm: s.Alarm.Name, Source: s.Source, Count: 1, Base: b, Head: h, Widens: widensAlarm(b, h)})
	}
	slices.SortStableFunc(out, func(a, b AlarmChange) int {
		return cmp.Or(strings.Compare(a.Alarm, b.Alarm), strings.Compare(a.Source, b.Source),
			strings.Compare(outcomesText(a.Base), outcomesText(b.Base)), strings.Compare(outcomesText(a.Head), outcomesText(b.Head)))
	})
	return out
}

// alarmFindings turns the alarms head newly handles automatically into
// findings under the policy that would act, one per alarm and change with
// the number of fixture cases and recorded state changes showing it.
func alarmFindings(alarms []AlarmChange) []Finding {
	type key struct{ policy, alarm, auto, base string }
	type seen struct{ fixtures, recorded int }
	counts := make(map[key]*seen)
	var order []key
	for _, a := range alarms {
		if !a.Widens {
			continue
		}
		var auto []string
		name := ""
		for _, h := range a.Head {
			if h.Approval == policy.ApprovalAuto {
				auto = append(auto, h.Action)
				if name == "" {
					name = h.Policy
				}
			}
		}
		k := key{name, a.Alarm, strings.Join(auto, ", "), outcomesText(a.Base)}
		c := counts[k]
		if c == nil {
			c = &seen{}
			counts[k] = c
			order = append(order, k)
		}
		if a.Source == SourceHistory {
			c.recorded += a.Count
		} else {
			c.fixtures += a.Count
		}
	}
	out := make([]Finding, 0, len(order))
	for _, k := range order {
		c := counts[k]
		var where []string
		if c.fixtures > 0 {
			where = append(where, fmt.Sprintf("%d fixture case(s)", c.fixtures))
		}
		if c.recorded > 0 {
			where = append(where, fmt.Sprintf("%d recorded state change(s)", c.recorded))
		}
		out = append(out, Finding{Policy: k.policy, Alarm: k.alarm,
			Msg: fmt.Sprintf("alarm `%s` would now run %s automatically (was: %s); seen in %s", k.alarm, k.auto, k.base, strings.Join(where, " and "))})
	}
	return out
}
