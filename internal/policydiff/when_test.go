package policydiff

import (
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/policy"
)

func TestCompareReportsAChangedWhenCondition(t *testing.T) {
	head := strings.Replace(basePolicy, "        quorum: 2\n", "        quorum: 2\n        when: {unhealthy_targets: \"0\"}\n", 1)
	r := Compare(Input{BaseName: "base", HeadName: "head", Base: load(t, basePolicy), Head: load(t, head)})
	if len(r.Changed) != 1 {
		t.Fatalf("changed = %+v, want policy web", r.Changed)
	}
	var found bool
	for _, f := range r.Changed[0].Fields {
		if f.Path == "steps[0].when" && f.Base == "" && f.Head == "unhealthy_targets: == 0" {
			found = true
		}
	}
	if !found || r.Changed[0].Cosmetic() {
		t.Errorf("fields = %+v, want steps[0].when added (a behaviour change)", r.Changed[0].Fields)
	}
}

// A step with `when:` conditions ahead of the ladder is what the alarm
// gets only when the sample's evidence holds them: a fixture case without
// evidence still starts at the unconditional step, as the engine would.
func TestAlarmsAreJudgedByTheStepTheEvidencePicks(t *testing.T) {
	head := strings.Replace(basePolicy, "    steps:\n", "    steps:\n      - action: ecs.rollback\n        approval: required\n        when: {deploy_within: 30m, unhealthy_targets: \">= 1\"}\n        params: {cluster: prod, service: web}\n", 1)
	two, fourMin := 2, 4*time.Minute
	r := Compare(Input{BaseName: "base", HeadName: "head", Base: load(t, basePolicy), Head: load(t, head), Samples: []Sample{
		{Source: "tests/web.yaml: no evidence", Alarm: webAlarm()},
		{Source: "tests/web.yaml: a recent deploy and unhealthy targets", Alarm: webAlarm(),
			Facts: policy.Facts{UnhealthyTargets: &two, SinceDeploy: &fourMin, Deploy: "task definition web:7"}},
	}})
	if len(r.Alarms) != 1 {
		t.Fatalf("alarms handled differently = %+v, want only the case whose evidence holds the new step's when:", r.Alarms)
	}
	a := r.Alarms[0]
	if a.Source != "tests/web.yaml: a recent deploy and unhealthy targets" || outcomesText(a.Base) != "web → ecs.scale (required)" || outcomesText(a.Head) != "web → ecs.rollback (required)" {
		t.Errorf("alarm change = %s: %s -> %s, want the evidence case going from ecs.scale to ecs.rollback", a.Source, outcomesText(a.Base), outcomesText(a.Head))
	}
}
