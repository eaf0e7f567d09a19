package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testenv"
)

// simulate --evidence runs the collectors against the real state (moto
// here), prints what they found and which step the evidence picks.
func TestSimulateEvidenceGathersWhatTheAlarmFunctionWould(t *testing.T) {
	embedExamples(t)
	m := testenv.Moto(t)
	prod, err := testenv.CreateProd(context.Background(), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", testenv.Region)
	file := filepath.Join(t.TempDir(), "alarm.json")
	if err := os.WriteFile(file, prod.AlarmEvent("ALARM", time.Now()), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	run([]string{"simulate", "--alarm", file, "--evidence", "--endpoint-url", m.URL}, nil, &stdout, &stderr)
	var out struct {
		Evidence *store.Evidence `json:"evidence"`
		Matches  []struct {
			Proposes int `json:"proposes"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	ev := out.Evidence
	if ev == nil {
		t.Fatalf("no evidence printed:\n%s", stdout.String())
	}
	if ev.Health == nil || ev.Health.TargetGroup != "checkout" || ev.Health.Service != "prod/checkout" || ev.Health.Desired != 4 {
		t.Errorf("health = %+v, want target group checkout and prod/checkout desired 4", ev.Health)
	}
	if ev.Changes == nil || len(ev.Changes.Deployments) == 0 || ev.Changes.Deployments[0].TaskDefinition != "checkout:2" {
		t.Errorf("changes = %+v, want the deployment of checkout:2", ev.Changes)
	}
	if ev.Pattern == nil {
		t.Errorf("no pattern; missing: %+v", ev.Missing)
	}
	// No 5xx is recorded in moto and no target is unhealthy: the
	// rollback's when: (a recent deployment and unhealthy targets) does
	// not hold, and the ladder starts at step 2, ecs.scale.
	if len(out.Matches) == 0 || out.Matches[0].Proposes != 2 {
		t.Errorf("matches = %+v, want the evidence to skip the rollback and pick step 2", out.Matches)
	}

	stdout.Reset()
	run([]string{"simulate", "--alarm", file, "--evidence", "--endpoint-url", m.URL, "--format", "text"}, nil, &stdout, &stderr)
	for _, want := range []string{"evidence (gathered in at most 4s)", "targets of checkout:", "tasks of prod/checkout: 0 running, 4 desired", "deployment of prod/checkout: checkout:2"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout.String())
		}
	}
}
