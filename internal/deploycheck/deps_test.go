package deploycheck

import (
	"bytes"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// forbiddenDeps are packages the Lambda binaries must not link (with their
// subpackages), and why.
var forbiddenDeps = []struct{ pkg, why string }{
	{
		"github.com/aws/aws-sdk-go-v2/service/ssm",
		"its generated schemas package costs ~10 ms of package init at every cold start (GODEBUG=inittrace=1), " +
			"the largest single init in the binaries, for the one GetParameter the kill switch makes: " +
			"read SSM parameters with internal/ssmparam",
	},
}

// TestLambdasDoNotImportForbiddenPackages lists the packages
// ./functions/... depend on, as `make build` builds them (linux/arm64,
// CGO_ENABLED=0, -tags lambda.norpc), and fails on any of forbiddenDeps,
// naming the packages that import it. It runs `go list`, not a build.
func TestLambdasDoNotImportForbiddenPackages(t *testing.T) {
	cmd := exec.Command(goCommand(t), "list", "-deps", "-tags", "lambda.norpc",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v\n%s", err, tail(stderr.Bytes(), 40))
	}
	forbidden := func(pkg string) (string, bool) {
		for _, f := range forbiddenDeps {
			if pkg == f.pkg || strings.HasPrefix(pkg, f.pkg+"/") {
				return f.why, true
			}
		}
		return "", false
	}
	// importers[p] are the allowed packages importing forbidden package p.
	importers := map[string][]string{}
	found := map[string]bool{}
	n := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		n++
		pkg := fields[0]
		if _, bad := forbidden(pkg); bad {
			found[pkg] = true
			continue
		}
		for _, imp := range fields[1:] {
			if _, bad := forbidden(imp); bad {
				importers[imp] = append(importers[imp], pkg)
			}
		}
	}
	if n < 50 {
		t.Fatalf("go list -deps ./functions/... listed only %d packages:\n%s", n, out)
	}
	var bad []string
	for pkg := range found {
		bad = append(bad, pkg)
	}
	sort.Strings(bad)
	for _, pkg := range bad {
		why, _ := forbidden(pkg)
		if len(importers[pkg]) > 0 {
			t.Errorf("the Lambdas import %s (from %s): %s", pkg, strings.Join(importers[pkg], ", "), why)
		} else {
			t.Errorf("the Lambdas import %s: %s", pkg, why)
		}
	}
}

// TestMaintenanceFunctionImportsNoAWSSDK: the maintenance page function
// only answers ALB events (aws-lambda-go's events types); the SDK would
// add ~10 MB and milliseconds of package init to every cold start of a
// function visitors wait on, for calls it never makes.
func TestMaintenanceFunctionImportsNoAWSSDK(t *testing.T) {
	cmd := exec.Command(goCommand(t), "list", "-deps", "-tags", "lambda.norpc", "./functions/maintenance")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/maintenance: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		pkg := strings.TrimSpace(line)
		n++
		if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(pkg, "github.com/aws/smithy-go") {
			t.Errorf("functions/maintenance depends on %s: it must not import the AWS SDK", pkg)
		}
	}
	if n < 10 || !strings.Contains(string(out), "github.com/aws/aws-lambda-go/events") {
		t.Fatalf("go list -deps ./functions/maintenance listed %d packages, without aws-lambda-go/events:\n%s", n, out)
	}
}
