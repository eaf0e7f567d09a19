package alarm

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkDecode decodes the EventBridge ALB target 5xx event, the route
// medic sees most.
func BenchmarkDecode(b *testing.B) {
	for _, file := range []string{
		"eventbridge-alb-target-5xx.json",
		"sns-event-alb-target-5xx.json",
		"action-alb-target-5xx.json",
		"eventbridge-metric-math.json",
	} {
		data := readTestdata(b, file)
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodingJSON is the baseline: unmarshalling the same event into
// events.CloudWatchEvent alone, before any alarm decoding.
func BenchmarkEncodingJSON(b *testing.B) {
	data := readTestdata(b, "eventbridge-alb-target-5xx.json")
	b.ReportAllocs()
	for b.Loop() {
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
