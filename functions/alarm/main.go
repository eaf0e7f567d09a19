// Command alarm is medic's alarm intake Lambda: EventBridge "CloudWatch
// Alarm State Change" events, SNS alarm notifications and direct alarm
// actions.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/lambdamain"
)

func main() {
	app, log, err := lambdamain.Build(context.Background())
	if err != nil {
		lambdamain.Fail(log, err)
	}
	lambda.Start(doors.AlarmLambda(app.Engine, log))
}
