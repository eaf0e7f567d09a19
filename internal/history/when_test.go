package history

import (
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

func TestReplayTakesTheStepProposedWithoutEvidenceAndSaysSo(t *testing.T) {
	gated := `
  - name: gated
    match: {alarm: "api-*-5xx"}
    steps:
      - {action: ecs.scale, approval: auto, when: {unhealthy_targets: "0"}, params: {cluster: prod, service: web, add: 2, max: 10}}
      - {action: ecs.restart, approval: required, approvers: [U0ONCALL1], params: {cluster: prod, service: web}}`
	set, err := policy.Parse("p.yaml", []byte("version: 1\npolicies:"+gated), builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	r := Run(flap("api-prod-5xx", "web", time.Minute), set.Policies())
	p := r.Policy("gated")
	if p.Action != "ecs.restart" || !p.EvidenceGated || p.Fired != 1 {
		t.Errorf("replay = %+v, want ecs.restart (the step proposed with no evidence), gated, fired once", p)
	}
	if got := p.FirstStep(); !strings.Contains(got, "when: not judged") {
		t.Errorf("FirstStep = %q, want it to say the conditions were not judged", got)
	}
}
