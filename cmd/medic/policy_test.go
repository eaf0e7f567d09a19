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
