// Package e2e tests medic the way AWS runs it: the three Lambda bootstraps
// are built as the Makefile builds them (testenv.BuildBootstrap, once per
// test binary), with the medic_examples tag so they embed the example
// policies of examples/ (the deployed set only shadows), started as processes against a test Lambda Runtime API
// (testenv.NewLambdaRuntime), and given the environment template.yaml gives
// them, read from the template itself so a renamed variable fails here
// rather than in a deployment. AWS is a moto_server (DynamoDB table, SQS work
// queue, SSM kill switch, Secrets Manager secrets for the Slack credentials,
// the checkout-prod ALB and ECS service, the CloudWatch alarm); Slack is the
// recording slacktesting server.
//
// TestBuiltLambdasHandleAnAlarmToTheECSChange drives one incident through
// all three functions as Lambda would: the EventBridge alarm event to the
// alarm function, a signed Function URL button press to the Slack function,
// and the resulting SQS messages (received from the queue, with their real
// message IDs and receipt handles) to the executor, then reads the outcome
// back through the SDK: ECS desired count, DynamoDB records, the Slack card.
// TestBuiltLambdasDropMalformedInput checks that payloads no retry can fix
// are acknowledged and dropped. TestBuiltExecutorSweepsALostExecutorOnSchedule
// delivers the template's scheduled event to the executor after an executor
// died holding a claim, and checks it is reported as needing a human.
// TestBuiltSlackFunctionDropsAReplayOnAnotherInstance delivers one signed
// approval to two instances of the Slack function: the second drops it.
// TestBuiltSlackFunctionAnswersAClickWhileGitHubHangs gives the stack a
// GitHub credential and a GitHub that accepts connections and never
// answers: the alarm function posts the card after its lookup budget,
// saying the suspect deploys are unavailable, and the Slack function
// acknowledges an approval in under a second and updates the card without
// connecting to GitHub.
//
// TestBuiltMaintenanceFunctionAnswersALBRequests runs the maintenance page
// function's bootstrap with the template's environment and delivers ALB
// target requests (events.ALBTargetGroupRequest, single- and multi-value
// headers): 503 with Retry-After and the page a rule's url-rewrite
// carries, JSON by Accept, 200 for an allowed health path.
//
// BenchmarkColdStart measures process start to first handled event for the
// alarm function, for a hello-world aws-lambda-go function built the same
// way and for hello plus the SDK clients medic builds (hello-sdk), the
// ratios alarm / hello (x-hello) and alarm / hello-sdk (x-hello-sdk, what
// medic adds to the SDK's floor) and the children's peak RSS.
// BenchmarkBinarySize builds the three arm64 bootstraps with the Makefile's
// SAM targets and reports their sizes. Benchmarks report figures; they never
// fail on them.
//
// The package holds only tests; it needs moto_server (see testenv.Moto: a
// clear failure when CI=true and it cannot start, a skip otherwise).
package e2e
