package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/internal/alarmgen"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations/builtin"
)

// firstAlarm is the generated alarm the demo fires: the target 5xx rate of
// checkout-prod's target group checkout, which the example policy
// checkout-target-5xx answers.
const firstAlarm = "checkout-prod-checkout-target-5xx"

// policyName is the example policy that answers firstAlarm.
const policyName = "checkout-target-5xx"

// createAlarms is `medic alarms --apply` against moto: the recommended
// alarms for the target groups the embedded policies name. Without an SLO:
// moto has no PutCompositeAlarm, which the burn-rate pairs need.
func createAlarms(ctx context.Context, awsCfg aws.Config) ([]alarmgen.Alarm, []alarmgen.Change, error) {
	set, err := policy.Load(examples.FS, builtin.Catalog())
	if err != nil {
		return nil, nil, fmt.Errorf("load the example policies: %w", err)
	}
	found, err := alarmgen.Discover(ctx, elb.NewFromConfig(awsCfg), alarmgen.Selection{Policies: set.Policies()})
	if err != nil {
		return nil, nil, err
	}
	alarms, err := alarmgen.Generate(found.Targets, alarmgen.Options{})
	if err != nil {
		return nil, nil, err
	}
	changes, err := alarmgen.Apply(ctx, wiring.CloudWatch(awsCfg, true), alarms)
	return alarms, changes, err
}

// fire sets the alarm's state in moto (as CloudWatch would on evaluating
// it; medic re-checks the state before it executes) and returns the
// EventBridge event CloudWatch then sends.
func fire(ctx context.Context, awsCfg aws.Config, a alarmgen.Alarm, state string, ts time.Time) ([]byte, error) {
	reason := "Threshold Crossed: 3 out of the last 5 datapoints [0.12 (10/03/26 10:02:00), 0.09 (10/03/26 10:01:00), 0.07 (10/03/26 10:00:00)] were greater than the threshold (0.05)."
	if state == "OK" {
		reason = "Threshold Crossed: no datapoints were greater than the threshold (0.05)."
	}
	if _, err := testenv.CloudWatchClient(awsCfg).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(a.Name), StateValue: cwtypes.StateValue(state), StateReason: aws.String(reason),
	}); err != nil {
		return nil, fmt.Errorf("set alarm %s to %s: %w", a.Name, state, err)
	}
	return alarmEvent(a, state, reason, ts), nil
}

// alarmEvent is the "CloudWatch Alarm State Change" event of a generated
// metric-math alarm: the expression, then the metrics it reads
// (returnData false), as CloudWatch sends them.
func alarmEvent(a alarmgen.Alarm, state, reason string, ts time.Time) []byte {
	prev := "OK"
	if state == "OK" {
		prev = "ALARM"
	}
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }
	var metrics []any
	for _, q := range a.Metrics {
		if q.Expression != "" {
			metrics = append(metrics, map[string]any{"id": q.ID, "expression": q.Expression, "label": q.Label, "returnData": q.ReturnData})
			continue
		}
		dims := make(map[string]string)
		for _, d := range q.Dimensions {
			dims[d.Name] = d.Value
		}
		metrics = append(metrics, map[string]any{"id": q.ID, "returnData": q.ReturnData, "metricStat": map[string]any{
			"metric": map[string]any{"namespace": alarmgen.Namespace, "name": q.MetricName, "dimensions": dims},
			"period": q.Period, "stat": q.Stat,
		}})
	}
	reasonData, _ := json.Marshal(map[string]any{"version": "1.0", "queryDate": stamp(ts), "startDate": stamp(ts.Add(-5 * time.Minute)),
		"period": 60, "recentDatapoints": []float64{0.07, 0.09, 0.12}, "threshold": a.Threshold})
	ev := map[string]any{
		"version": "0", "id": fmt.Sprintf("%x", ts.UnixNano()), "detail-type": "CloudWatch Alarm State Change",
		"source": "aws.cloudwatch", "account": testenv.Account, "time": ts.UTC().Format(time.RFC3339), "region": testenv.Region,
		"resources": []string{"arn:aws:cloudwatch:" + testenv.Region + ":" + testenv.Account + ":alarm:" + a.Name},
		"detail": map[string]any{
			"alarmName":     a.Name,
			"state":         map[string]any{"value": state, "reason": reason, "reasonData": string(reasonData), "timestamp": stamp(ts)},
			"previousState": map[string]any{"value": prev, "reason": "previous", "timestamp": stamp(ts.Add(-10 * time.Minute))},
			"configuration": map[string]any{"description": a.Description, "metrics": metrics},
		},
	}
	b, _ := json.Marshal(ev)
	return b
}
