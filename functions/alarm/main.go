// Command alarm is medic's alarm intake Lambda: EventBridge "CloudWatch
// Alarm State Change" events, SNS alarm notifications and direct alarm
// actions. It is the one function that looks up a new incident's suspect
// deploys (GitHub), once, and stores them on the incident.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/lambdamain"
	"github.com/medicbot/medic/internal/wiring"
)

func main() {
	app, log, err := lambdamain.Build(context.Background(), wiring.Options{Intake: true})
	if err != nil {
		lambdamain.Fail(log, err)
	}
	lambda.Start(doors.AlarmLambda(app.Engine, log))
}
