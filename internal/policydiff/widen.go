package policydiff

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/medicbot/medic/internal/policy"
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
// become auto (or can run at all), higher caps, shorter cooldowns and
// waits, fewer approvers, lower quorums, undo on recovery and broader
// matches. A policy disabled in head widens nothing.
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

	switch {
	case b.MaxPerHour > 0 && h.MaxPerHour == 0:
		add("max_per_hour", "cap removed: %d per hour → the engine default", b.MaxPerHour)
	case b.MaxPerHour > 0 && h.MaxPerHour > b.MaxPerHour:
		add("max_per_hour", "higher cap: %d → %d per hour", b.MaxPerHour, h.MaxPerHour)
	}
	if h.Cooldown < b.Cooldown {
		add("cooldown", "shorter cooldown: %s → %s", duration(b.Cooldown), duration(h.Cooldown))
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
			add(p+".after", "auto step %s runs sooner: after %s → %s", hs.Action, duration(bs.After), duration(hs.After))
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
