package wiring_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
)

// Medic runs in account A (moto's default, 123456789012); the alarm comes
// from member account B (111111111111) in eu-west-1. Both accounts have an
// ECS service prod/checkout in eu-west-1 with 4 tasks.
const (
	accountA   = testenv.Account
	accountB   = "111111111111"
	memberRole = "medic-member"
	externalID = "medic-test-external-id"
	farRegion  = "eu-west-1"
)

const memberPolicy = `version: 1
policies:
  - name: checkout-5xx
    match:
      alarm: checkout-5xx
      accounts: ["` + accountB + `"]
      regions: [` + farRegion + `]
    steps:
      - action: ecs.scale
        approval: auto
        params: {cluster: prod, service: checkout, add: 2, max: 20}
`

// memberConfig is medic in account A with the member role configured.
func memberConfig(t *testing.T, endpoint string) *config.Config {
	return &config.Config{StorePath: filepath.Join(t.TempDir(), "medic.db"), AWSEndpointURL: endpoint, MaxPerHour: 10,
		AccountID: accountA, MemberRoleName: memberRole, MemberExternalID: externalID, MemberAccounts: []string{accountB}}
}

// assumeB returns credentials acting as account B, assumed through moto's
// STS as medic would.
func assumeB(t *testing.T, home aws.Config) aws.Config {
	t.Helper()
	out, err := sts.NewFromConfig(home).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + accountB + ":role/" + memberRole), RoleSessionName: aws.String("test-setup"),
		ExternalId: aws.String(externalID)})
	if err != nil {
		t.Fatalf("assume role in account B: %v", err)
	}
	c := home.Copy()
	c.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	return c
}

// checkoutService creates prod/checkout with 4 tasks in cfg's account, in
// farRegion.
func checkoutService(t *testing.T, cfg aws.Config) *ecs.Client {
	t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Region = farRegion })
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("checkout"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(256)}}})
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("checkout"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(4)}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	return c
}

func desired(t *testing.T, c *ecs.Client) int32 {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"checkout"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe prod/checkout: %v (%d services)", err, len(out.Services))
	}
	return out.Services[0].DesiredCount
}

// alarmInB is the checkout-5xx alarm in account B, eu-west-1, put in ALARM
// in B's CloudWatch (the executor re-checks it there).
func alarmInB(t *testing.T, b aws.Config) *alarm.Alarm {
	t.Helper()
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(b, func(o *cloudwatch.Options) {
		o.Region = farRegion
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("checkout-5xx"),
		Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: cwtypes.StatisticSum,
		Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatalf("put alarm in account B: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("checkout-5xx"),
		StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test")}); err != nil {
		t.Fatalf("set alarm state in account B: %v", err)
	}
	return &alarm.Alarm{Name: "checkout-5xx", ARN: "arn:aws:cloudwatch:" + farRegion + ":" + accountB + ":alarm:checkout-5xx",
		Account: accountB, Region: farRegion, State: alarm.StateAlarm, Timestamp: time.Now().UTC()}
}

func build(t *testing.T, cfg *config.Config, awsCfg aws.Config) *wiring.App {
	t.Helper()
	app, err := wiring.Build(context.Background(), cfg, awsCfg, wiring.Options{
		Policies: fstest.MapFS{"checkout.yaml": {Data: []byte(memberPolicy)}},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	app.LocalQueue.Start(app.Engine.HandleMessage)
	t.Cleanup(func() { _, _ = app.LocalQueue.Close(context.Background()) })
	return app
}

// proposal waits until the incident's one proposal reaches a final state.
func proposal(t *testing.T, app *wiring.App, incident string) *store.Proposal {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ps, err := app.Store.Proposals(context.Background(), incident)
		if err != nil || len(ps) != 1 {
			t.Fatalf("proposals of %s: %v (%d, want 1)", incident, err, len(ps))
		}
		p := ps[0]
		switch p.State {
		case store.StateSucceeded, store.StateFailed, store.StateBlocked:
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("proposal still %s (%s) after 15s", p.State, p.Reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAnAlarmFromAccountBIsRemediatedInAccountBAndNotInA(t *testing.T) {
	m := testenv.Moto(t)
	a := checkoutService(t, m.Config)
	b := assumeB(t, m.Config)
	bECS := checkoutService(t, b)
	al := alarmInB(t, b)

	app := build(t, memberConfig(t, m.URL), m.Config)
	out, err := app.Engine.HandleAlarm(context.Background(), al)
	if err != nil || out.Incident == nil {
		t.Fatalf("handle alarm = %+v, %v", out, err)
	}
	p := proposal(t, app, out.Incident.ID)
	if p.State != store.StateSucceeded {
		t.Fatalf("the step ended %s (%s %s), want SUCCEEDED", p.State, p.Reason, p.PlanError)
	}
	if got := desired(t, bECS); got != 6 {
		t.Errorf("account B's prod/checkout wants %d tasks, want 6 (4 + 2)", got)
	}
	if got := desired(t, a); got != 4 {
		t.Errorf("account A's prod/checkout wants %d tasks, want 4 untouched", got)
	}
	if p.Plan.Account != accountB || p.Plan.Region != farRegion || !strings.HasPrefix(p.Plan.Summary, accountB+" "+farRegion+": ") {
		t.Errorf("plan names account %q region %q, summary %q; want %s %s in both", p.Plan.Account, p.Plan.Region, p.Plan.Summary, accountB, farRegion)
	}
	if !strings.HasPrefix(p.Plan.Target, accountB+"/"+farRegion+"/") {
		t.Errorf("plan target %q: want it locked per account and region", p.Plan.Target)
	}
	if p.Result == nil || !strings.HasPrefix(p.Result.Summary, accountB+" "+farRegion+": ") {
		t.Errorf("result %+v: want its summary to name %s %s", p.Result, accountB, farRegion)
	}
	if !strings.HasPrefix(p.Plan.Session, "medic-"+out.Incident.ID) {
		t.Errorf("session name %q does not name incident %s", p.Plan.Session, out.Incident.ID)
	}
}

// deniedSTS answers every AssumeRole as STS does when the role's trust
// policy does not admit the caller, and counts the calls.
type deniedSTS struct{ calls int }

func (d *deniedSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	d.calls++
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
		`<Message>User: arn:aws:sts::%s:assumed-role/medic-executor/x is not authorized to perform: sts:AssumeRole on resource: %s</Message>`+
		`</Error><RequestId>r-1</RequestId></ErrorResponse>`, accountA, r.Form.Get("RoleArn"))
}

func TestARoleThatCannotBeAssumedFailsClosedNamingAccountAndRole(t *testing.T) {
	m := testenv.Moto(t)
	b := assumeB(t, m.Config)
	bECS := checkoutService(t, b)
	al := alarmInB(t, b)

	denied := &deniedSTS{}
	srv := httptest.NewServer(denied)
	t.Cleanup(srv.Close)
	// Every other service is moto; STS refuses, as wiring.AWSConfig reads
	// the endpoints in production.
	t.Setenv("AWS_ENDPOINT_URL", m.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	t.Setenv("AWS_REGION", testenv.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	awsCfg, err := wiring.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	app := build(t, memberConfig(t, m.URL), awsCfg)
	out, err := app.Engine.HandleAlarm(context.Background(), al)
	if err != nil || out.Incident == nil {
		t.Fatalf("handle alarm = %+v, %v", out, err)
	}
	p := proposal(t, app, out.Incident.ID)
	role := "arn:aws:iam::" + accountB + ":role/" + memberRole
	if p.State != store.StateBlocked || !strings.Contains(p.Reason, role) || !strings.Contains(p.Reason, "account "+accountB) ||
		!strings.Contains(p.Reason, "nothing was done") {
		t.Errorf("step %s: %q; want BLOCKED naming role %s and account %s, saying nothing was done", p.State, p.Reason, role, accountB)
	}
	if p.Plan != nil {
		t.Errorf("a plan was made without the member role: %+v", p.Plan)
	}
	if denied.calls == 0 {
		t.Error("STS was never asked to assume the member role")
	}
	if got := desired(t, bECS); got != 4 {
		t.Errorf("account B's prod/checkout wants %d tasks, want 4 untouched", got)
	}
}

func TestOtherReadersGetTheAlarmsAccount(t *testing.T) {
	m := testenv.Moto(t)
	checkoutService(t, assumeB(t, m.Config))
	al := &alarm.Alarm{Name: "checkout-5xx", ARN: "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:checkout-5xx",
		Account: accountB, Region: farRegion, Timestamp: time.Now()}
	for _, c := range []struct {
		name     string
		cfg      *config.Config
		clusters int
	}{
		{"multi-account mode reads account B", memberConfig(t, m.URL), 1},
		{"single-account mode reads medic's own account", &config.Config{AccountID: accountA}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rem, err := wiring.Remediations(c.cfg, m.Config, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := rem.AWSConfigFor(context.Background(), al)
			if err != nil {
				t.Fatal(err)
			}
			out, err := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Region = farRegion }).ListClusters(context.Background(), &ecs.ListClustersInput{})
			if err != nil || len(out.ClusterArns) != c.clusters {
				t.Errorf("clusters seen: %v (%v), want %d", out, err, c.clusters)
			}
		})
	}
}

// Evidence is gathered in the alarm's account and region too: the
// recent-changes collector finds account B's prod/checkout (which account A
// does not have), and with a role that cannot be assumed every collector is
// missing, saying so, rather than reading medic's own account instead.
func TestEvidenceIsGatheredInTheAlarmsAccount(t *testing.T) {
	m := testenv.Moto(t)
	b := assumeB(t, m.Config)
	checkoutService(t, b)
	al := alarmInB(t, b)

	inc := intakeIncident(t, memberConfig(t, m.URL), m.Config, al)
	if inc.Evidence == nil || inc.Evidence.Changes == nil {
		t.Fatalf("no recent changes in the evidence: %+v; account B's prod/checkout was not read", inc.Evidence)
	}
	for _, miss := range inc.Evidence.Missing {
		if miss.Collector == "changes" {
			t.Errorf("changes missing: %s", miss.Reason)
		}
	}
}

func TestEvidenceOfAnAccountMedicCannotEnterSaysWhy(t *testing.T) {
	m := testenv.Moto(t)
	al := alarmInB(t, assumeB(t, m.Config))
	srv := httptest.NewServer(&deniedSTS{})
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", m.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	t.Setenv("AWS_REGION", testenv.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	awsCfg, err := wiring.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inc := intakeIncident(t, memberConfig(t, m.URL), awsCfg, al)
	if inc.Evidence == nil || len(inc.Evidence.Missing) == 0 || inc.Evidence.Changes != nil || inc.Evidence.Health != nil {
		t.Fatalf("evidence %+v: want every collector missing", inc.Evidence)
	}
	role := "arn:aws:iam::" + accountB + ":role/" + memberRole
	for _, miss := range inc.Evidence.Missing {
		if !strings.Contains(miss.Reason, role) {
			t.Errorf("%s missing because %q; want the reason to name role %s", miss.Collector, miss.Reason, role)
		}
	}
}

// intakeIncident builds medic as the alarm door does (evidence gathered),
// handles al and returns the incident it recorded.
func intakeIncident(t *testing.T, cfg *config.Config, awsCfg aws.Config, al *alarm.Alarm) *store.Incident {
	t.Helper()
	app, err := wiring.Build(context.Background(), cfg, awsCfg, wiring.Options{
		Policies: fstest.MapFS{"checkout.yaml": {Data: []byte(memberPolicy)}}, Intake: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	out, err := app.Engine.HandleAlarm(context.Background(), al)
	if err != nil || out.Incident == nil {
		t.Fatalf("handle alarm = %+v, %v", out, err)
	}
	inc, err := app.Store.Incident(context.Background(), out.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}
