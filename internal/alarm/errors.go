package alarm

import "strconv"

// DecodeError reports a malformed payload: invalid JSON, a field of the wrong
// type, a missing required field or a value that cannot be parsed. Callers
// find it with errors.As; the payload should be rejected (retrying it will
// not help).
type DecodeError struct {
	// Path names the field that is wrong, e.g. "detail.state.timestamp" or
	// "Records[0].Sns.Message"; empty when the payload as a whole is at fault.
	Path string
	// Msg says what is wrong with it.
	Msg string
}

// Error returns the path and the problem on one line, e.g.
// `detail.state.timestamp: cannot parse "garbage" as a timestamp`.
func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// IgnoredError reports a payload that is well formed but is not an alarm
// state change medic acts on: an EventBridge configuration change, an event
// from another source, an SNS message that is not an alarm, an S3 event...
// Callers find it with errors.As and drop the payload without retrying.
type IgnoredError struct {
	// Reason says what the payload was instead.
	Reason string
}

// Error returns "ignored: " followed by the reason.
func (e *IgnoredError) Error() string { return "ignored: " + e.Reason }

// missing reports a required field that is absent or empty.
func missing(path string) error {
	return &DecodeError{Path: path, Msg: "missing required field"}
}

// wrapPath prefixes the path of a *DecodeError with the object key it was
// found under; other errors pass through unchanged.
func wrapPath(err error, key string) error {
	de, ok := err.(*DecodeError)
	if !ok {
		return err
	}
	if needsQuote(key) {
		key = strconv.Quote(key)
	}
	switch {
	case de.Path == "":
		de.Path = key
	case de.Path[0] == '[':
		de.Path = key + de.Path
	default:
		de.Path = key + "." + de.Path
	}
	return err
}

// needsQuote reports whether an object key must be quoted in a path to keep
// the error one readable, unambiguous line.
func needsQuote(key string) bool {
	if key == "" {
		return true
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f || c == '"' {
			return true
		}
	}
	return false
}

// wrapIndex prefixes the path of a *DecodeError with an array index.
func wrapIndex(err error, i int) error {
	de, ok := err.(*DecodeError)
	if !ok {
		return err
	}
	idx := "[" + strconv.Itoa(i) + "]"
	if de.Path == "" || de.Path[0] == '[' {
		de.Path = idx + de.Path
	} else {
		de.Path = idx + "." + de.Path
	}
	return err
}

// quote quotes a value for an error message, shortened so the message stays
// one readable line.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}
