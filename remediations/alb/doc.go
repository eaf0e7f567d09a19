// Package alb implements alb.maintenance: maintenance mode for an
// Application Load Balancer listener, as listener rules medic adds and
// removes.
//
// # Maintenance on
//
// Plan adds, as early in the listener's rule order as free priorities allow:
//
//   - one allow rule per 5 CIDR blocks of allow_ips (fewer when host_headers
//     share the rule's 5 condition values): a source-ip condition (and the
//     host-header condition when host_headers is set) whose actions copy the
//     listener's default actions (forward, redirect or fixed-response), so
//     allow-listed clients keep reaching the default target groups. They skip
//     the listener's rules behind them while maintenance is on; the plan says
//     so.
//   - one maintenance rule: path-pattern "/*" (or, with host_headers, a
//     host-header condition, which matches every path of those hosts) and a
//     fixed-response 503 whose HTML or JSON body states the retry hint
//     ("Please retry after N seconds."; the JSON body also has a numeric
//     retry_after field). ALB cannot set a Retry-After header on a fixed
//     response. The body stays within ALB's 1,024-character limit: a long
//     message is cut on a character boundary before escaping, so the body is
//     always well-formed.
//
// ALB evaluates rules from the lowest priority number up, so medic's rules
// take the n lowest free priorities, in order: allow rules first, the 503
// rule last. Medic never renumbers rules it does not own, so an existing rule
// at a lower number than the 503 rule (e.g. a /health rule at priority 1)
// keeps answering the requests it matches during maintenance: the plan names
// each such rule in its summary ("rule at priority 1 (path-pattern /health
// -> forward to targetgroup/api/...) still answers before maintenance"), as a
// change marked unchanged, and in its data. Plan fails with
// remediations.ErrInvalid only when the listener has fewer than n free
// priorities.
//
// Every rule medic creates is tagged on CreateRule with medic:managed=true,
// medic:role=maintenance|allow, medic:action=alb.maintenance and, when known,
// medic:alarm=<alarm name>. Plan finds medic's rules by these tags: when a
// maintenance rule is already there the plan is a NoOp, so enabling twice
// leaves one rule.
//
// Apply re-checks that the listener still exists, that its default action
// is the one the allow rules copy, that the planned priorities are still
// free, that the rules ahead of the 503 rule are the ones the plan named,
// unchanged (one that went away is fine), and that no medic rule appeared;
// otherwise it returns an error wrapping remediations.ErrStalePlan saying
// what changed. A PriorityInUse answer to CreateRule (another rule took the
// priority after the re-check) is refused the same way. It creates the allow
// rules before the 503 rule, so allow-listed clients are never cut off, and
// when a create fails it deletes the rules that apply created and says so in
// the error. Result.Data records the created rule ARNs.
//
// # Maintenance off
//
// Undo of an "on" result deletes the rules that result records as created,
// the 503 rule first, then the allow rules, each only while it still carries
// medic's tags; a recorded rule already gone is reported as such, one that
// lost medic's tags is left in place and reported. Medic rules another apply
// created stay: Undo of a result that created nothing (a NoOp "on", when
// maintenance was already on) changes nothing and says so.
//
// Plan and Apply with mode "off" (for recovery without a result) delete
// every rule on that listener tagged medic:managed=true with role
// maintenance or allow, in the same order. Rules without medic's tags are
// never touched.
//
// # Target
//
// The listener parameter names the listener. Without it the listener is
// resolved from the alarm's LoadBalancer dimension (app/<name>/<id>, the
// tail of the load balancer ARN): DescribeLoadBalancers by name, matching
// the ARN suffix, then DescribeListeners. With the port parameter the
// listener on that port is taken; a load balancer with one listener needs
// no port; several listeners and no port, no listener on the port, or no
// matching load balancer are errors wrapping remediations.ErrTarget that
// name the dimension value and the ports. Nothing is guessed.
//
// # Errors
//
// Elastic Load Balancing errors are returned as *APIError naming the IAM
// action and the resource, e.g. "elasticloadbalancing:CreateRule on <listener
// arn>: access denied (AccessDenied: ...)". ListenerNotFound, RuleNotFound,
// LoadBalancerNotFound and TargetGroupNotFound match remediations.ErrNotFound;
// AccessDenied matches remediations.ErrAccessDenied; ValidationError,
// PriorityInUse, TooManyRules and other rejected requests match
// remediations.ErrInvalid (PriorityInUse during Apply also matches
// remediations.ErrStalePlan). Throttling and 5xx are retried, bounded, by the
// SDK's standard retryer; this package adds no retries.
//
// # IAM
//
//   - elasticloadbalancing:DescribeLoadBalancers, DescribeListeners,
//     DescribeRules, DescribeTags on "*" (no resource-level permissions).
//   - elasticloadbalancing:CreateRule on
//     arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/*/*/*
//     (CreateRule is authorised on the listener, not on the new rule).
//   - elasticloadbalancing:AddTags on
//     arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/*/*/*/*:
//     the tags CreateRule puts on the new rule are authorised as AddTags on
//     it (tagging on create); grant it with the condition
//     elasticloadbalancing:CreateAction = CreateRule so that existing rules
//     cannot be tagged.
//   - elasticloadbalancing:DeleteRule on
//     arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/*/*/*/*.
//
// MaintenanceSchema().IAM lists the same statements.
package alb
