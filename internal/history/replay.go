package history

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations"
)

// Window is how long after a policy would have fired an ALARM may return to
// OK and still count as having recovered by itself: before a human or the
// next step would act. It is the second step's `after` when the policy has
// a second step (the next rung would be proposed once it elapsed with the
// alarm still in ALARM); otherwise the policy's cooldown (the policy would
// not act again before it ends); and policy.DefaultAfter when the cooldown
// is off (0s).
func Window(p *policy.Policy) time.Duration {
	switch {
	case len(p.Steps) > 1:
		return p.Steps[1].After
	case p.Cooldown > 0:
		return p.Cooldown
	}
	return policy.DefaultAfter
}

// PolicyReplay is how one policy would have behaved on the records.
type PolicyReplay struct {
	Policy  string
	Enabled bool
	// Matched counts the state changes the policy matched (ALARM
	// transitions for the usual policy). Each is counted in exactly one of
	// Fired, HeldByCooldown, HeldByCap and RenderErrors.
	Matched int
	// Fired counts the matched state changes the policy would have acted
	// on: its first step rendered, its target was not in cooldown and the
	// policy was under its cap for the hour.
	Fired int
	// HeldByCooldown counts the matched state changes that came while the
	// policy's cooldown on the same target (see Run) still ran from an
	// earlier firing; HeldByCap those that came when the policy had already
	// fired Cap times in that clock hour. The engine would have proposed
	// them held back (an auto step blocked, a required one with the
	// guardrail as a warning that stops it once approved), not run them.
	HeldByCooldown, HeldByCap int
	// Cooldown and Cap are the guardrails applied: the policy's cooldown and
	// executions per hour (policy.Policy.Cap).
	Cooldown time.Duration
	Cap      int
	// Action and Approval are those of the policy's first step: what it
	// would have done first.
	Action   string
	Approval policy.Approval
	// EvidenceGated is true when the policy's steps have when:
	// conditions: alarm history holds no evidence, so the replay takes the
	// step chosen when no condition holds (the first step without
	// conditions; the first step when every step has some).
	EvidenceGated bool
	// RenderErrors counts matched state changes for which the first step's
	// parameters could not be rendered: the engine cannot plan those and
	// blocks them, so they neither fire nor start a cooldown.
	RenderErrors int
	// Window is the self-resolve window (see Window); SelfResolved counts
	// the fired ALARM transitions whose next state change was to OK within
	// it.
	Window       time.Duration
	SelfResolved int
	// Alarms are the distinct alarm names the policy matched, sorted.
	Alarms []string
}

// Replay is the outcome of replaying records against a set of policies.
type Replay struct {
	Records int
	// From and To are the first and last record's timestamps.
	From, To time.Time
	// AlarmTransitions counts the records whose new state is ALARM;
	// Unmatched those of them no policy matched, UnmatchedAlarms their
	// distinct alarm names, sorted.
	AlarmTransitions int
	Unmatched        int
	UnmatchedAlarms  []string
	// Policies has one entry per policy, in the set's order.
	Policies []PolicyReplay
}

// Run replays records (in any order) against policies, for example
// set.Policies(), in timestamp order, applying each policy's guardrails as
// the engine would: a firing starts the policy's cooldown on its target,
// during which the policy does not act on that target again, and counts
// towards the policy's cap for that clock hour (policy.Policy.Cap); what
// they hold back is counted apart from what fires. Every firing is counted
// as if it ran, as promoting a shadow step would make it.
//
// The replay makes no AWS calls, so it cannot plan, and the plan names the
// target the engine keys cooldowns by. It stands in for it with what
// decides the plan's target: the first step's action and rendered
// parameters, and the alarm's account, region and metric dimensions (the
// alarm's name when it has none). Two alarms on different dimensions whose
// step names the same resource outright thus get a cooldown each: the
// replay errs towards counting more firings, not fewer. The engine's
// global cap, shared by all policies, is not applied.
func Run(records []Record, policies []*policy.Policy) *Replay {
	recs := slices.Clone(records)
	sortRecords(recs)
	r := &Replay{Records: len(recs)}
	if len(recs) > 0 {
		r.From, r.To = recs[0].Timestamp, recs[len(recs)-1].Timestamp
	}
	// next[i] is the index of the alarm's next state change, or -1.
	next := make([]int, len(recs))
	last := make(map[string]int)
	for i := len(recs) - 1; i >= 0; i-- {
		next[i] = -1
		if j, ok := last[recs[i].Name]; ok {
			next[i] = j
		}
		last[recs[i].Name] = i
	}
	type guards struct {
		until map[string]time.Time // cooldown end by target
		hour  map[time.Time]int    // firings by clock hour
	}
	g := make([]guards, len(policies))
	r.Policies = make([]PolicyReplay, len(policies))
	for k, p := range policies {
		pr := &r.Policies[k]
		pr.Policy, pr.Enabled, pr.Window = p.Name, p.Enabled, Window(p)
		pr.Cooldown, pr.Cap = p.Cooldown, p.Cap()
		if len(p.Steps) > 0 {
			st := replayStep(p)
			pr.Action, pr.Approval, pr.EvidenceGated = st.Action, st.Approval, p.HasConditions()
		}
		g[k] = guards{until: make(map[string]time.Time), hour: make(map[time.Time]int)}
	}
	unmatched := make(map[string]bool)
	for i := range recs {
		a := recs[i].Alarm()
		matched := false
		for k, p := range policies {
			if !p.Matches(a) {
				continue
			}
			matched = true
			pr := &r.Policies[k]
			pr.Matched++
			if !slices.Contains(pr.Alarms, a.Name) {
				pr.Alarms = append(pr.Alarms, a.Name)
			}
			var params remediations.Params
			action := ""
			if len(p.Steps) > 0 {
				var err error
				st := replayStep(p)
				if params, err = st.Render(a); err != nil {
					pr.RenderErrors++
					continue
				}
				action = st.Action
			}
			target := targetKey(a, action, params)
			hour := a.Timestamp.UTC().Truncate(time.Hour)
			switch {
			case a.Timestamp.Before(g[k].until[target]):
				pr.HeldByCooldown++
				continue
			case g[k].hour[hour] >= pr.Cap:
				pr.HeldByCap++
				continue
			}
			pr.Fired++
			g[k].hour[hour]++
			if p.Cooldown > 0 {
				g[k].until[target] = a.Timestamp.Add(p.Cooldown)
			}
			if a.State == alarm.StateAlarm && next[i] >= 0 {
				n := recs[next[i]]
				if n.NewState == alarm.StateOK && n.Timestamp.Sub(a.Timestamp) <= pr.Window {
					pr.SelfResolved++
				}
			}
		}
		if recs[i].NewState == alarm.StateAlarm {
			r.AlarmTransitions++
			if !matched {
				r.Unmatched++
				unmatched[a.Name] = true
			}
		}
	}
	for k := range r.Policies {
		slices.Sort(r.Policies[k].Alarms)
	}
	for name := range unmatched {
		r.UnmatchedAlarms = append(r.UnmatchedAlarms, name)
	}
	slices.Sort(r.UnmatchedAlarms)
	return r
}

// targetKey stands in for the target of the plan a policy's first step
// would make for a (see Run).
func targetKey(a *alarm.Alarm, action string, params remediations.Params) string {
	var b strings.Builder
	b.WriteString(a.Account + "|" + a.Region + "|")
	dims := make(map[string]string)
	for _, m := range a.Metrics {
		for k, v := range m.Dimensions {
			dims[k] = v
		}
	}
	if len(dims) == 0 {
		b.WriteString("alarm=" + a.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		b.WriteString(k + "=" + dims[k] + ";")
	}
	b.WriteString("|" + action + "|")
	if data, err := json.Marshal(params); err == nil {
		b.Write(data)
	}
	return b.String()
}

// Policy returns the entry of the named policy, or nil.
func (r *Replay) Policy(name string) *PolicyReplay {
	for i := range r.Policies {
		if r.Policies[i].Policy == name {
			return &r.Policies[i]
		}
	}
	return nil
}

// FirstStep renders what the policy would have done first: "ecs.scale
// (auto)", with a note when when: conditions were not judged.
func (p *PolicyReplay) FirstStep() string {
	if p.Action == "" {
		return "-"
	}
	if p.EvidenceGated {
		return fmt.Sprintf("%s (%s; when: not judged, history holds no evidence)", p.Action, p.Approval)
	}
	return fmt.Sprintf("%s (%s)", p.Action, p.Approval)
}

// replayStep is the step a replay takes for p (len(p.Steps) > 0): the one
// proposed when no evidence is known (policy.FirstStep), the first step
// when none would be.
func replayStep(p *policy.Policy) *policy.Step {
	if i, _ := p.FirstStep(policy.Facts{}); i >= 0 {
		return p.Steps[i]
	}
	return p.Steps[0]
}

// SelfResolvedText renders SelfResolved as "3 of 5 (60%)", or "-" when the
// policy fired on nothing.
func (p *PolicyReplay) SelfResolvedText() string {
	if p.Fired == 0 {
		return "-"
	}
	return fmt.Sprintf("%d of %d (%d%%)", p.SelfResolved, p.Fired, p.SelfResolved*100/p.Fired)
}

// FiredText renders how often the policy would have fired: "2" when it
// would have acted on everything it matched, else "1 of 3 matched (2 held
// by cooldown)", naming what held the others back.
func (p *PolicyReplay) FiredText() string {
	if p.Fired == p.Matched {
		return fmt.Sprint(p.Fired)
	}
	var held []string
	if p.HeldByCooldown > 0 {
		held = append(held, fmt.Sprintf("%d held by cooldown", p.HeldByCooldown))
	}
	if p.HeldByCap > 0 {
		held = append(held, fmt.Sprintf("%d held by the cap of %d/h", p.HeldByCap, p.Cap))
	}
	if p.RenderErrors > 0 {
		held = append(held, fmt.Sprintf("%d could not render", p.RenderErrors))
	}
	return fmt.Sprintf("%d of %d matched (%s)", p.Fired, p.Matched, strings.Join(held, ", "))
}

// Markdown writes the replay as a Markdown section: a summary line and a
// table with one row per policy, then the ALARM transitions no policy
// matched. title is the section heading.
func (r *Replay) Markdown(w io.Writer, title string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", title)
	if r.Records == 0 {
		b.WriteString("No recorded state changes.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "%d recorded state changes from %s to %s, %d of them to ALARM.\n\n",
		r.Records, r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.AlarmTransitions)
	b.WriteString("| policy | matched | would have fired | held by cooldown | held by cap | first step | returned to OK by itself | within | render errors | alarms |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|---|---|---:|---|\n")
	for _, p := range r.Policies {
		name := "`" + p.Policy + "`"
		if !p.Enabled {
			name += " (disabled)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %s | %d | %s |\n", name, p.Matched, p.Fired,
			heldText(p.HeldByCooldown, "cooldown "+policy.FormatDuration(p.Cooldown)), heldText(p.HeldByCap, fmt.Sprintf("cap %d/h", p.Cap)),
			cell(p.FirstStep()), p.SelfResolvedText(), policy.FormatDuration(p.Window), p.RenderErrors, cell(listSome(p.Alarms, 5)))
	}
	fmt.Fprintf(&b, "\n%d ALARM transition(s) matched no policy", r.Unmatched)
	if len(r.UnmatchedAlarms) > 0 {
		fmt.Fprintf(&b, ": %s", listSome(r.UnmatchedAlarms, 10))
	}
	b.WriteString(".\n\n")
	b.WriteString("_Would have fired_: matched, and neither held by the policy's cooldown on the same target nor by its cap for the hour " +
		"(the first firing starts the cooldown; held state changes would have been proposed blocked), nor unable to render. " +
		"_Returned to OK by itself_: of the firings, those whose alarm's next state change was to OK within the window, " +
		"before a human or the policy's next step would have acted (the second step's `after`, else the cooldown): a hint of false positives.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// heldText renders a held-back count with what held it: "2 (cooldown
// 30m)", or "0".
func heldText(n int, by string) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", n, by)
}

// listSome lists up to n names and says how many more there are.
func listSome(names []string, n int) string {
	if len(names) == 0 {
		return "-"
	}
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
