package github

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

// alarmWithPeriods is theAlarm with the reasonData of an alarm evaluating
// n datapoints of period seconds.
func alarmWithPeriods(period, n int) *alarm.Alarm {
	a := *theAlarm
	a.ReasonData = &alarm.ReasonData{Statistic: "Sum", Period: period, Datapoints: make([]float64, n)}
	return &a
}

func TestSpikeStartComesFromTheAlarmsEvaluationRange(t *testing.T) {
	fired := theAlarm.Timestamp
	withMetric := func(period int) *alarm.Alarm {
		a := *theAlarm
		a.Metrics = []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Period: 60},
			{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Period: period}}
		return &a
	}
	for _, tc := range []struct {
		name string
		a    *alarm.Alarm
		want time.Time
	}{
		{"an alarm without periods began its spike when it fired", theAlarm, fired},
		{"one datapoint of a minute reaches back two minutes", alarmWithPeriods(60, 1), fired.Add(-2 * time.Minute)},
		{"three datapoints of five minutes reach back twenty minutes", alarmWithPeriods(300, 3), fired.Add(-20 * time.Minute)},
		{"no datapoints count as one", alarmWithPeriods(300, 0), fired.Add(-10 * time.Minute)},
		{"without reasonData the longest metric period counts once", withMetric(300), fired.Add(-10 * time.Minute)},
		{"a negative period is ignored", alarmWithPeriods(-60, 3), fired},
		{"an evaluation range longer than a week is capped at a week", alarmWithPeriods(86400, 30), fired.Add(-7 * 24 * time.Hour)},
		{"a period too large for a duration is capped too", alarmWithPeriods(1<<62, 2), fired.Add(-7 * 24 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := windowOf(tc.a, time.Hour)
			if err != nil {
				t.Fatalf("windowOf: %v", err)
			}
			if !w.spike.Equal(tc.want) || !w.fired.Equal(fired) || !w.from.Equal(tc.want.Add(-time.Hour)) {
				t.Errorf("spike %v fired %v from %v, want spike %v fired %v from %v", w.spike, w.fired, w.from, tc.want, fired, tc.want.Add(-time.Hour))
			}
		})
	}
	for name, a := range map[string]*alarm.Alarm{"nil alarm": nil, "alarm without a time": {Name: "x"}} {
		if _, err := windowOf(a, time.Hour); !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("windowOf(%s) = %v, want ErrInvalid", name, err)
		}
	}
}

func TestPlanHoldsWhenADeployCameAfterTheAlarm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		created int      // minute past 11 the hotfix was created
		states  []string // its statuses, a minute apart
		want    string   // the hotfix's state as the hold names it
	}{
		{"a live hotfix", 58, []string{"in_progress", "success"}, "success"},
		{"a hotfix still deploying", 58, []string{"in_progress"}, "in_progress"},
		{"a deploy started before the alarm and live after it", 54, []string{"in_progress", "success"}, "success"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t)
			hotfix := s.f.addCommit("v4", "Hotfix search", "dave", at(11, 50), s.bad)
			s.f.addDeploy(hotfix, "production", "dave", at(11, tc.created), tc.states...)

			plan, err := s.x.Plan(context.Background(), theAlarm, params())
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if plan.Hold == "" {
				t.Fatalf("plan has no hold; summary %q", plan.Summary)
			}
			mustContain(t, "hold", plan.Hold, short(hotfix), "main", "production", "dave", fmt.Sprintf("11:%d", tc.created), "after the alarm fired", tc.want)
			mustContain(t, "summary", plan.Summary, "needs approval", short(hotfix), "after the alarm fired")
			d := planData_(t, plan)
			if d.Good.SHA == s.bad {
				t.Fatalf("plan rolls back to the suspect %s", short(s.bad))
			}
			if d.Good.SHA != s.good {
				t.Errorf("target = %s, want the last good deploy before the spike %s", short(d.Good.SHA), short(s.good))
			}
			for _, r := range s.f.allRequests() {
				if r.Method != "GET" {
					t.Errorf("Plan made a %s %s request; plans only read", r.Method, r.Path)
				}
			}
			// The hold survives the trip from card to executor.
			if got := roundTrip(t, plan); got.Hold != plan.Hold {
				t.Errorf("hold after JSON = %q, want %q", got.Hold, plan.Hold)
			}
		})
	}
}

func TestPlanDoesNotHoldForMedicsOwnDeployOfTheSameIncident(t *testing.T) {
	s := newScenario(t)
	s.f.onCreateDeployment = func(d *fakeDeployment) { s.f.addStatus(d.ID, "success", at(12, 5)) }
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if plan.Hold != "" {
		t.Fatalf("first plan holds: %q", plan.Hold)
	}
	if _, err := s.x.Apply(ctx, plan); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// The next step of the same incident sees only medic's own rollback
	// after the alarm.
	plan, err = s.x.Plan(ctx, theAlarm, params())
	if err != nil {
		t.Fatalf("second Plan: %v", err)
	}
	if plan.Hold != "" {
		t.Errorf("second plan of the same incident holds for medic's own rollback: %q", plan.Hold)
	}
	// Another incident did not make that deploy: it holds.
	plan, err = s.x.Plan(ctx, theAlarm, params("incident", "INC-7"))
	if err != nil {
		t.Fatalf("Plan of another incident: %v", err)
	}
	mustContain(t, "hold", plan.Hold, short(s.good), "medic[bot]", "after the alarm fired")
}

func TestPlanWithoutAnAlarmTimeHolds(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), nil, params("incident", "INC-42"))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	mustContain(t, "hold", plan.Hold, "no alarm time")
}

// spikeScenario: an alarm evaluating three 5-minute datapoints fired at
// 11:55, so its spike began by 11:35; with a 30m window the suspects are
// the deploys from 11:05 to 11:55.
type spikeScenario struct {
	*scenario
	a               *alarm.Alarm
	again, slow     string
	againID, slowID int64
}

func newSpikeScenario(t *testing.T) *spikeScenario {
	s := &spikeScenario{scenario: newScenario(t), a: alarmWithPeriods(300, 3)}
	f := s.f
	// v2 (9:00) is the last good deploy before the spike. After it:
	// "again" deployed at 10:00 (before the window) and again at 11:15
	// (a suspect), so its sha is a suspect; "slow", created at 10:30 but
	// only successful at 11:36, after the spike began; v3 live at 11:40.
	s.again = f.addCommit("again", "Tune pool", "dave", at(9, 50), s.good)
	s.slow = f.addCommit("slow", "Migrate schema", "erin", at(10, 20), s.again)
	f.mu.Lock()
	f.deployments = f.deployments[:len(f.deployments)-1] // drop v3, re-added last
	f.mu.Unlock()
	f.addDeploy(s.again, "production", "dave", at(10, 0), "success", "inactive")
	s.slowID = f.addDeploy(s.slow, "production", "erin", at(10, 30), "in_progress")
	f.addStatus(s.slowID, "success", at(11, 36))
	f.addStatus(s.slowID, "inactive", at(11, 41))
	s.againID = f.addDeploy(s.again, "production", "dave", at(11, 15), "success", "inactive")
	s.badID = f.addDeploy(s.bad, "production", "bob", at(11, 40), "queued", "in_progress", "success")
	return s
}

func TestPlanTargetsTheLastGoodDeployBeforeTheSpikeSkippingSuspects(t *testing.T) {
	s := newSpikeScenario(t)
	ctx := context.Background()
	plan, err := s.x.Plan(ctx, s.a, params("window", "30m"))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	d := planData_(t, plan)
	if d.Good.SHA != s.good || d.Good.ID != s.goodID {
		t.Errorf("target = #%d %s, want the last good deploy before the spike #%d %s (again %s, slow %s)",
			d.Good.ID, short(d.Good.SHA), s.goodID, short(s.good), short(s.again), short(s.slow))
	}
	if d.Bad.SHA != s.bad || plan.Changes[0].From != s.bad || plan.Changes[0].To != s.good {
		t.Errorf("rolls back %s -> %s, want %s -> %s", short(plan.Changes[0].From), short(plan.Changes[0].To), short(s.bad), short(s.good))
	}
	if plan.Hold != "" {
		t.Errorf("hold = %q, want none: nothing was deployed after the alarm", plan.Hold)
	}
	mustContain(t, "summary", plan.Summary, "suspects skipped", short(s.again), short(s.slow)+" (deployed 10:30 UTC by erin, live 11:36 UTC)", "spike is taken to begin at 11:35")

	// The card's suspects are the same deploys: those from 11:05 to 11:55.
	sus, err := s.x.SuspectDeploys(ctx, s.a, "acme/shop", "production", 30*time.Minute)
	if err != nil {
		t.Fatalf("SuspectDeploys: %v", err)
	}
	var ids []int64
	for _, dep := range sus {
		ids = append(ids, dep.ID)
	}
	// slow was created before the window but only became live in it.
	if len(ids) != 3 || ids[0] != s.badID || ids[1] != s.againID || ids[2] != s.slowID {
		t.Errorf("suspect deploys = %v, want [%d %d %d]", ids, s.badID, s.againID, s.slowID)
	}
}

func TestPlanFailsWhenNoDeployWasLiveBeforeTheSpike(t *testing.T) {
	f := newFake(t)
	early := f.addCommit("v2", "Fix cache headers", "alice", at(10, 50))
	bad := f.addCommit("v3", "Add search", "bob", at(11, 0), early)
	f.addDeploy(early, "production", "alice", at(11, 10), "success", "inactive")
	f.addDeploy(bad, "production", "bob", at(11, 40), "success")
	x := New(f.client(t, &fakeClock{now: now}))
	_, err := x.Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, remediations.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	mustContain(t, "error", err.Error(), "nothing to roll back to", "before the spike", "10:55", short(early), short(bad))
}

func TestApplyRefusesWhenANewerDeployBecameLiveSinceThePlan(t *testing.T) {
	s := newScenario(t)
	hotfix := s.f.addCommit("v4", "Hotfix search", "dave", at(11, 57), s.bad)
	id := s.f.addDeploy(hotfix, "production", "dave", at(11, 58), "in_progress")
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if d := planData_(t, plan); d.Bad.SHA != s.bad {
		t.Fatalf("plan replaces %s, want the live %s", short(d.Bad.SHA), short(s.bad))
	}
	// The hotfix finishes: it, not v3, is what a redeploy would replace.
	s.f.addStatus(id, "success", at(12, 0))
	_, err = s.x.Apply(context.Background(), roundTrip(t, plan))
	if !errors.Is(err, remediations.ErrStalePlan) {
		t.Fatalf("err = %v, want ErrStalePlan", err)
	}
	mustContain(t, "error", err.Error(), short(hotfix), "became live", short(s.bad))
	if len(s.f.requestsTo("POST", "/deployments")) != 0 {
		t.Error("a stale plan created a deployment")
	}
}

func TestSchemaDescribesTheAlarmRelativeRule(t *testing.T) {
	s := RollbackSchema()
	mustContain(t, "schema description", s.Description, "spike", "suspect", "after the alarm")
	found := false
	for _, p := range s.Params {
		if p.Name == "window" {
			found = true
			mustContain(t, "window description", p.Description, "before the spike")
		}
	}
	if !found {
		t.Error("schema has no window parameter")
	}
}
