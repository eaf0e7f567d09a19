package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func TestAnOpenIncidentWhereNothingRan(t *testing.T) {
	inc := &store.Incident{ID: "inc1", Alarm: alarm.Alarm{Name: "web-prod-5xx", ARN: "arn:aws:cloudwatch:us-east-1:1:alarm:web-prod-5xx", Timestamp: t0},
		Policies: []string{"web"}, State: store.IncidentOpen}
	p := &store.Proposal{ID: store.ProposalID("inc1", "web", 0), Policy: "web", Action: "ecs.scale", State: store.StateBlocked,
		Reason: "cooldown until 10:30", Plan: &remediations.Plan{Summary: "desired 4 -> 6"}}
	r := Build(Input{Incident: inc, Proposals: []*store.Proposal{p}, Audit: []store.AuditEntry{
		{Time: t0.Add(2 * time.Second), Incident: "inc1", Event: "incident.opened", Who: "medic", Why: "alarm web-prod-5xx in ALARM"},
		{Time: t0.Add(3 * time.Second), Incident: "inc1", Proposal: p.ID, Event: "proposal.created", To: store.StateBlocked, Who: "medic", Why: "cooldown until 10:30", Plan: p.Plan},
	}})
	if !r.FirstActionAt.IsZero() || !r.RecoveredAt.IsZero() || r.Resolved || len(r.Ran) != 0 || len(r.NotRun) != 1 || r.NotRun[0].Outcome != "cooldown until 10:30" {
		t.Errorf("report %+v", r)
	}
	if r.Timeline[0].At != t0 || r.Timeline[0].Kind != KindAlarm || r.Timeline[1].Text != "web step 1 blocked (desired 4 -> 6): cooldown until 10:30" {
		t.Errorf("timeline %+v: want the alarm at its own timestamp, then the blocked step", r.Timeline)
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(open)", "**Time to first action:** no step ran", "**Time to recovery:** not recovered", "## What ran\n\nNothing ran."} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, &md)
		}
	}
	var js bytes.Buffer
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Incident != "inc1" || len(back.Timeline) != 2 {
		t.Errorf("JSON does not read back: %v %+v", err, back)
	}
}

func TestUndoOnRecoveryIsNoFalsePositive(t *testing.T) {
	id := store.ProposalID("inc1", "web", 0)
	s := Summarise([]store.AuditEntry{
		{Time: t0, Incident: "inc1", Event: "incident.opened", Who: "medic"},
		{Time: t0, Incident: "inc1", Proposal: id, Event: "proposal.created", To: store.StateApproved, Who: "medic"},
		{Time: t0.Add(time.Second), Incident: "inc1", Proposal: id, Event: "proposal.approved", Who: "medic"},
		{Time: t0.Add(time.Second), Incident: "inc1", Proposal: id, Event: "proposal.executing", Who: "medic"},
		{Time: t0.Add(2 * time.Second), Incident: "inc1", Proposal: id, Event: "proposal.succeeded", Who: "medic"},
		{Time: t0.Add(time.Minute), Incident: "inc1", Event: "incident.resolved", Who: "medic"},
		{Time: t0.Add(time.Minute), Incident: "inc1", Proposal: id, Event: "undo.queued", Who: "medic"},
		{Time: t0.Add(time.Minute), Incident: "inc1", Proposal: id, Event: "proposal.undone", Who: "medic"},
	}, t0, t0.Add(time.Hour))
	p := s.Policies[0]
	if p.UndoneOnRecovery != 1 || p.Undone != 0 || p.FalsePositives != 0 || p.Approvals != 0 || p.Executed != 1 {
		t.Errorf("summary %+v: an auto step undone on recovery is neither a person's approval nor a false positive", p)
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(struct{ D Duration }{Duration(90 * time.Second)})
	if err != nil || string(b) != `{"D":"1m30s"}` {
		t.Errorf("marshal: %s %v", b, err)
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("a malformed duration reads without error")
	}
}

func TestBuildWithoutRecordsIsEmpty(t *testing.T) {
	r := Build(Input{})
	if r.Incident != "" || len(r.Timeline) != 0 || len(r.Ran) != 0 || r.Resolved {
		t.Errorf("report of nothing: %+v", r)
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil || !strings.Contains(md.String(), "Nothing ran.") {
		t.Errorf("markdown of nothing: %v\n%s", err, &md)
	}
}
