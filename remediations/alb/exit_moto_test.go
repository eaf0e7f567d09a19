package alb

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/remediations"
)

func (w *world) registerIPs(tg string, ips ...string) {
	w.t.Helper()
	var targets []types.TargetDescription
	for _, ip := range ips {
		targets = append(targets, types.TargetDescription{Id: aws.String(ip), Port: aws.Int32(8080)})
	}
	_, err := w.elb.RegisterTargets(context.Background(), &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: targets})
	w.must("register targets", err)
}

// TestMaintenanceLeavesOnEvidence: the exit condition a maintenance plan
// records is checked against the target group's health (moto's
// DescribeTargetHealth) and a probe URL, and holds only when both do.
func TestMaintenanceLeavesOnEvidence(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	status := http.StatusServiceUnavailable
	probe := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(status) }))
	defer probe.Close()

	m := New(w.elb)
	plan, res := w.planApply(m, w.alb5xx(), remediations.Params{"listener": w.listener, "exit_probe": probe.URL + "/healthz", "exit_min_healthy": 2})
	if !strings.Contains(plan.Summary, "exit: when targetgroup/web/") || !strings.Contains(plan.Summary, "has 2+ healthy targets and "+probe.URL+"/healthz answers 2xx/3xx, medic proposes maintenance off") {
		t.Errorf("plan summary %q does not state the exit condition", plan.Summary)
	}
	cond, since, ok := ExitOf(resultRoundTrip(t, res))
	if !ok || len(cond.TargetGroups) != 1 || cond.TargetGroups[0] != w.web || cond.MinHealthy != 2 || cond.Auto || since.IsZero() {
		t.Fatalf("ExitOf = %+v since %v ok %v; want the listener's default target group %s, 2 healthy, propose", cond, since, ok, w.web)
	}

	x := NewExitCheck(w.elb, nil)
	x.now = func() time.Time { return since.Add(95 * time.Minute) }
	check := func(want bool, evidence ...string) {
		t.Helper()
		st, err := x.Check(ctx, cond, since)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		if st.Holds != want || st.InFor != 95*time.Minute {
			t.Errorf("holds = %v after %v, want %v: %q", st.Holds, st.InFor, want, st.Evidence)
		}
		for _, e := range evidence {
			if !strings.Contains(strings.Join(st.Evidence, "; "), e) {
				t.Errorf("evidence %q lacks %q", st.Evidence, e)
			}
		}
	}
	check(false, "0 of 0 targets healthy (want at least 2)", "503 Service Unavailable")
	w.registerIPs(w.web, "10.0.1.10", "10.0.2.10")
	check(false, "2 of 2 targets healthy", "503")
	status = http.StatusOK
	check(true, "2 of 2 targets healthy", "200 OK")
	_, err := w.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(w.web), Targets: []types.TargetDescription{{Id: aws.String("10.0.1.10"), Port: aws.Int32(8080)}}})
	w.must("deregister", err)
	check(false, "1 of 1 targets healthy (want at least 2)")
}

func TestExitConditionFollowsTheAlarmsTargetGroupAndSaysAuto(t *testing.T) {
	w := newWorld(t)
	a := w.alb5xx()
	_, dim, _ := strings.Cut(w.api, ":targetgroup/")
	a.Metrics[0].Dimensions["TargetGroup"] = "targetgroup/" + dim
	plan, err := New(w.elb).Plan(context.Background(), a, remediations.Params{"listener": w.listener, "exit": "auto"})
	w.must("plan", err)
	if !strings.Contains(plan.Summary, "medic turns maintenance off by itself") {
		t.Errorf("plan summary %q does not say exit is automatic", plan.Summary)
	}
	res, err := New(w.elb).Apply(context.Background(), roundTrip(t, plan))
	w.must("apply", err)
	cond, _, ok := ExitOf(res)
	if !ok || len(cond.TargetGroups) != 1 || cond.TargetGroups[0] != w.api || !cond.Auto {
		t.Errorf("exit condition = %+v, want the alarm's target group %s, auto", cond, w.api)
	}
	// A target group that does not exist is an error, not "holds".
	cond.TargetGroups = []string{strings.Replace(w.api, "/api/", "/gone/", 1)}
	if _, err := NewExitCheck(w.elb, nil).Check(context.Background(), cond, time.Time{}); !errors.Is(err, remediations.ErrNotFound) {
		t.Errorf("check of a missing target group: %v, want ErrNotFound", err)
	}
	// Without exit params, no condition is recorded.
	_, res = w.planApply(New(w.elb), w.alb5xx(), remediations.Params{"listener": w.addListener(8080)})
	if _, _, ok := ExitOf(res); ok {
		t.Error("a plan without exit params recorded an exit condition")
	}
}
