package policy_test

import (
	"slices"
	"testing"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
)

const matchPolicies = `version: 1
policies:
  - name: checkout-target-5xx
    match:
      alarm: ["checkout-*-5xx"]
      namespace: AWS/ApplicationELB
      metric: HTTPCode_Target_5XX_Count
      dimensions: {LoadBalancer: "app/checkout-prod/*"}
      accounts: "123456789012"
      regions: [us-east-1, eu-west-1]
      tags: {team: payments}
    steps: [{action: ecs.restart, approval: auto}]
  - name: exact-name
    match: {alarm: checkout-prod-5xx}
    steps: [{action: ecs.restart, approval: shadow}]
  - name: any-elb-5xx
    match: {metric: [HTTPCode_ELB_502_Count, HTTPCode_ELB_503_Count]}
    steps: [{action: ecs.restart, approval: auto}]
  - name: by-tag-only
    match: {tags: {service: "edge-*"}}
    steps: [{action: ecs.restart, approval: auto}]
  - name: switched-off
    enabled: false
    match: {alarm: checkout-prod-5xx}
    steps: [{action: ecs.restart, approval: auto}]
`

func checkoutAlarm() *alarm.Alarm {
	return &alarm.Alarm{
		Name: "checkout-prod-5xx", Account: "123456789012", Region: "us-east-1", State: alarm.StateAlarm,
		Tags: map[string]string{"team": "payments"},
		Metrics: []alarm.Metric{{
			Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count",
			Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188", "TargetGroup": "targetgroup/checkout/73e2"},
		}},
	}
}

func TestMatch(t *testing.T) {
	set, err := policy.Parse("match.yaml", []byte(matchPolicies), testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(a *alarm.Alarm)
		want   []string
	}{
		{"an alarm meeting every constraint matches, in declaration order", func(*alarm.Alarm) {}, []string{"checkout-target-5xx", "exact-name"}},
		{"another account does not match the account-bound policy", func(a *alarm.Alarm) { a.Account = "999999999999" }, []string{"exact-name"}},
		{"any listed region matches", func(a *alarm.Alarm) { a.Region = "eu-west-1" }, []string{"checkout-target-5xx", "exact-name"}},
		{"a missing tag does not match", func(a *alarm.Alarm) { a.Tags = nil }, []string{"exact-name"}},
		{"a dimension outside the glob does not match", func(a *alarm.Alarm) {
			a.Metrics[0].Dimensions = map[string]string{"LoadBalancer": "app/search-prod/1"}
		}, []string{"exact-name"}},
		{"namespace, metric and dimensions must hold for the same metric", func(a *alarm.Alarm) {
			a.Metrics = []alarm.Metric{
				{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": "app/search-prod/1"}},
				{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"LoadBalancer": "app/checkout-prod/1"}},
			}
		}, []string{"exact-name"}},
		{"one of several metrics is enough", func(a *alarm.Alarm) {
			a.Metrics = append([]alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "RequestCount"}}, a.Metrics...)
		}, []string{"checkout-target-5xx", "exact-name"}},
		{"a composite alarm has no metrics, so metric-bound policies do not match", func(a *alarm.Alarm) { a.Metrics = nil }, []string{"exact-name"}},
		// medic acts only on ALARM (policy.ActsOn): a recovery or missing
		// data matches no policy, so nothing plans or runs a step for it.
		{"an OK transition matches no policy", func(a *alarm.Alarm) { a.State = alarm.StateOK }, nil},
		{"an INSUFFICIENT_DATA transition matches no policy", func(a *alarm.Alarm) { a.State = alarm.StateInsufficientData }, nil},
		{"the name glob does not cross /", func(a *alarm.Alarm) { a.Name = "checkout-prod/eu-5xx" }, nil},
		{"a policy without a name constraint is found by metric", func(a *alarm.Alarm) {
			a.Name = "edge-elb-502"
			a.Metrics[0].Name = "HTTPCode_ELB_502_Count"
		}, []string{"any-elb-5xx"}},
		{"a policy with only a tag constraint is found by scanning", func(a *alarm.Alarm) {
			a.Name = "whatever"
			a.Tags = map[string]string{"service": "edge-api"}
		}, []string{"by-tag-only"}},
		{"nothing matches an unrelated alarm", func(a *alarm.Alarm) { a.Name = "db-cpu"; a.Metrics = nil; a.Tags = nil }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := checkoutAlarm()
			tc.change(a)
			var got []string
			for _, p := range set.Match(a) {
				got = append(got, p.Name)
				if !p.Matches(a) {
					t.Errorf("Match returned %s but %s.Matches is false", p.Name, p.Name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
			// The index must agree with checking every policy.
			var all []string
			for _, p := range set.Policies() {
				if p.Matches(a) {
					all = append(all, p.Name)
				}
			}
			if !slices.Equal(all, tc.want) {
				t.Errorf("checking every policy gives %v, want %v", all, tc.want)
			}
		})
	}
}

func TestSetLookups(t *testing.T) {
	set, err := policy.Parse("match.yaml", []byte(matchPolicies), testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	if p := set.Policy("switched-off"); p == nil || p.Enabled {
		t.Errorf("Policy(switched-off) = %+v, want a disabled policy", p)
	}
	if p := set.Policy("nope"); p != nil {
		t.Errorf("Policy(nope) = %v, want nil", p)
	}
	ps := set.Policies()
	if len(ps) != 5 || ps[0].Name != "checkout-target-5xx" {
		t.Errorf("Policies() = %d policies starting %s", len(ps), ps[0].Name)
	}
	ps[0] = nil // the caller's copy
	if set.Policies()[0] == nil {
		t.Error("Policies() returned the set's own slice")
	}
	if got := set.Policy("checkout-target-5xx").Match.State; got != alarm.StateAlarm {
		t.Errorf("default state = %q, want ALARM", got)
	}
}

func TestActsOn(t *testing.T) {
	cases := []struct {
		state alarm.State
		want  bool
	}{
		{alarm.StateAlarm, true},
		{alarm.StateOK, false},
		{alarm.StateInsufficientData, false},
		{"", false},
		{"FIRING", false},
	}
	for _, tc := range cases {
		if got := policy.ActsOn(tc.state); got != tc.want {
			t.Errorf("ActsOn(%q) = %v, want %v", tc.state, got, tc.want)
		}
	}
}
