package history

import (
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/policies"
	"github.com/medicbot/medic/remediations/builtin"
)

var t0 = time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)

// checkout is a record of the checkout target-5xx alarm the embedded
// policies answer.
func checkout(at time.Duration, old, new alarm.State) Record {
	return Record{
		Name: "checkout-prod-target-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx",
		Timestamp: t0.Add(at), OldState: old, NewState: new,
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Stat: "Sum", Period: 60,
			Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188", "TargetGroup": "targetgroup/checkout/73e2d6bc24d8a067"}}},
	}
}

func embedded(t *testing.T) *policy.Set {
	t.Helper()
	set, err := policy.Load(policies.FS, builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestReplay(t *testing.T) {
	set := embedded(t)
	deleted := Record{Name: "search-prod-5xx", Timestamp: t0.Add(3 * time.Hour), OldState: "OK", NewState: "ALARM"}
	cases := []struct {
		name    string
		records []Record
		// for checkout-target-5xx
		fired, selfResolved, renderErrors int
		unmatched                         int
	}{
		{name: "no records fire nothing", records: nil},
		{name: "an ALARM back to OK within the second step's after counts as self-resolved",
			records: []Record{checkout(0, "OK", "ALARM"), checkout(9*time.Minute, "ALARM", "OK")}, fired: 1, selfResolved: 1},
		{name: "an ALARM that lasts past the window does not",
			records: []Record{checkout(0, "OK", "ALARM"), checkout(11*time.Minute, "ALARM", "OK")}, fired: 1},
		{name: "only the next state change counts, in time order whatever the file order",
			records: []Record{checkout(5*time.Minute, "ALARM", "INSUFFICIENT_DATA"), checkout(6*time.Minute, "INSUFFICIENT_DATA", "OK"), checkout(0, "OK", "ALARM")}, fired: 1},
		{name: "recoveries are not fires",
			records: []Record{checkout(0, "OK", "ALARM"), checkout(time.Minute, "ALARM", "OK"), checkout(time.Hour, "OK", "ALARM")}, fired: 2, selfResolved: 1},
		{name: "an alarm deleted since matches nothing and is listed",
			records: []Record{deleted}, unmatched: 1},
		{name: "a record whose dimensions the template needs but lacks is a render error",
			records: func() []Record {
				// The first metric does not match but comes first in the
				// merged .Dimensions: its TargetGroup has no segment 1.
				r := checkout(0, "OK", "ALARM")
				r.Metrics = append([]alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count",
					Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188", "TargetGroup": "targetgroup"}}}, r.Metrics...)
				return []Record{r}
			}(), fired: 1, renderErrors: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(tc.records, set.Policies())
			p := r.Policy("checkout-target-5xx")
			if p == nil {
				t.Fatal("no entry for checkout-target-5xx")
			}
			if p.Fired != tc.fired || p.SelfResolved != tc.selfResolved || p.RenderErrors != tc.renderErrors {
				t.Errorf("fired %d self-resolved %d render errors %d, want %d %d %d", p.Fired, p.SelfResolved, p.RenderErrors, tc.fired, tc.selfResolved, tc.renderErrors)
			}
			if p.Action != "ecs.scale" || p.Approval != policy.ApprovalRequired || p.Window != 10*time.Minute {
				t.Errorf("first step %s (%s), window %s", p.Action, p.Approval, p.Window)
			}
			if r.Unmatched != tc.unmatched || len(r.Policies) != len(set.Policies()) {
				t.Errorf("unmatched %d (%v), %d policies", r.Unmatched, r.UnmatchedAlarms, len(r.Policies))
			}
		})
	}
}

func TestWindow(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want time.Duration
	}{
		{"the second step's after when there is one", `
  - name: p
    match: {alarm: a}
    cooldown: 1h
    steps:
      - {action: ecs.restart, approval: auto, params: {cluster: c, service: s}}
      - {action: ecs.restart, approval: auto, after: 7m, params: {cluster: c, service: s}}`, 7 * time.Minute},
		{"else the cooldown", `
  - name: p
    match: {alarm: a}
    cooldown: 20m
    steps: [{action: ecs.restart, approval: auto, params: {cluster: c, service: s}}]`, 20 * time.Minute},
		{"else the default after", `
  - name: p
    match: {alarm: a}
    cooldown: 0s
    steps: [{action: ecs.restart, approval: auto, params: {cluster: c, service: s}}]`, policy.DefaultAfter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := policy.Parse("p.yaml", []byte("version: 1\npolicies:"+tc.yaml), builtin.Catalog())
			if err != nil {
				t.Fatal(err)
			}
			if got := Window(set.Policy("p")); got != tc.want {
				t.Errorf("window = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReplayMarkdown(t *testing.T) {
	r := Run([]Record{checkout(0, "OK", "ALARM"), checkout(4*time.Minute, "ALARM", "OK"),
		{Name: "search-prod-5xx", Timestamp: t0.Add(time.Hour), OldState: "OK", NewState: "ALARM"}}, embedded(t).Policies())
	var b strings.Builder
	if err := r.Markdown(&b, "Replay"); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| `") {
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			rows[strings.Trim(cells[0], "`")] = cells
		}
	}
	got := rows["checkout-target-5xx"]
	if len(got) != 7 || got[1] != "1" || got[2] != "ecs.scale (required)" || got[3] != "1 of 1 (100%)" || got[4] != "10m" {
		t.Errorf("checkout row = %q\n%s", got, b.String())
	}
	if len(rows) != len(embedded(t).Policies()) {
		t.Errorf("%d rows:\n%s", len(rows), b.String())
	}
	if !strings.Contains(b.String(), "1 ALARM transition(s) matched no policy: search-prod-5xx") {
		t.Errorf("unmatched line missing:\n%s", b.String())
	}
}

func TestReadReportsEveryBadLine(t *testing.T) {
	in := `{"name":"a","timestamp":"2024-05-14T09:00:00Z","old_state":"OK","new_state":"ALARM"}

{"name":"b","timestamp":"2024-05-14T09:00:00Z","new_state":"FIRING"}
not json
{"name":"c","timestamp":"2024-05-14T09:00:00Z","new_state":"OK","colour":"red"}
{"timestamp":"2024-05-14T09:00:00Z","new_state":"OK"}
`
	_, err := Read(strings.NewReader(in), "h.jsonl")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"h.jsonl:3: new_state must be", "h.jsonl:4: ", `h.jsonl:5: json: unknown field "colour"`, "h.jsonl:6: record lacks name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "h.jsonl:1:") {
		t.Errorf("the good line is reported:\n%v", err)
	}
}
