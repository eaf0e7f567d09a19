package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/remediations"
)

// reportStore writes one resolved incident of the embedded checkout policy
// an hour ago: step 1 approved by a person and run, step 2 rejected.
func reportStore(t *testing.T) (path, id string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "medic.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	a := alarm.Alarm{Name: "checkout-prod-checkout-target-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-checkout-target-5xx",
		Account: "123456789012", Region: "us-east-1", State: alarm.StateAlarm, Timestamp: at}
	id = store.IncidentID(a.DedupKey())
	inc := &store.Incident{ID: id, DedupKey: a.DedupKey(), Alarm: a, Policies: []string{"checkout-target-5xx"}, State: store.IncidentResolved,
		CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour)}
	p1 := &store.Proposal{ID: store.ProposalID(id, "checkout-target-5xx", 0), Incident: id, Policy: "checkout-target-5xx", Step: 0, Action: "ecs.scale",
		Plan: &remediations.Plan{Summary: "prod/checkout: desired 4 -> 6 tasks"}, Result: &remediations.Result{Summary: "desired 4 -> 6"},
		State: store.StateProposed, Votes: []store.Vote{{User: "U0ONCALL1", At: at.Add(time.Minute)}}, CreatedAt: at, UpdatedAt: at, RecordExpiresAt: inc.ExpiresAt}
	p2 := &store.Proposal{ID: store.ProposalID(id, "checkout-target-5xx", 1), Incident: id, Policy: "checkout-target-5xx", Step: 1, Action: "github.rollback",
		State: store.StateProposed, DecidedBy: "U0ONCALL1", Reason: "rejected by U0ONCALL1", CreatedAt: at, UpdatedAt: at, RecordExpiresAt: inc.ExpiresAt}
	audit := []store.AuditEntry{
		{Time: at, Incident: id, Event: "incident.opened", Who: "medic", Why: "alarm in ALARM"},
		{Time: at, Incident: id, Proposal: p1.ID, Event: "proposal.created", To: store.StateProposed, Who: "medic"},
		{Time: at.Add(time.Minute), Incident: id, Proposal: p1.ID, Event: "proposal.approved", From: store.StateProposed, To: store.StateApproved, Who: "U0ONCALL1"},
		{Time: at.Add(70 * time.Second), Incident: id, Proposal: p1.ID, Event: "proposal.executing", Who: "medic"},
		{Time: at.Add(80 * time.Second), Incident: id, Proposal: p1.ID, Event: "proposal.succeeded", Who: "medic"},
		{Time: at.Add(11 * time.Minute), Incident: id, Proposal: p2.ID, Event: "proposal.created", To: store.StateProposed, Who: "medic"},
		{Time: at.Add(12 * time.Minute), Incident: id, Proposal: p2.ID, Event: "proposal.rejected", Who: "U0ONCALL1"},
		{Time: at.Add(15 * time.Minute), Incident: id, Event: "incident.resolved", Who: "medic"},
	}
	err = st.Commit(context.Background(), &store.Tx{Now: time.Now(), Incidents: []store.IncidentWrite{{Incident: inc, Create: true}},
		Proposals: []store.ProposalWrite{{Proposal: p1, Create: true}, {Proposal: p2, Create: true}}, Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	// The store keeps the state machine: walk the proposals through it.
	move := func(p *store.Proposal, to ...store.State) {
		for _, s := range to {
			from := p.State
			p.State = s
			if err := st.Commit(context.Background(), &store.Tx{Now: time.Now(), Proposals: []store.ProposalWrite{{Proposal: p, From: from}}}); err != nil {
				t.Fatalf("move %s from %s to %s: %v", p.ID, from, s, err)
			}
		}
	}
	move(p1, store.StateApproved, store.StateExecuting, store.StateSucceeded)
	move(p2, store.StateRejected)
	return path, id
}

func TestReportOfAnIncident(t *testing.T) {
	embedExamples(t)
	t.Setenv("MEDIC_TABLE", "")
	path, id := reportStore(t)
	code, stdout, stderr := runMedic("report", "--store", path, "--incident", id)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"# Incident " + id + ": checkout-prod-checkout-target-5xx (resolved)",
		"**Time to first action:** 1m10s", "**Time to recovery:** 15m0s",
		"[Runbook (checkout-target-5xx)](https://runbooks.example.com/checkout-5xx)",
		"**checkout-target-5xx step 1** `ecs.scale`: succeeded", "approved by U0ONCALL1",
		"**checkout-target-5xx step 2** `github.rollback`: rejected; rejected by U0ONCALL1",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runMedic("report", "--store", path, "--incident", id, "--format", "json")
	var r struct {
		Incident          string `json:"incident"`
		TimeToFirstAction string `json:"time_to_first_action"`
		Ran               []any  `json:"ran"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &r) != nil || r.Incident != id || r.TimeToFirstAction != "1m10s" || len(r.Ran) != 1 {
		t.Errorf("json: exit %d %+v\n%s%s", code, r, stdout, stderr)
	}
}

func TestReportSummary(t *testing.T) {
	t.Setenv("MEDIC_TABLE", "")
	path, _ := reportStore(t)
	code, stdout, stderr := runMedic("report", "--store", path, "--since", "7d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"1 incident(s) opened, 1 resolved; 1 step(s) executed.",
		"| checkout-target-5xx | 1 | 2 | 1 | 1 | 0 | 1 | 0 / 0 | 0 | 0 | 1 | 1m0s | 1m0s | 1 |",
		"Possible false positives (a step rejected or undone by a person): checkout-target-5xx (1)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if code, stdout, _ := runMedic("report", "--store", path, "--since", "30m"); code != exitOK || !strings.Contains(stdout, "0 incident(s) opened") {
		t.Errorf("a window before the incident: exit %d\n%s", code, stdout)
	}
}

func TestReportErrors(t *testing.T) {
	t.Setenv("MEDIC_TABLE", "")
	path, _ := reportStore(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"neither --incident nor --since", []string{"report", "--store", path}, exitUsage, "give one of --incident ID"},
		{"both", []string{"report", "--store", path, "--incident", "x", "--since", "7d"}, exitUsage, "give one of"},
		{"a bad window", []string{"report", "--store", path, "--since", "a week"}, exitUsage, `--since: "a week"`},
		{"a bad format", []string{"report", "--store", path, "--since", "7d", "--format", "html"}, exitUsage, "markdown or json"},
		{"an unknown incident", []string{"report", "--store", path, "--incident", "nope"}, exitFindings, "no incident nope"},
		{"a missing store", []string{"report", "--store", path + ".gone", "--since", "7d"}, exitUsage, ".gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMedic(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}
