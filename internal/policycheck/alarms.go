package policycheck

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/policy"
)

// CloudWatchAPI is the CloudWatch calls Unmatched makes.
type CloudWatchAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error)
}

// Unmatched is an enabled policy that no existing alarm can match: as
// things are, it never runs.
type Unmatched struct {
	Policy *policy.Policy
	// Alarms is how many alarms were checked.
	Alarms int
}

// String formats u as a warning: "file:line: policy NAME: warning: ...".
func (u Unmatched) String() string {
	return fmt.Sprintf("%s:%d: policy %s: warning: no existing alarm can match it (%d alarm(s) checked): it never runs; "+
		"create the alarm (`medic alarms`) or fix match (%s)", u.Policy.File, u.Policy.Line, u.Policy.Name, u.Alarms, describeMatch(u.Policy.Match))
}

// UnmatchedPolicies lists every alarm of the account and region (metric and
// composite), as if each had gone to ALARM, and returns the enabled
// policies of set that none of them matches. Alarm tags are read only when
// some policy matches on tags.
func UnmatchedPolicies(ctx context.Context, cw CloudWatchAPI, set *policy.Set) ([]Unmatched, error) {
	alarms, err := listAlarms(ctx, cw)
	if err != nil {
		return nil, err
	}
	needTags := false
	for _, p := range set.Policies() {
		needTags = needTags || p.Enabled && len(p.Match.Tags) > 0
	}
	matched := make(map[string]bool)
	for i := range alarms {
		if needTags {
			out, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(alarms[i].ARN)})
			if err != nil {
				return nil, fmt.Errorf("read the tags of alarm %s: %w", alarms[i].Name, err)
			}
			alarms[i].Tags = make(map[string]string, len(out.Tags))
			for _, t := range out.Tags {
				alarms[i].Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		for _, p := range set.Match(&alarms[i]) {
			matched[p.Name] = true
		}
	}
	var out []Unmatched
	for _, p := range set.Policies() {
		if p.Enabled && !matched[p.Name] {
			out = append(out, Unmatched{Policy: p, Alarms: len(alarms)})
		}
	}
	return out, nil
}

// listAlarms returns every alarm as the state change it would send on
// going to ALARM.
func listAlarms(ctx context.Context, cw CloudWatchAPI) ([]alarm.Alarm, error) {
	in := &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}}
	var out []alarm.Alarm
	for {
		page, err := cw.DescribeAlarms(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list cloudwatch alarms: %w", err)
		}
		for _, m := range page.MetricAlarms {
			a := base(aws.ToString(m.AlarmName), aws.ToString(m.AlarmArn))
			if m.MetricName != nil {
				a.Metrics = append(a.Metrics, alarm.Metric{Namespace: aws.ToString(m.Namespace), Name: aws.ToString(m.MetricName), Dimensions: dims(m.Dimensions)})
			}
			for _, q := range m.Metrics {
				if q.MetricStat != nil && q.MetricStat.Metric != nil {
					mt := q.MetricStat.Metric
					a.Metrics = append(a.Metrics, alarm.Metric{ID: aws.ToString(q.Id), Namespace: aws.ToString(mt.Namespace), Name: aws.ToString(mt.MetricName), Dimensions: dims(mt.Dimensions)})
				} else if q.Expression != nil {
					a.Expressions = append(a.Expressions, alarm.Expression{ID: aws.ToString(q.Id), Expression: aws.ToString(q.Expression)})
				}
			}
			out = append(out, a)
		}
		for _, c := range page.CompositeAlarms {
			a := base(aws.ToString(c.AlarmName), aws.ToString(c.AlarmArn))
			a.CompositeRule = aws.ToString(c.AlarmRule)
			out = append(out, a)
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// base is an alarm in ALARM with the account and region of its ARN
// (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME).
func base(name, arn string) alarm.Alarm {
	a := alarm.Alarm{Name: name, ARN: arn, State: alarm.StateAlarm}
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		a.Region, a.Account = parts[3], parts[4]
	}
	return a
}

func dims(ds []cwtypes.Dimension) map[string]string {
	m := make(map[string]string, len(ds))
	for _, d := range ds {
		m[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return m
}

// describeMatch summarises a match block: alarm, metric and dimensions.
func describeMatch(m policy.Match) string {
	var parts []string
	if len(m.Alarm) > 0 {
		parts = append(parts, "alarm "+strings.Join(m.Alarm, " or "))
	}
	if len(m.Metric) > 0 {
		parts = append(parts, "metric "+strings.Join(m.Metric, " or "))
	}
	for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
		parts = append(parts, k+" "+m.Dimensions[k])
	}
	if len(m.Tags) > 0 {
		parts = append(parts, fmt.Sprintf("tags %v", m.Tags))
	}
	return strings.Join(parts, ", ")
}
