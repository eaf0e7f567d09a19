package alarm

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The EventBridge source and detail-type of an alarm state change.
const (
	sourceCloudWatch     = "aws.cloudwatch"
	detailTypeAlarmState = "CloudWatch Alarm State Change"
)

// Decode detects the shape of data and returns the alarm state changes in it.
// It accepts an EventBridge "CloudWatch Alarm State Change" event, an SNS
// event as delivered to Lambda (one alarm per record), the body of an SNS
// notification ({"Type":"Notification","Message":...}), the bare alarm
// notification CloudWatch publishes to SNS, and the payload of an alarm's
// direct Lambda action.
//
// Well-formed JSON that is not an alarm state change (another detail-type or
// source, an SNS message that is not an alarm, any other event) gives an
// *IgnoredError; malformed input, or an alarm missing its name, ARN, state or
// state timestamp, gives a *DecodeError naming the field. On success at least
// one alarm is returned. In an SNS event, records that are not alarm
// notifications are skipped, and one malformed record fails the whole event.
//
// The returned alarms do not refer to data: the caller may reuse it.
func Decode(data []byte) ([]*Alarm, error) {
	switch c := firstByte(data); c {
	case '{':
	case 0:
		return nil, &DecodeError{Msg: "invalid JSON: empty payload"}
	default:
		var v any
		if err := decodeJSON(data, &v); err != nil {
			return nil, err
		}
		return nil, &IgnoredError{Reason: "payload is " + kind(c) + ", not an alarm notification"}
	}

	// One pass reads the members that tell the shapes apart and the
	// EventBridge event, the shape medic sees most. A type error is kept
	// for the routes whose fields it can be in; the others decode their own
	// members.
	var p payload
	err := json.Unmarshal(data, &p)
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) || tooDeep(data) {
		if err := jsonError(data, err); err != nil {
			return nil, err
		}
	}
	var fieldErr error
	if typeErr != nil {
		fieldErr = jsonError(data, err)
	}

	var a *Alarm
	switch {
	case firstByte(p.Records) == '[':
		return decodeSNSEvent(p.Records)
	case p.DetailType != nil:
		a, err = decodeEventBridge(&p, fieldErr)
	case p.AlarmData != nil:
		a, err = decodeAlarmAction(&p, fieldErr)
	case p.Type != nil && p.Message != nil:
		var typ, msg string
		if err := decodeMember(p.Type, &typ, "Type"); err != nil {
			return nil, err
		}
		if err := decodeMember(p.Message, &msg, "Message"); err != nil {
			return nil, err
		}
		a, err = decodeSNSNotification(typ, msg)
	case p.AlarmName != nil || p.SNSAlarmARN != nil || p.NewStateValue != nil:
		a, err = decodeSNSMessage(data)
	default:
		return nil, &IgnoredError{Reason: "payload is not a cloudwatch alarm notification"}
	}
	if err != nil {
		return nil, err
	}
	return []*Alarm{a}, nil
}

// payload is the top level of every shape Decode accepts. The members that
// tell the shapes apart are kept raw, so that one is present whatever its
// value; the EventBridge event's members are decoded, its detail only as
// far as an alarm's fields go (another event's detail may not fit, and
// only matters once source and detail-type say it is an alarm).
type payload struct {
	// EventBridge event (aws-lambda-go's events.CloudWatchEvent, whose
	// Detail is raw JSON).
	DetailType json.RawMessage `json:"detail-type"`
	Source     json.RawMessage `json:"source"` // also the alarm action's
	Account    string          `json:"account"`
	Region     string          `json:"region"` // also the alarm action's
	Resources  []string        `json:"resources"`
	Detail     *alarmObject    `json:"detail"`
	// Alarm action (aws-lambda-go has no type for it).
	AlarmARN  string          `json:"alarmArn"`
	AccountID string          `json:"accountId"`
	AlarmData json.RawMessage `json:"alarmData"`
	// SNS event (events.SNSEvent).
	Records json.RawMessage `json:"Records"`
	// SNS notification body.
	Type    json.RawMessage `json:"Type"`
	Message json.RawMessage `json:"Message"`
	// Bare alarm notification (events.CloudWatchAlarmSNSPayload).
	AlarmName     json.RawMessage `json:"AlarmName"`
	SNSAlarmARN   json.RawMessage `json:"AlarmArn"`
	NewStateValue json.RawMessage `json:"NewStateValue"`
}

// decodeMember unmarshals the raw JSON of a member, if present, into v;
// paths in its errors start with key.
func decodeMember(raw json.RawMessage, v any, key string) error {
	if raw == nil {
		return nil
	}
	return wrapPath(decodeJSON(raw, v), key)
}

// decodeEventBridge decodes an EventBridge event. Other sources and
// detail-types give an *IgnoredError; fieldErr is the first type error in
// the event's decoded members, if any. The ARN is resources[0], or is built
// from region, account and alarm name when resources is empty.
func decodeEventBridge(p *payload, fieldErr error) (*Alarm, error) {
	var source, detailType string
	if err := decodeMember(p.Source, &source, "source"); err != nil {
		return nil, err
	}
	if err := decodeMember(p.DetailType, &detailType, "detail-type"); err != nil {
		return nil, err
	}
	if source != sourceCloudWatch {
		return nil, &IgnoredError{Reason: "eventbridge event from source " + quote(source) + ", not " + sourceCloudWatch}
	}
	if detailType != detailTypeAlarmState {
		return nil, &IgnoredError{Reason: "eventbridge event " + quote(detailType) + " is not an alarm state change"}
	}
	if fieldErr != nil {
		return nil, fieldErr
	}
	if p.Detail == nil {
		return nil, missing("detail")
	}
	a := &Alarm{Route: RouteEventBridge}
	if err := p.Detail.fill(a); err != nil {
		return nil, wrapPath(err, "detail")
	}
	var arn string
	if len(p.Resources) > 0 {
		arn = p.Resources[0]
	}
	if err := finish(a, arn, "resources", p.Account, p.Region); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeAlarmAction decodes the payload CloudWatch sends when an alarm
// invokes a Lambda function directly ({"source":"aws.cloudwatch",
// "alarmArn":...,"alarmData":{...}}). Another source gives an
// *IgnoredError; fieldErr is as for decodeEventBridge.
func decodeAlarmAction(p *payload, fieldErr error) (*Alarm, error) {
	var source string
	if err := decodeMember(p.Source, &source, "source"); err != nil {
		return nil, err
	}
	if source != "" && source != sourceCloudWatch {
		return nil, &IgnoredError{Reason: "alarm action from source " + quote(source) + ", not " + sourceCloudWatch}
	}
	if fieldErr != nil {
		return nil, fieldErr
	}
	a := &Alarm{Route: RouteAction}
	if err := decodeAlarmObject(a, p.AlarmData, "alarmData"); err != nil {
		return nil, err
	}
	if err := finish(a, p.AlarmARN, "alarmArn", p.AccountID, p.Region); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeAlarmObject decodes the raw JSON of an EventBridge detail or an alarm
// action's alarmData into a; path names it in errors.
func decodeAlarmObject(a *Alarm, raw json.RawMessage, path string) error {
	if c := firstByte(raw); c == 0 || c == 'n' {
		return missing(path)
	}
	var o alarmObject
	if err := decodeJSON(raw, &o); err != nil {
		return wrapPath(err, path)
	}
	if err := o.fill(a); err != nil {
		return wrapPath(err, path)
	}
	return nil
}

// decodeSNSEvent decodes the alarms in the Records of an SNS event delivered
// to Lambda (aws-lambda-go's events.SNSEvent), one per record (SNS delivers one record per invocation today). Records that
// are not SNS notifications or whose message is not an alarm are skipped; if
// no record holds an alarm the error is an *IgnoredError. A malformed record
// fails the whole event with a *DecodeError naming it, e.g.
// "Records[0].Sns.Message: invalid JSON: ..."; a record is read as
// events.SNSEventRecord, so an envelope Timestamp that is not RFC 3339 is
// malformed too.
func decodeSNSEvent(records json.RawMessage) ([]*Alarm, error) {
	var list []json.RawMessage
	if err := decodeJSON(records, &list); err != nil {
		return nil, wrapPath(err, "Records")
	}
	alarms := make([]*Alarm, 0, len(list))
	var ignored error
	for i, raw := range list {
		a, err := decodeSNSRecord(raw, i)
		if err != nil {
			if _, ok := err.(*IgnoredError); ok {
				ignored = err
				continue
			}
			return nil, wrapPath(wrapIndex(err, i), "Records")
		}
		alarms = append(alarms, a)
	}
	switch {
	case len(alarms) > 0:
		return alarms, nil
	case ignored != nil:
		return nil, ignored
	}
	return nil, &IgnoredError{Reason: "sns event has no records"}
}

// decodeSNSRecord decodes record i of an SNS event; paths in its errors are
// relative to the record.
func decodeSNSRecord(raw json.RawMessage, i int) (*Alarm, error) {
	var r events.SNSEventRecord
	err := json.Unmarshal(raw, &r)
	if te := (*time.ParseError)(nil); errors.As(err, &te) {
		// The record's only field with its own decoder.
		return nil, &DecodeError{Path: "Sns.Timestamp", Msg: "cannot parse " + quote(te.Value) + " as a timestamp"}
	}
	if err := jsonError(raw, err); err != nil {
		return nil, err
	}
	if r.SNS.Type == "" && r.SNS.Message == "" {
		source := r.EventSource
		if source == "" {
			source = "unknown"
		}
		return nil, &IgnoredError{Reason: "record " + strconv.Itoa(i) + " from event source " + quote(source) + " is not an sns notification"}
	}
	if r.EventSource != "" && r.EventSource != "aws:sns" {
		return nil, &IgnoredError{Reason: "record from event source " + quote(r.EventSource) + ", not aws:sns"}
	}
	a, err := decodeSNSNotification(r.SNS.Type, r.SNS.Message)
	if err != nil {
		return nil, wrapPath(err, "Sns")
	}
	return a, nil
}

// decodeSNSNotification decodes an SNS notification from its Type and
// Message; paths in its errors are relative to the notification.
func decodeSNSNotification(typ, message string) (*Alarm, error) {
	if typ != "" && typ != "Notification" {
		return nil, &IgnoredError{Reason: "sns " + quote(typ) + " message, not a notification"}
	}
	a, err := decodeSNSMessage([]byte(message))
	if err != nil {
		return nil, wrapPath(err, "Message")
	}
	return a, nil
}

// decodeSNSMessage decodes the alarm notification CloudWatch publishes to
// SNS ({"AlarmName":...,"Trigger":...}). A message that is not a JSON object
// or not an alarm notification gives an *IgnoredError. Region and account
// come from AlarmArn (the message's Region is a display name).
func decodeSNSMessage(message []byte) (*Alarm, error) {
	if firstByte(message) != '{' {
		return nil, &IgnoredError{Reason: "sns message is not a JSON object, so not a cloudwatch alarm"}
	}
	var m snsAlarm
	if err := decodeJSON(message, &m); err != nil {
		return nil, err
	}
	a := &Alarm{Route: RouteSNS}
	if err := setPreviousState(a, m.OldStateValue, "OldStateValue"); err != nil {
		return nil, err
	}
	if m.AlarmName == "" && m.AlarmARN == "" && m.NewStateValue == "" {
		return nil, &IgnoredError{Reason: "sns message is not a cloudwatch alarm notification"}
	}
	if err := m.fill(a); err != nil {
		return nil, err
	}
	if err := finish(a, m.AlarmARN, "AlarmArn", m.AWSAccountID, ""); err != nil {
		return nil, err
	}
	return a, nil
}

// finish sets ARN, Region and Account and classifies the alarm. arn may be
// empty: it is then built from region, account and name when they are known.
// arnPath names the ARN field in errors.
func finish(a *Alarm, arn, arnPath, account, region string) error {
	if arn == "" {
		if region == "" || account == "" {
			return &DecodeError{Path: arnPath, Msg: "missing required field (no alarm ARN, and no region and account to build one)"}
		}
		arn = "arn:" + partition(region) + ":cloudwatch:" + region + ":" + account + ":alarm:" + a.Name
	}
	arnRegion, arnAccount, ok := parseAlarmARN(arn)
	if !ok {
		return &DecodeError{Path: arnPath, Msg: "not a CloudWatch alarm ARN: " + quote(arn)}
	}
	a.ARN = arn
	a.Region, a.Account = region, account
	if arnRegion != "" {
		a.Region = arnRegion
	}
	if arnAccount != "" {
		a.Account = arnAccount
	}
	a.HTTP5xx = ClassifyHTTP5xx(a.Metrics)
	return nil
}

// parseAlarmARN splits arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>.
func parseAlarmARN(arn string) (region, account string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", "", false
	}
	var partition, service string
	partition, rest, _ = strings.Cut(rest, ":")
	service, rest, _ = strings.Cut(rest, ":")
	region, rest, _ = strings.Cut(rest, ":")
	account, rest, _ = strings.Cut(rest, ":")
	name, ok := strings.CutPrefix(rest, "alarm:")
	if !ok || partition == "" || service != "cloudwatch" || name == "" {
		return "", "", false
	}
	return region, account, true
}

// partition guesses the AWS partition of a region for a built ARN.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
