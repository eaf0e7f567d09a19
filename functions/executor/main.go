// Command executor is medic's executor Lambda: it takes work messages
// (execute, follow-up, expire, undo) from SQS and reports per-message
// failures.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/lambdamain"
	"github.com/medicbot/medic/internal/wiring"
)

func main() {
	app, log, err := lambdamain.Build(context.Background(), wiring.Options{})
	if err != nil {
		lambdamain.Fail(log, err)
	}
	lambda.Start(doors.ExecutorLambda(app.Engine, log))
}
