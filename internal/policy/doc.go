// Package policy turns the YAML policies SREs write into a compiled Set that
// matches alarms to remediation ladders.
//
// It works in three stages. Files are decoded strictly (unknown fields are
// errors) into raw types that mirror the YAML; the raw policies are validated
// against the action Catalog, reporting every problem at once as *Errors,
// each naming file, line and path:
//
//	policies/checkout.yaml:14: policies[0].steps[1].params.max: must be >= min (10), got 5
//
// and the valid ones are compiled into an immutable Set: globs compiled,
// templates parsed, defaults applied and an index built so that Match costs
// a few map lookups rather than a scan of every policy.
//
// # The format
//
//	version: 1
//	policies:
//	  - name: checkout-target-5xx          # unique across all files, [a-z0-9-]
//	    match:                              # every given field must hold; lists mean "any of"
//	      alarm: ["checkout-*-5xx"]         # path.Match globs: * does not cross /
//	      state: ALARM                      # the default; the only state medic acts on
//	      namespace: AWS/ApplicationELB     # namespace, metric and dimensions must
//	      metric: HTTPCode_Target_5XX_Count #   hold for one metric of the alarm
//	      dimensions: {LoadBalancer: "app/checkout-prod/*"}
//	      accounts: ["123456789012", "@prod"] # "@prod": every account accounts.yaml lists as prod
//	      regions: [us-east-1]
//	      tags: {team: payments}
//	    cooldown: 30m                       # default 15m
//	    max_per_hour: 3                     # default: the engine's cap
//	    on_recovery: undo                   # undo reversible auto steps on OK
//	    on_blocked: stop                    # after a BLOCKED/EXPIRED step: stop (default) | continue
//	    enabled: true
//	    slack: {channel: C0123INCIDENTS}
//	    approvers: [S0SREGROUP]             # default for required steps
//	    steps:
//	      - action: ecs.scale
//	        approval: auto                  # auto | required | shadow
//	        params: {service: "{{ .Dimensions.TargetGroup | segment 1 }}", add: 2, max: 20}
//	      - action: github.rollback
//	        after: 10m                      # default 10m; not allowed on the first step
//	        approval: required
//	        approvers: [S0SREGROUP, U0ONCALL1]
//	        quorum: 1                       # default 1
//	        expires: 30m                    # default 30m
//	        params: {repo: acme/checkout, environment: production}
//
// medic acts only on alarms that moved to ALARM (ActsOn): match.state may
// be left out or be ALARM; OK and INSUFFICIENT_DATA are validation errors,
// since such a policy would never run. What happens when an alarm recovers
// is the policy's on_recovery.
//
// The ladder moves on after a step that SUCCEEDED, FAILED or ran as SHADOW.
// After one that ended BLOCKED or EXPIRED it follows on_blocked: stop (the
// default; the engine records ladder.stopped) or continue.
//
// A required step must have approvers: its own, else those of the nearest
// earlier step that lists some, else the policy's. When only user IDs are
// listed the quorum cannot exceed their number; a user group (S...) may hold
// any number of people. approvers, quorum and expires are errors on auto and
// shadow steps.
//
// # Templates
//
// String parameter values may be Go templates over TemplateData:
// .Name .ARN .Account .Region .State .PreviousState .Reason .Description
// .Timestamp .Dimensions (merged over the metrics) .Tags .Metrics .HTTP5xx,
// with the helpers tail, last, segment, lower, upper and default. Templates
// use the text/template syntax but a subset of it: fields, pipelines (|),
// if/else, $ and the built-ins index, len, eq, ne, not, and, or, print and
// printf; range, with, define, template and variables are load-time errors.
// medic evaluates templates itself rather than with text/template, whose
// reflective field lookup would double the size of the Lambda binaries.
// Templates are parsed and tried on a sample alarm when the policy loads;
// Step.Render executes them for a real alarm, where a missing dimension or
// tag is an error, converts numeric and boolean strings to the types the
// action declares and validates the result against the action's schema.
//
// JSONSchema describes the same format for editors; policies/schema.json is
// generated from it.
//
// # Other files
//
// Other YAML files medic reads share this language rather than repeat it:
// the reading rules of package evidence (docs/readings.md) write `when:`
// blocks as Conditions, compiled by CompileConditions (the conditions of
// steps plus targets, the registered targets), and templates over Values,
// parsed by ParseTemplate with the syntax, functions and evaluator of
// parameter templates.
package policy
