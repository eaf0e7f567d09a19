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
