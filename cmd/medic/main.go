// Command medic is the command line of medic: check and test policies,
// simulate an alarm against them, and (as other commands are added) run the
// bot locally and inspect its records.
//
//	medic policy lint [DIR]      validate policies (default: the embedded ones)
//	medic policy test [DIR]      run the fixtures under DIR/tests
//	medic simulate --alarm FILE  show what the policies would propose, without side effects
//	medic alarms [--slo 99.9]    the recommended CloudWatch alarms, as CloudFormation or --apply
//	medic report --incident ID   an incident's report; --since 7d: a summary per policy
//
// simulate --format json prints one object: {"alarm": {...}, "matches":
// [{"policy", "steps": [{"action", "approval", "after", "params"}]}]}. A
// payload that is not an alarm state change gives "alarm": null and
// "ignored": REASON (exit 0). A step that cannot render for the alarm has
// "params": null and "error" (exit 1). When the payload holds several alarms
// (an SNS event with several records), "alarm" and "matches" describe the
// first and "alarms" lists [{"alarm", "matches"}] for every one.
//
// Exit status: 0 success, 1 findings (invalid policies, failed fixtures,
// steps that cannot render), 2 usage or unreadable/malformed input.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
