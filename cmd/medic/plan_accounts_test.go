package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/medicbot/medic/internal/testenv"
)

const memberAlarmEvent = `{"version":"0","id":"1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch",
"account":"111111111111","time":"2026-12-03T08:00:00Z","region":"eu-west-1",
"resources":["arn:aws:cloudwatch:eu-west-1:111111111111:alarm:checkout-5xx"],
"detail":{"alarmName":"checkout-5xx","state":{"value":"ALARM","reason":"test","timestamp":"2026-12-03T08:00:00.000+0000"},
"previousState":{"value":"OK","reason":"test","timestamp":"2026-12-03T07:50:00.000+0000"},
"configuration":{"metrics":[{"id":"m1","returnData":true,"metricStat":{"metric":{"namespace":"AWS/ApplicationELB","name":"HTTPCode_Target_5XX_Count","dimensions":{}},"period":60,"stat":"Sum"}}]}}}`

const memberPlanPolicy = `version: 1
policies:
  - name: checkout-5xx
    match: {alarm: checkout-5xx, accounts: ["@prod"]}
    steps:
      - action: ecs.scale
        approval: auto
        params: {cluster: prod, service: checkout, add: 2, max: 20}
`

// createCheckout makes prod/checkout with desired tasks in cfg's account,
// in eu-west-1.
func createCheckout(t *testing.T, cfg aws.Config, desired int32) {
	t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Region = "eu-west-1" })
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("checkout"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(256)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("checkout"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(desired)}); err != nil {
		t.Fatal(err)
	}
}

// simulate --plan plans in the alarm's account: account B's checkout (4
// tasks), not medic's own account's (9 tasks).
func TestSimulatePlanPlansInTheAlarmsAccount(t *testing.T) {
	m := testenv.Moto(t)
	ctx := context.Background()
	createCheckout(t, m.Config, 9)
	out, err := sts.NewFromConfig(m.Config).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/medic-member"),
		RoleSessionName: aws.String("setup"), ExternalId: aws.String("ext-id")})
	if err != nil {
		t.Fatal(err)
	}
	b := m.Config.Copy()
	b.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	createCheckout(t, b, 4)

	dir := t.TempDir()
	for name, data := range map[string]string{"checkout.yaml": memberPlanPolicy, "accounts.yaml": "accounts: {prod: [\"111111111111\"]}\n", "alarm.json": memberAlarmEvent} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": testenv.Region,
		"MEDIC_ACCOUNT_ID": testenv.Account, "MEDIC_MEMBER_ROLE_NAME": "medic-member", "MEDIC_MEMBER_EXTERNAL_ID": "ext-id",
		"MEDIC_MEMBER_ACCOUNTS": "111111111111"} {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	run([]string{"simulate", "--policies", dir, "--alarm", filepath.Join(dir, "alarm.json"), "--plan", "--endpoint-url", m.URL}, nil, &stdout, &stderr)
	var got struct {
		Matches []struct {
			Steps []struct {
				Plan *struct {
					Summary string `json:"summary"`
					Account string `json:"account"`
					Region  string `json:"region"`
				} `json:"plan"`
				PlanError string `json:"plan_error"`
				Blocked   string `json:"blocked"`
			} `json:"steps"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got.Matches) != 1 || len(got.Matches[0].Steps) != 1 {
		t.Fatalf("output %s (%v); stderr %s", stdout.String(), err, stderr.String())
	}
	s := got.Matches[0].Steps[0]
	const want = "111111111111 eu-west-1: prod/checkout: desired 4 -> 6 tasks"
	if s.Plan == nil || s.Plan.Summary != want || s.Plan.Account != "111111111111" || s.Plan.Region != "eu-west-1" {
		t.Errorf("plan = %+v (error %q, blocked %q), want %q in account 111111111111, eu-west-1", s.Plan, s.PlanError, s.Blocked, want)
	}
}
