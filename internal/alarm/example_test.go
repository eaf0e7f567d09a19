package alarm_test

import (
	"errors"
	"fmt"

	"github.com/medicbot/medic/internal/alarm"
)

func ExampleDecode() {
	payload := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",
	 "detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch",
	 "account":"123456789012","time":"2024-05-14T09:21:37Z","region":"us-east-1",
	 "resources":["arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx"],
	 "detail":{"alarmName":"checkout-prod-target-5xx",
	  "state":{"value":"ALARM","reason":"Threshold Crossed",
	   "reasonData":"{\"recentDatapoints\":[42.0],\"threshold\":10.0}",
	   "timestamp":"2024-05-14T09:21:37.512+0000"},
	  "configuration":{"metrics":[{"id":"m1","returnData":true,"metricStat":{"period":60,"stat":"Sum",
	   "metric":{"namespace":"AWS/ApplicationELB","name":"HTTPCode_Target_5XX_Count",
	    "dimensions":{"TargetGroup":"targetgroup/checkout/73e2d6bc24d8a067"}}}}]}}}`)

	alarms, err := alarm.Decode(payload)
	var ignored *alarm.IgnoredError
	var malformed *alarm.DecodeError
	switch {
	case errors.As(err, &ignored):
		fmt.Println("drop:", ignored.Reason)
		return
	case errors.As(err, &malformed):
		fmt.Println("reject:", malformed.Path, malformed.Msg)
		return
	}
	for _, a := range alarms {
		fmt.Println(a.Name, a.State, a.Region, a.Route)
		fmt.Println(a.HTTP5xx.Source, a.HTTP5xx.Code, a.Dimensions()["TargetGroup"])
		fmt.Println(a.ReasonData.Datapoints, *a.ReasonData.Threshold)
		fmt.Println(a.DedupKey())
	}
	// Output:
	// checkout-prod-target-5xx ALARM us-east-1 eventbridge
	// target 5XX targetgroup/checkout/73e2d6bc24d8a067
	// [42] 10
	// arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-target-5xx@2024-05-14T09:21:37.512Z
}

func ExampleDecode_errors() {
	for _, payload := range []string{
		`{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm Configuration Change","detail":{}}`,
		`{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","region":"us-east-1","account":"1",
		  "detail":{"alarmName":"a","state":{"value":"ALARM","timestamp":"garbage"}}}`,
	} {
		_, err := alarm.Decode([]byte(payload))
		var ignored *alarm.IgnoredError
		var malformed *alarm.DecodeError
		switch {
		case errors.As(err, &ignored):
			fmt.Println("drop:", err)
		case errors.As(err, &malformed):
			fmt.Println("reject:", err)
		}
	}
	// Output:
	// drop: ignored: eventbridge event "CloudWatch Alarm Configuration Change" is not an alarm state change
	// reject: detail.state.timestamp: cannot parse "garbage" as a timestamp
}
