package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CfnLint finds cfn-lint: the project's .venv first (`make tools`), then
// PATH. Without one the test is skipped, except in CI (CI=true), where it
// fails: CI installs it.
func CfnLint(t testing.TB) string {
	t.Helper()
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".venv", "bin", "cfn-lint")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cfn-lint is required in CI: run `make tools` or install cfn-lint==1.51.0")
		}
		t.Skip("cfn-lint not installed")
	}
	return p
}
