package demo

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/testenv"
)

// The demo is the README's "run it" command; it must keep working.
func TestDemoScalesTheServiceAfterApproval(t *testing.T) {
	probe, err := testenv.StartMoto()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server is required in CI: %v", err)
		}
		t.Skipf("moto_server not available: %v", err)
	}
	probe.Stop()
	var out bytes.Buffer
	if err := Run(context.Background(), &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"desired count of prod/checkout BEFORE: 4",
		"[Approve] [Reject]",
		"approved by <@U0ALICE>",
		"desired count of prod/checkout AFTER:  6",
		"created   checkout-prod-checkout-target-5xx",
		"the generated alarm checkout-prod-checkout-target-5xx (5xx rate, metric math) goes to ALARM",
		"*Incident report* · alarm `checkout-prod-checkout-target-5xx`",
		"• *checkout-target-5xx step 1* `ecs.scale`: succeeded",
		"recovered: alarm checkout-prod-checkout-target-5xx back to OK",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
