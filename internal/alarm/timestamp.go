package alarm

import "time"

// The timestamp layouts CloudWatch uses. CloudWatch writes offsets without a
// colon ("2019-10-02T17:04:40.989+0000"), which is not RFC 3339; SNS and
// EventBridge envelopes use RFC 3339 ("2019-10-02T17:04:40Z"). The fraction is
// optional in both layouts.
const (
	layoutCloudWatch = "2006-01-02T15:04:05.999999999Z0700"
	layoutRFC3339    = "2006-01-02T15:04:05.999999999Z07:00"
)

// ParseTimestamp parses a CloudWatch timestamp, with or without a colon in
// the offset and with or without fractional seconds, and returns it in UTC.
// Its error is a *DecodeError without a path.
func ParseTimestamp(s string) (time.Time, error) {
	layout := layoutRFC3339
	if n := len(s); n > 5 && (s[n-5] == '+' || s[n-5] == '-') {
		layout = layoutCloudWatch
	}
	// ParseInLocation with UTC avoids allocating a zone for "+0000".
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return time.Time{}, &DecodeError{Msg: "cannot parse " + quote(s) + " as a timestamp"}
	}
	return t.UTC(), nil
}
