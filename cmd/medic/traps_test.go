package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/remediations"
)

// Each case is one trap of issue 19, with the message the user got before
// (old) and what they get now.
func TestTheCLIHasNoTraps(t *testing.T) {
	embedExamples(t)
	for _, k := range []string{"MEDIC_ACCOUNT_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "MEDIC_TABLE"} {
		t.Setenv(k, "")
	}
	cases := []struct {
		name string
		old  string // what medic said before, for the record
		args []string
		code int
		// stdout and stderr must contain these; lacks must not appear.
		stdoutHas, stderrHas, stdoutLacks []string
	}{
		{name: "help COMMAND shows that command's usage", old: "the general usage",
			args: []string{"help", "simulate"}, code: 0,
			stdoutHas:   []string{"usage: medic simulate --alarm FILE", "-format string", "-policies string"},
			stdoutLacks: []string{"medic serve"}},
		{name: "help of a command group lists the group", old: "the general usage",
			args: []string{"help", "policy"}, code: 0,
			stdoutHas: []string{"medic policy lint", "medic policy test [DIR]", "medic policy diff"}, stdoutLacks: []string{"medic serve"}},
		{name: "a command group alone shows the group's usage", old: `medic: unknown command "policy"` + " and the general usage",
			args: []string{"policy"}, code: 2,
			stderrHas: []string{"medic policy: which one?", "medic policy lint", "medic policy check"}},
		{name: "help of an unknown command says so", args: []string{"help", "frobnicate"}, code: 2,
			stderrHas: []string{`medic help: unknown command "frobnicate"`}},
		{name: "lint of a missing directory names it as typed", old: "medic: testdata/nope: read policy directory: open .: no such file or directory",
			args: []string{"policy", "lint", "testdata/nope"}, code: 2,
			stderrHas: []string{"medic: testdata/nope: no such directory\n"}},
		{name: "lint of a file says it wants a directory", old: "medic: main.go: read policy directory: open .: not a directory",
			args: []string{"policy", "lint", "main.go"}, code: 2,
			stderrHas: []string{"medic: main.go: not a directory (give the directory that holds the policy files)"}},
		{name: "lint says it checked the embedded policies", old: "policies: 5 policies OK",
			args: []string{"policy", "lint"}, code: 0,
			stdoutHas: []string{"policies OK (embedded in this binary; give DIR to use policy files on disk)"}},
		{name: "the fixtures say they ran against the embedded policies", old: "policies: 10 fixture cases passed",
			args: []string{"policy", "test"}, code: 0,
			stdoutHas: []string{"fixture cases passed (embedded in this binary; give DIR to use policy files on disk)"}},
		{name: "simulate shows the policy set, approvers, quorum, expiry, on_blocked and recovery", old: "steps with action, approval, after and params only",
			args: []string{"simulate", "--format", "text", "--alarm", alarms + "eventbridge-alb-target-5xx.json"}, code: 0,
			stdoutHas: []string{
				"policies: embedded in this binary",
				"policy checkout-target-5xx (after a BLOCKED or EXPIRED step: stop)",
				"approvers: S0SREGROUP U0ONCALL1, quorum 1, expires after 15m",
				"approvers: S0SREGROUP U0ONCALL1, quorum 2, expires after 30m",
				"back to OK: the incident resolves and steps still waiting are cancelled; changes already made stay",
			}},
		{name: "simulate says what on_recovery: undo would reverse", args: []string{"simulate", "--format", "text", "--policies", "testdata/undo", "--alarm", alarms + "eventbridge-alb-target-5xx.json"}, code: 0,
			stdoutHas: []string{"policies: testdata/undo", "on_recovery: undo reverses step 1 (ecs.scale) if it ran", "(after a BLOCKED or EXPIRED step: continue)"}},
		{name: "lint warns about automatic maintenance", old: "testdata/auto-maintenance: 1 policies OK",
			args: []string{"policy", "lint", "testdata/auto-maintenance"}, code: 0,
			stdoutHas: []string{"1 policies OK, 1 warning(s)"},
			stderrHas: []string{"testdata/auto-maintenance/site.yaml:3: policies[0].steps[0].approval: warning: auto runs alb.maintenance without anyone approving"}},
		{name: "fixtures check a later ladder step and name the differing params", old: "params of P: expected map[...], got map[...]; only the first step could be expected",
			args: []string{"policy", "test", "testdata/later-step"}, code: 1,
			stdoutHas: []string{
				"params of checkout-target-5xx step 3: port: expected 80, got 443",
				"error:    policy checkout-target-5xx has 3 step(s); the fixture expects step 9",
				"2 of 3 fixture cases failed",
			},
			stdoutLacks: []string{"step 9 is the maintenance page", "retry_after"}},
		{name: "audit takes days", old: `invalid value "1d" for flag -since: parse error`,
			args: []string{"audit", "--since", "1d", "--store", "STORE"}, code: 0, stdoutHas: []string{"TIME"}},
		{name: "a duration that is none says what is wanted", args: []string{"audit", "--since", "yesterday", "--store", "STORE"}, code: 2,
			stderrHas: []string{`invalid duration "yesterday": want e.g. 90m, 36h or 7d`}},
		{name: "audit of a missing store names it as typed", old: "medic: store nope.db: stat nope.db: no such file or directory",
			args: []string{"audit", "--store", "nope.db"}, code: 2, stderrHas: []string{"medic audit: store nope.db: no such file or directory\n"}},
	}
	storePath := filepath.Join(t.TempDir(), "medic.db")
	st, err := boltstore.Open(storePath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "STORE", storePath)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			for _, want := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q (was: %s):\n%s", want, tc.old, &stdout)
				}
			}
			for _, want := range tc.stderrHas {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q (was: %s):\n%s", want, tc.old, &stderr)
				}
			}
			for _, bad := range tc.stdoutLacks {
				if strings.Contains(stdout.String(), bad) {
					t.Errorf("stdout has %q:\n%s", bad, &stdout)
				}
			}
		})
	}
}

func TestDurationsTakeDays(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "36h": 36 * time.Hour, "0d": 0,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "1dd", "1d-2h", "week"} {
		if d, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, d)
		}
	}
	for d, want := range map[time.Duration]string{48 * time.Hour: "2d", 15 * time.Minute: "15m", 90 * time.Minute: "1h30m", 2 * time.Hour: "2h"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// The audit text table fits 120 columns however long the entries' texts
// (was: a plan summary padded the EVENT column to 394 characters).
func TestTheAuditTableFits120Columns(t *testing.T) {
	storePath := filepath.Join(t.TempDir(), "medic.db")
	st, err := boltstore.Open(storePath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("scale prod/checkout-with-a-very-long-service-name from 4 to 6 tasks, ", 6)
	now := time.Now().UTC()
	err = st.Commit(context.Background(), &store.Tx{Now: now, Audit: []store.AuditEntry{
		{Incident: "0123456789abcdef", Proposal: "0123456789abcdef/checkout-target-5xx-with-a-long-policy-name/0", Event: "proposal.created",
			To: store.StateProposed, Who: "medic", Why: long, Plan: &remediations.Plan{Summary: long}},
		{Incident: "0123456789abcdef", Proposal: "0123456789abcdef/checkout-target-5xx-with-a-long-policy-name/0", Event: "proposal.succeeded",
			From: store.StateExecuting, To: store.StateSucceeded, Who: "U0ALICE-WITH-A-LONG-NAME", Result: &remediations.Result{Summary: long}, Error: long},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"audit", "--store", storePath, "--format", "text"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("audit exit %d: %s", code, &stderr)
	}
	for _, line := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 120 {
			t.Errorf("line of %d columns:\n%s", n, line)
		}
	}
	for _, want := range []string{"proposal.created", "PROPOSED", "EXECUTING -> SUCCEEDED", "      plan: scale prod/checkout", "      result: scale", "      error: scale", "      why: scale"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("audit lacks %q:\n%s", want, &stdout)
		}
	}
}

// medic audit says who was not told: an incident whose card Slack has not
// taken (was: nothing in the audit said so).
func TestAuditSaysWhichIncidentsNobodyWasToldOf(t *testing.T) {
	storePath := filepath.Join(t.TempDir(), "medic.db")
	st, err := boltstore.Open(storePath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = st.Commit(context.Background(), &store.Tx{Now: now,
		Audit: []store.AuditEntry{{Incident: "0123456789abcdef", Event: "incident.opened", Who: "medic"}},
		Owed: []store.OwedWrite{{Create: true, Owed: &store.Owed{ID: store.NewOwedID(now, 0), Kind: store.OwedCard, Incident: "0123456789abcdef",
			Body: []byte(`{}`), CreatedAt: now, NextAttemptAt: now, Attempts: 3, LastError: "post card: channel_not_found"}}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"audit", "--store", storePath}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("audit exit %d: %s", code, &stderr)
	}
	want := "NOT TOLD: the card of incident 0123456789abcdef is owed since " + now.Format(time.RFC3339) + " (3 failed attempts; last error: post card: channel_not_found)"
	if got := strings.Join(strings.Fields(stdout.String()), " "); !strings.Contains(got, want) {
		t.Errorf("audit lacks %q:\n%s", want, &stdout)
	}
}

// The audit as `medic audit` writes it (the assertions of the engine's
// former AuditCommand test, which the CLI replaced): the incident's
// transitions with their results in text, not the pause, which belongs to
// no incident; everything in the window as one JSON array; an unknown
// format refused.
func TestAuditShowsAnIncidentsTransitionsAsTextAndJSON(t *testing.T) {
	storePath := filepath.Join(t.TempDir(), "medic.db")
	st, err := boltstore.Open(storePath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const inc, prop = "0123456789abcdef", "0123456789abcdef/checkout/0"
	now := time.Now().UTC()
	err = st.Commit(context.Background(), &store.Tx{Now: now, Audit: []store.AuditEntry{
		{Incident: inc, Event: "incident.opened", Who: "medic", Why: "alarm checkout-5xx in ALARM"},
		{Incident: inc, Proposal: prop, Event: "proposal.created", To: store.StateApproved, Who: "medic"},
		{Incident: inc, Proposal: prop, Event: "proposal.executing", From: store.StateApproved, To: store.StateExecuting, Who: "medic"},
		{Incident: inc, Proposal: prop, Event: "proposal.succeeded", From: store.StateExecuting, To: store.StateSucceeded, Who: "medic",
			Result: &remediations.Result{Summary: "ecs:prod/checkout: desired 4 -> 6"}},
		{Event: "switch.paused", Who: "U1", Why: "game day"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	var text, stderr bytes.Buffer
	if code := run([]string{"audit", "--store", storePath, "--incident", inc}, nil, &text, &stderr); code != exitOK {
		t.Fatalf("audit text: exit %d: %s", code, &stderr)
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
	if code := run([]string{"audit", "--store", storePath, "--since", "1h", "--format", "json"}, nil, &js, &stderr); code != exitOK {
		t.Fatalf("audit json: exit %d: %s", code, &stderr)
	}
	var entries []store.AuditEntry
	if err := json.Unmarshal(js.Bytes(), &entries); err != nil {
		t.Fatalf("decode json audit: %v\n%s", err, js.String())
	}
	if len(entries) != 5 || entries[4].Event != "switch.paused" || entries[3].Result == nil {
		t.Fatalf("json audit = %+v", entries)
	}
	if code := run([]string{"audit", "--store", storePath, "--format", "xml"}, nil, &js, &stderr); code == exitOK {
		t.Fatal("unknown format accepted")
	}
	var empty bytes.Buffer
	if err := writeAudit(&empty, nil, "json"); err != nil || strings.TrimSpace(empty.String()) != "[]" {
		t.Fatalf("empty json = %q, %v", empty.String(), err)
	}
}
