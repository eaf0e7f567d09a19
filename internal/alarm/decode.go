package alarm

import (
	"encoding/json"
	"strings"

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
// The returned alarms hold substrings of a private copy of data: the caller
// may reuse data afterwards.
func Decode(data []byte) ([]*Alarm, error) {
	// One copy of the payload; unescaped strings of the Alarm are
	// substrings of it.
	p := scanner{s: string(data)}
	switch c := p.next(); c {
	case '{':
	case 0:
		return nil, &DecodeError{Msg: "invalid JSON: empty payload"}
	default:
		if err := p.skip(); err != nil {
			return nil, err
		}
		if err := p.end(); err != nil {
			return nil, err
		}
		return nil, &IgnoredError{Reason: "payload is " + kind(c) + ", not an alarm notification"}
	}

	// Read the top-level members that tell the shapes apart, keeping the
	// raw text of each; only the one route that applies decodes further.
	var t struct {
		source, detailType, detail, resources, account, region string // EventBridge
		records                                                string // SNS Lambda event
		typ, message                                           string // SNS notification body
		alarmArn, accountID, alarmData                         string // alarm action
		bare                                                   bool   // bare alarm notification
		parsedDetail, parsedAction                             *Alarm // detail, alarmData read in the first pass
		snsAlarms                                              []*Alarm
		snsErr                                                 error // *IgnoredError or nil
	}
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "source":
			t.source, err = p.span()
		case "detail-type":
			t.detailType, err = p.span()
		case "detail":
			// Real events put source and detail-type before detail: read
			// an alarm state change's detail right away instead of
			// skipping it now and reading it again later.
			t.parsedDetail = nil
			if rawIs(t.source, sourceCloudWatch) && rawIs(t.detailType, detailTypeAlarmState) && p.next() == '{' {
				a := &Alarm{Route: RouteEventBridge}
				start := p.i
				if err = parseDetail(&p, a); err == nil {
					t.detail, t.parsedDetail = p.s[start:p.i], a
				}
				return err
			}
			t.detail, err = p.span()
		case "resources":
			t.resources, err = p.span()
		case "account":
			t.account, err = p.span()
		case "region":
			t.region, err = p.span()
		case "Records":
			if p.next() == '[' {
				// Only SNS and other Lambda events have Records: read
				// them now rather than twice.
				start := p.i
				t.snsAlarms, t.snsErr = decodeSNSRecords(&p)
				if _, ignored := t.snsErr.(*IgnoredError); !ignored && t.snsErr != nil {
					return t.snsErr
				}
				t.records = p.s[start:p.i]
				return nil
			}
			t.records, err = p.span()
		case "Type":
			t.typ, err = p.span()
		case "Message":
			t.message, err = p.span()
		case "alarmArn":
			t.alarmArn, err = p.span()
		case "accountId":
			t.accountID, err = p.span()
		case "alarmData":
			t.parsedAction = nil
			if rawIs(t.source, sourceCloudWatch) && t.detailType == "" && p.next() == '{' {
				a := &Alarm{Route: RouteAction}
				start := p.i
				if err = parseDetail(&p, a); err == nil {
					t.alarmData, t.parsedAction = p.s[start:p.i], a
				}
				return err
			}
			t.alarmData, err = p.span()
		case "AlarmName", "AlarmArn", "NewStateValue":
			t.bare = true
			err = p.skip()
		default:
			err = p.skip()
		}
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return nil, err
	}

	var a *Alarm
	switch {
	case t.records != "":
		if t.snsAlarms == nil && t.snsErr == nil {
			break // Records is not an array: not an SNS event
		}
		return t.snsAlarms, t.snsErr

	case t.detailType != "":
		var env eventBridgeEnvelope
		if env.source, err = rawString(t.source); err != nil {
			return nil, wrapPath(err, "source")
		}
		if env.detailType, err = rawString(t.detailType); err != nil {
			return nil, wrapPath(err, "detail-type")
		}
		if env.account, err = rawString(t.account); err != nil {
			return nil, wrapPath(err, "account")
		}
		if env.region, err = rawString(t.region); err != nil {
			return nil, wrapPath(err, "region")
		}
		if env.resource, err = firstString(t.resources); err != nil {
			return nil, wrapPath(err, "resources")
		}
		a, err = fromEventBridge(env, t.detail, t.parsedDetail)

	case t.alarmData != "":
		a, err = fromAlarmAction(t.source, t.alarmArn, t.accountID, t.region, t.alarmData, t.parsedAction)

	case t.typ != "" && t.message != "":
		var typ, msg string
		if typ, err = rawString(t.typ); err != nil {
			return nil, wrapPath(err, "Type")
		}
		if msg, err = rawString(t.message); err != nil {
			return nil, wrapPath(err, "Message")
		}
		a, err = fromSNSNotification(typ, msg)

	case t.bare:
		a, err = FromSNSMessage(p.s)
	}
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, &IgnoredError{Reason: "payload is not a cloudwatch alarm notification"}
	}
	return []*Alarm{a}, nil
}

// eventBridgeEnvelope holds the EventBridge event fields the decoder needs.
type eventBridgeEnvelope struct {
	source, detailType, account, region string
	resource                            string // resources[0]
}

// FromEventBridge decodes an EventBridge "CloudWatch Alarm State Change"
// event. Other sources and detail-types give an *IgnoredError; a malformed
// detail a *DecodeError with a path under "detail". The ARN is resources[0],
// or is built from region, account and alarm name when resources is empty.
func FromEventBridge(ev events.CloudWatchEvent) (*Alarm, error) {
	env := eventBridgeEnvelope{
		source:     ev.Source,
		detailType: ev.DetailType,
		account:    ev.AccountID,
		region:     ev.Region,
	}
	if len(ev.Resources) > 0 {
		env.resource = ev.Resources[0]
	}
	return fromEventBridge(env, string(ev.Detail), nil)
}

// fromEventBridge decodes an EventBridge event from its envelope and the raw
// JSON of its detail, unless parsed holds the detail already decoded.
func fromEventBridge(env eventBridgeEnvelope, detail string, parsed *Alarm) (*Alarm, error) {
	if env.source != sourceCloudWatch {
		return nil, &IgnoredError{Reason: "eventbridge event from source " + quote(env.source) + ", not " + sourceCloudWatch}
	}
	if env.detailType != detailTypeAlarmState {
		return nil, &IgnoredError{Reason: "eventbridge event " + quote(env.detailType) + " is not an alarm state change"}
	}
	a := parsed
	if a == nil {
		a = &Alarm{Route: RouteEventBridge}
		if err := decodeAlarmObject(a, detail, "detail"); err != nil {
			return nil, err
		}
	}
	if err := finish(a, env.resource, "resources", env.account, env.region); err != nil {
		return nil, err
	}
	return a, nil
}

// FromAlarmAction decodes the payload CloudWatch sends when an alarm invokes
// a Lambda function directly ({"source":"aws.cloudwatch","alarmArn":...,
// "alarmData":{...}}). A payload without alarmData or from another source
// gives an *IgnoredError; a malformed one a *DecodeError.
func FromAlarmAction(raw json.RawMessage) (*Alarm, error) {
	p := scanner{s: string(raw)}
	if p.next() != '{' {
		if err := p.skip(); err != nil {
			return nil, err
		}
		return nil, &IgnoredError{Reason: "alarm action payload is not a JSON object"}
	}
	var source, arn, account, region, data string
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "source":
			source, err = p.span()
		case "alarmArn":
			arn, err = p.span()
		case "accountId":
			account, err = p.span()
		case "region":
			region, err = p.span()
		case "alarmData":
			data, err = p.span()
		default:
			err = p.skip()
		}
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return nil, err
	}
	if data == "" {
		return nil, &IgnoredError{Reason: "payload has no alarmData, so it is not an alarm action"}
	}
	return fromAlarmAction(source, arn, account, region, data, nil)
}

// fromAlarmAction decodes an alarm action payload from the raw JSON of its
// members, unless parsed holds alarmData already decoded.
func fromAlarmAction(rawSource, rawARN, rawAccount, rawRegion, alarmData string, parsed *Alarm) (*Alarm, error) {
	var vals [4]string
	for i, f := range [...]struct{ raw, name string }{
		{rawSource, "source"}, {rawARN, "alarmArn"}, {rawAccount, "accountId"}, {rawRegion, "region"},
	} {
		v, err := rawString(f.raw)
		if err != nil {
			return nil, wrapPath(err, f.name)
		}
		vals[i] = v
	}
	source, arn, account, region := vals[0], vals[1], vals[2], vals[3]
	if source != "" && source != sourceCloudWatch {
		return nil, &IgnoredError{Reason: "alarm action from source " + quote(source) + ", not " + sourceCloudWatch}
	}
	a := parsed
	if a == nil {
		a = &Alarm{Route: RouteAction}
		if err := decodeAlarmObject(a, alarmData, "alarmData"); err != nil {
			return nil, err
		}
	}
	if err := finish(a, arn, "alarmArn", account, region); err != nil {
		return nil, err
	}
	return a, nil
}

// decodeAlarmObject decodes the raw JSON of an EventBridge detail or an alarm
// action's alarmData; path names it in errors.
func decodeAlarmObject(a *Alarm, raw, path string) error {
	p := scanner{s: raw}
	switch p.next() {
	case 0:
		return missing(path)
	case 'n':
		if err := p.lit("null"); err == nil {
			return missing(path)
		}
	}
	err := parseDetail(&p, a)
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return wrapPath(err, path)
	}
	return nil
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

// rawString decodes the raw JSON text of a string member; absent ("") and
// null give "".
func rawString(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	p := scanner{s: raw}
	return p.strVal()
}

// rawIs reports whether raw is the JSON text of the string want (written
// without escapes).
func rawIs(raw, want string) bool {
	return len(raw) == len(want)+2 && raw[0] == '"' && raw[len(raw)-1] == '"' && raw[1:len(raw)-1] == want
}

// firstString returns the first element of the raw JSON text of an array of
// strings (EventBridge resources); absent, null and empty give "".
func firstString(raw string) (string, error) {
	if raw == "" || raw == "null" {
		return "", nil
	}
	p := scanner{s: raw}
	var first string
	err := p.array(func(i int) error {
		if i > 0 {
			return p.skip()
		}
		var err error
		first, err = p.strVal()
		return err
	})
	return first, err
}
