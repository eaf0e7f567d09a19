package wiring_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations/builtin"
	"github.com/medicbot/medic/remediations/github"
)

// suspectPolicies: scale-only matches first and has no rollback; shop
// rolls back the deploy of the environment the alarm's env tag names.
const suspectPolicies = `version: 1
policies:
  - name: scale-only
    match: {alarm: ["checkout-*"]}
    steps:
      - action: ecs.scale
        approval: required
        approvers: [S0SREGROUP]
        params: {cluster: prod, service: checkout, add: 2, max: 10}
  - name: shop
    match: {alarm: ["checkout-*"]}
    steps:
      - action: ecs.scale
        approval: required
        approvers: [S0SREGROUP]
        params: {cluster: prod, service: checkout, add: 2, max: 10}
      - action: github.rollback
        approval: required
        approvers: [S0SREGROUP]
        params:
          repo: acme/shop
          environment: '{{ index .Tags "env" }}'
          window: 2h
      - action: github.rollback
        approval: required
        approvers: [S0SREGROUP]
        params: {repo: acme/other, environment: staging}
`

// lookup is a fake wiring.DeployLookup recording what it was asked.
type lookup struct {
	asked   []string
	deploys []github.Deploy
	err     error
}

func (l *lookup) SuspectDeploys(_ context.Context, _ *alarm.Alarm, repo, env string, window time.Duration) ([]github.Deploy, error) {
	l.asked = append(l.asked, fmt.Sprintf("%s %s %s", repo, env, window))
	return l.deploys, l.err
}

func matched(t *testing.T, yaml string) []*policy.Policy {
	t.Helper()
	reg, err := builtin.Registry(builtin.Clients{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Parse("policies.yaml", []byte(yaml), reg)
	if err != nil {
		t.Fatalf("parse policies: %v", err)
	}
	return set.Match(checkoutAlarm())
}

func checkoutAlarm() *alarm.Alarm {
	return &alarm.Alarm{Name: "checkout-prod-5xx", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-5xx",
		State: alarm.StateAlarm, Timestamp: time.Now(), Tags: map[string]string{"env": "production"}}
}

func TestSuspectFinderLooksWhereTheFirstRollbackStepWouldRollBack(t *testing.T) {
	pols := matched(t, suspectPolicies)
	if len(pols) != 2 {
		t.Fatalf("%d policies match, want 2", len(pols))
	}
	l := &lookup{deploys: []github.Deploy{
		{SHA: "aaa", Author: "alice-dev", Creator: "deploy-bot", PRNumber: 42, PRTitle: "Cache totals", PRURL: "https://github.com/acme/shop/pull/42",
			CompareURL: "https://github.com/acme/shop/compare/bbb...aaa", Message: "Cache totals"},
		{SHA: "bbb", Creator: "deploy-bot"},
	}}
	got, err := wiring.NewSuspectFinder(l).FindSuspects(context.Background(), checkoutAlarm(), pols)
	if err != nil {
		t.Fatalf("find suspects: %v", err)
	}
	if len(l.asked) != 1 || l.asked[0] != "acme/shop production 2h0m0s" {
		t.Errorf("looked up %q, want acme/shop production 2h0m0s once (the first rollback step, rendered against the alarm)", l.asked)
	}
	want := []store.SuspectDeploy{
		{SHA: "aaa", Author: "alice-dev", PRNumber: 42, PRTitle: "Cache totals", PRURL: "https://github.com/acme/shop/pull/42",
			CompareURL: "https://github.com/acme/shop/compare/bbb...aaa"},
		{SHA: "bbb", Author: "deploy-bot"}, // no commit author: the deployment's creator
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("suspects = %+v, want %+v", got, want)
	}
}

func TestSuspectFinderFindsNothingWithoutARollbackStep(t *testing.T) {
	pols := matched(t, suspectPolicies)[:1] // scale-only
	l := &lookup{}
	got, err := wiring.NewSuspectFinder(l).FindSuspects(context.Background(), checkoutAlarm(), pols)
	if err != nil || got != nil || len(l.asked) != 0 {
		t.Errorf("find suspects = %v, %v after %d lookups; want nothing, no error, no lookup", got, err, len(l.asked))
	}
}

func TestSuspectFinderSaysWhyInAFewWords(t *testing.T) {
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hanging.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"message":"Server Error"}`))
	}))
	t.Cleanup(failing.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/"
	_ = closed.Close()

	real := func(url string) wiring.DeployLookup {
		c, err := github.NewClient(github.Config{Token: "ghp_test", APIURL: url, Retry: github.RetryPolicy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		return github.New(c)
	}
	cases := []struct {
		name   string
		lookup wiring.DeployLookup
		want   string
	}{
		{"GitHub accepts and never answers", real(hanging.URL + "/"), "GitHub timed out"},
		{"GitHub answers 502", real(failing.URL + "/"), "GitHub is unavailable (HTTP 502)"},
		{"nothing listens where GitHub should be", real(closedURL), "GitHub is unreachable"},
		{"an unclassified failure", &lookup{err: errors.New("boom")}, "the GitHub lookup failed"},
	}
	pols := matched(t, suspectPolicies)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := wiring.NewSuspectFinder(tc.lookup).FindSuspects(ctx, checkoutAlarm(), pols)
			var se *engine.SuspectsError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want an *engine.SuspectsError", err)
			}
			if se.Reason != tc.want {
				t.Errorf("reason = %q, want %q", se.Reason, tc.want)
			}
			// The detail names what was looked up, for the log.
			if !strings.Contains(se.Error(), "acme/shop to production (policy shop)") {
				t.Errorf("error %q does not say what was looked up", se.Error())
			}
		})
	}
}

// TestOnlyIntakeDoorsLookDeploysUp builds medic as the alarm function
// (Intake) and as the Slack function and executor (not) with the same
// GitHub credential, and hands each engine the same alarm: only the intake
// engine asks GitHub for the suspect deploys and stores them.
func TestOnlyIntakeDoorsLookDeploysUp(t *testing.T) {
	var mu sync.Mutex
	var requests []string
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"message":"unavailable"}`))
	}))
	t.Cleanup(gh.Close)
	// No AWS endpoint answers: planning the scale step fails fast (the step
	// is BLOCKED), which does not matter here.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	awsCfg, err := wiring.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pols := fstest.MapFS{"shop.yaml": {Data: []byte(suspectPolicies)}}

	for _, intake := range []bool{true, false} {
		t.Run(fmt.Sprintf("intake=%v", intake), func(t *testing.T) {
			mu.Lock()
			requests = nil
			mu.Unlock()
			cfg := &config.Config{StorePath: filepath.Join(t.TempDir(), "medic.db"), GitHubToken: "ghp_test",
				GitHubAPIURL: gh.URL + "/", AWSEndpointURL: "http://127.0.0.1:1", MaxPerHour: 10}
			app, err := wiring.Build(context.Background(), cfg, awsCfg, wiring.Options{Policies: pols, Intake: intake,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			defer app.Close()
			if app.LocalQueue != nil {
				defer app.LocalQueue.Close(context.Background())
			}
			out, err := app.Engine.HandleAlarm(context.Background(), checkoutAlarm())
			if err != nil || out.Incident == nil {
				t.Fatalf("handle alarm = %+v, %v", out, err)
			}
			inc, err := app.Store.Incident(context.Background(), out.Incident.ID)
			if err != nil {
				t.Fatalf("read incident: %v", err)
			}
			mu.Lock()
			n := len(requests)
			mu.Unlock()
			switch {
			case intake && (n == 0 || inc.SuspectsNote != "GitHub is unavailable (HTTP 503)"):
				t.Errorf("the intake engine made %d GitHub requests and stored note %q; want a lookup and its failure", n, inc.SuspectsNote)
			case !intake && (n != 0 || inc.SuspectsNote != "" || len(inc.Suspects) != 0):
				t.Errorf("a non-intake engine made %d GitHub requests and stored %+v, note %q; want none", n, inc.Suspects, inc.SuspectsNote)
			}
		})
	}
}
