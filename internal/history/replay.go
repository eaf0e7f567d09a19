package history

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
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
	// Fired counts the state changes the policy matched (ALARM transitions
	// for the usual policy).
	Fired int
	// Action and Approval are those of the policy's first step: what it
	// would have done first.
	Action   string
	Approval policy.Approval
	// RenderErrors counts matched state changes for which the first step's
	// parameters could not be rendered.
	RenderErrors int
	// Window is the self-resolve window (see Window); SelfResolved counts
	// the matched ALARM transitions whose next state change was to OK
	// within it.
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
// set.Policies().
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
	r.Policies = make([]PolicyReplay, len(policies))
	for k, p := range policies {
		pr := &r.Policies[k]
		pr.Policy, pr.Enabled, pr.Window = p.Name, p.Enabled, Window(p)
		if len(p.Steps) > 0 {
			pr.Action, pr.Approval = p.Steps[0].Action, p.Steps[0].Approval
		}
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
			pr.Fired++
			if !slices.Contains(pr.Alarms, a.Name) {
				pr.Alarms = append(pr.Alarms, a.Name)
			}
			if len(p.Steps) > 0 {
				if _, err := p.Steps[0].Render(a); err != nil {
					pr.RenderErrors++
				}
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
// (auto)".
func (p *PolicyReplay) FirstStep() string {
	if p.Action == "" {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", p.Action, p.Approval)
}

// SelfResolvedText renders SelfResolved as "3 of 5 (60%)", or "-" when the
// policy matched no ALARM.
func (p *PolicyReplay) SelfResolvedText() string {
	if p.Fired == 0 {
		return "-"
	}
	return fmt.Sprintf("%d of %d (%d%%)", p.SelfResolved, p.Fired, p.SelfResolved*100/p.Fired)
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
	b.WriteString("| policy | fired | first step | returned to OK by itself | within | render errors | alarms |\n")
	b.WriteString("|---|---:|---|---|---|---:|---|\n")
	for _, p := range r.Policies {
		name := "`" + p.Policy + "`"
		if !p.Enabled {
			name += " (disabled)"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d | %s |\n", name, p.Fired, cell(p.FirstStep()), p.SelfResolvedText(),
			shortDuration(p.Window), p.RenderErrors, cell(listSome(p.Alarms, 5)))
	}
	fmt.Fprintf(&b, "\n%d ALARM transition(s) matched no policy", r.Unmatched)
	if len(r.UnmatchedAlarms) > 0 {
		fmt.Fprintf(&b, ": %s", listSome(r.UnmatchedAlarms, 10))
	}
	b.WriteString(".\n\n")
	b.WriteString("_Returned to OK by itself_: the alarm's next state change after a matched ALARM was to OK within the window, " +
		"before a human or the policy's next step would have acted (the second step's `after`, else the cooldown): a hint of false positives.\n")
	_, err := io.WriteString(w, b.String())
	return err
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

// shortDuration renders 10m0s as 10m and 1h30m0s as 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
