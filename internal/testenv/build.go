package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BuildBootstrap builds the Go main package pkg (an import path or a path
// relative to the repository root) the way the Makefile builds Lambda
// bootstraps (CGO off, lambda.norpc, trimmed, stripped), for this machine's
// OS and architecture, and returns the binary's path. tags are added to
// lambda.norpc, e.g. medic_examples to embed the example policies.
func BuildBootstrap(t testing.TB, pkg string, tags ...string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", strings.Join(append([]string{"lambda.norpc"}, tags...), ","), "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}
