package demo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/testenv"
)

// The demo is the README's "run it" command; it must keep working. Its
// prod has a task definition deployed a moment before the alarm and
// unhealthy targets: the card shows that evidence, and the step it picks,
// the rollback, is the one proposed and approved.
func TestDemoRollsBackTheDeployTheEvidencePoints(t *testing.T) {
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
	card := section(out.String(), "==> the card medic posted to Slack:", "==> what the evidence says")
	for _, want := range []string{
		// The evidence: the unhealthy targets, the task definition change
		// and the spike, and the reading that puts them together.
		"• Targets of checkout: 1 healthy, 2 unhealthy (Target.ResponseCodeMismatch ×2)",
		"• Deployments of prod/checkout: `checkout:3` primary completed since ",
		"target 42 of 600 requests (7.0%)",
		"_reading, not a verdict_: target 5xx (7.0% of requests), 2 of 3 targets unhealthy (Target.ResponseCodeMismatch), began under a minute after task definition checkout:3",
		// The step it picks is the one proposed, with its plan.
		"• Evidence favours step 1 (ecs.rollback) of checkout-target-5xx, as deploy_within: 30m, unhealthy_targets: &gt;= 1",
		"*Step 1 · `ecs.rollback`* · approval required",
		"*Plan*: prod/checkout: task definition checkout:3 -&gt; checkout:2",
		"[Approve] [Reject]",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("the card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "`ecs.scale`") {
		t.Errorf("the card proposes ecs.scale, which the evidence did not pick:\n%s", card)
	}
	for _, want := range []string{
		"checkout:2 -> checkout:3",
		"task definition of prod/checkout BEFORE: checkout:3",
		"demo's stand-in for DescribeTargetHealth reports 2 of 3 targets unhealthy",
		"    favours: step 1 (ecs.rollback) of checkout-target-5xx, as deploy_within: 30m, unhealthy_targets: >= 1",
		"without that evidence: step 1 (ecs.rollback) skipped: deploy_within: no deployment time or spike start known; the ladder would propose step 2 (ecs.scale)",
		"approved by <@U0ALICE>",
		"task definition of prod/checkout AFTER:  checkout:2",
		"created   checkout-prod-checkout-target-5xx",
		"the generated alarm checkout-prod-checkout-target-5xx (5xx rate, metric math) goes to ALARM",
		"*Incident report* · alarm `checkout-prod-checkout-target-5xx`",
		"• *checkout-target-5xx step 1* `ecs.rollback`: succeeded",
		"recovered: alarm checkout-prod-checkout-target-5xx back to OK",
		"    console: http://127.0.0.1:",
		"make demo KEEP=1 keeps medic serve and its console at http://127.0.0.1:",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// section is the part of out from the line starting with from up to the
// one starting with to ("" when from is absent).
func section(out, from, to string) string {
	_, rest, ok := strings.Cut(out, from)
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(rest, to)
	return s
}

// syncBuffer is a bytes.Buffer safe to read while the demo writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// make demo KEEP=1: after the demo, medic serve and its console stay up
// until the demo is stopped.
func TestDemoKeepLeavesTheConsoleOpen(t *testing.T) {
	probe, err := testenv.StartMoto()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server is required in CI: %v", err)
		}
		t.Skipf("moto_server not available: %v", err)
	}
	probe.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- RunWith(ctx, &out, io.Discard, Options{Keep: true}) }()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C stops it") {
		select {
		case err := <-done:
			t.Fatalf("demo returned before being stopped: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not reach its end:\n%s", out.String())
		}
	}
	m := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/ui)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no console URL in the output:\n%s", out.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatalf("the console is not open after the demo: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "checkout-prod-checkout-target-5xx") {
		t.Errorf("GET %s = %d, want the console listing the demo's incident:\n%s", m[1], resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop after its context was cancelled")
	}
}
