package policytest_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/policy/policytest"
	"github.com/medicbot/medic/remediations"
)

const policies = `version: 1
policies:
  - name: checkout-restart
    match: {alarm: "checkout-*"}
    steps: [{action: ecs.restart, approval: auto, params: {service: "{{ .Dimensions.TargetGroup | segment 1 }}"}}]
`

var catalog = remediations.Catalog{"ecs.restart": {Params: []remediations.Param{{Name: "service", Type: remediations.TypeString}}}}

func TestRun(t *testing.T) {
	payload, err := os.ReadFile("../../alarm/testdata/eventbridge-alb-target-5xx.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		fixture string
		passed  bool
		ignored bool
		failed  bool // the case could not run
		problem bool // the fixture file itself is wrong
	}{
		{name: "one case per file, payload from a file relative to the fixture", fixture: "alarm: alarms/a.json\nexpect: [{policy: checkout-restart, action: ecs.restart, params: {service: checkout}}]\n", passed: true},
		{name: "a wrong rendered param fails", fixture: "alarm: alarms/a.json\nexpect: [{policy: checkout-restart, params: {service: cart}}]\n"},
		{name: "an inline JSON string payload", fixture: "cases:\n  - payload: '" + `{"source":"aws.s3"}` + "'\n    expect: []\n", passed: true, ignored: true},
		{name: "an ignored payload matches nothing", fixture: "payload: {source: aws.ec2, detail-type: EC2 Instance State-change Notification, detail: {}}\nexpect: [{policy: checkout-restart}]\n", ignored: true},
		{name: "a missing payload file fails the case", fixture: "alarm: alarms/nope.json\nexpect: []\n", failed: true},
		{name: "expect is required", fixture: "alarm: alarms/a.json\n", failed: true},
		{name: "cases and a single case together are refused", fixture: "alarm: alarms/a.json\nexpect: []\ncases: [{alarm: alarms/a.json, expect: []}]\n", problem: true},
		{name: "unknown fields are refused", fixture: "alarm: alarms/a.json\nexpected: []\n", problem: true},
		{name: "a file without cases is refused", fixture: "cases: []\n", problem: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"checkout.yaml":       {Data: []byte(policies)},
				"tests/alarms/a.json": {Data: payload},
				"tests/case.yaml":     {Data: []byte(tc.fixture)},
			}
			set, err := policy.Load(fsys, catalog)
			if err != nil {
				t.Fatal(err)
			}
			results, err := policytest.Run(fsys, set)
			var problems *policy.Errors
			if got := errors.As(err, &problems); got != tc.problem {
				t.Fatalf("fixture problem = %v (%v), want %v", got, err, tc.problem)
			}
			if tc.problem {
				return
			}
			if len(results) != 1 {
				t.Fatalf("got %d results, want 1", len(results))
			}
			r := results[0]
			if r.Passed() != tc.passed || (r.Ignored != "") != tc.ignored || (r.Err != nil) != tc.failed {
				t.Errorf("result = passed %v, ignored %q, err %v; want passed %v, ignored %v, failed %v",
					r.Passed(), r.Ignored, r.Err, tc.passed, tc.ignored, tc.failed)
			}
		})
	}
}

func TestRunWithoutFixtures(t *testing.T) {
	fsys := fstest.MapFS{"checkout.yaml": {Data: []byte(policies)}}
	set, err := policy.Load(fsys, catalog)
	if err != nil {
		t.Fatal(err)
	}
	if results, err := policytest.Run(fsys, set); results != nil || err != nil {
		t.Errorf("Run = %v, %v; want nothing", results, err)
	}
}

// TestFixtureFileErrorsReadLikePolicyErrors: a malformed fixture file is
// reported with its file, line and field path, in the file's terms (as
// policy files are), not with the YAML library's Go type names.
func TestFixtureFileErrorsReadLikePolicyErrors(t *testing.T) {
	cases := []struct {
		name    string
		fixture string
		want    []string
	}{
		{"an unknown field of an expectation", `cases:
  - name: scales
    alarm: alarms/a.json
    expect:
      - policy: checkout-restart
        bogus: 1
`, []string{`tests/case.yaml:6: cases[0].expect[0].bogus: unknown field "bogus" (known: policy, step, action, params)`}},
		{"an unknown top-level field lists the single-case fields too", "alarm: alarms/a.json\nexpected: []\n",
			[]string{`tests/case.yaml:2: expected: unknown field "expected" (known: name, alarm, payload, evidence, reading, expect, cases)`}},
		{"every problem of the file, each with its line", `cases:
  - name: one
    alarmm: alarms/a.json
    expect: []
  - name: two
    alarm: alarms/a.json
    expect: {policy: checkout-restart}
`, []string{
			`tests/case.yaml:3: cases[0].alarmm: unknown field "alarmm" (known: name, alarm, payload, evidence, reading, expect)`,
			`tests/case.yaml:7: cases[1].expect: must be a list, got a mapping`,
		}},
		{"cases and a single case together", "alarm: alarms/a.json\nexpect: []\ncases: [{alarm: alarms/a.json, expect: []}]\n",
			[]string{"tests/case.yaml:3: cases: give either cases or one case"}},
		{"no cases", "cases: []\n", []string{"tests/case.yaml:1: cases: no cases"}},
		{"an empty file", "", []string{"tests/case.yaml: empty file"}},
		{"broken YAML", "cases:\n  - name: [\n", []string{"tests/case.yaml:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"checkout.yaml":   {Data: []byte(policies)},
				"tests/case.yaml": {Data: []byte(tc.fixture)},
			}
			set, err := policy.Load(fsys, catalog)
			if err != nil {
				t.Fatal(err)
			}
			_, err = policytest.Run(fsys, set)
			var problems *policy.Errors
			if !errors.As(err, &problems) {
				t.Fatalf("err = %v, want *policy.Errors", err)
			}
			if len(*problems) != len(tc.want) {
				t.Fatalf("problems:\n%v\nwant %d", err, len(tc.want))
			}
			for i, want := range tc.want {
				if got := (*problems)[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want it to start with %q", i, got, want)
				}
				if strings.Contains((*problems)[i].Error(), "policytest.") {
					t.Errorf("problem %d names a Go type: %q", i, (*problems)[i])
				}
			}
			// policy diff reads the payloads through Payloads: the same
			// problems.
			if _, perrs := policytest.Payloads(fsys); len(perrs) != len(tc.want) || perrs[0].Error() != (*problems)[0].Error() {
				t.Errorf("Payloads problems = %v", perrs)
			}
		})
	}
}

const ladder = `version: 1
policies:
  - name: checkout
    match: {alarm: "checkout-*"}
    steps:
      - {action: ecs.restart, approval: auto, when: {unhealthy_targets: "0"}, params: {service: scale}}
      - {action: ecs.restart, approval: auto, when: {deploy_within: 30m, unhealthy_targets: ">= 1"}, params: {service: rollback}}
      - {action: ecs.restart, approval: auto, params: {service: restart}}
`

func TestFixtureEvidenceChoosesTheStep(t *testing.T) {
	payload, err := os.ReadFile("../../alarm/testdata/eventbridge-alb-target-5xx.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		evidence string
		want     string // the rendered service param of the step chosen
	}{
		{"healthy targets: the first step", "evidence: {unhealthy_targets: 0}\n", "scale"},
		{"a recent deploy and unhealthy targets: the second", "evidence: {unhealthy_targets: 3, deploy_before_spike: 4m, source: elb, code: \"502\"}\n", "rollback"},
		{"an old deploy: the unconditional third", "evidence: {unhealthy_targets: 3, deploy_before_spike: 2h}\n", "restart"},
		{"no evidence holds no condition", "", "restart"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fixture := "alarm: alarms/a.json\n" + tc.evidence + "expect: [{policy: checkout, action: ecs.restart, params: {service: " + tc.want + "}}]\n"
			fsys := fstest.MapFS{
				"checkout.yaml":       {Data: []byte(ladder)},
				"tests/alarms/a.json": {Data: payload},
				"tests/case.yaml":     {Data: []byte(fixture)},
			}
			set, err := policy.Load(fsys, catalog)
			if err != nil {
				t.Fatal(err)
			}
			results, err := policytest.Run(fsys, set)
			if err != nil || len(results) != 1 {
				t.Fatalf("run = %v, %v", results, err)
			}
			if r := results[0]; !r.Passed() {
				t.Errorf("got %+v (err %v), want step with service %s", r.Got, r.Err, tc.want)
			}
		})
	}
	fsys := fstest.MapFS{
		"checkout.yaml":       {Data: []byte(ladder)},
		"tests/alarms/a.json": {Data: payload},
		"tests/case.yaml":     {Data: []byte("alarm: alarms/a.json\nevidence: {deploy_before_spike: soon}\nexpect: []\n")},
	}
	set, _ := policy.Load(fsys, catalog)
	results, _ := policytest.Run(fsys, set)
	if len(results) != 1 || results[0].Err == nil || !strings.Contains(results[0].Err.Error(), "deploy_before_spike") {
		t.Errorf("a malformed evidence duration: %+v, want the case to fail naming deploy_before_spike", results)
	}
}

func TestFixturesCheckTheReadingOfTheirEvidence(t *testing.T) {
	payload, err := os.ReadFile("../../alarm/testdata/eventbridge-alb-target-5xx.json")
	if err != nil {
		t.Fatal(err)
	}
	const full = "evidence: {source: elb, code: \"502\", error_rate: 0.12, unhealthy_targets: 3, targets: 6, reason: Target.ResponseCodeMismatch, " +
		"target_group: checkout, deploy_before_spike: 4m, task_definition: \"checkout:42\"}\n"
	cases := []struct {
		name    string
		fixture string
		passed  bool
		reading string   // the reading got
		rules   []string // the rules that said it
		failed  bool     // the case could not run
	}{
		{name: "the expected reading passes, and the rules that said it are named",
			fixture: full + "reading: \"ELB 502s (12% of requests), 3 of 6 targets unhealthy (Target.ResponseCodeMismatch), began 4 min after task definition checkout:42\"\n",
			passed:  true, reading: "ELB 502s (12% of requests), 3 of 6 targets unhealthy (Target.ResponseCodeMismatch), began 4 min after task definition checkout:42",
			rules: []string{"elb-code", "unhealthy-targets", "recent-deploy"}},
		{name: "another reading fails the case though the match is right",
			fixture: full + "reading: \"ELB 502s\"\n",
			reading: "ELB 502s (12% of requests), 3 of 6 targets unhealthy (Target.ResponseCodeMismatch), began 4 min after task definition checkout:42",
			rules:   []string{"elb-code", "unhealthy-targets", "recent-deploy"}},
		{name: "what the case does not give is left out of the reading",
			fixture: "evidence: {source: target, unhealthy_targets: 0, targets: 0, target_group: checkout}\nreading: \"target 5xx, no targets registered in checkout\"\n",
			passed:  true, reading: "target 5xx, no targets registered in checkout", rules: []string{"target-5xx", "no-targets"}},
		{name: "no evidence reads as nothing", fixture: "reading: \"\"\n", passed: true},
		{name: "a case without reading does not check it", fixture: full, passed: true},
		{name: "more unhealthy targets than targets fails the case", fixture: "evidence: {unhealthy_targets: 3, targets: 2}\nreading: \"\"\n", failed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"checkout.yaml":       {Data: []byte(policies)},
				"tests/alarms/a.json": {Data: payload},
				"tests/case.yaml":     {Data: []byte("alarm: alarms/a.json\n" + tc.fixture + "expect: [{policy: checkout-restart, action: ecs.restart}]\n")},
			}
			set, err := policy.Load(fsys, catalog)
			if err != nil {
				t.Fatal(err)
			}
			results, err := policytest.Run(fsys, set)
			if err != nil || len(results) != 1 {
				t.Fatalf("run = %v, %v", results, err)
			}
			r := results[0]
			if r.Passed() != tc.passed || (r.Err != nil) != tc.failed {
				t.Fatalf("passed = %v (err %v), want passed %v, failed %v; reading %q", r.Passed(), r.Err, tc.passed, tc.failed, r.Reading)
			}
			if tc.failed {
				if !strings.Contains(r.Err.Error(), "evidence.targets") {
					t.Errorf("err = %v, want it to name evidence.targets", r.Err)
				}
				return
			}
			if r.Reading != tc.reading || strings.Join(r.ReadingRules, ",") != strings.Join(tc.rules, ",") {
				t.Errorf("reading = %q by %v, want %q by %v", r.Reading, r.ReadingRules, tc.reading, tc.rules)
			}
			if r.ReadingPassed() != tc.passed {
				t.Errorf("ReadingPassed = %v, want %v", r.ReadingPassed(), tc.passed)
			}
		})
	}
}
