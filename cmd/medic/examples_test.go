package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/policies"
)

// embedExamples makes the example policies (examples/) the embedded set
// for the rest of t, as a binary built with the medic_examples tag has
// them: the tests of what the CLI does with policies that act use it. The
// deployed set (policies/) only shadows; TestTheBinaryEmbedsTheStarterSet
// checks what a plain build uses. Tests in this package do not run in
// parallel, so swapping the package variable is safe.
func embedExamples(t *testing.T) {
	t.Helper()
	fsys, dir := policies.FS, policies.Dir
	policies.FS, policies.Dir = examples.FS, "examples"
	t.Cleanup(func() { policies.FS, policies.Dir = fsys, dir })
}

// A plain build embeds policies/: one shadow policy, so deploying a fresh
// clone changes nothing; commands without DIR say which set they use.
func TestTheBinaryEmbedsTheStarterSet(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"policy", "lint"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("policy lint: exit %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "1 policies OK") || !strings.Contains(stdout.String(), "embedded in this binary") {
		t.Errorf("policy lint without DIR = %q, want the one starter policy, said to be embedded", stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"simulate", "--alarm", "../../examples/tests/alarms/eventbridge-alb-target-5xx.json"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("simulate: exit %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), `"matches": []`) {
		t.Errorf("the embedded set answers the example checkout alarm:\n%s", &stdout)
	}
}
