package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeRefusesAnOpenWebhookBeyondLoopback: without MEDIC_WEBHOOK_TOKEN,
// `medic serve` on an address beyond this machine stops before opening
// anything and says why and what to do.
func TestServeRefusesAnOpenWebhookBeyondLoopback(t *testing.T) {
	t.Setenv("MEDIC_WEBHOOK_TOKEN", "")
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080"} {
		t.Run(addr, func(t *testing.T) {
			store := t.TempDir() + "/medic.db"
			var stdout, stderr bytes.Buffer
			code := run([]string{"serve", "--addr", addr, "--store", store}, nil, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			for _, want := range []string{"medic serve: --addr " + addr + " is not a loopback address", "MEDIC_WEBHOOK_TOKEN is unset", "--insecure-no-token"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &stderr)
				}
			}
			if n := strings.Count(stderr.String(), "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", n, &stderr)
			}
		})
	}
}
