package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const alarms = "../../examples/tests/alarms/"

func TestRun(t *testing.T) {
	embedExamples(t)
	cases := []struct {
		name  string
		args  []string
		stdin string
		code  int
		// stdout: a golden JSON file compared as values, or words it contains.
		golden    string
		stdoutHas []string
		// stderr: the number of lines (-1: any) and words it contains.
		stderrLines int
		stderrHas   []string
	}{
		{name: "no command prints usage and fails", args: nil, code: 2, stderrLines: -1, stderrHas: []string{"usage: medic", "policy lint", "simulate"}},
		{name: "help prints usage", args: []string{"help"}, code: 0, stdoutHas: []string{"medic policy test [DIR]"}},
		{name: "an unknown command fails", args: []string{"policy", "frobnicate"}, code: 2, stderrLines: -1, stderrHas: []string{`unknown command "policy frobnicate"`}},

		{name: "lint accepts the embedded policies", args: []string{"policy", "lint"}, code: 0, stdoutHas: []string{"examples: ", "policies OK", "embedded in this binary"}},
		{name: "lint reports every problem with file, line and path", args: []string{"policy", "lint", "testdata/bad"}, code: 1, stderrLines: 3,
			stderrHas: []string{
				"testdata/bad/bad.yaml:3: policies[0].name: must be lower-case",
				"testdata/bad/bad.yaml:8: policies[0].steps[0].params.max: must be >= min (10), got 5",
				"2 problem(s) in testdata/bad",
			}},
		{name: "lint of a missing directory is a usage error", args: []string{"policy", "lint", "testdata/nope"}, code: 2, stderrLines: 1, stderrHas: []string{"testdata/nope"}},
		{name: "lint takes one directory", args: []string{"policy", "lint", "a", "b"}, code: 2, stderrLines: 1},

		{name: "the embedded fixtures pass", args: []string{"policy", "test"}, code: 0, stdoutHas: []string{"fixture cases passed"}},
		{name: "failing fixtures print expected and got", args: []string{"policy", "test", "testdata/failing"}, code: 1,
			stdoutHas: []string{
				"FAIL  testdata/failing/tests/cases.yaml: a wrong expectation fails",
				"expected: checkout-scale -> ecs.scale",
				"got:      checkout-restart -> ecs.restart",
				// was "params of checkout-restart: expected map[service:payments], got map[cluster:prod service:checkout]"
				`params of checkout-restart step 1: service: expected "payments", got "checkout"`,
				"2 of 3 fixture cases failed",
			}},
		{name: "a directory without fixtures fails the test", args: []string{"policy", "test", "testdata/render-error"}, code: 1, stdoutHas: []string{"no fixtures in testdata/render-error/tests"}},

		{name: "simulate prints the alarm and every step rendered", args: []string{"simulate", "--alarm", alarms + "eventbridge-alb-target-5xx.json"}, code: 0, golden: "simulate-target-5xx.json"},
		{name: "simulate reads stdin", args: []string{"simulate", "--alarm", "-", "--format", "json"}, stdin: readFile(t, alarms+"sns-event-alb-elb-502.json"), code: 0, golden: "simulate-elb-502.json"},
		{name: "simulate of a recovery matches nothing", args: []string{"simulate", "--alarm", alarms + "eventbridge-alb-target-5xx-ok.json"}, code: 0, golden: "simulate-ok.json"},
		{name: "simulate of a recovery as text says medic acts only on ALARM", args: []string{"simulate", "--format", "text", "--alarm", alarms + "eventbridge-alb-target-5xx-ok.json"}, code: 0,
			stdoutHas: []string{"alarm checkout-prod-target-5xx: OK (was ALARM)", "no policy runs: medic acts only on ALARM state changes"}},
		{name: "simulate of a payload that is not an alarm says why", args: []string{"simulate", "--alarm", alarms + "eventbridge-config-change.json"}, code: 0, golden: "simulate-ignored.json"},
		{name: "simulate reports a step that cannot render", args: []string{"simulate", "--policies", "testdata/render-error", "--alarm", alarms + "eventbridge-alb-target-5xx.json"}, code: 1, golden: "simulate-render-error.json"},
		{name: "simulate as text", args: []string{"simulate", "--format", "text", "--alarm", alarms + "eventbridge-alb-target-5xx.json"}, code: 0,
			stdoutHas: []string{"alarm checkout-prod-target-5xx: ALARM (was OK)", "policy checkout-target-5xx", "1. ecs.rollback", "2. ecs.scale", "service=checkout", "after 10m0s",
				"when: deploy_within: 30m, unhealthy_targets: >= 1 (at intake, otherwise skipped"}},
		{name: "simulate of malformed JSON fails with one line", args: []string{"simulate", "--alarm", "testdata/not-json.txt"}, code: 2, stderrLines: 1, stderrHas: []string{"medic simulate: testdata/not-json.txt: "}},
		{name: "simulate of a missing file fails with one line", args: []string{"simulate", "--alarm", "testdata/missing.json"}, code: 2, stderrLines: 1, stderrHas: []string{"testdata/missing.json"}},
		{name: "simulate needs --alarm", args: []string{"simulate"}, code: 2, stderrLines: 1, stderrHas: []string{"--alarm FILE is required"}},
		{name: "simulate refuses an unknown format", args: []string{"simulate", "--alarm", "x", "--format", "yaml"}, code: 2, stderrLines: 1, stderrHas: []string{"json or text"}},
		{name: "simulate with invalid policies lists their problems", args: []string{"simulate", "--policies", "testdata/bad", "--alarm", alarms + "eventbridge-alb-target-5xx.json"}, code: 1, stderrLines: 3},
	}
	// policy lint warns about policies naming another account or region
	// than the deployment's, which it reads from these; none is known here.
	for _, k := range []string{"MEDIC_ACCOUNT_ID", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			for _, want := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &stdout)
				}
			}
			if tc.golden != "" {
				compareGolden(t, stdout.Bytes(), filepath.Join("testdata", tc.golden))
			}
			if tc.stderrLines >= 0 {
				if n := strings.Count(stderr.String(), "\n"); n != tc.stderrLines {
					t.Errorf("stderr has %d lines, want %d:\n%s", n, tc.stderrLines, &stderr)
				}
			}
			for _, want := range tc.stderrHas {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &stderr)
				}
			}
		})
	}
}

// compareGolden compares JSON output with a golden file as values; -update
// rewrites the file.
func compareGolden(t *testing.T, got []byte, file string) {
	t.Helper()
	var gotV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("stdout is not one JSON value: %v\n%s", err, got)
	}
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var wantV any
	if err := json.Unmarshal([]byte(readFile(t, file)), &wantV); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("stdout differs from %s (rerun with -update to accept):\n%s", file, got)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append(strings.Fields(c.name), "-h"), nil, &stdout, &stderr); code != 0 {
				t.Errorf("-h exits %d, want 0", code)
			}
			// Was "Usage of medic NAME:" and the flags only.
			if want := "usage: medic " + c.name + " " + c.args + "\n\n" + c.summary; !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("-h prints %q, want it to start %q", &stderr, want)
			}
		})
	}
}
