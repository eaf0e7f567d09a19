package deploycheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

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
