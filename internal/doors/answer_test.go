package doors

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// fakeAlarms opens one incident with one proposal for every alarm, with
// the records as big as real ones (a plan, params, approvers).
type fakeAlarms struct{}

func (fakeAlarms) Relay(context.Context) (engine.RelayResult, error) {
	return engine.RelayResult{}, nil
}

func (fakeAlarms) HandleAlarm(_ context.Context, a *alarm.Alarm) (engine.Outcome, error) {
	inc := &store.Incident{ID: "0123456789abcdef", DedupKey: a.DedupKey(), Alarm: *a, Policies: []string{"checkout-target-5xx"}}
	p := &store.Proposal{ID: store.ProposalID(inc.ID, "checkout-target-5xx", 0), Incident: inc.ID, Policy: "checkout-target-5xx",
		Action: "ecs.scale", Approval: policy.ApprovalRequired, Approvers: []string{"S0SREGROUP", "U0ONCALL1"}, Quorum: 1,
		State: store.StateProposed, Cooldown: 30 * time.Minute, ExpiresAt: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC),
		Params: remediations.Params{"cluster": "prod", "service": "checkout", "add": 2, "max": 20},
		Plan:   &remediations.Plan{Action: "ecs.scale", Target: "prod/checkout", Summary: "scale prod/checkout 4 -> 6 tasks"}}
	return engine.Outcome{Incident: inc, Proposals: []*store.Proposal{p}}, nil
}

// POST /alarms and the alarm function answer in one documented shape:
// snake_case keys, durations as strings (was: Go field names such as
// "Incident" and "Proposals", the whole records, and "cooldown":
// 1800000000000); and log one short line per alarm (was: the whole
// incident, ~3 KB).
func TestTheAlarmAnswerIsSnakeCaseWithDurationsAsStringsAndLogsOneShortLine(t *testing.T) {
	payload, err := os.ReadFile("../alarm/testdata/eventbridge-alb-target-5xx.json")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	res, err := Alarms(context.Background(), fakeAlarms{}, slog.New(slog.NewJSONHandler(&logs, nil)), payload)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Alarms []map[string]any `json:"alarms"`
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.Alarms) != 1 {
		t.Fatalf("answer %s: %v", b, err)
	}
	a := got.Alarms[0]
	if a["incident"] != "0123456789abcdef" || a["dedup_key"] == nil {
		t.Errorf("answer %s: want incident as its ID and the dedup_key", b)
	}
	props, _ := a["proposals"].([]any)
	if len(props) != 1 {
		t.Fatalf("answer %s: want one proposal", b)
	}
	p := props[0].(map[string]any)
	want := map[string]any{"id": "0123456789abcdef/checkout-target-5xx/0", "policy": "checkout-target-5xx", "step": 1.0, "action": "ecs.scale",
		"approval": "required", "state": "PROPOSED", "plan": "scale prod/checkout 4 -> 6 tasks", "quorum": 1.0,
		"expires_at": "2026-12-03T09:00:00Z", "cooldown": "30m0s"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("proposal %q = %v, want %v", k, p[k], v)
		}
	}
	for k := range p {
		if strings.ToLower(k) != k {
			t.Errorf("key %q is not snake_case in %s", k, b)
		}
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log lines = %d, want 1:\n%s", len(lines), &logs)
	}
	if len(lines[0]) > 400 {
		t.Errorf("the alarm's log line is %d bytes, want at most 400: %s", len(lines[0]), lines[0])
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line["msg"] != "alarm handled" || line["incident"] != "0123456789abcdef" || line["steps"] != "checkout-target-5xx/1 ecs.scale PROPOSED" {
		t.Errorf("log line = %s, want the alarm, its incident and its steps in one string", lines[0])
	}
}
