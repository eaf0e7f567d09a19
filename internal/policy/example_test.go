package policy_test

import (
	"errors"
	"fmt"
	"testing/fstest"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

const checkoutYAML = `version: 1
policies:
  - name: checkout-target-5xx
    match:
      alarm: "checkout-*-5xx"
      metric: HTTPCode_Target_5XX_Count
    steps:
      - action: ecs.scale
        approval: auto
        params: {cluster: prod, service: "{{ .Dimensions.TargetGroup | segment 1 }}", add: 2, max: 20}
      - action: github.rollback
        after: 10m
        approval: required
        approvers: [S0SREGROUP]
        params: {repo: acme/checkout, environment: production}
`

func ExampleParse() {
	set, err := policy.Parse("checkout.yaml", []byte(checkoutYAML), builtin.Catalog())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range set.Policy("checkout-target-5xx").Steps {
		fmt.Println(st.Index, st.Action, st.Approval, st.After, st.Approvers, st.Quorum, st.Expires)
	}
	// Output:
	// 0 ecs.scale auto 0s [] 0 0s
	// 1 github.rollback required 10m0s [S0SREGROUP] 1 30m0s
}

func ExampleParse_errors() {
	const bad = `version: 1
policies:
  - name: checkout
    match: {alarm: "checkout-*"}
    steps:
      - action: ecs.scale
        approval: sometimes
        params: {add: 2, min: 10, max: 5}
`
	_, err := policy.Parse("policies/checkout.yaml", []byte(bad), builtin.Catalog())
	var errs *policy.Errors
	if errors.As(err, &errs) {
		for _, e := range *errs {
			fmt.Println(e)
		}
	}
	// Output:
	// policies/checkout.yaml:7: policies[0].steps[0].approval: must be auto, required or shadow, got "sometimes"
	// policies/checkout.yaml:8: policies[0].steps[0].params.max: must be >= min (10), got 5
}

func ExampleLoad() {
	fsys := fstest.MapFS{
		"checkout.yaml":       {Data: []byte(checkoutYAML)},
		"tests/fixtures.yaml": {Data: []byte("cases: []")}, // fixtures are not policies
	}
	set, err := policy.Load(fsys, builtin.Catalog())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range set.Policies() {
		fmt.Println(p.File, p.Line, p.Name)
	}
	// Output:
	// checkout.yaml 3 checkout-target-5xx
}

func ExampleSet_Match() {
	set, err := policy.Parse("checkout.yaml", []byte(checkoutYAML), builtin.Catalog())
	if err != nil {
		fmt.Println(err)
		return
	}
	a := &alarm.Alarm{
		Name:  "checkout-prod-5xx",
		State: alarm.StateAlarm,
		Metrics: []alarm.Metric{{
			Namespace:  "AWS/ApplicationELB",
			Name:       "HTTPCode_Target_5XX_Count",
			Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout/73e2d6bc24d8a067"},
		}},
		Timestamp: time.Date(2024, 5, 14, 9, 21, 37, 0, time.UTC),
	}
	for _, p := range set.Match(a) {
		params, err := p.Steps[0].Render(a)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(p.Name, p.Steps[0].Action, params)
	}
	// Output:
	// checkout-target-5xx ecs.scale map[add:2 cluster:prod max:20 service:checkout]
}

func ExampleActsOn() {
	for _, s := range []alarm.State{alarm.StateAlarm, alarm.StateOK, alarm.StateInsufficientData} {
		fmt.Println(s, policy.ActsOn(s))
	}
	// A policy on a state medic does not act on is refused when it loads.
	_, err := policy.Parse("recovery.yaml", []byte(`version: 1
policies:
  - name: recovered
    match: {alarm: "checkout-*", state: OK}
    steps: [{action: ecs.restart, approval: auto, params: {cluster: prod, service: checkout}}]
`), builtin.Catalog())
	fmt.Println(err)
	// Output:
	// ALARM true
	// OK false
	// INSUFFICIENT_DATA false
	// recovery.yaml:4: policies[0].match.state: medic acts only on ALARM state changes, so a policy on OK never runs; recovery (the alarm back to OK) is handled by on_recovery (on_recovery: undo undoes the policy's reversible auto steps): leave state out or write state: ALARM
}

func ExampleSet_OutsideDeployment() {
	set, err := policy.Parse("payments.yaml", []byte(`version: 1
policies:
  - name: payments-5xx
    match:
      alarm: "payments-*-5xx"
      accounts: ["222222222222"]
    steps: [{action: ecs.restart, approval: auto, params: {cluster: prod, service: payments}}]
`), builtin.Catalog())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range set.OutsideDeployment("111111111111", "us-east-1") {
		fmt.Println("warning:", w)
	}
	// Output:
	// warning: payments.yaml:6: policies[0].match.accounts: does not include account 111111111111: medic acts only in account 111111111111 (its own) and would block this policy's steps
}
