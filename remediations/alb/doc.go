// Package alb implements alb.maintenance: maintenance mode for an
// Application Load Balancer listener, as listener rules medic adds and
// removes.
//
// # Maintenance on
//
// Plan adds, ahead of every rule that would answer maintenance requests:
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
// # Mode lambda: a real Retry-After
//
// ALB's fixed response cannot carry a Retry-After header. With mode lambda
// (the default, mode on, when the stack provides the maintenance function's
// lambda target group through Options.TargetGroup, or the policy names
// target_group), the maintenance rule forwards to that target group
// instead, and a url-rewrite transform on the rule rewrites every path P to
// maintpage.PathPrefix + maintpage.Encode(message, retry_after,
// allow_paths) + P. One function (functions/maintenance) serves every
// listener and reads each rule's page from the request: 503 with
// Retry-After, Cache-Control: no-store and an HTML or JSON page by the
// request's Accept, and 200 for allow_paths and the target group's own
// health check. Changing the message means a new rule, not a redeploy.
// Apply's read-back check then asks that the maintenance rule forwards to
// that target group. mode fixed keeps the fixed 503 below; allow_paths
// needs mode lambda. An ALB target group serves one load balancer: for
// several, register the function in one lambda target group each and name
// it in target_group.
//
// ALB evaluates rules from the lowest priority number up and answers with
// the first whose conditions all hold, so a rule ahead of the 503 that
// matches some maintenance request (every path, of host_headers when set)
// would keep answering it: it shadows the 503. Plan evaluates the
// listener's rules for those requests: path-pattern and host-header values
// with their * and ? wildcards (host names case-insensitively); method,
// source-ip, http-header and query-string conditions hold for some of the
// requests; a condition medic cannot evaluate (regex values, an unknown
// field) is assumed to hold, and the plan names it ("may answer
// maintenance requests (condition X cannot be evaluated)").
//
// Medic's rules take free priorities ahead of the first shadowing rule
// (the n lowest free ones when there is room), allow rules first, the 503
// rule last. When there is not, with shadowing "move" (the default) the
// plan renumbers the first shadowing rule and the rules right behind it,
// as few as it can, into free priorities behind medic's, keeping the order
// of all the listener's rules, so requests outside maintenance are routed
// as before; the card lists every move ("rule at priority 1 (path-pattern
// /* -> forward to ...; answers maintenance requests) -> 3"). Rules that
// shadow nothing (e.g. a host-header rule for another host) stay ahead.
// With shadowing "refuse" such a plan fails with ErrShadowed (and
// remediations.ErrInvalid) naming each shadowing rule's ARN, priority and
// conditions. Plan fails with remediations.ErrInvalid when ALB's 50,000
// priorities leave no room.
//
// Every rule medic creates is tagged on CreateRule with medic:managed=true,
// medic:role=maintenance|allow, medic:action=alb.maintenance and, when known,
// medic:alarm=<alarm name>. Plan finds medic's rules by these tags: when a
// maintenance rule is already there the plan is a NoOp, so enabling twice
// leaves one rule.
//
// Apply re-checks that the listener still exists, that its default action
// is the one the allow rules copy, that no medic rule appeared, that the
// planned priorities (medic's and the moves' targets) are still free, and
// places the rules again: the same priorities, the same moves of the same
// rules (a rule to move that went away is fine) and the same rules left
// ahead of the 503; otherwise it returns an error wrapping
// remediations.ErrStalePlan saying what changed. A PriorityInUse answer
// (another rule took a priority after the re-check) is refused the same
// way. It moves the shadowing rules in one SetRulePriorities call, then
// creates the allow rules before the 503 rule, so allow-listed clients are
// never cut off. Then it reads the listener back and checks, evaluating the
// rules in priority order, that the maintenance requests reach the 503 rule
// (medic's allow rules aside) and that it answers with a fixed 503. When a
// create fails or the check does not hold (ErrNotEffective, naming the rule
// that answers instead), it deletes the rules it created and moves the
// rules it moved back, and says in the error what it reverted or what it
// could not: the listener is left either in maintenance or as it was.
// Result.Data records the created rule ARNs and the moves.
//
// # Leaving maintenance on evidence
//
// The alarm that put a service into maintenance is a poor signal for
// leaving it: the maintenance rule answers instead of the targets, so a
// target 5xx alarm goes quiet and an ELB 5xx alarm may keep firing on the
// 503s. With any exit_* param (exit: propose or auto, exit_target_groups,
// exit_min_healthy, exit_probe) the plan records an ExitCondition (named
// in its summary) and the "on" result records it with the time
// maintenance went on; ExitOf reads both back from a stored result.
// ExitCheck.Check evaluates it with DescribeTargetHealth (each target group
// needs exit_min_healthy healthy targets; unused and draining targets do
// not count) and, when set, a GET of exit_probe (2xx or 3xx), and reports
// the evidence and how long the service has been in maintenance. A read
// that fails is an error, never "holds".
//
// The engine watches it (engine.Watcher, adapted in internal/wiring): a
// step whose result ExitOf accepts owes a "watch" message every minute
// while it stays SUCCEEDED; when Check holds, the card's thread proposes
// ending it with Undo and says for how long it has been on, or, with
// exit: auto, medic undoes it itself. IAM: elasticloadbalancing:
// DescribeTargetHealth for the executor (granted with the other reads).
//
// # Maintenance off
//
// Undo of an "on" result deletes the rules that result records as created,
// the 503 rule first, then the allow rules, each only while it still carries
// medic's tags; a recorded rule already gone is reported as such, one that
// lost medic's tags is left in place and reported. Medic rules another apply
// created stay: Undo of a result that created nothing (a NoOp "on", when
// maintenance was already on) changes nothing and says so. Then it moves
// the rules that apply moved back to their priorities, in one call, and
// only those; when one of them was renumbered since, or its old priority is
// taken, it moves none back (moving some could change their order) and
// says why: their order, and so the routing, is still the one before
// maintenance.
//
// Plan and Apply with mode "off" (for recovery without a result) delete
// every rule on that listener tagged medic:managed=true with role
// maintenance or allow, in the same order. Rules without medic's tags are
// never deleted; rules an apply moved keep their new priorities (mode off
// has no record of the moves, and their order is unchanged).
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
// remediations.ErrStalePlan). ErrShadowed and ErrNotEffective are this
// package's own decisions, described above. Throttling and 5xx are retried, bounded, by the
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
//   - elasticloadbalancing:SetRulePriorities on
//     arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/*/*/*/*:
//     the rules that would shadow the 503 move behind it, and back on Undo.
//
// MaintenanceSchema().IAM lists the same statements.
package alb
