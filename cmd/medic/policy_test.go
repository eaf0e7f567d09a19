package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/slack"
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
			`ERROR fixture file testdata/bad-fixture/tests/bad.yaml:7: cases[0].expect[0].bogus: unknown field "bogus" (known: policy, step, action, params)`,
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

// TestPolicyLintWarnsWhenACardCannotKeepEveryApproveButton: more policies
// asking for approval than a card keeps buttons for, all able to match one
// alarm, are valid but warned of, each with file, line and path.
func TestPolicyLintWarnsWhenACardCannotKeepEveryApproveButton(t *testing.T) {
	write := func(n int) string {
		dir := filepath.Join(t.TempDir(), "p")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("version: 1\npolicies:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - name: checkout-%02d\n    match: {alarm: [\"checkout-*\"]}\n    steps:\n      - action: ecs.restart\n        approval: required\n        approvers: [U0ONCALL01]\n        params: {cluster: prod, service: checkout}\n", i)
		}
		if err := os.WriteFile(filepath.Join(dir, "many.yaml"), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("as many as a card holds: no warning", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"policy", "lint", write(slack.MaxActionableSteps)}, nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d, want 0\n%s%s", code, &stdout, &stderr)
		}
		if stderr.Len() != 0 || strings.Contains(stdout.String(), "warning") {
			t.Errorf("warned of a set a card holds:\n%s%s", &stdout, &stderr)
		}
	})
	t.Run("one more: every policy is warned of, lint still passes", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		dir := write(slack.MaxActionableSteps + 1)
		if code := run([]string{"policy", "lint", dir}, nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d, want 0\n%s%s", code, &stdout, &stderr)
		}
		n := slack.MaxActionableSteps + 1
		if got := strings.Count(stderr.String(), "\n"); got != n {
			t.Errorf("%d warning lines, want %d:\n%s", got, n, &stderr)
		}
		first := fmt.Sprintf("warning: %s/many.yaml:3: policies[0]: %d policies that ask for approval may match the same alarm as this one", dir, n-1)
		if !strings.Contains(stderr.String(), first) {
			t.Errorf("stderr lacks %q:\n%s", first, &stderr)
		}
		if want := fmt.Sprintf("%d policies OK, %d warning(s)", n, n); !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
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

// TestPolicyLintWarnsAboutOtherAccountsAndRegions: medic acts only in the
// account and region it is deployed in, so lint warns (file:line: field:
// warning: ...) about a policy whose match.accounts or match.regions leave
// them out. Warnings go to stderr and do not change the exit status. The
// account and region come from --account and --region, else from
// MEDIC_ACCOUNT_ID and AWS_REGION (then AWS_DEFAULT_REGION); unknown, there
// is no such warning.
func TestPolicyLintWarnsAboutOtherAccountsAndRegions(t *testing.T) {
	const (
		file       = "testdata/elsewhere/estate.yaml"
		accountMsg = "does not include account 111111111111: medic acts only in account 111111111111 (its own) and would block this policy's steps"
	)
	regionMsg := func(r string) string {
		return "does not include region " + r + ": medic acts only in region " + r + " (its own) and would block this policy's steps"
	}
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		stderr   []string // every line, in order
		stdout   string
		contains string // instead of stderr, for usage errors
	}{
		{name: "flags name the deployment: the other account and region are warned about, exit 0",
			args: []string{"--account", "111111111111", "--region", "us-east-1"}, code: exitOK,
			stderr: []string{
				file + ":18: policies[2].match.accounts: warning: " + accountMsg,
				file + ":19: policies[2].match.regions: warning: " + regionMsg("us-east-1"),
			},
			stdout: "testdata/elsewhere: 3 policies OK, 2 warning(s)\n"},
		{name: "the account and region default to MEDIC_ACCOUNT_ID and AWS_REGION",
			env:  map[string]string{"MEDIC_ACCOUNT_ID": "111111111111", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "eu-west-1"},
			code: exitOK,
			stderr: []string{
				file + ":18: policies[2].match.accounts: warning: " + accountMsg,
				file + ":19: policies[2].match.regions: warning: " + regionMsg("us-east-1"),
			},
			stdout: "testdata/elsewhere: 3 policies OK, 2 warning(s)\n"},
		{name: "without AWS_REGION the region is AWS_DEFAULT_REGION",
			env:  map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"},
			code: exitOK,
			stderr: []string{
				file + ":10: policies[0].match.regions: warning: " + regionMsg("ap-south-1"),
				file + ":19: policies[2].match.regions: warning: " + regionMsg("ap-south-1"),
			},
			stdout: "testdata/elsewhere: 3 policies OK, 2 warning(s)\n"},
		{name: "flags win over the environment",
			args: []string{"--account", "222222222222", "--region", "eu-west-1"},
			env:  map[string]string{"MEDIC_ACCOUNT_ID": "111111111111", "AWS_REGION": "us-east-1"},
			code: exitOK,
			stderr: []string{
				file + ":9: policies[0].match.accounts: warning: does not include account 222222222222: medic acts only in account 222222222222 (its own) and would block this policy's steps",
			},
			stdout: "testdata/elsewhere: 3 policies OK, 1 warning(s)\n"},
		{name: "an empty flag turns its check off",
			args: []string{"--account", "", "--region", ""},
			env:  map[string]string{"MEDIC_ACCOUNT_ID": "111111111111", "AWS_REGION": "us-east-1"},
			code: exitOK, stdout: "testdata/elsewhere: 3 policies OK\n"},
		{name: "account and region unknown: no such warning",
			code: exitOK, stdout: "testdata/elsewhere: 3 policies OK\n"},
		{name: "a malformed account is a usage error naming where it came from",
			env:  map[string]string{"MEDIC_ACCOUNT_ID": "prod"},
			code: exitUsage, contains: `medic policy lint: MEDIC_ACCOUNT_ID must be a 12-digit AWS account ID, got "prod"`},
		{name: "a malformed region is a usage error",
			args: []string{"--region", "US East (N. Virginia)"},
			code: exitUsage, contains: `medic policy lint: --region must be an AWS region code such as us-east-1, got "US East (N. Virginia)"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"MEDIC_ACCOUNT_ID", "AWS_REGION", "AWS_DEFAULT_REGION"} {
				t.Setenv(k, tc.env[k])
			}
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"policy", "lint"}, tc.args...), "testdata/elsewhere")
			if code := run(args, nil, &stdout, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			if tc.contains != "" {
				if !strings.Contains(stderr.String(), tc.contains) {
					t.Errorf("stderr lacks %q:\n%s", tc.contains, &stderr)
				}
				return
			}
			want := ""
			if len(tc.stderr) > 0 {
				want = strings.Join(tc.stderr, "\n") + "\n"
			}
			if stderr.String() != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", &stderr, want)
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout = %q, want %q", &stdout, tc.stdout)
			}
		})
	}
}

// TestPolicyTestShowsAWrongReading: a fixture whose reading differs fails,
// and the output shows the reading expected, the one got and the reading
// rules that said it.
func TestPolicyTestShowsAWrongReading(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	if err := os.CopyFS(dir, os.DirFS("testdata/bad-fixture")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "tests", "bad.yaml")); err != nil {
		t.Fatal(err)
	}
	fixture := `cases:
  - name: the card reads the evidence
    alarm: alarm.json
    evidence: {source: elb, code: "503", unhealthy_targets: 2, targets: 4}
    reading: "ELB 502s"
    expect: [{policy: checkout-restart, action: ecs.restart}]
`
	if err := os.WriteFile(filepath.Join(dir, "tests", "good.yaml"), []byte(fixture), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"policy", "test", dir}, nil, &stdout, &stderr); code != exitFindings {
		t.Errorf("exit %d, want 1; stderr %s", code, &stderr)
	}
	for _, want := range []string{
		"FAIL  ",
		`reading expected: "ELB 502s"`,
		`reading got:      "ELB 503s, 2 of 4 targets unhealthy" (rules: elb-code, unhealthy-targets)`,
		"1 of 1 fixture cases failed",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
}
