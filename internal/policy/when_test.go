package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/policy"
)

const whenPolicy = `version: 1
policies:
  - name: checkout
    match: {alarm: x}
    evidence: {budget: 6s}
    steps:
      - action: ecs.restart
        approval: auto
        when: {unhealthy_targets: ">= 2", source: elb, code: [502, "504"]}
      - action: ecs.restart
        approval: auto
        when: {deploy_within: 30m, unhealthy_targets: 0}
      - action: ecs.restart
        approval: auto
`

func TestWhenConditionsAndTheEvidenceBudgetAreCompiled(t *testing.T) {
	set, err := policy.Parse("p.yaml", []byte(whenPolicy), testCatalog)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p := set.Policy("checkout")
	if p.EvidenceBudget != 6*time.Second {
		t.Errorf("evidence budget = %s, want 6s", p.EvidenceBudget)
	}
	w0, w1 := p.Steps[0].When, p.Steps[1].When
	if w0 == nil || w0.Op != ">=" || w0.Unhealthy != 2 || w0.Source != "elb" || len(w0.Codes) != 2 || w0.Codes[0] != "502" || w0.Codes[1] != "504" {
		t.Errorf("step 1 when = %+v", w0)
	}
	if w1 == nil || w1.DeployWithin != 30*time.Minute || w1.Op != "==" || w1.Unhealthy != 0 {
		t.Errorf("step 2 when = %+v", w1)
	}
	if !p.Steps[2].When.IsZero() {
		t.Errorf("step 3 has conditions %v, none written", p.Steps[2].When)
	}
}

func TestWhenHolds(t *testing.T) {
	n := func(i int) *int { return &i }
	d := func(x time.Duration) *time.Duration { return &x }
	w := &policy.When{DeployWithin: 30 * time.Minute, Op: ">=", Unhealthy: 1, Source: "elb", Codes: []string{"502", "504"}}
	cases := []struct {
		name  string
		facts policy.Facts
		holds bool
		why   string
	}{
		{"everything holds", policy.Facts{Source: "elb", Code: "502", UnhealthyTargets: n(3), SinceDeploy: d(4 * time.Minute)}, true, ""},
		{"the deploy is too old", policy.Facts{Source: "elb", Code: "502", UnhealthyTargets: n(3), SinceDeploy: d(2 * time.Hour)}, false,
			"deploy_within 30m: the spike began 2h after the last deployment"},
		{"the deploy came after the spike", policy.Facts{Source: "elb", Code: "502", UnhealthyTargets: n(3), SinceDeploy: d(-time.Minute)}, false,
			"deploy_within 30m: the spike began 1m before (not after) after the last deployment"},
		{"unknown health does not hold", policy.Facts{Source: "elb", Code: "502", SinceDeploy: d(time.Minute)}, false, "unhealthy_targets: target health unknown"},
		{"another source", policy.Facts{Source: "target", Code: "5xx", UnhealthyTargets: n(1), SinceDeploy: d(time.Minute)}, false,
			"source elb: most 5xx came from the target"},
		{"another code", policy.Facts{Source: "elb", Code: "503", UnhealthyTargets: n(1), SinceDeploy: d(time.Minute)}, false,
			"code 502|504: the dominant code is 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := w.Holds(tc.facts)
			if ok != tc.holds || why != tc.why {
				t.Errorf("Holds = %v, %q; want %v, %q", ok, why, tc.holds, tc.why)
			}
		})
	}
}

func TestWhenProblemsAreReportedWithTheirPath(t *testing.T) {
	src := `version: 1
policies:
  - name: checkout
    match: {alarm: x}
    evidence: {budget: 1m}
    steps:
      - action: ecs.restart
        approval: auto
        when: {unhealthy_targets: "some", source: lb, code: [500], deploy_within: soon}
      - action: ecs.restart
        approval: auto
        when: {}
`
	_, err := policy.Parse("test.yaml", []byte(src), testCatalog)
	checkProblems(t, err, "test.yaml", []problem{
		{5, "policies[0].evidence.budget", "must be at most 30s"},
		{9, "policies[0].steps[0].when.unhealthy_targets", `such as ">= 1"`},
		{9, "policies[0].steps[0].when.source", "must be elb or target"},
		{9, "policies[0].steps[0].when.code[0]", "must be one of 502, 503, 504, 5xx"},
		{9, "policies[0].steps[0].when.deploy_within", "must be a duration"},
		{12, "policies[0].steps[1].when", "has no condition"},
	})
}

func TestProbeAndUpstreamURLsAreChecked(t *testing.T) {
	src := `version: 1
policies:
  - name: checkout
    match: {alarm: x}
    probe: {url: "http://169.254.169.254/latest/meta-data/", method: POST, timeout: 1m}
    upstreams:
      - {name: payments, url: "ftp://payments.internal/"}
      - {name: ok, url: "https://inventory.internal/health"}
    steps:
      - action: ecs.restart
        approval: auto
`
	_, err := policy.Parse("test.yaml", []byte(src), testCatalog)
	checkProblems(t, err, "test.yaml", []problem{
		{5, "policies[0].probe.url", "must not point at 169.254.169.254 (a link-local address"},
		{5, "policies[0].probe.method", "must be GET or HEAD"},
		{5, "policies[0].probe.timeout", "at most 10s"},
		{7, "policies[0].upstreams[0].url", "must be an http(s) URL"},
	})
	good := strings.Replace(src, `{url: "http://169.254.169.254/latest/meta-data/", method: POST, timeout: 1m}`, `{url: "https://checkout.example.com/health", expect_status: 204}`, 1)
	good = strings.Replace(good, "ftp://", "http://", 1)
	set, err := policy.Parse("test.yaml", []byte(good), testCatalog)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p := set.Policy("checkout")
	if p.Probe == nil || p.Probe.Method != "GET" || p.Probe.ExpectStatus != 204 || p.Probe.Timeout != policy.DefaultProbeTimeout || len(p.Upstreams) != 2 {
		t.Errorf("probe %+v, upstreams %+v", p.Probe, p.Upstreams)
	}
}
