package policydiff

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/history"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

// basePolicy is the base version the widening cases change.
const basePolicy = `
  - name: web
    match:
      alarm: "web-*-5xx"
      namespace: AWS/ApplicationELB
      dimensions: {LoadBalancer: "app/web-prod/*"}
    cooldown: 30m
    max_per_hour: 3
    approvers: [S0SREGROUP, U0ONCALL1]
    steps:
      - action: ecs.scale
        approval: required
        quorum: 2
        params: {cluster: prod, service: web, add: 2, max: 10}
      - action: ecs.restart
        approval: shadow
        after: 10m
        params: {cluster: prod, service: web}
`

func load(t *testing.T, body string) []*policy.Policy {
	t.Helper()
	set, err := policy.Parse("p.yaml", []byte("version: 1\npolicies:"+body), builtin.Catalog())
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return set.Policies()
}

// webAlarm is an alarm the base policy matches.
func webAlarm() *alarm.Alarm {
	return &alarm.Alarm{Name: "web-prod-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-prod-5xx", Account: "123456789012", Region: "us-east-1",
		State: alarm.StateAlarm, Timestamp: time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC),
		Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": "app/web-prod/1"}}}}
}

func TestCompareFlagsWhatWidensAutomation(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(string) string
		widens  []string // Finding paths (policy web unless "policy:path")
		changed bool
	}{
		{name: "the same policies change nothing", edit: func(s string) string { return s }},
		{name: "writing out a default changes nothing", edit: func(s string) string {
			return strings.Replace(s, "quorum: 2", "quorum: 2\n        expires: 30m", 1)
		}},
		{name: "a new description is wording only", edit: func(s string) string {
			return strings.Replace(s, "    cooldown: 30m", "    description: the web tier\n    cooldown: 30m", 1)
		}},
		{name: "a required step becoming auto", edit: func(s string) string {
			return strings.Replace(strings.Replace(s, "approval: required\n        quorum: 2", "approval: auto", 1), "    approvers: [S0SREGROUP, U0ONCALL1]\n", "", 1)
		}, widens: []string{"steps[0].approval", "alarm"}, changed: true},
		{name: "a shadow step becoming auto", edit: func(s string) string {
			return strings.Replace(s, "approval: shadow", "approval: auto", 1)
		}, widens: []string{"steps[1].approval"}, changed: true},
		{name: "a higher cap", edit: func(s string) string { return strings.Replace(s, "max_per_hour: 3", "max_per_hour: 5", 1) },
			widens: []string{"max_per_hour"}, changed: true},
		{name: "a removed cap", edit: func(s string) string { return strings.Replace(s, "    max_per_hour: 3\n", "", 1) },
			widens: []string{"max_per_hour"}, changed: true},
		{name: "a lower cap narrows", edit: func(s string) string { return strings.Replace(s, "max_per_hour: 3", "max_per_hour: 1", 1) },
			changed: true},
		{name: "a shorter cooldown", edit: func(s string) string { return strings.Replace(s, "cooldown: 30m", "cooldown: 5m", 1) },
			widens: []string{"cooldown"}, changed: true},
		{name: "a removed approver and a lower quorum", edit: func(s string) string {
			return strings.Replace(strings.Replace(s, "[S0SREGROUP, U0ONCALL1]", "[U0ONCALL1]", 1), "quorum: 2", "quorum: 1", 1)
		}, widens: []string{"steps[0].approvers", "steps[0].quorum"}, changed: true},
		{name: "an added approver narrows nothing and widens nothing", edit: func(s string) string {
			return strings.Replace(s, "[S0SREGROUP, U0ONCALL1]", "[S0SREGROUP, U0ONCALL1, U0ONCALL2]", 1)
		}, changed: true},
		{name: "a removed match constraint", edit: func(s string) string {
			return strings.Replace(s, "      dimensions: {LoadBalancer: \"app/web-prod/*\"}\n", "", 1)
		}, widens: []string{"match.dimensions.LoadBalancer"}, changed: true},
		{name: "a broader alarm glob", edit: func(s string) string { return strings.Replace(s, `"web-*-5xx"`, `"web-*"`, 1) },
			widens: []string{"match.alarm"}, changed: true},
		{name: "an added match constraint narrows", edit: func(s string) string {
			return strings.Replace(s, "      namespace: AWS/ApplicationELB\n", "      namespace: AWS/ApplicationELB\n      regions: us-east-1\n", 1)
		}, changed: true},
		{name: "a new policy with an auto step", edit: func(s string) string {
			return s + `
  - name: api
    match: {alarm: "api-*"}
    steps: [{action: ecs.restart, approval: auto, params: {cluster: prod, service: api}}]
`
		}, widens: []string{"api:"}, changed: true},
		{name: "a new policy needing approval is a change, not a widening", edit: func(s string) string {
			return s + `
  - name: api
    match: {alarm: "api-*"}
    steps: [{action: ecs.restart, approval: required, approvers: [U0ONCALL1], params: {cluster: prod, service: api}}]
`
		}, changed: true},
		{name: "a disabled policy widens nothing", edit: func(s string) string {
			return strings.Replace(strings.Replace(s, "approval: shadow", "approval: auto", 1), "    cooldown: 30m", "    enabled: false\n    cooldown: 30m", 1)
		}, changed: true},
		{name: "on_recovery undo", edit: func(s string) string {
			s = strings.Replace(s, "approval: required\n        quorum: 2", "approval: auto", 1)
			return strings.Replace(s, "    approvers: [S0SREGROUP, U0ONCALL1]\n", "    on_recovery: undo\n", 1)
		}, widens: []string{"on_recovery", "steps[0].approval", "alarm"}, changed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(Input{
				Base: load(t, basePolicy), Head: load(t, tc.edit(basePolicy)), BaseName: "main:policies", HeadName: "policies",
				Samples: []Sample{{Source: "tests/web.yaml: web 5xx", Alarm: webAlarm()}},
			})
			var got []string
			for _, f := range r.Widening {
				switch {
				case f.Alarm != "":
					got = append(got, "alarm")
				case f.Policy != "web":
					got = append(got, f.Policy+":"+f.Path)
				default:
					got = append(got, f.Path)
				}
			}
			if !slices.Equal(got, tc.widens) {
				t.Errorf("widening = %q, want %q\n%+v", got, tc.widens, r.Widening)
			}
			if r.BehaviourChanged() != tc.changed {
				t.Errorf("changed = %v, want %v: %+v", r.BehaviourChanged(), tc.changed, r.Changed)
			}
		})
	}
}

func TestCompareListsAlarmsHandledDifferently(t *testing.T) {
	base := load(t, basePolicy)
	head := load(t, strings.Replace(basePolicy, `"web-*-5xx"`, `"web-*-4xx"`, 1)+`
  - name: web-restart
    match: {alarm: "web-*-5xx"}
    steps: [{action: ecs.restart, approval: auto, params: {cluster: prod, service: web}}]
`)
	rec := history.Record{Name: "web-prod-5xx", ARN: webAlarm().ARN, Timestamp: webAlarm().Timestamp, OldState: "OK", NewState: "ALARM", Metrics: webAlarm().Metrics}
	later := rec
	later.Timestamp = later.Timestamp.Add(time.Hour)
	r := Compare(Input{Base: base, Head: head, Samples: []Sample{{Source: "tests/web.yaml: web 5xx", Alarm: webAlarm()}}, History: []history.Record{rec, later}})
	if len(r.Alarms) != 2 {
		t.Fatalf("alarms = %+v", r.Alarms)
	}
	h := r.Alarms[0] // "history" sorts before "tests/..."
	if h.Source != SourceHistory || h.Count != 2 || !h.Widens || outcomesText(h.Base) != "web → ecs.scale (required)" || outcomesText(h.Head) != "web-restart → ecs.restart (auto)" {
		t.Errorf("history row = %+v", h)
	}
	if r.HeadReplay.Policy("web-restart").Fired != 2 || r.BaseReplay.Policy("web").Fired != 2 || r.HeadReplay.Policy("web").Fired != 0 {
		t.Errorf("replays: base %+v head %+v", r.BaseReplay.Policies, r.HeadReplay.Policies)
	}
	var alarmFinding *Finding
	for i := range r.Widening {
		if r.Widening[i].Alarm == "web-prod-5xx" {
			alarmFinding = &r.Widening[i]
		}
	}
	if alarmFinding == nil || !strings.Contains(alarmFinding.Msg, "1 fixture case(s) and 2 recorded state change(s)") {
		t.Errorf("alarm finding = %+v", alarmFinding)
	}
}
