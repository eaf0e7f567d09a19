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
