package alarm

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Values of the shared fixture: one state change of checkout-prod-target-5xx
// delivered by every route (testdata/*-alb-target-5xx.json).
const (
	checkoutName   = "checkout-prod-target-5xx"
	checkoutARN    = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx"
	checkoutLB     = "app/checkout-prod/50dc6c495c0c9188"
	checkoutTG     = "targetgroup/checkout/73e2d6bc24d8a067"
	checkoutReason = "Threshold Crossed: 1 out of the last 1 datapoints [42.0 (14/05/24 09:20:00)] was greater than the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition)."
	checkoutDesc   = "checkout-prod targets return 5xx responses"
	checkoutKey    = checkoutARN + "@2024-05-14T09:21:37.512Z"
)

var checkoutTime = time.Date(2024, 5, 14, 9, 21, 37, 512e6, time.UTC)

func f64(v float64) *float64 { return &v }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return data
}

// checkoutAlarm is the alarm every route of the shared fixture must decode
// to. SNS notifications carry no reasonData and no metric id.
func checkoutAlarm(route Route) *Alarm {
	a := &Alarm{
		Name:          checkoutName,
		ARN:           checkoutARN,
		Account:       "123456789012",
		Region:        "us-east-1",
		State:         StateAlarm,
		PreviousState: StateOK,
		Reason:        checkoutReason,
		ReasonData: &ReasonData{
			Datapoints: []float64{42},
			Threshold:  f64(10),
			Statistic:  "Sum",
			Period:     60,
		},
		Timestamp:   checkoutTime,
		Description: checkoutDesc,
		Metrics: []Metric{{
			ID:         "7c5ce8f6-0e5b-4d4b-9a5b-1f2c3d4e5f60",
			Namespace:  "AWS/ApplicationELB",
			Name:       "HTTPCode_Target_5XX_Count",
			Dimensions: map[string]string{"LoadBalancer": checkoutLB, "TargetGroup": checkoutTG},
			Stat:       "Sum",
			Period:     60,
		}},
		HTTP5xx: &HTTP5xx{Source: SourceTarget, Code: "5XX"},
		Route:   route,
	}
	if route == RouteSNS {
		a.ReasonData = nil
		a.Metrics[0].ID = ""
	}
	return a
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []*Alarm
	}{
		{
			name: "eventbridge ALB target 5xx alarm with TargetGroup and LoadBalancer",
			file: "eventbridge-alb-target-5xx.json",
			want: []*Alarm{checkoutAlarm(RouteEventBridge)},
		},
		{
			name: "SNS Lambda event of the same ALB target 5xx alarm",
			file: "sns-event-alb-target-5xx.json",
			want: []*Alarm{checkoutAlarm(RouteSNS)},
		},
		{
			name: "SNS notification body of the same alarm",
			file: "sns-notification-alb-target-5xx.json",
			want: []*Alarm{checkoutAlarm(RouteSNS)},
		},
		{
			name: "bare SNS alarm message of the same alarm",
			file: "sns-message-alb-target-5xx.json",
			want: []*Alarm{checkoutAlarm(RouteSNS)},
		},
		{
			name: "alarm action payload of the same alarm",
			file: "action-alb-target-5xx.json",
			want: []*Alarm{checkoutAlarm(RouteAction)},
		},
		{
			name: "OK recovery of the ALB target 5xx alarm",
			file: "eventbridge-alb-target-5xx-ok.json",
			want: []*Alarm{func() *Alarm {
				a := checkoutAlarm(RouteEventBridge)
				a.State, a.PreviousState = StateOK, StateAlarm
				a.Reason = "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (14/05/24 09:30:00)] was not greater than the threshold (10.0) (minimum 1 datapoint for ALARM -> OK transition)."
				a.ReasonData.Datapoints = []float64{0}
				a.Timestamp = time.Date(2024, 5, 14, 9, 31, 38, 207e6, time.UTC)
				return a
			}()},
		},
		{
			name: "SNS ELB 502 alarm takes its region from the ARN and upper-case SUM becomes Sum",
			file: "sns-event-alb-elb-502.json",
			want: []*Alarm{{
				Name:          "payments-prod-elb-502",
				ARN:           "arn:aws:cloudwatch:us-west-2:123456789012:alarm:payments-prod-elb-502",
				Account:       "123456789012",
				Region:        "us-west-2",
				State:         StateAlarm,
				PreviousState: StateOK,
				Reason:        "Threshold Crossed: 2 out of the last 2 datapoints [17.0 (14/05/24 11:03:00), 9.0 (14/05/24 11:02:00)] were greater than or equal to the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition).",
				Timestamp:     time.Date(2024, 5, 14, 11, 4, 12, 877e6, time.UTC),
				Description:   "payments-prod load balancer returns 502",
				Metrics: []Metric{{
					Namespace:  "AWS/ApplicationELB",
					Name:       "HTTPCode_ELB_502_Count",
					Dimensions: map[string]string{"LoadBalancer": "app/payments-prod/8f2d1c3b4a5e6f70"},
					Stat:       "Sum",
					Period:     60,
				}},
				HTTP5xx: &HTTP5xx{Source: SourceELB, Code: "502"},
				Route:   RouteSNS,
			}},
		},
		{
			name: "SNS single EC2 metric alarm (aws-lambda-go example shape) is not ALB 5xx",
			file: "sns-event-ec2-single-metric.json",
			want: []*Alarm{{
				Name:          "batch-network-out",
				ARN:           "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:batch-network-out",
				Account:       "123456789012",
				Region:        "eu-west-1",
				State:         StateAlarm,
				PreviousState: StateInsufficientData,
				Reason:        "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (03/06/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).",
				Timestamp:     time.Date(2015, 6, 3, 17, 43, 27, 123e6, time.UTC),
				Description:   "batch host sends too much",
				Metrics: []Metric{{
					Namespace:  "AWS/EC2",
					Name:       "NetworkOut",
					Dimensions: map[string]string{"InstanceId": "i-0abc1234def567890"},
					Stat:       "Average",
					Period:     60,
				}},
				Route: RouteSNS,
			}},
		},
		{
			// aws-lambda-go's own example, unmodified (testdata/README.md):
			// account and region come from AlarmArn, placeholders and all,
			// not from AWSAccountId ("123456789012") or the Region display
			// name ("EXAMPLE").
			name: "aws-lambda-go SNS single-metric example, as published",
			file: "cloudwatch-alarm-sns-payload-single-metric.json",
			want: []*Alarm{lambdaGoExample(Metric{
				Namespace: "AWS/EC2", Name: "NetworkOut", Dimensions: map[string]string{"InstanceId": "TestInstance"}, Stat: "Average", Period: 60,
			}, nil)},
		},
		{
			name: "aws-lambda-go SNS multiple-metrics example, as published: the metric math expression and its metric",
			file: "cloudwatch-alarm-sns-payload-multiple-metrics.json",
			want: []*Alarm{lambdaGoExample(Metric{
				ID: "m1", Namespace: "AWS/EC2", Name: "NetworkOut", Dimensions: map[string]string{"InstanceId": "TestInstance"}, Stat: "Average", Period: 60,
			}, []Expression{{ID: "e1", Expression: "m1*1", Label: "Expression1", ReturnData: true}})},
		},
		{
			name: "SNS metric math alarm keeps every metric and classifies by the first ALB 5xx metric",
			file: "sns-event-metric-math.json",
			want: []*Alarm{{
				Name:          "checkout-prod-5xx-rate",
				ARN:           "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-5xx-rate",
				Account:       "123456789012",
				Region:        "us-east-1",
				State:         StateAlarm,
				PreviousState: StateOK,
				Reason:        "Threshold Crossed: 2 out of the last 3 datapoints [7.4 (14/05/24 09:20:00), 6.1 (14/05/24 09:19:00)] were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition).",
				Timestamp:     time.Date(2024, 5, 14, 9, 21, 40, 118e6, time.UTC),
				Description:   "checkout-prod 5xx rate above 5%",
				Metrics:       rateMetrics(),
				Expressions:   []Expression{{ID: "e1", Expression: "100*(m1+m2)/m3", Label: "5xx rate (%)", ReturnData: true}},
				HTTP5xx:       &HTTP5xx{Source: SourceELB, Code: "5XX"},
				Route:         RouteSNS,
			}},
		},
		{
			name: "eventbridge metric math alarm puts returnData=false metricStats in Metrics",
			file: "eventbridge-metric-math.json",
			want: []*Alarm{{
				Name:          "checkout-prod-5xx-rate",
				ARN:           "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-5xx-rate",
				Account:       "123456789012",
				Region:        "us-east-1",
				State:         StateAlarm,
				PreviousState: StateOK,
				Reason:        "Threshold Crossed: 2 out of the last 3 datapoints [7.4 (14/05/24 09:20:00), 6.1 (14/05/24 09:19:00)] were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition).",
				ReasonData:    &ReasonData{Datapoints: []float64{4.2, 6.1, 7.4}, Threshold: f64(5), Period: 60},
				Timestamp:     time.Date(2024, 5, 14, 9, 21, 40, 118e6, time.UTC),
				Description:   "checkout-prod 5xx rate above 5%",
				Metrics:       rateMetrics(),
				Expressions:   []Expression{{ID: "e1", Expression: "100*(m1+m2)/m3", Label: "5xx rate (%)", ReturnData: true}},
				HTTP5xx:       &HTTP5xx{Source: SourceELB, Code: "5XX"},
				Route:         RouteEventBridge,
			}},
		},
		{
			name: "anomaly detection alarm has the band expression and lower/upper thresholds",
			file: "eventbridge-anomaly-detection.json",
			want: []*Alarm{{
				Name:          "checkout-prod-latency-anomaly",
				ARN:           "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-latency-anomaly",
				Account:       "123456789012",
				Region:        "us-east-1",
				State:         StateAlarm,
				PreviousState: StateOK,
				Reason:        "Thresholds Crossed: 1 out of the last 1 datapoints [2.31 (14/05/24 09:15:00)] was not within the thresholds (0.12, 0.84) (minimum 1 datapoint for OK -> ALARM transition).",
				ReasonData: &ReasonData{
					Datapoints:      []float64{2.31},
					LowerThresholds: []float64{0.12},
					UpperThresholds: []float64{0.84},
					Period:          300,
				},
				Timestamp:   time.Date(2024, 5, 14, 9, 16, 22, 668e6, time.UTC),
				Description: "checkout-prod latency outside its usual band",
				Metrics: []Metric{{
					ID: "m1", Namespace: "AWS/ApplicationELB", Name: "TargetResponseTime",
					Dimensions: map[string]string{"LoadBalancer": checkoutLB}, Stat: "Average", Period: 300,
				}},
				Expressions: []Expression{{ID: "ad1", Expression: "ANOMALY_DETECTION_BAND(m1, 0.8)", Label: "TargetResponseTime (expected)", ReturnData: true}},
				Route:       RouteEventBridge,
			}},
		},
		{
			name: "composite alarm with tags has its rule and triggering alarms but no metrics",
			file: "eventbridge-composite-tags.json",
			want: []*Alarm{{
				Name:          "checkout-prod-degraded",
				ARN:           "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-degraded",
				Account:       "123456789012",
				Region:        "us-east-1",
				State:         StateAlarm,
				PreviousState: StateOK,
				Reason:        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx transitioned to ALARM at Tuesday 14 May, 2024 09:21:37 UTC",
				ReasonData: &ReasonData{TriggeringAlarms: []string{
					checkoutARN,
					"arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-5xx-rate",
				}},
				Timestamp:     time.Date(2024, 5, 14, 9, 21, 41, 2e6, time.UTC),
				Description:   "checkout-prod is degraded",
				Tags:          map[string]string{"service": "checkout", "env": "prod", "team": "payments"},
				CompositeRule: `ALARM("checkout-prod-target-5xx") OR ALARM("checkout-prod-5xx-rate")`,
				Route:         RouteEventBridge,
			}},
		},
		{
			name: "composite alarm over an SNS notification body has its triggering children",
			file: "sns-notification-composite.json",
			want: []*Alarm{{
				Name:          "checkout-prod-degraded",
				ARN:           "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-degraded",
				Account:       "123456789012",
				Region:        "us-east-1",
				State:         StateAlarm,
				PreviousState: StateOK,
				Reason:        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx transitioned to ALARM at Tuesday 14 May, 2024 09:21:37 UTC",
				ReasonData:    &ReasonData{TriggeringAlarms: []string{checkoutARN}},
				Timestamp:     time.Date(2024, 5, 14, 9, 21, 41, 2e6, time.UTC),
				Description:   "checkout-prod is degraded",
				CompositeRule: `ALARM("checkout-prod-target-5xx") OR ALARM("checkout-prod-5xx-rate")`,
				Route:         RouteSNS,
			}},
		},
		{
			name: "first transition from the unchecked initial state",
			file: "eventbridge-first-transition.json",
			want: []*Alarm{func() *Alarm {
				a := checkoutAlarm(RouteEventBridge)
				a.Name = "checkout-prod-target-5xx-new"
				a.ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx-new"
				a.State, a.PreviousState = StateOK, StateInsufficientData
				a.Reason = "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (10/05/24 07:59:00)] was not greater than the threshold (10.0) (minimum 1 datapoint for INSUFFICIENT_DATA -> OK transition)."
				a.Timestamp = time.Date(2024, 5, 10, 8, 0, 5, 880e6, time.UTC)
				return a
			}()},
		},
		{
			name: "state without reasonData and empty resources builds the ARN and leaves ReasonData nil",
			file: "eventbridge-unchecked-no-reasondata.json",
			want: []*Alarm{func() *Alarm {
				a := checkoutAlarm(RouteEventBridge)
				a.Name = "checkout-prod-target-5xx-new"
				a.ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx-new"
				a.State, a.PreviousState = StateInsufficientData, ""
				a.Reason = "Unchecked: Initial alarm creation"
				a.ReasonData = nil
				a.Timestamp = time.Date(2024, 5, 10, 7, 59, 1, 140e6, time.UTC)
				return a
			}()},
		},
		{
			name: "unparseable reasonData keeps the alarm and exposes the raw text",
			file: "eventbridge-bad-reasondata.json",
			want: []*Alarm{func() *Alarm {
				a := checkoutAlarm(RouteEventBridge)
				a.ReasonData = nil
				a.ReasonDataRaw = `{"version":"1.0","recentDatapoints":[42.0`
				a.ReasonDataError = "reasonData.recentDatapoints: invalid JSON: expected ',' or ']' after array element, found end of input at offset 41"
				return a
			}()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.file, err)
			}
			assertAlarms(t, got, tt.want)
		})
	}
}

// lambdaGoExample is what aws-lambda-go's two SNS alarm examples decode
// to; they differ only in the trigger.
func lambdaGoExample(m Metric, exprs []Expression) *Alarm {
	return &Alarm{
		Name:          "EXAMPLE",
		ARN:           "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE",
		Account:       "ACCOUNT_NUMBER",
		Region:        "REGION",
		State:         StateAlarm,
		PreviousState: StateInsufficientData,
		Reason:        "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).",
		Timestamp:     time.Date(2015, 6, 3, 17, 43, 27, 123e6, time.UTC),
		Description:   "EXAMPLE",
		Metrics:       []Metric{m},
		Expressions:   exprs,
		Route:         RouteSNS,
	}
}

func rateMetrics() []Metric {
	lb := func() map[string]string { return map[string]string{"LoadBalancer": checkoutLB} }
	return []Metric{
		{ID: "m1", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: lb(), Stat: "Sum", Period: 60},
		{ID: "m2", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: lb(), Stat: "Sum", Period: 60},
		{ID: "m3", Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: lb(), Stat: "Sum", Period: 60},
	}
}

func assertAlarms(t *testing.T, got, want []*Alarm) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("decoded alarms differ\ngot:  %s\nwant: %s", g, w)
	}
}

// TestDedupKeyIsTheSameOnEveryRoute proves that one state change delivered by
// EventBridge, SNS (three shapes) and the alarm action decodes to one
// DedupKey and to the same alarm apart from the route-specific fields.
func TestDedupKeyIsTheSameOnEveryRoute(t *testing.T) {
	files := []string{
		"eventbridge-alb-target-5xx.json",
		"sns-event-alb-target-5xx.json",
		"sns-notification-alb-target-5xx.json",
		"sns-message-alb-target-5xx.json",
		"action-alb-target-5xx.json",
	}
	var first *Alarm
	for _, f := range files {
		alarms, err := Decode(readTestdata(t, f))
		if err != nil {
			t.Fatalf("Decode(%s): %v", f, err)
		}
		if len(alarms) != 1 {
			t.Fatalf("Decode(%s) returned %d alarms, want 1", f, len(alarms))
		}
		a := alarms[0]
		if got := a.DedupKey(); got != checkoutKey {
			t.Errorf("%s: DedupKey() = %q, want %q", f, got, checkoutKey)
		}
		// Compare what policies match on.
		norm := *a
		norm.Route, norm.ReasonData = "", nil
		norm.Metrics = append([]Metric(nil), a.Metrics...)
		for i := range norm.Metrics {
			norm.Metrics[i].ID = ""
		}
		if first == nil {
			first = &norm
			continue
		}
		if !reflect.DeepEqual(&norm, first) {
			t.Errorf("%s decodes to a different alarm than %s:\n%+v\n%+v", f, files[0], norm, *first)
		}
	}
}

// reencode decodes a testdata file into an aws-lambda-go event type and
// encodes it again, as a Lambda handler holding a typed event would.
func reencode[T any](t *testing.T, file string, edit func(*T)) []byte {
	t.Helper()
	var ev T
	if err := json.Unmarshal(readTestdata(t, file), &ev); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&ev)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeAgreesWithLambdaEventTypes decodes payloads as aws-lambda-go's
// event types re-encode them, and each route's own shapes.
func TestDecodeAgreesWithLambdaEventTypes(t *testing.T) {
	t.Run("an EventBridge event re-encoded from events.CloudWatchEvent", func(t *testing.T) {
		got, err := Decode(reencode[events.CloudWatchEvent](t, "eventbridge-alb-target-5xx.json", nil))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		assertAlarms(t, got, []*Alarm{checkoutAlarm(RouteEventBridge)})
	})
	t.Run("a configuration change re-encoded from events.CloudWatchEvent is ignored", func(t *testing.T) {
		_, err := Decode(reencode[events.CloudWatchEvent](t, "eventbridge-config-change.json", nil))
		var ig *IgnoredError
		if !errors.As(err, &ig) {
			t.Fatalf("Decode error = %v, want *IgnoredError", err)
		}
	})
	t.Run("an SNS event re-encoded from events.SNSEvent", func(t *testing.T) {
		got, err := Decode(reencode[events.SNSEvent](t, "sns-event-alb-target-5xx.json", nil))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		assertAlarms(t, got, []*Alarm{checkoutAlarm(RouteSNS)})
	})
	t.Run("aws-lambda-go's own SNS alarm examples re-encoded from events.SNSEvent", func(t *testing.T) {
		for _, f := range []string{"cloudwatch-alarm-sns-payload-single-metric.json", "cloudwatch-alarm-sns-payload-multiple-metrics.json"} {
			got, err := Decode(reencode[events.SNSEvent](t, f, nil))
			if err != nil {
				t.Fatalf("Decode(re-encoded %s): %v", f, err)
			}
			want, err := Decode(readTestdata(t, f))
			if err != nil {
				t.Fatalf("Decode(%s): %v", f, err)
			}
			assertAlarms(t, got, want)
		}
	})
	t.Run("a broken record of an SNS event is named", func(t *testing.T) {
		data := reencode(t, "sns-event-alb-target-5xx.json", func(ev *events.SNSEvent) {
			bad := ev.Records[0]
			bad.SNS.Message = `{"AlarmName":"x",`
			ev.Records = append(ev.Records, bad)
		})
		_, err := Decode(data)
		var de *DecodeError
		if !errors.As(err, &de) || de.Path != "Records[1].Sns.Message" {
			t.Fatalf("Decode error = %#v, want *DecodeError at Records[1].Sns.Message", err)
		}
	})
	t.Run("the direct Lambda action payload", func(t *testing.T) {
		got, err := Decode(readTestdata(t, "action-alb-target-5xx.json"))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		assertAlarms(t, got, []*Alarm{checkoutAlarm(RouteAction)})
	})
	t.Run("an alarm action payload without alarmData is ignored", func(t *testing.T) {
		data := reencode(t, "action-alb-target-5xx.json", func(m *map[string]any) { delete(*m, "alarmData") })
		_, err := Decode(data)
		var ig *IgnoredError
		if !errors.As(err, &ig) {
			t.Fatalf("Decode error = %v, want *IgnoredError", err)
		}
	})
	t.Run("the bare alarm message", func(t *testing.T) {
		got, err := Decode(readTestdata(t, "sns-message-alb-target-5xx.json"))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		assertAlarms(t, got, []*Alarm{checkoutAlarm(RouteSNS)})
	})
}

func TestDecodeSeveralSNSRecords(t *testing.T) {
	var ev map[string][]json.RawMessage
	if err := json.Unmarshal(readTestdata(t, "sns-event-alb-target-5xx.json"), &ev); err != nil {
		t.Fatal(err)
	}
	var other map[string][]json.RawMessage
	if err := json.Unmarshal(readTestdata(t, "sns-event-alb-elb-502.json"), &other); err != nil {
		t.Fatal(err)
	}
	var notAlarm map[string][]json.RawMessage
	if err := json.Unmarshal(readTestdata(t, "sns-event-not-alarm.json"), &notAlarm); err != nil {
		t.Fatal(err)
	}
	ev["Records"] = append(ev["Records"], notAlarm["Records"][0], other["Records"][0])
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(got) != 2 || got[0].Name != checkoutName || got[1].Name != "payments-prod-elb-502" {
		t.Fatalf("Decode returned %d alarms %v, want checkout then payments (the text record skipped)", len(got), got)
	}
}

func TestDecodeIgnored(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"eventbridge configuration change", readTestdata(t, "eventbridge-config-change.json")},
		{"eventbridge event from another source", readTestdata(t, "eventbridge-ec2-state-change.json")},
		{"S3 event", readTestdata(t, "s3-event.json")},
		{"SNS event with a plain text message", readTestdata(t, "sns-event-not-alarm.json")},
		{"SNS subscription confirmation", readTestdata(t, "sns-subscription-confirmation.json")},
		{"contributor state change", []byte(`{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm Contributor State Change","detail":{}}`)},
		{"SNS message that is JSON but not an alarm", []byte(`{"Type":"Notification","Message":"{\"deploy\":\"done\"}"}`)},
		{"SNS event without records", []byte(`{"Records":[]}`)},
		{"alarm action from another source", []byte(`{"source":"aws.events","alarmData":{}}`)},
		{"empty object", []byte(`{}`)},
		{"JSON array", []byte(`[1,2,3]`)},
		{"JSON string", []byte(`"ALARM"`)},
		{"JSON null", []byte(`null`)},
		{"object with unrelated keys", []byte(`{"hello":"world","n":[1,{"a":null}]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alarms, err := Decode(tt.data)
			var ig *IgnoredError
			if !errors.As(err, &ig) {
				t.Fatalf("Decode error = %v (alarms %v), want *IgnoredError", err, alarms)
			}
			if ig.Reason == "" || alarms != nil {
				t.Errorf("IgnoredError without reason or with alarms: %#v, %v", ig, alarms)
			}
		})
	}
}

// mutate returns a testdata file with one substring replaced, failing if the
// substring is not there.
func mutate(t *testing.T, file, old, new string) []byte {
	t.Helper()
	s := string(readTestdata(t, file))
	if !strings.Contains(s, old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

func TestDecodeMalformed(t *testing.T) {
	const eb = "eventbridge-alb-target-5xx.json"
	const sns = "sns-event-alb-target-5xx.json"
	const action = "action-alb-target-5xx.json"
	tests := []struct {
		name     string
		data     []byte
		wantPath string
	}{
		{"empty input", []byte(""), ""},
		{"truncated JSON", readTestdata(t, eb)[:400], "detail"},
		{"truncated inside a nested value", readTestdata(t, eb)[:1900], "detail.configuration.metrics[0].metricStat.metric.dimensions.TargetGroup"},
		{"trailing garbage", append(readTestdata(t, eb), []byte("}")...), ""},
		{"garbage timestamp", mutate(t, eb, `"timestamp": "2024-05-14T09:21:37.512+0000"`, `"timestamp": "garbage"`), "detail.state.timestamp"},
		{"missing state timestamp", mutate(t, eb, `"timestamp": "2024-05-14T09:21:37.512+0000"`, `"timezone": "UTC"`), "detail.state.timestamp"},
		{"invalid state value", mutate(t, eb, `"value": "ALARM"`, `"value": "FIRING"`), "detail.state.value"},
		{"missing state value", mutate(t, eb, `"value": "ALARM"`, `"colour": "red"`), "detail.state.value"},
		{"missing state", mutate(t, eb, `"state": {`, `"status": {`), "detail.state"},
		{"missing alarm name", mutate(t, eb, `"alarmName": "checkout-prod-target-5xx"`, `"alarmNom": "x"`), "detail.alarmName"},
		{"alarm name of the wrong type", mutate(t, eb, `"alarmName": "checkout-prod-target-5xx"`, `"alarmName": 42`), "detail.alarmName"},
		{"missing detail", mutate(t, eb, `"detail": {`, `"details": {`), "detail"},
		{"ARN that is not an alarm ARN", mutate(t, eb, `"arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx"`, `"arn:aws:sns:us-east-1:123456789012:topic"`), "resources"},
		{"no ARN and no region to build one", mutate(t, eb, `"region": "us-east-1",`+"\n"+`  "resources": [`+"\n"+`    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx"`+"\n"+`  ]`, `"resources": []`), "resources"},
		{"resources of the wrong type", mutate(t, eb, `"resources": [`, `"resources": [7,`), "resources[0]"},
		{"period that is not a whole number", mutate(t, eb, `"period": 60,`, `"period": 60.5,`), "detail.configuration.metrics[0].metricStat.period"},
		{"invalid previous state", mutate(t, eb, `"value": "OK"`, `"value": "MEH"`), "detail.previousState.value"},
		{"tags that are not strings", mutate(t, "eventbridge-composite-tags.json", `"team": "payments"`, `"team": ["payments"]`), "detail.alarmTags.team"},
		{"SNS message that is broken JSON", mutate(t, sns, `"Message": "{\"AlarmName\"`, `"Message": "{\"AlarmName\" 1, \"x\"`), "Records[0].Sns.Message"},
		{"SNS message with a garbage StateChangeTime", mutate(t, sns, `2024-05-14T09:21:37.512+0000`, `yesterday`), "Records[0].Sns.Message.StateChangeTime"},
		{"SNS message without AlarmArn", mutate(t, sns, `\"AlarmArn\"`, `\"AlarmUrn\"`), "Records[0].Sns.Message.AlarmArn"},
		{"SNS message with an invalid NewStateValue", mutate(t, sns, `\"NewStateValue\":\"ALARM\"`, `\"NewStateValue\":\"alarm\"`), "Records[0].Sns.Message.NewStateValue"},
		{"SNS dimension without a name", mutate(t, sns, `\"name\":\"TargetGroup\"`, `\"nom\":\"TargetGroup\"`), "Records[0].Sns.Message.Trigger.Dimensions[0].name"},
		{"SNS record with a garbage envelope Timestamp", mutate(t, sns, `"Timestamp": "2024-05-14T09:21:37.583Z"`, `"Timestamp": "soon"`), "Records[0].Sns.Timestamp"},
		{"SNS Message that is not a string", []byte(`{"Records":[{"EventSource":"aws:sns","Sns":{"Type":"Notification","Message":{"AlarmName":"x"}}}]}`), "Records[0].Sns.Message"},
		{"action payload with a garbage state timestamp", mutate(t, action, `"timestamp": "2024-05-14T09:21:37.512+0000"`, `"timestamp": "2024-13-45T99:99:99"`), "alarmData.state.timestamp"},
		{"action payload with alarmData that is not an object", []byte(`{"source":"aws.cloudwatch","alarmArn":"arn:aws:cloudwatch:us-east-1:1:alarm:a","alarmData":[]}`), "alarmData"},
		{"invalid escape", []byte(`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","detail":{"alarmName":"a\q"}}`), "detail.alarmName"},
		{"EventBridge detail-type after an alarm action's alarmData, without detail", []byte(`{"source":"aws.cloudwatch","alarmArn":"arn:aws:cloudwatch:us-east-1:1:alarm:a","alarmData":{"alarmName":"a","state":{"value":"OK","timestamp":"2024-05-14T09:21:37Z"}},"detail-type":"CloudWatch Alarm State Change"}`), "detail"},
		{"deep nesting", []byte(`{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`), "x" + strings.Repeat("[0]", maxDepth-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alarms, err := Decode(tt.data)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error = %v (alarms %v), want *DecodeError", err, alarms)
			}
			if de.Path != tt.wantPath {
				t.Errorf("DecodeError.Path = %q, want %q (error: %v)", de.Path, tt.wantPath, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || de.Msg == "" {
				t.Errorf("error is not one clear line: %q", msg)
			}
			t.Logf("%v", err)
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2019, 10, 2, 17, 4, 40, 989e6, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2019-10-02T17:04:40.989+0000", want},
		{"2019-10-02T17:04:40.989Z", want},
		{"2019-10-02T17:04:40.989+00:00", want},
		{"2019-10-02T19:04:40.989+0200", want},
		{"2019-10-02T12:04:40.989-05:00", want},
		{"2019-10-02T17:04:40Z", want.Truncate(time.Second)},
		{"2019-10-02T17:04:40+0000", want.Truncate(time.Second)},
		{"2019-10-02T17:04:40.989123456Z", want.Add(123456)},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, want %v in UTC", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "garbage", "2019-10-02", "2019-10-02 17:04:40Z", "2019-10-02T17:04:40.989+000", "1570035880"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) succeeded, want an error", bad)
		}
	}
}

func TestClassifyHTTP5xx(t *testing.T) {
	alb := func(name string) Metric { return Metric{Namespace: "AWS/ApplicationELB", Name: name} }
	tests := []struct {
		name    string
		metrics []Metric
		want    *HTTP5xx
	}{
		{"target 5xx", []Metric{alb("HTTPCode_Target_5XX_Count")}, &HTTP5xx{SourceTarget, "5XX"}},
		{"ELB 5xx", []Metric{alb("HTTPCode_ELB_5XX_Count")}, &HTTP5xx{SourceELB, "5XX"}},
		{"ELB 500", []Metric{alb("HTTPCode_ELB_500_Count")}, &HTTP5xx{SourceELB, "500"}},
		{"ELB 502", []Metric{alb("HTTPCode_ELB_502_Count")}, &HTTP5xx{SourceELB, "502"}},
		{"ELB 503", []Metric{alb("HTTPCode_ELB_503_Count")}, &HTTP5xx{SourceELB, "503"}},
		{"ELB 504", []Metric{alb("HTTPCode_ELB_504_Count")}, &HTTP5xx{SourceELB, "504"}},
		{"first ALB 5xx metric wins", []Metric{alb("RequestCount"), alb("HTTPCode_ELB_504_Count"), alb("HTTPCode_Target_5XX_Count")}, &HTTP5xx{SourceELB, "504"}},
		{"ALB 4xx is not 5xx", []Metric{alb("HTTPCode_Target_4XX_Count")}, nil},
		{"classic ELB namespace is not ALB", []Metric{{Namespace: "AWS/ELB", Name: "HTTPCode_Backend_5XX"}}, nil},
		{"right name, wrong namespace", []Metric{{Namespace: "Custom", Name: "HTTPCode_Target_5XX_Count"}}, nil},
		{"no metrics", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyHTTP5xx(tt.metrics); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ClassifyHTTP5xx = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNormaliseStat(t *testing.T) {
	for in, want := range map[string]string{
		"AVERAGE": "Average", "SUM": "Sum", "SAMPLE_COUNT": "SampleCount", "MINIMUM": "Minimum",
		"MAXIMUM": "Maximum", "Average": "Average", "p99": "p99", "": "",
	} {
		if got := normaliseStat(in); got != want {
			t.Errorf("normaliseStat(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDecodeUnescapesStrings checks escapes, surrogate pairs and a lone
// surrogate in a decoded field against encoding/json's reading of the same
// string literal.
func TestDecodeUnescapesStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d\n\t"`, "a\"b\\c/d\n\t"},
		{`"caf\u00e9"`, "café"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d x"`, "\uFFFD x"},
		{`"\u0041\u0042"`, "AB"},
	}
	for _, tt := range tests {
		payload := `{"AlarmName":` + tt.in + `,"AlarmArn":"arn:aws:cloudwatch:us-east-1:1:alarm:a","NewStateValue":"OK","StateChangeTime":"2024-05-14T09:21:37Z"}`
		alarms, err := Decode([]byte(payload))
		if err != nil || alarms[0].Name != tt.want {
			t.Errorf("Decode(AlarmName %s): name %q, error %v; want %q", tt.in, nameOf(alarms), err, tt.want)
		}
		var std string
		if err := json.Unmarshal([]byte(tt.in), &std); err != nil || std != tt.want {
			t.Errorf("encoding/json reads %s as %q, want %q", tt.in, std, tt.want)
		}
	}
}

func nameOf(alarms []*Alarm) string {
	if len(alarms) == 0 {
		return ""
	}
	return alarms[0].Name
}

// TestDecodeDoesNotDependOnKeyOrder re-encodes every testdata file with its
// keys sorted (so "detail" comes before "detail-type" and "source", and
// encoding/json escapes '>' and '&' as \u003e, \u0026) and expects the same
// result.
func TestDecodeDoesNotDependOnKeyOrder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			sorted, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := Decode(data)
			got, gotErr := Decode(sorted)
			if reflect.TypeOf(gotErr) != reflect.TypeOf(wantErr) {
				t.Fatalf("error %v with sorted keys, %v as written", gotErr, wantErr)
			}
			assertAlarms(t, got, want)
		})
	}
}

// TestDecodeRejectsExactlyInvalidJSON checks that Decode refuses with a
// *DecodeError exactly the documents encoding/json finds invalid (the valid
// ones here are not alarms, so they are ignored).
func TestDecodeRejectsExactlyInvalidJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` {"a" : [ 1 , 2 ] } `, `{"a":[1,-2.5e+3,0.1,1E2,-0,true,false,null,"x\u00e9\"\\\/\b\f\n\r\t"]}`,
		`"é"`, `"\ud800"`, `[[[]]]`, `123`, `null`,
		``, ` `, `{"a":1,}`, `[1,]`, `01`, `-`, `1.`, `1e`, `1e+`, `.5`, `+1`, `"\x"`, `"\u12"`, `"\u12G4"`,
		"\"a\tb\"", `{"a" 1}`, `{1:2}`, `{"a":}`, `tru`, `nul`, `falsy`, `[1 2]`, `{"a":1}}`, `"unterminated`,
		`{"a":"b"`, `[`, `{`, `"\`, `{"a":1 "b":2}`, `[-]`, `--1`,
	} {
		_, err := Decode([]byte(in))
		var de *DecodeError
		var ig *IgnoredError
		if valid := json.Valid([]byte(in)); valid && !errors.As(err, &ig) || !valid && !errors.As(err, &de) {
			t.Errorf("Decode(%q) error = %v; encoding/json says valid: %v", in, err, valid)
		}
	}
}
