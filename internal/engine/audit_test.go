package engine_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
)

func TestAuditCommand(t *testing.T) {
	scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
	f := newFixture(t, []*policy.Policy{autoPolicy("checkout", "ecs.scale")}, []*action{scale})
	out, _ := f.e.HandleAlarm(ctx, newAlarm("checkout-5xx", f.clock.Now()))
	f.drain(t, time.Minute)
	_ = f.e.Pause(ctx, "U1", "game day")

	var text bytes.Buffer
	if err := engine.AuditCommand(ctx, f.e, []string{"--incident", out.Incident.ID}, &text, &text, f.clock.Now()); err != nil {
		t.Fatalf("audit text: %v", err)
	}
	for _, want := range []string{"incident.opened", "proposal.succeeded", "APPROVED -> EXECUTING", "result: ecs:prod/checkout: desired 4 -> 6"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text audit lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "switch.paused") {
		t.Errorf("incident audit shows the pause:\n%s", text.String())
	}

	var js bytes.Buffer
	if err := engine.AuditCommand(ctx, f.e, []string{"--since", "1h", "--format", "json"}, &js, &js, f.clock.Now()); err != nil {
		t.Fatalf("audit json: %v", err)
	}
	var entries []store.AuditEntry
	if err := json.Unmarshal(js.Bytes(), &entries); err != nil {
		t.Fatalf("decode json audit: %v", err)
	}
	if len(entries) != 5 || entries[4].Event != "switch.paused" || entries[3].Result == nil {
		t.Fatalf("json audit = %+v", entries)
	}
	if err := engine.AuditCommand(ctx, f.e, []string{"--format", "xml"}, &js, &js, f.clock.Now()); err == nil {
		t.Fatal("unknown format accepted")
	}
	var empty bytes.Buffer
	if err := engine.FormatAudit(&empty, nil, "json"); err != nil || strings.TrimSpace(empty.String()) != "[]" {
		t.Fatalf("empty json = %q, %v", empty.String(), err)
	}
}
