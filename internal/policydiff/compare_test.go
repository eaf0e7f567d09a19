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
		{name: "removing a cap of 3 leaves the engine default, 3: no wider", edit: func(s string) string { return strings.Replace(s, "    max_per_hour: 3\n", "", 1) },
			changed: true},
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

// autoBase is the base version the parameter cases change: an auto
// ecs.scale, an auto github.rollback and a required ecs.scale.
const autoBase = `
  - name: web
    match: {alarm: "web-*-5xx"}
    cooldown: 30m
    max_per_hour: 2
    steps:
      - action: ecs.scale
        approval: auto
        params: {cluster: prod, service: web, add: 2, max: 12}
      - action: github.rollback
        approval: auto
        after: 10m
        params: {repo: acme/web, environment: production, strategy: revert-pr}
      - action: ecs.scale
        approval: required
        approvers: [U0ONCALL1]
        params: {cluster: prod, service: web, add: 2, max: 12}
`

// TestCompareFlagsWhatLetsAnAutoStepDoMore: the parameters an action's
// schema marks as widening (remediations.Param.Widens) are compared on
// steps that run without approval, and caps as the engine applies them.
func TestCompareFlagsWhatLetsAnAutoStepDoMore(t *testing.T) {
	step0 := "params: {cluster: prod, service: web, add: 2, max: 12}\n      - action: github.rollback"
	edit0 := func(params string) func(string) string {
		return func(s string) string {
			return strings.Replace(s, step0, "params: {cluster: prod, service: web, "+params+"}\n      - action: github.rollback", 1)
		}
	}
	rollback := "params: {repo: acme/web, environment: production, strategy: revert-pr"
	edit1 := func(extra string) func(string) string {
		return func(s string) string { return strings.Replace(s, rollback, rollback+", "+extra, 1) }
	}
	cases := []struct {
		name   string
		edit   func(string) string
		widens []string // path: message
	}{
		{name: "a higher max", edit: edit0("add: 2, max: 60"),
			widens: []string{"steps[0].params.max: auto step ecs.scale higher max: 12 → 60"}},
		{name: "a bigger step", edit: edit0("add: 6, max: 12"),
			widens: []string{"steps[0].params.add: auto step ecs.scale higher add: 2 → 6"}},
		{name: "both, and a floor given", edit: edit0("add: 6, min: 4, max: 60"),
			widens: []string{
				"steps[0].params.add: auto step ecs.scale higher add: 2 → 6",
				"steps[0].params.max: auto step ecs.scale higher max: 12 → 60",
				"steps[0].params.min: auto step ecs.scale min given: 4 (was not)",
			}},
		{name: "add becoming factor cannot be compared: the factor is flagged", edit: edit0("factor: 3, max: 12"),
			widens: []string{"steps[0].params.factor: auto step ecs.scale factor given: 3 (was not)"}},
		{name: "a lower max and a smaller step narrow", edit: edit0("add: 1, max: 8")},
		{name: "a templated max is flagged for review", edit: edit0(`add: 2, max: "{{ .Tags.max }}"`),
			widens: []string{"steps[0].params.max: auto step ecs.scale max templated: 12 → {{.Tags.max}}; what it renders to cannot be compared here"}},
		{name: "a required step's higher max is for its approvers to judge", edit: func(s string) string {
			return strings.Replace(s, "approvers: [U0ONCALL1]\n        params: {cluster: prod, service: web, add: 2, max: 12}",
				"approvers: [U0ONCALL1]\n        params: {cluster: prod, service: web, add: 2, max: 60}", 1)
		}},
		{name: "a step becoming auto with a higher max says both", edit: func(s string) string {
			return strings.Replace(s, "approval: required\n        approvers: [U0ONCALL1]\n        params: {cluster: prod, service: web, add: 2, max: 12}",
				"approval: auto\n        params: {cluster: prod, service: web, add: 2, max: 60}", 1)
		}, widens: []string{
			"steps[2].approval: ecs.scale becomes auto (was required)",
			"steps[2].params.max: auto step ecs.scale higher max: 12 → 60",
		}},
		{name: "auto-merging the revert", edit: edit1("auto_merge: true"),
			widens: []string{"steps[1].params.auto_merge: auto step github.rollback auto_merge turned on (was false)"}},
		{name: "writing out auto_merge's default widens nothing", edit: edit1("auto_merge: false")},
		{name: "a longer window than the default", edit: edit1("window: 6h"),
			widens: []string{"steps[1].params.window: auto step github.rollback higher window: 60m → 6h"}},
		{name: "a shorter window narrows", edit: edit1("window: 30m")},
		{name: "a cap above the base's", edit: func(s string) string { return strings.Replace(s, "max_per_hour: 2", "max_per_hour: 6", 1) },
			widens: []string{"max_per_hour: higher cap: 2 → 6 per hour"}},
		{name: "a removed cap of 2 is the engine default, 3", edit: func(s string) string { return strings.Replace(s, "    max_per_hour: 2\n", "", 1) },
			widens: []string{"max_per_hour: higher cap: 2 → engine default (3) per hour"}},
		{name: "a shorter cooldown", edit: func(s string) string { return strings.Replace(s, "cooldown: 30m", "cooldown: 0s", 1) },
			widens: []string{"cooldown: shorter cooldown: 30m → 0s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := tc.edit(autoBase)
			if head == autoBase {
				t.Fatal("the edit changed nothing")
			}
			r := Compare(Input{Base: load(t, autoBase), Head: load(t, head), BaseName: "main:policies", HeadName: "policies"})
			var got []string
			for _, f := range r.Widening {
				got = append(got, f.Path+": "+f.Msg)
			}
			if !slices.Equal(got, tc.widens) {
				t.Errorf("widening:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.widens, "\n"))
			}
			if !r.BehaviourChanged() {
				t.Errorf("no behaviour change: %+v", r.Changed)
			}
		})
	}
}

// TestCompareDefaultCap: a policy without max_per_hour is judged by the
// engine's default cap.
func TestCompareDefaultCap(t *testing.T) {
	noCap := strings.Replace(autoBase, "    max_per_hour: 2\n", "", 1)
	r := Compare(Input{Base: load(t, noCap), Head: load(t, strings.Replace(autoBase, "max_per_hour: 2", "max_per_hour: 5", 1))})
	if len(r.Widening) != 1 || r.Widening[0].Msg != "higher cap: engine default (3) → 5 per hour" {
		t.Errorf("widening = %+v", r.Widening)
	}
	r = Compare(Input{Base: load(t, noCap), Head: load(t, strings.Replace(autoBase, "max_per_hour: 2", "max_per_hour: 3", 1))})
	if len(r.Widening) != 0 {
		t.Errorf("writing out the default cap widens: %+v", r.Widening)
	}
}

// TestCompareFlagsALowerRateLimit: waf.rate_limit's limit widens downwards
// (remediations.Param.WidensDown): a lower limit on an auto step throttles
// more clients, a higher one loosens the throttle and widens nothing.
func TestCompareFlagsALowerRateLimit(t *testing.T) {
	base := `
  - name: api
    match: {alarm: "api-*-5xx"}
    steps:
      - action: waf.rate_limit
        approval: auto
        params: {limit: 1000, action: block}
`
	for _, tc := range []struct {
		name   string
		limit  string
		widens []string
	}{
		{"a lower limit tightens the throttle and is flagged", "200", []string{"steps[0].params.limit: auto step waf.rate_limit lower limit: 1000 → 200 (tighter: acts on more)"}},
		{"a higher limit loosens it and widens nothing", "5000", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := strings.Replace(base, "limit: 1000", "limit: "+tc.limit, 1)
			r := Compare(Input{Base: load(t, base), Head: load(t, head)})
			var got []string
			for _, f := range r.Widening {
				got = append(got, f.Path+": "+f.Msg)
			}
			if !slices.Equal(got, tc.widens) {
				t.Errorf("widening:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.widens, "\n"))
			}
			if !r.BehaviourChanged() {
				t.Errorf("a changed limit is no behaviour change: %+v", r.Changed)
			}
		})
	}
}
