package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyTestReportsFixtureFileErrorsAsSuch: a fixture file that cannot
// be read is reported with file, line and field path, and counted as a
// file error, not as a failed case ("1 of 0 fixture cases failed").
func TestPolicyTestReportsFixtureFileErrorsAsSuch(t *testing.T) {
	cases := []struct {
		name string
		dir  string
		want []string
	}{
		{"a bad file beside a good one", "testdata/bad-fixture", []string{
			`ERROR fixture file testdata/bad-fixture/tests/bad.yaml:7: cases[0].expect[0].bogus: unknown field "bogus" (known: policy, action, params)`,
			"1 fixture file error(s) (the cases of those files did not run); 1 fixture cases passed",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"policy", "test", tc.dir}, nil, &stdout, &stderr)
			if code != exitFindings {
				t.Errorf("exit %d, want 1", code)
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &stdout)
				}
			}
			for _, bad := range []string{"fixture cases failed", "policytest.", "FAIL"} {
				if strings.Contains(stdout.String(), bad) {
					t.Errorf("stdout says %q:\n%s", bad, &stdout)
				}
			}
		})
	}

	t.Run("only a bad file: no cases ran, none failed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "p")
		if err := os.CopyFS(dir, os.DirFS("testdata/bad-fixture")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "tests", "good.yaml")); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"policy", "test", dir}, nil, &stdout, &stderr); code != exitFindings {
			t.Errorf("exit %d, want 1", code)
		}
		out := stdout.String()
		if !strings.Contains(out, "1 fixture file error(s)") || strings.Contains(out, "of 0 fixture cases failed") || strings.Contains(out, "passed") {
			t.Errorf("stdout:\n%s", out)
		}
	})
}

// TestPoliciesOnOtherStatesAreRefused: medic acts only on ALARM state
// changes (policy.ActsOn), so a policy on OK or INSUFFICIENT_DATA would never
// run. Lint, policy test and simulate refuse it the way the engine's policy
// load does, naming file, line and field, instead of accepting (and
// simulate printing) steps that never run.
func TestPoliciesOnOtherStatesAreRefused(t *testing.T) {
	problems := []string{
		"testdata/on-ok/recovery.yaml:8: policies[0].match.state: medic acts only on ALARM state changes, so a policy on OK never runs; recovery (the alarm back to OK) is handled by on_recovery",
		"testdata/on-ok/recovery.yaml:16: policies[1].match.state: medic acts only on ALARM state changes, so a policy on INSUFFICIENT_DATA never runs",
		"2 problem(s) in testdata/on-ok",
	}
	cases := []struct {
		name string
		args []string
	}{
		{"policy lint", []string{"policy", "lint", "testdata/on-ok"}},
		{"policy test", []string{"policy", "test", "testdata/on-ok"}},
		{"simulate of a recovery", []string{"simulate", "--policies", "testdata/on-ok", "--alarm", alarms + "eventbridge-alb-target-5xx-ok.json", "--format", "text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, nil, &stdout, &stderr); code != exitFindings {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, exitFindings, &stderr)
			}
			for _, want := range problems {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &stderr)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing (no policy OK, no step planned)", &stdout)
			}
		})
	}
}
