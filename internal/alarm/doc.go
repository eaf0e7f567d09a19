// Package alarm turns every CloudWatch alarm payload medic can receive into
// one normalised Alarm: the EventBridge "CloudWatch Alarm State Change" event,
// an SNS alarm notification (as an SNS Lambda event, an SNS notification body
// or the bare alarm message) and the alarm's direct Lambda action.
//
// Decode is the one entry point (the Lambda doors, the local HTTP server and
// the CLI all give it the raw payload). It fails in one of two ways, told
// apart with errors.As:
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
// Decoding is encoding/json into typed structs: aws-lambda-go's
// events.SNSEventRecord and events.CloudWatchAlarmSNSPayload where they
// exist, and one metric type for the camelCase (EventBridge) and PascalCase
// (SNS) spellings of the same fields, which encoding/json's
// case-insensitive key matching reads alike (so does every key: "Source"
// is read as "source"). An EventBridge event is read in one pass. Error
// paths are found, only when something is wrong, by walking the payload's
// tokens up to the offset encoding/json reports.
package alarm
