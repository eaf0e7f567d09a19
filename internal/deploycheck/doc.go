// Package deploycheck holds the tests that keep the deployable pieces in step:
// template.yaml lints clean with cfn-lint, every function the template
// declares has a main package under functions/ and a Makefile build target,
// and the Lambda binaries stay small and quick to start (no reachable
// method lookup by name, under 20 MB). The template's
// permissions are checked too: each function's role may read exactly the
// secrets its *_SECRET_ARN variables name, the roles match the IAM the
// remediations document (Schema().IAM), no parameter an IAM statement is
// scoped by defaults to or accepts "*" (a deployment must name the services,
// roles, listeners and rules medic may touch, and the docs name those
// parameters), every function is told its account (MEDIC_ACCOUNT_ID), the
// SNS topics' KMS key lets CloudWatch alarms publish, and failed alarm
// intake lands in a watched dead-letter queue.
package deploycheck
