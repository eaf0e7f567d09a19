package policytest_test

import (
	"errors"
	"os"
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
