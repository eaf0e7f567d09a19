package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestPauseResumeAndAuditOnTheEmbeddedStore(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	store := filepath.Join(t.TempDir(), "medic.db")
	medic := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	if code, _, stderr := medic("audit", "--store", store); code != exitUsage || !strings.Contains(stderr, store) {
		t.Fatalf("audit of a missing store = %d %q, want exit 2 naming the file", code, stderr)
	}
	if code, out, stderr := medic("pause", "--store", store, "--reason", "deploy freeze"); code != exitOK || !strings.Contains(out, "paused") {
		t.Fatalf("pause = %d %q %q", code, out, stderr)
	}
	if code, out, stderr := medic("resume", "--store", store); code != exitOK || !strings.Contains(out, "resumed") {
		t.Fatalf("resume = %d %q %q", code, out, stderr)
	}
	code, out, stderr := medic("audit", "--store", store, "--format", "json")
	if code != exitOK {
		t.Fatalf("audit = %d %q", code, stderr)
	}
	var entries []struct {
		Event string `json:"event"`
		Who   string `json:"who"`
		Why   string `json:"why"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("audit --format json is not a JSON array: %v\n%s", err, out)
	}
	var events []string
	for _, e := range entries {
		events = append(events, e.Event)
		if e.Who == "" {
			t.Errorf("audit entry %s has no who", e.Event)
		}
	}
	got := strings.Join(events, ",")
	if !strings.Contains(got, "pause") || !strings.Contains(got, "resume") || !strings.Contains(out, "deploy freeze") {
		t.Errorf("audit events = %s, want the pause (with its reason) and the resume:\n%s", got, out)
	}
	if code, out, _ := medic("audit", "--store", store, "--since", "1h"); code != exitOK || !strings.Contains(out, "deploy freeze") {
		t.Errorf("audit text = %d %q", code, out)
	}
}
