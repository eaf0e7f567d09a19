package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/medicbot/medic/internal/testenv"
)

// simulate --plan reads the real state (moto here) and changes nothing.
func TestSimulatePlanShowsWhatWouldChangeWithoutChangingIt(t *testing.T) {
	embedExamples(t)
	m := testenv.Moto(t)
	ctx := context.Background()
	prod, err := testenv.CreateProd(ctx, m.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", testenv.Region)
	file := filepath.Join(t.TempDir(), "alarm.json")
	if err := os.WriteFile(file, prod.AlarmEvent("ALARM", time.Now()), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"simulate", "--alarm", file, "--plan", "--endpoint-url", m.URL}, nil, &stdout, &stderr)

	var out struct {
		Matches []struct {
			Policy string `json:"policy"`
			Steps  []struct {
				Action string `json:"action"`
				Plan   *struct {
					Summary string `json:"summary"`
					Target  string `json:"target"`
				} `json:"plan"`
				PlanError string `json:"plan_error"`
			} `json:"steps"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if len(out.Matches) != 1 || out.Matches[0].Policy != "checkout-target-5xx" {
		t.Fatalf("matches = %+v", out.Matches)
	}
	steps := out.Matches[0].Steps
	if len(steps) != 4 {
		t.Fatalf("steps = %+v, want the four of checkout-target-5xx", steps)
	}
	// moto reports no running task, so the service's deployment is in
	// progress: the rollback plans to change nothing, and says why.
	if steps[0].Action != "ecs.rollback" || steps[0].Plan == nil || !strings.Contains(steps[0].Plan.Summary, "not rolling back from checkout:2") {
		t.Errorf("rollback plan = %+v (error %q)", steps[0].Plan, steps[0].PlanError)
	}
	if steps[1].Plan == nil || steps[1].Plan.Summary != "prod/checkout: desired 4 -> 6 tasks" || steps[1].Plan.Target != "ecs:prod/checkout" {
		t.Errorf("scale plan = %+v (error %q)", steps[1].Plan, steps[1].PlanError)
	}
	// github.rollback has no credential here; alb.maintenance asks for port
	// 443, which the demo listener does not have: both are plan errors,
	// reported per step, and make the exit status 1.
	if steps[2].PlanError == "" || !strings.Contains(steps[3].PlanError, "443") {
		t.Errorf("step errors = %q, %q", steps[2].PlanError, steps[3].PlanError)
	}
	if code != exitFindings {
		t.Errorf("exit = %d, want %d (plan errors are findings)", code, exitFindings)
	}
	got, err := ecs.NewFromConfig(m.Config).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &prod.Cluster, Services: []string{prod.Service}})
	if err != nil || got.Services[0].DesiredCount != 4 {
		t.Fatalf("simulate changed the service: %+v %v", got.Services, err)
	}
}

// An alarm from another region is planned nowhere: every client would read
// (and, in the engine, change) the home region's resources of that name.
func TestSimulatePlanRefusesAnAlarmFromAnotherRegion(t *testing.T) {
	embedExamples(t)
	m := testenv.Moto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("MEDIC_ACCOUNT_ID", "123456789012")
	var stdout, stderr bytes.Buffer
	code := run([]string{"simulate", "--alarm", "../../internal/alarm/testdata/sns-event-alb-elb-502.json", "--plan", "--endpoint-url", m.URL, "--format", "text"}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Errorf("exit = %d, want %d; stderr: %s", code, exitFindings, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "payments-elb-502-503") {
		t.Fatalf("the payments policy did not match:\n%s", out)
	}
	want := "plan: BLOCKED alarm payments-prod-elb-502 is in region us-west-2; medic acts only in account 123456789012 in us-east-1"
	if !strings.Contains(out, want) {
		t.Errorf("simulate --plan does not refuse the us-west-2 alarm; want %q in:\n%s", want, out)
	}
	if strings.Contains(out, "plan: payments-prod") {
		t.Errorf("a step was planned against the home region:\n%s", out)
	}
}

// simulate --plan of waf.rate_limit reads the load balancer's web ACL (moto
// serves WAFv2): with none, the plan says so and creates nothing.
func TestSimulatePlanOfARateLimit(t *testing.T) {
	m := testenv.Moto(t)
	ctx := context.Background()
	prod, err := testenv.CreateProd(ctx, m.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", testenv.Region)
	dir := t.TempDir()
	alarmFile := filepath.Join(dir, "alarm.json")
	policyDir := filepath.Join(dir, "policies")
	if err := os.WriteFile(alarmFile, prod.AlarmEvent("ALARM", time.Now()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(policyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	policy := `version: 1
policies:
  - name: checkout-throttle
    match: {alarm: ["checkout-*"]}
    steps:
      - action: waf.rate_limit
        approval: required
        approvers: [U0ONCALL1]
        params: {limit: 500, path_prefix: /api/}
`
	if err := os.WriteFile(filepath.Join(policyDir, "throttle.yaml"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"simulate", "--policies", policyDir, "--alarm", alarmFile, "--plan", "--endpoint-url", m.URL, "--format", "text"}, nil, &stdout, &stderr)
	want := "plan: load balancer " + prod.LoadBalancerDim + " has no web ACL, so there is no rule to add; nothing to change (create_acl: true lets medic create one)"
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("simulate --plan output lacks %q:\n%s\nstderr: %s", want, stdout.String(), stderr.String())
	}
	if code != exitOK {
		t.Errorf("exit = %d, want %d", code, exitOK)
	}
}
