package alarmgen

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// API is the CloudWatch calls Apply makes.
type API interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	PutCompositeAlarm(ctx context.Context, in *cloudwatch.PutCompositeAlarmInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutCompositeAlarmOutput, error)
	// ListTagsForResource and TagResource are called only for alarms
	// with tags that exist already: PutMetricAlarm and PutCompositeAlarm
	// ignore Tags when they update an alarm.
	ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error)
	TagResource(ctx context.Context, in *cloudwatch.TagResourceInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.TagResourceOutput, error)
}

// Outcome says what Apply did to one alarm.
type Outcome string

// The outcomes of applying an alarm.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// Change is what Apply did to one alarm.
type Change struct {
	Name    string
	Outcome Outcome
}

// describeBatch is DescribeAlarms' limit of names per call.
const describeBatch = 100

// Apply creates or updates alarms through the API: an alarm that exists
// with the same definition and tags is left alone (Unchanged), so a second
// run changes nothing. Metric alarms are put before composite alarms, which
// name them. It stops at the first failure, reporting what it had done.
//
// Tags are added or given their new value; tags an alarm has besides
// its Alarm.Tags are left as they are. An alarm with tags is put with tag
// propagation on. Whether an existing alarm has propagation on is compared
// only when DescribeAlarms reports it (moto 5.2.1 never does): otherwise
// an existing alarm is put again, turning it on, whenever its tags change.
func Apply(ctx context.Context, api API, alarms []Alarm) ([]Change, error) {
	existing, err := describe(ctx, api, Names(alarms))
	if err != nil {
		return nil, err
	}
	ordered := slices.Clone(alarms)
	slices.SortStableFunc(ordered, func(a, b Alarm) int {
		return kindOrder(a.Kind) - kindOrder(b.Kind)
	})
	var changes []Change
	for _, a := range ordered {
		cur, ok := existing[a.Name]
		if !ok {
			if err := put(ctx, api, a); err != nil {
				return changes, err
			}
			changes = append(changes, Change{a.Name, Created})
			continue
		}
		missing, err := missingTags(ctx, api, cur, a)
		if err != nil {
			return changes, err
		}
		propagationOn := cur.propagation != nil && *cur.propagation
		propagationOff := cur.propagation != nil && !*cur.propagation
		needPut := !cur.equal(a) ||
			len(a.Tags) > 0 && (propagationOff || len(missing) > 0 && !propagationOn)
		if !needPut && len(missing) == 0 {
			changes = append(changes, Change{a.Name, Unchanged})
			continue
		}
		if needPut {
			if err := put(ctx, api, a); err != nil {
				return changes, err
			}
		}
		if len(missing) > 0 {
			if _, err := api.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(cur.arn), Tags: missing}); err != nil {
				return changes, fmt.Errorf("tag alarm %s: %w", a.Name, err)
			}
		}
		changes = append(changes, Change{a.Name, Updated})
	}
	return changes, nil
}

// missingTags returns the tags of want that the existing alarm cur lacks
// or has with another value; none when want has no tags.
func missingTags(ctx context.Context, api API, cur current, want Alarm) ([]cwtypes.Tag, error) {
	if len(want.Tags) == 0 {
		return nil, nil
	}
	if cur.arn == "" {
		return nil, fmt.Errorf("list tags of alarm %s: DescribeAlarms returned no ARN for it", want.Name)
	}
	out, err := api.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(cur.arn)})
	if err != nil {
		return nil, fmt.Errorf("list tags of alarm %s: %w", want.Name, err)
	}
	have := make(map[string]string)
	for _, t := range out.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	var missing []cwtypes.Tag
	for _, t := range want.Tags {
		if v, ok := have[t.Key]; !ok || v != t.Value {
			missing = append(missing, sdkTag(t))
		}
	}
	return missing, nil
}

func kindOrder(k Kind) int {
	if k == CompositeAlarm {
		return 1
	}
	return 0
}

// current is an existing alarm as DescribeAlarms reports it.
type current struct {
	Alarm
	arn string
	// propagation is whether its tag propagation is on; nil when
	// DescribeAlarms does not say.
	propagation *bool
}

func propagation(c *cwtypes.ActionConfiguration) *bool {
	if c == nil || c.AlarmTagsPropagation == nil || c.AlarmTagsPropagation.Enabled == nil {
		return nil
	}
	return aws.Bool(*c.AlarmTagsPropagation.Enabled)
}

// describe returns the existing alarms among names, by name.
func describe(ctx context.Context, api API, names []string) (map[string]current, error) {
	out := make(map[string]current)
	for start := 0; start < len(names); start += describeBatch {
		batch := names[start:min(start+describeBatch, len(names))]
		in := &cloudwatch.DescribeAlarmsInput{
			AlarmNames: batch,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		}
		for {
			page, err := api.DescribeAlarms(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("describe alarms %s...: %w", batch[0], err)
			}
			for _, m := range page.MetricAlarms {
				a := fromMetricAlarm(m)
				out[a.Name] = current{a, aws.ToString(m.AlarmArn), propagation(m.ActionConfiguration)}
			}
			for _, c := range page.CompositeAlarms {
				a := Alarm{
					Kind: CompositeAlarm, Name: aws.ToString(c.AlarmName), Description: aws.ToString(c.AlarmDescription),
					AlarmRule: aws.ToString(c.AlarmRule), AlarmActions: c.AlarmActions, OKActions: c.OKActions,
				}
				out[a.Name] = current{a, aws.ToString(c.AlarmArn), propagation(c.ActionConfiguration)}
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}

func fromMetricAlarm(m cwtypes.MetricAlarm) Alarm {
	a := Alarm{
		Kind: MetricAlarm, Name: aws.ToString(m.AlarmName), Description: aws.ToString(m.AlarmDescription),
		Namespace: aws.ToString(m.Namespace), MetricName: aws.ToString(m.MetricName),
		Statistic: string(m.Statistic), ExtendedStatistic: aws.ToString(m.ExtendedStatistic),
		Period:            int(aws.ToInt32(m.Period)),
		EvaluationPeriods: int(aws.ToInt32(m.EvaluationPeriods)), DatapointsToAlarm: int(aws.ToInt32(m.DatapointsToAlarm)),
		Threshold: aws.ToFloat64(m.Threshold), ComparisonOperator: string(m.ComparisonOperator),
		TreatMissingData: aws.ToString(m.TreatMissingData),
		AlarmActions:     m.AlarmActions, OKActions: m.OKActions,
	}
	for _, d := range m.Dimensions {
		a.Dimensions = append(a.Dimensions, Dimension{aws.ToString(d.Name), aws.ToString(d.Value)})
	}
	for _, q := range m.Metrics {
		mq := Query{ID: aws.ToString(q.Id), Expression: aws.ToString(q.Expression), Label: aws.ToString(q.Label), ReturnData: aws.ToBool(q.ReturnData)}
		if q.ReturnData == nil { // CloudWatch's default
			mq.ReturnData = true
		}
		if s := q.MetricStat; s != nil && s.Metric != nil {
			mq.MetricName, mq.Stat, mq.Period = aws.ToString(s.Metric.MetricName), aws.ToString(s.Stat), int(aws.ToInt32(s.Period))
			if aws.ToString(s.Metric.Namespace) != Namespace {
				mq.MetricName = aws.ToString(s.Metric.Namespace) + "/" + mq.MetricName // never equal to ours
			}
			for _, d := range s.Metric.Dimensions {
				mq.Dimensions = append(mq.Dimensions, Dimension{aws.ToString(d.Name), aws.ToString(d.Value)})
			}
		}
		a.Metrics = append(a.Metrics, mq)
	}
	return a
}

// equal reports whether the existing alarm cur has the definition of want.
func (cur Alarm) equal(want Alarm) bool {
	if cur.Kind != want.Kind || cur.Name != want.Name || cur.Description != want.Description ||
		!sameSet(cur.AlarmActions, want.AlarmActions) || !sameSet(cur.OKActions, want.OKActions) {
		return false
	}
	if want.Kind == CompositeAlarm {
		return cur.AlarmRule == want.AlarmRule
	}
	if cur.Namespace != want.Namespace || cur.MetricName != want.MetricName || cur.Statistic != want.Statistic ||
		cur.ExtendedStatistic != want.ExtendedStatistic || cur.Period != want.Period ||
		cur.EvaluationPeriods != want.EvaluationPeriods || cur.DatapointsToAlarm != want.DatapointsToAlarm ||
		cur.Threshold != want.Threshold || cur.ComparisonOperator != want.ComparisonOperator ||
		cur.TreatMissingData != want.TreatMissingData || !slices.Equal(sortedDims(cur.Dimensions), sortedDims(want.Dimensions)) ||
		len(cur.Metrics) != len(want.Metrics) {
		return false
	}
	for i := range want.Metrics {
		c, w := cur.Metrics[i], want.Metrics[i]
		if c.ID != w.ID || c.Expression != w.Expression || c.Label != w.Label || c.ReturnData != w.ReturnData ||
			c.MetricName != w.MetricName || c.Stat != w.Stat || c.Period != w.Period ||
			!slices.Equal(sortedDims(c.Dimensions), sortedDims(w.Dimensions)) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// put creates or updates a; with tags, it turns tag propagation on (the
// tags themselves count only when it creates the alarm).
func put(ctx context.Context, api API, a Alarm) error {
	var tags []cwtypes.Tag
	var config *cwtypes.ActionConfiguration
	for _, t := range a.Tags {
		tags = append(tags, sdkTag(t))
	}
	if len(tags) > 0 {
		config = &cwtypes.ActionConfiguration{AlarmTagsPropagation: &cwtypes.AlarmTagsPropagation{Enabled: aws.Bool(true)}}
	}
	if a.Kind == CompositeAlarm {
		_, err := api.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{
			AlarmName: aws.String(a.Name), AlarmDescription: aws.String(a.Description), AlarmRule: aws.String(a.AlarmRule),
			ActionsEnabled: aws.Bool(true), AlarmActions: a.AlarmActions, OKActions: a.OKActions,
			Tags: tags, ActionConfiguration: config,
		})
		if err != nil {
			return fmt.Errorf("put composite alarm %s: %w", a.Name, err)
		}
		return nil
	}
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(a.Name), AlarmDescription: aws.String(a.Description), ActionsEnabled: aws.Bool(true),
		AlarmActions: a.AlarmActions, OKActions: a.OKActions,
		EvaluationPeriods: aws.Int32(int32(a.EvaluationPeriods)), DatapointsToAlarm: aws.Int32(int32(a.DatapointsToAlarm)),
		Threshold: aws.Float64(a.Threshold), ComparisonOperator: cwtypes.ComparisonOperator(a.ComparisonOperator),
		TreatMissingData: aws.String(a.TreatMissingData),
		Tags:             tags, ActionConfiguration: config,
	}
	if len(a.Metrics) == 0 {
		in.Namespace, in.MetricName, in.Dimensions = aws.String(a.Namespace), aws.String(a.MetricName), sdkDims(a.Dimensions)
		in.Period = aws.Int32(int32(a.Period))
		if a.ExtendedStatistic != "" {
			in.ExtendedStatistic = aws.String(a.ExtendedStatistic)
		} else {
			in.Statistic = cwtypes.Statistic(a.Statistic)
		}
	}
	for _, q := range a.Metrics {
		mq := cwtypes.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(q.ReturnData)}
		if q.Expression != "" {
			mq.Expression = aws.String(q.Expression)
		}
		if q.Label != "" {
			mq.Label = aws.String(q.Label)
		}
		if q.MetricName != "" {
			mq.MetricStat = &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(Namespace), MetricName: aws.String(q.MetricName), Dimensions: sdkDims(q.Dimensions)},
				Period: aws.Int32(int32(q.Period)), Stat: aws.String(q.Stat),
			}
		}
		in.Metrics = append(in.Metrics, mq)
	}
	if _, err := api.PutMetricAlarm(ctx, in); err != nil {
		return fmt.Errorf("put metric alarm %s: %w", a.Name, err)
	}
	return nil
}

func sdkDims(dims []Dimension) []cwtypes.Dimension {
	out := make([]cwtypes.Dimension, len(dims))
	for i, d := range dims {
		out[i] = cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)}
	}
	return out
}

func sdkTag(t Tag) cwtypes.Tag {
	return cwtypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
}
