package alb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// ExitCondition is when maintenance may end: on evidence that the service
// is back, not on the alarm the maintenance page silenced (a 503 rule keeps
// an ELB 5xx alarm firing, and a target 5xx alarm goes quiet because no
// request reaches the targets). alb.maintenance records it in its plan and
// result (exit_* params); ExitCheck.Check evaluates it.
type ExitCondition struct {
	// TargetGroups are the ARNs whose targets must be healthy: the
	// exit_target_groups param, else the alarm's TargetGroup dimensions,
	// else the target groups of the listener's default forward action.
	TargetGroups []string `json:"target_groups"`
	// MinHealthy is how many targets of each target group must be healthy.
	MinHealthy int `json:"min_healthy"`
	// Probe, when set, must answer a GET with 2xx or 3xx.
	Probe string `json:"probe,omitempty"`
	// Auto says the policy lets medic turn maintenance off by itself when
	// the condition holds (exit: auto); otherwise it proposes it.
	Auto bool `json:"auto,omitempty"`
}

// ExitStatus is one evaluation of an ExitCondition.
type ExitStatus struct {
	// Holds is true when every part of the condition holds.
	Holds bool
	// Evidence says, per part, what was found, e.g. "targetgroup/web/...:
	// 3 of 4 targets healthy (want at least 1)".
	Evidence []string
	// Auto is the condition's Auto.
	Auto bool
	// Since is when maintenance went on (Apply's time), zero when unknown;
	// InFor is how long ago that was at the check.
	Since time.Time
	InFor time.Duration
}

// TargetHealthDescriber reads target health; *elasticloadbalancingv2.Client
// satisfies it.
type TargetHealthDescriber interface {
	DescribeTargetHealth(ctx context.Context, in *elasticloadbalancingv2.DescribeTargetHealthInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetHealthOutput, error)
}

var _ TargetHealthDescriber = (*elasticloadbalancingv2.Client)(nil)

// ExitCheck evaluates exit conditions. It only reads.
type ExitCheck struct {
	elb  TargetHealthDescriber
	http *http.Client
	now  func() time.Time
}

// NewExitCheck returns an ExitCheck reading target health through c and
// probing with hc (a client with a 5 s timeout when nil).
func NewExitCheck(c TargetHealthDescriber, hc *http.Client) *ExitCheck {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &ExitCheck{elb: c, http: hc, now: time.Now}
}

// ExitOf returns the exit condition and the start of maintenance an
// alb.maintenance "on" result records; ok is false for any other result or
// one that set no exit condition.
func ExitOf(res *remediations.Result) (cond ExitCondition, since time.Time, ok bool) {
	if res == nil || res.Action != ActionName {
		return ExitCondition{}, time.Time{}, false
	}
	var d resultData
	if err := json.Unmarshal(res.Data, &d); err != nil || d.Mode != ModeOn || d.Exit == nil {
		return ExitCondition{}, time.Time{}, false
	}
	return *d.Exit, d.Since, true
}

// Check evaluates cond now: every target group must have at least
// MinHealthy healthy targets and the probe, when set, must answer 2xx or
// 3xx. A failing read is an error (the condition is unknown, which is not
// "holds"); a failing probe is evidence that it does not hold.
func (x *ExitCheck) Check(ctx context.Context, cond ExitCondition, since time.Time) (ExitStatus, error) {
	st := ExitStatus{Holds: true, Auto: cond.Auto, Since: since}
	if !since.IsZero() {
		st.InFor = x.now().Sub(since).Round(time.Second)
	}
	if len(cond.TargetGroups) == 0 && cond.Probe == "" {
		return st, fmt.Errorf("check maintenance exit: the condition names no target group and no probe: %w", remediations.ErrInvalid)
	}
	min := max(cond.MinHealthy, 1)
	for _, tg := range cond.TargetGroups {
		out, err := x.elb.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			return ExitStatus{}, fmt.Errorf("check maintenance exit: %w", classify(err, "elasticloadbalancing:DescribeTargetHealth", tg))
		}
		healthy, total := 0, 0
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth == nil {
				continue
			}
			switch d.TargetHealth.State {
			case types.TargetHealthStateEnumUnused, types.TargetHealthStateEnumDraining:
				continue // not serving, and not expected to
			case types.TargetHealthStateEnumHealthy:
				healthy++
			}
			total++
		}
		ok := healthy >= min
		st.Holds = st.Holds && ok
		st.Evidence = append(st.Evidence, fmt.Sprintf("%s: %d of %d targets healthy (want at least %d)", shortARN(tg), healthy, total, min))
	}
	if cond.Probe != "" {
		ok, what := x.probe(ctx, cond.Probe)
		st.Holds = st.Holds && ok
		st.Evidence = append(st.Evidence, what)
	}
	return st, nil
}

// probe GETs u and says whether it answered 2xx or 3xx.
func (x *ExitCheck) probe(ctx context.Context, u string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Sprintf("probe %s: %v", u, err)
	}
	req.Header.Set("User-Agent", "medic-maintenance-exit-probe")
	// The probe must reach the service, not a cached page.
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := x.http.Do(req)
	if err != nil {
		return false, fmt.Sprintf("probe %s: no answer (%v)", u, err)
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 400
	return ok, fmt.Sprintf("probe %s: %s", u, resp.Status)
}

// exitCondition builds the exit condition of a maintenance plan from its
// params, the alarm and the listener; nil when the policy asks for none
// (no exit_* param).
func exitCondition(p remediations.Params, a *alarm.Alarm, l *types.Listener) (*ExitCondition, error) {
	mode := p.String("exit")
	_, haveMin := p["exit_min_healthy"]
	if mode == "" && !haveMin && p.String("exit_probe") == "" && len(p.Strings("exit_target_groups")) == 0 {
		return nil, nil
	}
	cond := &ExitCondition{MinHealthy: 1, Probe: p.String("exit_probe"), Auto: mode == ExitAuto}
	if n, ok := p.Int("exit_min_healthy"); ok {
		cond.MinHealthy = n
	}
	if cond.Probe != "" {
		u, err := url.Parse(cond.Probe)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("exit_probe %q is not an http(s) URL: %w", cond.Probe, remediations.ErrInvalid)
		}
	}
	cond.TargetGroups = p.Strings("exit_target_groups")
	if len(cond.TargetGroups) == 0 && a != nil {
		// A TargetGroup dimension is the ARN's tail; the listener's ARN
		// gives the region and account.
		prefix, _, _ := strings.Cut(aws.ToString(l.ListenerArn), "listener/")
		for _, m := range a.Metrics {
			if tg := m.Dimensions["TargetGroup"]; tg != "" && !containsString(cond.TargetGroups, prefix+tg) {
				cond.TargetGroups = append(cond.TargetGroups, prefix+tg)
			}
		}
	}
	if len(cond.TargetGroups) == 0 {
		for _, act := range l.DefaultActions {
			if act.Type != types.ActionTypeEnumForward {
				continue
			}
			if arn := aws.ToString(act.TargetGroupArn); arn != "" {
				cond.TargetGroups = append(cond.TargetGroups, arn)
			} else if act.ForwardConfig != nil {
				for _, t := range act.ForwardConfig.TargetGroups {
					cond.TargetGroups = append(cond.TargetGroups, aws.ToString(t.TargetGroupArn))
				}
			}
		}
	}
	if len(cond.TargetGroups) == 0 && cond.Probe == "" {
		return nil, fmt.Errorf("exit condition: no target group to watch (the alarm has no TargetGroup dimension and the listener forwards to none): give exit_target_groups or exit_probe: %w", remediations.ErrInvalid)
	}
	return cond, nil
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// describeExit says in words what the exit condition waits for.
func describeExit(c *ExitCondition) string {
	var parts []string
	for _, tg := range c.TargetGroups {
		parts = append(parts, fmt.Sprintf("%s has %d+ healthy targets", shortARN(tg), max(c.MinHealthy, 1)))
	}
	if c.Probe != "" {
		parts = append(parts, c.Probe+" answers 2xx/3xx")
	}
	how := "proposes maintenance off"
	if c.Auto {
		how = "turns maintenance off by itself"
	}
	return "when " + strings.Join(parts, " and ") + ", medic " + how
}
