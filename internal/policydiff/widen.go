package policydiff

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations"
)

// widensNew flags a new policy that runs something without a human.
func widensNew(at string, p *policy.Policy) []Finding {
	if !p.Enabled {
		return nil
	}
	if auto := autoSteps(p); auto != "" {
		return []Finding{{Policy: p.Name, Where: at, Msg: "new policy with auto step(s): " + auto}}
	}
	return nil
}

func autoSteps(p *policy.Policy) string {
	var out []string
	for i, st := range p.Steps {
		if st.Approval == policy.ApprovalAuto {
			out = append(out, fmt.Sprintf("steps[%d] %s", i, st.Action))
		}
	}
	return strings.Join(out, ", ")
}

// widens lists what head does more automatically than base: steps that
// become auto (or can run at all), higher caps (as the engine applies
// them), shorter cooldowns and waits, auto steps whose parameters let the
// action do more (widerParams), fewer approvers, lower quorums, undo on
// recovery and broader matches. A policy disabled in head widens nothing.
func widens(at string, b, h *policy.Policy) []Finding {
	if !h.Enabled {
		return nil
	}
	var out []Finding
	add := func(p, format string, args ...any) {
		out = append(out, Finding{Policy: h.Name, Where: at, Path: p, Msg: fmt.Sprintf(format, args...)})
	}
	if !b.Enabled {
		msg := "enabled (was disabled)"
		if auto := autoSteps(h); auto != "" {
			msg += " with auto step(s): " + auto
		}
		add("enabled", "%s", msg)
		return out
	}

	// Caps are compared as the engine applies them: no max_per_hour is
	// the engine's default.
	if h.Cap() > b.Cap() {
		add("max_per_hour", "higher cap: %s → %s per hour", capText(b.MaxPerHour), capText(h.MaxPerHour))
	}
	if h.Cooldown < b.Cooldown {
		add("cooldown", "shorter cooldown: %s → %s", policy.FormatDuration(b.Cooldown), policy.FormatDuration(h.Cooldown))
	}
	if b.OnRecovery == "" && h.OnRecovery == policy.OnRecoveryUndo {
		add("on_recovery", "undoes its auto steps by itself when the alarm recovers (on_recovery: undo)")
	}
	out = append(out, widerMatch(at, h.Name, b.Match, h.Match)...)

	for i, hs := range h.Steps {
		p := fmt.Sprintf("steps[%d]", i)
		if i >= len(b.Steps) {
			if hs.Approval == policy.ApprovalAuto {
				add(p, "new auto step: %s", hs.Action)
			}
			continue
		}
		bs := b.Steps[i]
		switch {
		case hs.Approval == policy.ApprovalAuto && bs.Approval != policy.ApprovalAuto:
			add(p+".approval", "%s becomes auto (was %s)", hs.Action, bs.Approval)
		case hs.Approval == policy.ApprovalRequired && bs.Approval == policy.ApprovalShadow:
			add(p+".approval", "%s can now run, with approval (was shadow)", hs.Action)
		case hs.Approval == policy.ApprovalAuto && hs.Action != bs.Action:
			add(p+".action", "runs %s automatically (was %s)", hs.Action, bs.Action)
		}
		if hs.Approval == policy.ApprovalAuto && i > 0 && hs.After < bs.After {
			add(p+".after", "auto step %s runs sooner: after %s → %s", hs.Action, policy.FormatDuration(bs.After), policy.FormatDuration(hs.After))
		}
		if hs.Approval == policy.ApprovalAuto && hs.Action == bs.Action {
			for _, w := range widerParams(bs, hs) {
				add(p+".params."+w.name, "auto step %s %s", hs.Action, w.msg)
			}
		}
		if hs.Approval == policy.ApprovalRequired && bs.Approval == policy.ApprovalRequired {
			var removed []string
			for _, a := range bs.Approvers {
				if !slices.Contains(hs.Approvers, a) {
					removed = append(removed, a)
				}
			}
			if len(removed) > 0 {
				add(p+".approvers", "approver(s) removed: %s", strings.Join(removed, ", "))
			}
			if hs.Quorum < bs.Quorum {
				add(p+".quorum", "lower quorum: %d → %d", bs.Quorum, hs.Quorum)
			}
		}
	}
	return out
}

// widerMatch flags match constraints removed or loosened. An empty list
// or missing key does not constrain; a pattern added to a list, or a
// changed pattern, may match alarms the old ones did not.
func widerMatch(at, name string, b, h policy.Match) []Finding {
	var out []Finding
	add := func(p, format string, args ...any) {
		out = append(out, Finding{Policy: name, Where: at, Path: "match." + p, Msg: fmt.Sprintf(format, args...)})
	}
	lists := []struct {
		name string
		b, h []string
	}{
		{"accounts", b.Accounts, h.Accounts}, {"alarm", b.Alarm, h.Alarm}, {"metric", b.Metric, h.Metric},
		{"namespace", b.Namespace, h.Namespace}, {"regions", b.Regions, h.Regions},
	}
	for _, l := range lists {
		switch {
		case len(l.b) > 0 && len(l.h) == 0:
			add(l.name, "constraint removed (was %s): matches any %s", listText(l.b), l.name)
		case len(l.b) > 0:
			for _, pat := range l.h {
				if !slices.Contains(l.b, pat) {
					add(l.name, "%s %q added: %s", l.name, pat, broader(pat, l.b))
				}
			}
		}
	}
	for _, m := range []struct {
		name string
		b, h map[string]string
	}{{"dimensions", b.Dimensions, h.Dimensions}, {"tags", b.Tags, h.Tags}} {
		for _, k := range slices.Sorted(maps.Keys(m.b)) {
			hv, ok := m.h[k]
			switch {
			case !ok:
				add(m.name+"."+k, "constraint removed (was %q)", m.b[k])
			case hv != m.b[k]:
				add(m.name+"."+k, "%q → %q: %s", m.b[k], hv, broader(hv, []string{m.b[k]}))
			}
		}
	}
	if b.State != h.State {
		add("state", "answers %s transitions (was %s)", h.State, b.State)
	}
	return out
}

// broader says how a new pattern relates to the old ones: a superset when
// it matches one of them taken literally, else other alarms.
func broader(pat string, old []string) string {
	for _, o := range old {
		if ok, _ := path.Match(pat, o); ok && pat != o {
			return "broader than " + o
		}
	}
	return "may match alarms the old patterns did not"
}

type paramChange struct{ name, msg string }

// widerParams lists the parameters of an auto step that let its action do
// more in head than in base: those the action's schema marks Widens
// (remediations.Param.Widens: a bound, an amount, a reach or a permission)
// whose value went up (numbers and durations), turned on (booleans) or is
// given where it was not (nor had a default), and those it marks
// WidensDown (a threshold such as waf.rate_limit's limit, where a lower
// value throttles more clients) whose value went down. A parameter left out falls
// back on its default; one removed without a default is not flagged (the
// action does less, or another parameter of its group is given and
// flagged). A changed template cannot be compared before an alarm renders
// it, so it is flagged for review.
func widerParams(b, h *policy.Step) []paramChange {
	schema := h.Schema()
	bp, hp := b.Params(), h.Params()
	var out []paramChange
	for _, decl := range schema.Params {
		if !decl.Widens && !decl.WidensDown {
			continue
		}
		bv, bok := paramValue(bp, decl)
		hv, hok := paramValue(hp, decl)
		if !hok || bok && valueText(bv) == valueText(hv) {
			continue
		}
		if !bok {
			out = append(out, paramChange{decl.Name, fmt.Sprintf("%s given: %s (was not)", decl.Name, valueText(hv))})
			continue
		}
		if isTemplate(bv) || isTemplate(hv) {
			out = append(out, paramChange{decl.Name, fmt.Sprintf("%s templated: %s → %s; what it renders to cannot be compared here", decl.Name, valueText(bv), valueText(hv))})
			continue
		}
		switch c, ok := compareParam(decl.Type, bv, hv); {
		case !ok:
			out = append(out, paramChange{decl.Name, fmt.Sprintf("%s changed: %s → %s", decl.Name, valueText(bv), valueText(hv))})
		case decl.WidensDown && c < 0:
			out = append(out, paramChange{decl.Name, fmt.Sprintf("lower %s: %s → %s (tighter: acts on more)", decl.Name, valueText(bv), valueText(hv))})
		case decl.WidensDown:
		case c > 0 && decl.Type == remediations.TypeBool:
			out = append(out, paramChange{decl.Name, fmt.Sprintf("%s turned on (was %s)", decl.Name, valueText(bv))})
		case c > 0:
			out = append(out, paramChange{decl.Name, fmt.Sprintf("higher %s: %s → %s", decl.Name, valueText(bv), valueText(hv))})
		}
	}
	return out
}

// paramValue returns a step's value of a parameter, or its default.
func paramValue(p remediations.Params, decl remediations.Param) (any, bool) {
	if v, ok := p[decl.Name]; ok {
		return v, true
	}
	return decl.Default, decl.Default != nil
}

func isTemplate(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "{{")
}

// compareParam orders two literal values of a parameter of type t: -1, 0
// or +1 when head is below, equal to or above base; ok is false when they
// cannot be ordered.
func compareParam(t remediations.ParamType, b, h any) (int, bool) {
	switch t {
	case remediations.TypeInt, remediations.TypeNumber:
		bf, bok := remediations.AsNumber(b)
		hf, hok := remediations.AsNumber(h)
		return cmp.Compare(hf, bf), bok && hok
	case remediations.TypeDuration:
		bs, _ := b.(string)
		hs, _ := h.(string)
		bd, berr := time.ParseDuration(bs)
		hd, herr := time.ParseDuration(hs)
		return cmp.Compare(hd, bd), berr == nil && herr == nil
	case remediations.TypeBool:
		bb, bok := b.(bool)
		hb, hok := h.(bool)
		c := 0
		switch {
		case hb && !bb:
			c = 1
		case bb && !hb:
			c = -1
		}
		return c, bok && hok
	}
	return 0, false
}
