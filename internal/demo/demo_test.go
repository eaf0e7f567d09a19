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
		"    console: http://127.0.0.1:",
		"make demo KEEP=1 keeps medic serve and its console at http://127.0.0.1:",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
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
