package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/report"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/remediations"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	alice = "U0ALICE01"
	bob   = "U0BOB0001"
)

// The policy of the run: scale (approved by Alice), then, if the alarm
// holds, scale further (which Bob rejects).
const policyYAML = `version: 1
policies:
  - name: checkout
    runbook: https://runbooks.example.com/checkout-5xx
    match: {alarm: "checkout-*-target-5xx"}
    cooldown: 0s
    approvers: [U0ALICE01, U0BOB0001]
    steps:
      - action: test.scale
        approval: required
        params: {service: checkout, add: 2}
      - action: test.scale
        after: 10m
        approval: required
        params: {service: checkout, add: 4}
`

// clock is the engine's clock: it moves when the test says, and a
// microsecond at each reading so that records keep their order.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// queue holds work messages until they are due on the clock.
type queue struct {
	mu    sync.Mutex
	clock *clock
	msgs  []queued
}

type queued struct {
	m   engine.Message
	due time.Time
}

func (q *queue) Send(_ context.Context, body []byte, delay time.Duration) error {
	m, err := engine.ParseMessage(body)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, queued{m, q.clock.Now().Add(delay)})
	return nil
}

func (q *queue) due() []engine.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var out []engine.Message
	rest := q.msgs[:0]
	for _, it := range q.msgs {
		if it.due.After(now) {
			rest = append(rest, it)
		} else {
			out = append(out, it.m)
		}
	}
	q.msgs = rest
	return out
}

// scale is a fake reversible remediation: desired count +add.
type scale struct{ desired int }

func (*scale) Name() string { return "test.scale" }
func (*scale) Schema() remediations.Schema {
	return remediations.Schema{Description: "scale a fake service", Reversible: true, Params: []remediations.Param{
		{Name: "service", Type: remediations.TypeString, Required: true, Description: "service"},
		{Name: "add", Type: remediations.TypeInt, Required: true, Description: "tasks to add"},
	}}
}

func (s *scale) Plan(_ context.Context, _ *alarm.Alarm, p remediations.Params) (*remediations.Plan, error) {
	add, _ := p.Int("add")
	from, to := strconv.Itoa(s.desired), strconv.Itoa(s.desired+add)
	return &remediations.Plan{Action: s.Name(), Target: "ecs:prod/" + p.String("service"), Reversible: true,
		Summary: "prod/" + p.String("service") + ": desired " + from + " -> " + to + " tasks",
		Changes: []remediations.Change{{Resource: "prod/" + p.String("service"), Field: "desired", From: from, To: to}}}, nil
}

func (s *scale) Apply(_ context.Context, p *remediations.Plan) (*remediations.Result, error) {
	s.desired, _ = strconv.Atoi(p.Changes[0].To)
	return &remediations.Result{Action: p.Action, Target: p.Target, Summary: "desired " + p.Changes[0].From + " -> " + p.Changes[0].To + " tasks",
		Data: json.RawMessage(`{"from":` + p.Changes[0].From + `}`)}, nil
}

func (s *scale) Undo(_ context.Context, r *remediations.Result) (*remediations.Result, error) {
	var d struct{ From int }
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return nil, err
	}
	was := s.desired
	s.desired = d.From
	return &remediations.Result{Action: r.Action, Target: r.Target, Summary: "desired " + strconv.Itoa(was) + " -> " + strconv.Itoa(d.From) + " tasks"}, nil
}

type alarmState struct{ state alarm.State }

func (s *alarmState) AlarmState(context.Context, *alarm.Alarm) (alarm.State, error) {
	return s.state, nil
}

type approvers struct{}

func (approvers) Allowed(_ context.Context, user string, list []string) (bool, error) {
	for _, a := range list {
		if a == user {
			return true, nil
		}
	}
	return false, nil
}

type suspects struct{}

func (suspects) FindSuspects(context.Context, *alarm.Alarm, []*policy.Policy) ([]store.SuspectDeploy, error) {
	return []store.SuspectDeploy{{SHA: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", Author: "dev1",
		CompareURL: "https://github.com/acme/checkout/compare/1a2b3c4...9f8e7d6"}}, nil
}

// run drives the real engine on bbolt through one incident: the alarm, a
// proposal Alice approves, its execution, the ladder's next step Bob
// rejects, Alice's undo of the first, and the recovery. It returns the
// store holding the records.
func run(t *testing.T) (store.Store, string) {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	act := &scale{desired: 4}
	reg, err := remediations.NewRegistry(act)
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Parse("checkout.yaml", []byte(policyYAML), reg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	q := &queue{clock: clk}
	state := &alarmState{alarm.StateAlarm}
	eng, err := engine.New(engine.Config{}, engine.Deps{
		Store: st, Policies: set, Render: (*policy.Step).Render, Actions: reg, Queue: q,
		AlarmState: state, Authorizer: approvers{}, Clock: clk, Suspects: suspects{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	drain := func() {
		t.Helper()
		for range 50 {
			msgs := q.due()
			if len(msgs) == 0 {
				return
			}
			for _, m := range msgs {
				if err := eng.HandleMessage(ctx, m); err != nil {
					t.Fatalf("handle %s for %s: %v", m.Kind, m.Proposal, err)
				}
			}
		}
	}
	fire := func(s alarm.State) engine.Outcome {
		t.Helper()
		a := &alarm.Alarm{
			Name: "checkout-prod-checkout-target-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-checkout-target-5xx",
			Account: "123456789012", Region: "us-east-1", State: s, Reason: "Threshold Crossed: 3 out of the last 5 datapoints were greater than the threshold (0.05).",
			Timestamp: clk.Now().Truncate(time.Millisecond), Route: alarm.RouteEventBridge,
			Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count",
				Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188", "TargetGroup": "targetgroup/checkout/73e2d6bc24d8a067"}}},
		}
		out, err := eng.HandleAlarm(ctx, a)
		if err != nil {
			t.Fatalf("handle %s alarm: %v", s, err)
		}
		return out
	}
	vote := func(step int, user string, approve bool) {
		t.Helper()
		if _, err := eng.Vote(ctx, store.ProposalID(incident(t, st), "checkout", step), user, approve); err != nil {
			t.Fatalf("vote: %v", err)
		}
	}

	out := fire(alarm.StateAlarm)
	if out.Incident == nil {
		t.Fatalf("no incident: %+v", out)
	}
	id := out.Incident.ID
	clk.advance(2*time.Minute + 30*time.Second)
	vote(0, alice, true)
	clk.advance(20 * time.Second)
	drain() // step 1 runs
	clk.advance(10 * time.Minute)
	drain() // the ladder proposes step 2
	clk.advance(90 * time.Second)
	vote(1, bob, false)
	clk.advance(time.Minute)
	if _, err := eng.RequestUndo(ctx, store.ProposalID(id, "checkout", 0), alice); err != nil {
		t.Fatal(err)
	}
	drain()
	clk.advance(4 * time.Minute)
	state.state = alarm.StateOK
	fire(alarm.StateOK)
	drain()
	if act.desired != 4 {
		t.Fatalf("desired count %d after the undo, want 4", act.desired)
	}
	return st, id
}

// incident is the one incident of the store.
func incident(t *testing.T, st store.Store) string {
	t.Helper()
	entries, err := st.Audit(context.Background(), store.AuditQuery{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Event == "incident.opened" {
			return e.Incident
		}
	}
	t.Fatal("no incident opened")
	return ""
}

// records reads what report.Build takes, as the CLI and the bridge do.
func records(t *testing.T, st store.Store, id string) report.Input {
	t.Helper()
	ctx := context.Background()
	inc, err := st.Incident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	props, err := st.Proposals(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := st.Audit(ctx, store.AuditQuery{Incident: id})
	if err != nil {
		t.Fatal(err)
	}
	return report.Input{Incident: inc, Proposals: props, Audit: audit,
		Runbooks: map[string]string{"checkout": "https://runbooks.example.com/checkout-5xx"}}
}

// golden compares got with testdata/name (-update rewrites it). JSON is
// compared as values.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if filepath.Ext(name) == ".json" {
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, got)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs from the golden file:\n%s", name, got)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestReportOfARealIncident(t *testing.T) {
	st, id := run(t)
	r := report.Build(records(t, st, id))

	// The figures a reviewer reads first, checked on their own.
	if got, want := r.TimeToFirstAction.String(), "2m50s"; got != want {
		t.Errorf("time to first action %s, want %s (alarm 10:00:00, approval 10:02:30, execution 20 s later)", got, want)
	}
	if got, want := r.TimeToRecovery.String(), "19m20s"; got != want {
		t.Errorf("time to recovery %s, want %s", got, want)
	}
	if len(r.Ran) != 1 || r.Ran[0].State != "UNDONE" || r.Ran[0].DecidedBy != alice ||
		len(r.NotRun) != 1 || r.NotRun[0].State != "REJECTED" || r.NotRun[0].DecidedBy != bob {
		t.Errorf("ran %+v, not run %+v; want step 1 undone by Alice, step 2 rejected by Bob", r.Ran, r.NotRun)
	}
	kinds := make(map[report.Kind]int)
	for _, e := range r.Timeline {
		kinds[e.Kind]++
	}
	for _, k := range []report.Kind{report.KindAlarm, report.KindProposal, report.KindVote, report.KindExecution, report.KindUndo, report.KindRecovery} {
		if kinds[k] == 0 {
			t.Errorf("the timeline has no %s event: %+v", k, r.Timeline)
		}
	}

	var md, js bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "incident.md", md.Bytes())
	golden(t, "incident.json", js.Bytes())
}

func TestSummaryOfARealIncident(t *testing.T) {
	st, _ := run(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	entries, err := st.Audit(context.Background(), store.AuditQuery{Since: from})
	if err != nil {
		t.Fatal(err)
	}
	s := report.Summarise(entries, from, to)
	if len(s.Policies) != 1 {
		t.Fatalf("policies %+v, want checkout alone", s.Policies)
	}
	p := s.Policies[0]
	if s.Incidents != 1 || s.Resolved != 1 || p.Proposed != 2 || p.Executed != 1 || p.Rejected != 1 || p.Undone != 1 ||
		p.Approvals != 1 || p.ApprovalMedian.String() != "2m30s" || p.FalsePositives != 1 {
		t.Errorf("summary %+v / %+v", s, p)
	}
	var md, js bytes.Buffer
	if err := s.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := s.JSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.md", md.Bytes())
	golden(t, "summary.json", js.Bytes())
}
