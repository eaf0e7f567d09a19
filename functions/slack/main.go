// Command slack is medic's Slack interactivity Lambda, behind a Function
// URL: it verifies Slack's signature and turns button presses into votes.
// A press calls the store and Slack only: the card is re-rendered from the
// records, so GitHub being down cannot slow the acknowledgement.
package main

import (
	"context"
	"errors"

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
	if app.Slack == nil || app.Config.SlackSigningSecret == "" {
		lambdamain.Fail(log, errors.New("the Slack function needs SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_SECRET_ARN)"))
	}
	lambda.Start(doors.SlackLambda(app.Slack, app.Engine, log))
}
