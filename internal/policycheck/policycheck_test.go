package policycheck

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

// Parameters that depend on the alarm are reported as not checked, without
// any lookup (the checker has no clients here). The lookups themselves are
// tested against moto and an httptest GitHub in cmd/medic.
func TestWhatCannotBeCheckedIsSaid(t *testing.T) {
	cases := []struct {
		name, step string
		path, why  string
	}{
		{"a templated service", `{action: ecs.restart, approval: auto, params: {cluster: prod, service: "{{ .Tags.service }}"}}`,
			"policies[0].steps[0].params.service", "templated: depends on the alarm"},
		{"a service resolved from the target group", `{action: ecs.restart, approval: auto, params: {target_group: targetgroup/web/1}}`,
			"policies[0].steps[0].params.service", "not given: resolved from the alarm's target group"},
		{"a listener resolved from the load balancer", `{action: alb.maintenance, approval: auto, params: {port: 443}}`,
			"policies[0].steps[0].params", "no listener: resolved from the alarm's LoadBalancer dimension"},
		{"a repository without a credential", `{action: github.rollback, approval: auto, params: {repo: acme/web, environment: prod}}`,
			"policies[0].steps[0].params.repo", "no GitHub credential: set GITHUB_TOKEN or the GitHub App variables"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := check(t, "version: 1\npolicies:\n  - name: p\n    match: {alarm: web}\n    steps:\n      - "+tc.step+"\n")
			if len(got) != 1 || got[0].Status != NotChecked || got[0].Path != tc.path || got[0].Detail != tc.why || got[0].Line != 6 {
				t.Errorf("results = %+v", got)
			}
		})
	}
}

// A step shared through a YAML anchor is reported, for every policy using
// it, at the line where it is written.
func TestResultLinesFollowYAMLAliases(t *testing.T) {
	src := `version: 1
policies:
  - name: p
    match: {alarm: web}
    steps: &steps
      - {action: ecs.restart, approval: auto, params: {cluster: prod, service: "{{ .Tags.service }}"}}
  - name: q
    match: {alarm: api}
    steps: *steps
`
	got := check(t, src)
	if len(got) != 2 {
		t.Fatalf("results = %+v, want one per policy", got)
	}
	for i, r := range got {
		if r.Line != 6 || r.Path != fmt.Sprintf("policies[%d].steps[0].params.service", i) {
			t.Errorf("result %d = %s:%d %s, want line 6 (where the shared step is written)", i, r.File, r.Line, r.Path)
		}
	}
}

// check parses src as the policy file p.yaml and checks it without clients.
func check(t *testing.T, src string) []Result {
	t.Helper()
	set, err := policy.Parse("p.yaml", []byte(src), builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(nil, nil, nil).Check(context.Background(), fstest.MapFS{"p.yaml": {Data: []byte(src)}}, set)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
