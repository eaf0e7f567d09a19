package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// The JSON `medic simulate --format json` prints: one object. When the
// payload holds several alarms (an SNS event with several records), "alarm"
// and "matches" describe the first and "alarms" lists every one.
type simOutput struct {
	// Policies is the policy set used: the directory given, or "embedded".
	Policies string      `json:"policies"`
	Alarm    *simAlarm   `json:"alarm"`
	Ignored  string      `json:"ignored,omitempty"`
	Matches  []simMatch  `json:"matches"`
	Alarms   []simResult `json:"alarms,omitempty"`
	// Evidence is the first alarm's, with --evidence.
	Evidence *store.Evidence `json:"evidence,omitempty"`
}

type simResult struct {
	Alarm   *simAlarm  `json:"alarm"`
	Matches []simMatch `json:"matches"`
	// Evidence is set with --evidence.
	Evidence *store.Evidence `json:"evidence,omitempty"`
}

type simAlarm struct {
	Name          string         `json:"name"`
	ARN           string         `json:"arn"`
	State         alarm.State    `json:"state"`
	PreviousState alarm.State    `json:"previous_state"`
	Account       string         `json:"account"`
	Region        string         `json:"region"`
	Timestamp     string         `json:"timestamp"`
	Metrics       []simMetric    `json:"metrics"`
	HTTP5xx       *alarm.HTTP5xx `json:"http5xx"`
}

type simMetric struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions"`
}

type simMatch struct {
	Policy string    `json:"policy"`
	Steps  []simStep `json:"steps"`
	// OnBlocked is what the ladder does after a BLOCKED or EXPIRED step;
	// Recovery what medic does when the alarm returns to OK.
	OnBlocked string `json:"on_blocked"`
	Recovery  string `json:"recovery"`
	// With --evidence: the step (1-based) the evidence picks, -1 for
	// none, and why the steps before it were skipped.
	Proposes int      `json:"proposes,omitempty"`
	Skipped  []string `json:"skipped,omitempty"`
}

type simStep struct {
	Action   string          `json:"action"`
	Approval policy.Approval `json:"approval"`
	After    string          `json:"after"`
	// When is the step's `when:` conditions as written: at intake a step
	// whose conditions do not hold is skipped (the next is proposed at
	// once); empty for none.
	When string `json:"when,omitempty"`
	// Approvers, Quorum and Expires say who must approve a required step,
	// how many of them, and how long the step waits for them.
	Approvers []string       `json:"approvers,omitempty"`
	Quorum    int            `json:"quorum,omitempty"`
	Expires   string         `json:"expires,omitempty"`
	Params    map[string]any `json:"params"`
	Error     string         `json:"error,omitempty"`
	// Plan and PlanError are set with --plan. Blocked says why a step is
	// not planned at all: the alarm is in another account or region than
	// the one medic acts in.
	Plan      *remediations.Plan `json:"plan,omitempty"`
	PlanError string             `json:"plan_error,omitempty"`
	Blocked   string             `json:"blocked,omitempty"`
}

// runSimulate decodes an alarm payload, matches it and renders every step
// of every matching policy. It changes nothing anywhere. A step that cannot
// render is reported in its "error" field and makes the exit status 1.
func runSimulate(ctx context.Context, e *env, args []string) int {
	fset := e.flags("simulate")
	dir := fset.String("policies", "", "policy directory (default: the embedded policies)")
	file := fset.String("alarm", "", "alarm payload file: EventBridge event, SNS event or message, or alarm action payload (- for stdin)")
	format := fset.String("format", "json", "output format: json or text")
	withPlan := fset.Bool("plan", false, "also plan each matched step against the real AWS/GitHub state (reads only, changes nothing)")
	withEvidence := fset.Bool("evidence", false, "also gather the evidence the alarm function would (reads only) and say which step it picks")
	budget := fset.Duration("budget", 0, "with --evidence: the time budget (default: the policies' evidence.budget, else 4s)")
	endpoint := fset.String("endpoint-url", "", "with --plan or --evidence: send every AWS call here (e.g. a moto server); default AWS_ENDPOINT_URL or AWS")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	switch {
	case *file == "":
		fmt.Fprintln(e.stderr, "medic simulate: --alarm FILE is required")
		return exitUsage
	case *format != "json" && *format != "text":
		fmt.Fprintf(e.stderr, "medic simulate: --format must be json or text, got %q\n", *format)
		return exitUsage
	case fset.NArg() > 0:
		fmt.Fprintf(e.stderr, "medic simulate: unexpected argument %q\n", fset.Arg(0))
		return exitUsage
	}
	set, _, code := e.loadPolicies(*dir)
	if set == nil {
		return code
	}
	data, err := e.readInput(*file)
	if err != nil {
		fmt.Fprintf(e.stderr, "medic simulate: %s\n", oneLine(err))
		return exitUsage
	}

	out := simOutput{Policies: *dir, Matches: []simMatch{}}
	if *dir == "" {
		out.Policies = "embedded"
	}
	alarms, err := alarm.Decode(data)
	var ignored *alarm.IgnoredError
	switch {
	case errors.As(err, &ignored):
		out.Ignored = ignored.Reason
	case err != nil:
		fmt.Fprintf(e.stderr, "medic simulate: %s: %s\n", *file, oneLine(err))
		return exitUsage
	}
	var planner engine.Actions
	var scope engine.Scope
	if *withPlan {
		if planner, scope, err = planRegistry(ctx, *endpoint); err != nil {
			fmt.Fprintf(e.stderr, "medic simulate: --plan: %s\n", oneLine(err))
			return exitUsage
		}
	}
	var gatherer *evidence.Gatherer
	if *withEvidence {
		if gatherer, err = evidenceGatherer(ctx, *endpoint); err != nil {
			fmt.Fprintf(e.stderr, "medic simulate: --evidence: %s\n", oneLine(err))
			return exitUsage
		}
	}
	code = exitOK
	for i, a := range alarms {
		r := simResult{Alarm: newSimAlarm(a), Matches: []simMatch{}}
		for _, p := range set.Match(a) {
			m := simMatch{Policy: p.Name, OnBlocked: p.OnBlocked, Recovery: e.recoveryText(p)}
			for _, st := range p.Steps {
				s := simStep{Action: st.Action, Approval: st.Approval, After: st.After.String(), When: st.When.String()}
				if st.Approval == policy.ApprovalRequired {
					s.Approvers, s.Quorum = st.Approvers, st.Quorum
					s.Expires = formatDuration(st.Expires)
				}
				params, err := st.Render(a)
				if err != nil {
					s.Error = oneLine(err)
					code = exitFindings
				}
				s.Params = params
				var refusal string
				if scope != nil {
					refusal = scope.Refusal(a)
				}
				if planner != nil && refusal != "" {
					s.Blocked = refusal
					code = exitFindings
				} else if planner != nil && err == nil {
					if s.Plan, err = planStep(ctx, planner, st.Action, a, params); err != nil {
						s.PlanError = oneLine(err)
						code = exitFindings
					}
				}
				m.Steps = append(m.Steps, s)
			}
			r.Matches = append(r.Matches, m)
		}
		if gatherer != nil && policy.ActsOn(a.State) && len(r.Matches) > 0 {
			simEvidence(ctx, gatherer, a, set.Match(a), *budget, &r)
		}
		if i == 0 {
			out.Alarm, out.Matches, out.Evidence = r.Alarm, r.Matches, r.Evidence
		}
		if len(alarms) > 1 {
			out.Alarms = append(out.Alarms, r)
		}
	}

	if *format == "text" {
		printText(e.stdout, &out)
		return code
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(e.stderr, "medic simulate: %v\n", err)
		return exitUsage
	}
	return code
}

func (e *env) readInput(file string) ([]byte, error) {
	if file == "-" {
		data, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, nil
	}
	return os.ReadFile(file)
}

// recoveryText says what medic does with the policy's steps when the alarm
// returns to OK.
func (e *env) recoveryText(p *policy.Policy) string {
	text := "back to OK: the incident resolves and steps still waiting are cancelled"
	if p.OnRecovery != policy.OnRecoveryUndo {
		return text + "; changes already made stay (on_recovery is not undo)"
	}
	var undone []string
	for _, st := range p.Steps {
		if sch, ok := e.catalog.Schema(st.Action); ok && sch.Reversible && st.Approval == policy.ApprovalAuto {
			undone = append(undone, fmt.Sprintf("step %d (%s)", st.Index+1, st.Action))
		}
	}
	return text + "; on_recovery: undo reverses " + strings.Join(undone, ", ") + " if it ran"
}

func newSimAlarm(a *alarm.Alarm) *simAlarm {
	s := &simAlarm{
		Name: a.Name, ARN: a.ARN, State: a.State, PreviousState: a.PreviousState,
		Account: a.Account, Region: a.Region, Timestamp: a.Timestamp.UTC().Format(time.RFC3339Nano),
		Metrics: []simMetric{}, HTTP5xx: a.HTTP5xx,
	}
	for _, m := range a.Metrics {
		dims := m.Dimensions
		if dims == nil {
			dims = map[string]string{}
		}
		s.Metrics = append(s.Metrics, simMetric{Namespace: m.Namespace, Name: m.Name, Dimensions: dims})
	}
	return s
}

// oneLine keeps an error message on one line, for stderr.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func printText(w io.Writer, out *simOutput) {
	if out.Policies == "embedded" {
		fmt.Fprintf(w, "policies: %s\n", embeddedNote)
	} else {
		fmt.Fprintf(w, "policies: %s\n", out.Policies)
	}
	if out.Alarm == nil {
		fmt.Fprintf(w, "not an alarm state change: %s\n", out.Ignored)
		return
	}
	results := out.Alarms
	if results == nil {
		results = []simResult{{Alarm: out.Alarm, Matches: out.Matches, Evidence: out.Evidence}}
	}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		a := r.Alarm
		fmt.Fprintf(w, "alarm %s: %s (was %s) in %s/%s at %s\n", a.Name, a.State, orNone(string(a.PreviousState)), a.Account, a.Region, a.Timestamp)
		for _, m := range a.Metrics {
			fmt.Fprintf(w, "  metric %s %s %s\n", m.Namespace, m.Name, keyValues(m.Dimensions))
		}
		if a.HTTP5xx != nil {
			fmt.Fprintf(w, "  http 5xx: %s %s\n", a.HTTP5xx.Source, a.HTTP5xx.Code)
		}
		switch {
		case !policy.ActsOn(a.State):
			fmt.Fprintf(w, "no policy runs: medic acts only on ALARM state changes; %s\n", notActedOn(a.State))
		case len(r.Matches) == 0:
			fmt.Fprintln(w, "no policy matches")
		}
		printEvidence(w, r.Evidence)
		for _, m := range r.Matches {
			fmt.Fprintf(w, "policy %s (after a BLOCKED or EXPIRED step: %s)\n", m.Policy, m.OnBlocked)
			if m.Proposes != 0 {
				fmt.Fprintf(w, "  the evidence picks step %d\n", m.Proposes)
				for _, sk := range m.Skipped {
					fmt.Fprintf(w, "  %s\n", sk)
				}
			}
			for j, s := range m.Steps {
				when := "at once"
				if j > 0 {
					when = "after " + s.After
				}
				detail := keyValues(s.Params)
				if s.Error != "" {
					detail = "ERROR " + s.Error
				}
				fmt.Fprintf(w, "  %d. %-16s %-9s %-14s %s\n", j+1, s.Action, s.Approval, when, detail)
				if s.When != "" {
					fmt.Fprintf(w, "     when: %s (at intake, otherwise skipped and the next step proposed at once)\n", s.When)
				}
				if s.Approval == policy.ApprovalRequired {
					fmt.Fprintf(w, "     approvers: %s, quorum %d, expires after %s\n", strings.Join(s.Approvers, " "), s.Quorum, s.Expires)
				}
				switch {
				case s.Blocked != "":
					fmt.Fprintf(w, "     plan: BLOCKED %s\n", s.Blocked)
				case s.PlanError != "":
					fmt.Fprintf(w, "     plan: ERROR %s\n", s.PlanError)
				case s.Plan != nil:
					fmt.Fprintf(w, "     plan: %s\n", s.Plan.Summary)
				}
			}
			fmt.Fprintf(w, "  %s\n", m.Recovery)
		}
	}
}

// notActedOn says what medic does with a change to a state it does not act
// on (policy.ActsOn is false).
func notActedOn(s alarm.State) string {
	if s == alarm.StateOK {
		return "a change to OK resolves the alarm's open incident, and policies with on_recovery: undo undo their reversible auto steps"
	}
	return "a change to " + orNone(string(s)) + " is ignored"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// keyValues renders a map as "k=v k=v" in key order.
func keyValues[V any](m map[string]V) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%v", k, m[k])
	}
	return b.String()
}

// planStep asks the action what it would change; it has no side effects.
func planStep(ctx context.Context, reg engine.Actions, action string, a *alarm.Alarm, params remediations.Params) (*remediations.Plan, error) {
	act, ok := reg.Get(action)
	if !ok {
		return nil, fmt.Errorf("unknown action %s", action)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return act.Plan(ctx, a, params)
}
