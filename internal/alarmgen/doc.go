// Package alarmgen generates the CloudWatch alarms medic recommends for an
// Application Load Balancer and its target groups (`medic alarms`): as a
// CloudFormation template to include in the user's own stack, or applied
// through the CloudWatch API, idempotently.
//
// # Names
//
// Every generated alarm is named by one scheme, which the example policies
// in examples/ match (generate_test checks it):
//
//	<lb>-elb-5xx-rate          ELB 5xx / requests (metric math), per load balancer
//	<lb>-elb-502|503|504       ELB 502, 503, 504 counts, per load balancer
//	<lb>-<tg>-target-5xx       target 5xx / requests (metric math), per target group
//	<lb>-<tg>-target-p99       p99 TargetResponseTime
//	<lb>-<tg>-unhealthy-hosts  UnHealthyHostCount
//	<lb>-<tg>-burn-1h, -burn-5m, -burn-6h, -burn-30m   one burn-rate window each (with --slo)
//	<lb>-<tg>-burn-fast        composite: ALARM(burn-1h) AND ALARM(burn-5m)
//	<lb>-<tg>-burn-slow        composite: ALARM(burn-6h) AND ALARM(burn-30m)
//
// <lb> is the load balancer's name (checkout-prod in app/checkout-prod/50dc6c495c0c9188),
// <tg> the target group's (checkout in targetgroup/checkout/73e2d6bc24d8a067).
//
// # Rates and quiet hours
//
// The 5xx counts of an ALB are not reported at all when nothing failed, so
// every rate fills them with 0 (FILL(m1, 0)), and a rate counts only when
// its window saw enough requests: IF(m2 >= MIN, FILL(m1, 0) / m2, 0), with
// MIN the minimum request count per 5 minutes scaled to the window (so a
// quiet night with 3 requests, one failing, does not page anyone).
//
// # Burn rates
//
// With an availability objective (SLO, e.g. 99.9%) the error budget is
// 1 - SLO, and following the SRE workbook's multiwindow, multi-burn-rate
// alerts, the fast pair fires when the error ratio over both 1 hour and 5
// minutes exceeds 14.4 x budget (1.44% for 99.9%: 2% of a 30-day budget
// spent in an hour), the slow pair when over both 6 hours and 30 minutes it
// exceeds 6 x budget (0.6%: 5% of the budget in 6 hours). Each window is a
// metric-math alarm whose period is the window (one evaluation period;
// CloudWatch's default evaluation window slides, so a 3600 s period is the
// last hour at each evaluation), and each pair is a composite alarm. Thresholds are computed in exact decimal
// arithmetic (Thresholds).
//
// # Notifying medic
//
// medic's EventBridge rule takes every alarm state change, so by default
// the alarms carry no actions. Actions.SNSTopic (medic's AlarmTopicArn) or
// Actions.Function (medic's AlarmFunctionArn, a direct alarm action) add
// ALARM and OK actions to every generated alarm: medic needs OK to resolve
// its incidents.
package alarmgen
