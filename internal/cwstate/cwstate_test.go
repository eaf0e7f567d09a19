package cwstate

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/testenv"
)

// motoCloudWatch returns a CloudWatch client moto understands: moto speaks
// the query protocol, not the SDK's default RPC v2 CBOR.
func motoCloudWatch(t *testing.T) *cloudwatch.Client {
	m := testenv.Moto(t)
	return cloudwatch.NewFromConfig(m.Config, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
}

func TestAlarmStateReadsTheCurrentStateFromCloudWatch(t *testing.T) {
	ctx := context.Background()
	cw := motoCloudWatch(t)
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String("checkout-prod-target-5xx"),
		Namespace:          aws.String("AWS/ApplicationELB"),
		MetricName:         aws.String("HTTPCode_Target_5XX_Count"),
		Statistic:          cwtypes.StatisticSum,
		Period:             aws.Int32(60),
		EvaluationPeriods:  aws.Int32(1),
		Threshold:          aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	})
	if err != nil {
		t.Fatalf("put alarm: %v", err)
	}
	r := New(cw)
	a := &alarm.Alarm{Name: "checkout-prod-target-5xx"}
	for _, want := range []alarm.State{alarm.StateAlarm, alarm.StateOK} {
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String(a.Name), StateValue: cwtypes.StateValue(want), StateReason: aws.String("test"),
		}); err != nil {
			t.Fatalf("set alarm state: %v", err)
		}
		got, err := r.AlarmState(ctx, a)
		if err != nil {
			t.Fatalf("AlarmState: %v", err)
		}
		if got != want {
			t.Errorf("state = %s, want %s", got, want)
		}
	}
}

func TestAlarmStateOfAMissingAlarmIsNotFound(t *testing.T) {
	r := New(motoCloudWatch(t))
	_, err := r.AlarmState(context.Background(), &alarm.Alarm{Name: "no-such-alarm"})
	if !errors.Is(err, ErrAlarmNotFound) {
		t.Fatalf("err = %v, want ErrAlarmNotFound", err)
	}
}
