package policycheck

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/remediations/builtin"
)

// alarmsAPI serves two pages of alarms and their tags.
type alarmsAPI struct {
	tags    map[string]map[string]string
	tagsErr error
	tagged  int
}

func (f *alarmsAPI) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if aws.ToString(in.NextToken) == "" {
		return &cloudwatch.DescribeAlarmsOutput{NextToken: aws.String("2"), MetricAlarms: []cwtypes.MetricAlarm{{
			AlarmName: aws.String("web-prod-5xx"), AlarmArn: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-prod-5xx"),
			Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/web-prod/1")}},
		}}}, nil
	}
	return &cloudwatch.DescribeAlarmsOutput{CompositeAlarms: []cwtypes.CompositeAlarm{{
		AlarmName: aws.String("web-degraded"), AlarmArn: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-degraded"),
		AlarmRule: aws.String(`ALARM("web-prod-5xx")`),
	}}}, nil
}

func (f *alarmsAPI) ListTagsForResource(_ context.Context, in *cloudwatch.ListTagsForResourceInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error) {
	f.tagged++
	if f.tagsErr != nil {
		return nil, f.tagsErr
	}
	var out []cwtypes.Tag
	for k, v := range f.tags[aws.ToString(in.ResourceARN)] {
		out = append(out, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return &cloudwatch.ListTagsForResourceOutput{Tags: out}, nil
}

const unmatchedPolicies = `version: 1
policies:
  - name: web-5xx
    match: {alarm: "web-*-5xx", dimensions: {LoadBalancer: "app/web-prod/*"}}
    steps: [{action: ecs.restart, approval: shadow, params: {cluster: prod, service: web}}]
  - name: web-5xx-elsewhere
    match: {alarm: "web-*-5xx", regions: [eu-west-1]}
    steps: [{action: ecs.restart, approval: shadow, params: {cluster: prod, service: web}}]
  - name: degraded
    match: {alarm: "*-degraded", tags: {env: prod}}
    steps: [{action: ecs.restart, approval: shadow, params: {cluster: prod, service: web}}]
  - name: latency
    match: {metric: TargetResponseTime}
    steps: [{action: ecs.restart, approval: shadow, params: {cluster: prod, service: web}}]
`

func TestUnmatchedPolicies(t *testing.T) {
	set, err := policy.Parse("p.yaml", []byte(unmatchedPolicies), builtin.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	api := &alarmsAPI{tags: map[string]map[string]string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-degraded": {"env": "prod"}}}
	got, err := UnmatchedPolicies(context.Background(), api, set)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range got {
		names = append(names, u.Policy.Name)
		if u.Alarms != 2 {
			t.Errorf("%s: %d alarms checked, want 2 (both pages)", u.Policy.Name, u.Alarms)
		}
	}
	// web-5xx-elsewhere: the alarm is in us-east-1; latency: no alarm
	// watches that metric; degraded is matched through the composite's tags.
	if strings.Join(names, ",") != "web-5xx-elsewhere,latency" {
		t.Errorf("unmatched = %v, want [web-5xx-elsewhere latency]", names)
	}
	if s := got[1].String(); !strings.HasPrefix(s, "p.yaml:12: policy latency: warning: no existing alarm can match it (2 alarm(s) checked)") ||
		!strings.Contains(s, "metric TargetResponseTime") {
		t.Errorf("warning = %q", s)
	}

	api = &alarmsAPI{tagsErr: errors.New("AccessDenied")}
	if _, err := UnmatchedPolicies(context.Background(), api, set); err == nil || !strings.Contains(err.Error(), "read the tags of alarm web-prod-5xx") {
		t.Errorf("tags refused: err = %v, want one naming the alarm", err)
	}
}
