package evidence_test

import (
	"testing"
	"time"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

const readingPolicies = `version: 1
policies:
  - name: checkout-5xx
    match: {alarm: "checkout-*"}
    steps:
      - action: ecs.scale
        approval: auto
        when: {unhealthy_targets: "0"}
        params: {cluster: prod, service: checkout, add: 2, max: 20}
      - action: ecs.rollback
        approval: auto
        when: {deploy_within: 30m, unhealthy_targets: ">= 1"}
        params: {cluster: prod, service: checkout}
      - action: ecs.restart
        approval: auto
        params: {cluster: prod, service: checkout}
`

func parsePolicies(t *testing.T, src string) []*policy.Policy {
	t.Helper()
	set, err := policy.Parse("p.yaml", []byte(src), remediations.Catalog{
		"ecs.scale": {Params: []remediations.Param{{Name: "cluster", Type: remediations.TypeString}, {Name: "service", Type: remediations.TypeString},
			{Name: "add", Type: remediations.TypeInt}, {Name: "max", Type: remediations.TypeInt}}},
		"ecs.rollback": {Params: []remediations.Param{{Name: "cluster", Type: remediations.TypeString}, {Name: "service", Type: remediations.TypeString}}},
		"ecs.restart":  {Params: []remediations.Param{{Name: "cluster", Type: remediations.TypeString}, {Name: "service", Type: remediations.TypeString}}},
	})
	if err != nil {
		t.Fatalf("parse policies: %v", err)
	}
	return set.Policies()
}

func TestTheReadingSumsTheEvidenceUpAndNamesTheStepItFavours(t *testing.T) {
	began := time.Date(2026, 12, 3, 8, 14, 0, 0, time.UTC)
	ev := &store.Evidence{
		Pattern: &store.Pattern{Source: "elb", Code: "502", ErrorRate: 0.12, StartedAt: began},
		Health: &store.Health{TargetGroup: "checkout", Healthy: 3, Unhealthy: 3,
			Reasons: []store.ReasonCount{{Reason: "Target.ResponseCodeMismatch", Count: 3}}},
		Changes: &store.Changes{Service: "prod/checkout", Deployments: []store.ECSDeployment{
			{Status: "PRIMARY", TaskDefinition: "checkout:42", CreatedAt: began.Add(-4 * time.Minute)},
			{Status: "ACTIVE", TaskDefinition: "checkout:41", CreatedAt: began.Add(-48 * time.Hour)},
		}},
	}
	reading, favours := evidence.Read(ev, parsePolicies(t, readingPolicies))
	if want := "ELB 502s (12% of requests), 3 of 6 targets unhealthy (Target.ResponseCodeMismatch), began 4 min after task definition checkout:42"; reading != want {
		t.Errorf("reading:\n got %q\nwant %q", reading, want)
	}
	if want := "step 2 (ecs.rollback) of checkout-5xx, as deploy_within: 30m, unhealthy_targets: >= 1"; favours != want {
		t.Errorf("favours:\n got %q\nwant %q", favours, want)
	}
}

func TestTheReadingLeavesOutWhatWasNotGathered(t *testing.T) {
	ev := &store.Evidence{Pattern: &store.Pattern{Source: "target", Code: "5xx", ErrorRate: -1}}
	reading, favours := evidence.Read(ev, parsePolicies(t, readingPolicies))
	if reading != "target 5xx" {
		t.Errorf("reading = %q, want only the pattern", reading)
	}
	if favours != "" {
		t.Errorf("favours %q with no target health or deployments known", favours)
	}
}

func TestTheReadingSaysWhenATargetGroupHasNoTargets(t *testing.T) {
	reading, _ := evidence.Read(&store.Evidence{Health: &store.Health{TargetGroup: "checkout"}}, nil)
	if reading != "no targets registered in checkout" {
		t.Errorf("reading = %q", reading)
	}
}
