// Package alarm turns every CloudWatch alarm payload medic can receive into
// one normalised Alarm: the EventBridge "CloudWatch Alarm State Change" event,
// an SNS alarm notification (as an SNS Lambda event, an SNS notification body
// or the bare alarm message) and the alarm's direct Lambda action.
//
// Decode is the one entry point for raw bytes (the Lambda doors, the local
// HTTP server and the CLI all use it); FromEventBridge, FromSNSEvent,
// FromSNSMessage and FromAlarmAction serve Lambda handlers that already hold
// a typed event. They all fail in one of two ways, told apart with errors.As:
//
//   - *IgnoredError: well-formed input that is not an alarm state change
//     (a configuration-change event, another source, an S3 event...). Drop it.
//   - *DecodeError: malformed input; its Path names the field at fault
//     ("detail.state.timestamp", "Records[0].Sns.Message").
//
// The same state change decodes to the same DedupKey whichever route
// delivered it: the alarm ARN plus the state timestamp in UTC. CloudWatch
// writes timestamps such as "2019-10-02T17:04:40.989+0000", which are not
// RFC 3339; ParseTimestamp reads both forms.
//
// A reasonData that cannot be parsed does not fail the alarm: ReasonData is
// left nil, and ReasonDataRaw and ReasonDataError keep the text and the
// reason.
//
// Decoding uses a small validating JSON scanner rather than encoding/json:
// strings without escapes are substrings of one copy of the payload, which
// keeps an EventBridge alarm to about a dozen allocations.
package alarm
