package store_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/store"
)

func TestBoundEvidenceKeepsTheRecordSmall(t *testing.T) {
	long := strings.Repeat("x", 5000)
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	ev := &store.Evidence{Reading: long + "\nline two", Changes: &store.Changes{Service: "prod/checkout"}, Health: &store.Health{TargetGroup: long},
		Logs: &store.Logs{Groups: []string{"/ecs/checkout"}}}
	for i := range 50 {
		ev.Changes.Deployments = append(ev.Changes.Deployments, store.ECSDeployment{TaskDefinition: fmt.Sprintf("checkout:%d", i), CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		ev.Health.Reasons = append(ev.Health.Reasons, store.ReasonCount{Reason: fmt.Sprintf("r%d", i), Count: i})
		ev.Health.Stopped = append(ev.Health.Stopped, store.StoppedTask{Task: long})
		ev.Missing = append(ev.Missing, store.MissingEvidence{Collector: "c", Reason: long})
		ev.Upstreams = append(ev.Upstreams, store.ProbeResult{Name: "u", URL: long, Attempts: make([]store.ProbeAttempt, 20), Headers: make([]store.Header, 20)})
		ev.Logs.Patterns = append(ev.Logs.Patterns, store.PatternCount{Pattern: long, Count: i})
	}
	b := store.BoundEvidence(ev)
	if n := len(b.Changes.Deployments); n != store.MaxDeployments || b.Changes.Deployments[0].TaskDefinition != "checkout:49" {
		t.Errorf("%d deployments kept, first %s; want %d, newest first", n, b.Changes.Deployments[0].TaskDefinition, store.MaxDeployments)
	}
	if n := len(b.Health.Reasons); n != store.MaxReasons || b.Health.Reasons[0].Count != 49 {
		t.Errorf("%d reasons kept, first %+v; want %d, most frequent first", n, b.Health.Reasons[0], store.MaxReasons)
	}
	if len(b.Health.Stopped) != store.MaxStopped || len(b.Missing) != store.MaxMissing || len(b.Upstreams) != store.MaxUpstreams ||
		len(b.Upstreams[0].Attempts) != store.MaxProbeAttempts || len(b.Upstreams[0].Headers) != store.MaxProbeHeaders ||
		len(b.Logs.Patterns) != store.MaxLogPatterns || b.Logs.Patterns[0].Count != 49 {
		t.Errorf("lists not bounded: %d stopped, %d missing, %d upstreams, %d patterns", len(b.Health.Stopped), len(b.Missing), len(b.Upstreams), len(b.Logs.Patterns))
	}
	if len(b.Reading) > store.MaxEvidenceText || strings.Contains(b.Reading, "\n") || len(b.Health.TargetGroup) > store.MaxEvidenceText {
		t.Errorf("texts not bounded to one line of %d bytes", store.MaxEvidenceText)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 64<<10 {
		t.Errorf("bounded evidence is %d bytes of JSON, want far below DynamoDB's 400 KB item", len(raw))
	}
	var back store.Evidence
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*b, back) {
		t.Error("evidence does not survive a JSON round trip (the stores keep records as JSON)")
	}
	if store.BoundEvidence(nil) != nil {
		t.Error("BoundEvidence(nil) is not nil")
	}
}

func TestFactsOfTheEvidence(t *testing.T) {
	began := time.Date(2026, 12, 3, 8, 14, 0, 0, time.UTC)
	ev := &store.Evidence{Pattern: &store.Pattern{Source: "elb", Code: "504", StartedAt: began},
		Health: &store.Health{TargetGroup: "checkout", Healthy: 3, Unhealthy: 2, Other: 1},
		Changes: &store.Changes{Deployments: []store.ECSDeployment{
			{TaskDefinition: "checkout:41", CreatedAt: began.Add(-48 * time.Hour)}, {TaskDefinition: "checkout:42", CreatedAt: began.Add(-4 * time.Minute)}}}}
	f := ev.Facts()
	if f.Source != "elb" || f.Code != "504" || f.UnhealthyTargets == nil || *f.UnhealthyTargets != 2 || f.Targets == nil || *f.Targets != 6 ||
		f.SinceDeploy == nil || *f.SinceDeploy != 4*time.Minute || f.Deploy != "task definition checkout:42" {
		t.Errorf("facts = %+v", f)
	}
	if f := (&store.Evidence{Health: &store.Health{Service: "prod/checkout"}}).Facts(); f.UnhealthyTargets != nil || f.Targets != nil {
		t.Error("without a target group read, unhealthy and registered targets must be unknown, not 0")
	}
	var none *store.Evidence
	if f := none.Facts(); f.Source != "" || f.SinceDeploy != nil {
		t.Errorf("nil evidence knows %+v", f)
	}
}

func TestFactsTakeTheLatestDeployBeforeTheSpikeFromECSOrGitHub(t *testing.T) {
	began := time.Date(2026, 12, 3, 8, 14, 0, 0, time.UTC)
	ev := &store.Evidence{Pattern: &store.Pattern{StartedAt: began},
		Changes: &store.Changes{Deployments: []store.ECSDeployment{{TaskDefinition: "checkout:41", CreatedAt: began.Add(-48 * time.Hour)}}}}
	suspects := []store.SuspectDeploy{
		{SHA: "4f2a9c1d8e7b6a5f", DeployedAt: began.Add(-6 * time.Minute)},
		{SHA: "after000", DeployedAt: began.Add(time.Minute)}, // after the spike: not its cause
		{SHA: "nodate00"},
	}
	f := store.FactsOf(ev, suspects)
	if f.SinceDeploy == nil || *f.SinceDeploy != 6*time.Minute || f.Deploy != "deploy 4f2a9c1" {
		t.Errorf("facts = %+v (since %v), want the GitHub deploy 6m before the spike", f, f.SinceDeploy)
	}
	f = store.FactsOf(ev, nil)
	if f.SinceDeploy == nil || *f.SinceDeploy != 48*time.Hour || f.Deploy != "task definition checkout:41" {
		t.Errorf("facts without suspects = %+v, want the ECS deployment", f)
	}
}

// The spike's start is the start of a metric period: a deployment at
// 08:14:30 and 5xx from 08:14:40 show as a spike that began at 08:14:00.
// Within that first period the deployment counts as just before the
// spike, not after it; a period later it is after.
func TestADeploymentInTheSpikesFirstPeriodCountsAsJustBefore(t *testing.T) {
	began := time.Date(2026, 12, 3, 8, 14, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		at     time.Time
		period time.Duration
		want   time.Duration
	}{
		{"30s into the spike's 1 min period: just before", began.Add(30 * time.Second), time.Minute, 0},
		{"a period later: after the spike began", began.Add(90 * time.Second), time.Minute, -90 * time.Second},
		{"the period unknown: after", began.Add(30 * time.Second), 0, -30 * time.Second},
		{"before the spike: as it was", began.Add(-4 * time.Minute), time.Minute, 4 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &store.Evidence{Pattern: &store.Pattern{StartedAt: began, Period: tc.period},
				Changes: &store.Changes{Deployments: []store.ECSDeployment{{TaskDefinition: "checkout:3", CreatedAt: tc.at}}}}
			f := ev.Facts()
			if f.SinceDeploy == nil || *f.SinceDeploy != tc.want {
				t.Errorf("ECS deployment: since = %v, want %v", f.SinceDeploy, tc.want)
			}
			ev.Changes = nil
			f = store.FactsOf(ev, []store.SuspectDeploy{{SHA: "4f2a9c1d8e7b", DeployedAt: tc.at}})
			switch {
			case tc.want < 0 && f.SinceDeploy != nil:
				t.Errorf("GitHub deploy after the spike's first period taken as its cause: since %v", *f.SinceDeploy)
			case tc.want >= 0 && (f.SinceDeploy == nil || *f.SinceDeploy != tc.want):
				t.Errorf("GitHub deploy: since = %v, want %v", f.SinceDeploy, tc.want)
			}
		})
	}
}
