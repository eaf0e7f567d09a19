package slack_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/slack"
)

// Slack's published signing example
// (https://api.slack.com/authentication/verifying-requests-from-slack).
const (
	exampleSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	exampleTimestamp = "1531420618"
	exampleSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	exampleBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)

var exampleTime = time.Unix(1531420618, 0)

func exampleHeader() http.Header {
	h := http.Header{}
	h.Set(slack.HeaderTimestamp, exampleTimestamp)
	h.Set(slack.HeaderSignature, exampleSignature)
	return h
}

func TestVerifySlacksPublishedExample(t *testing.T) {
	at := func(t time.Time) func() time.Time { return func() time.Time { return t } }
	tests := []struct {
		name   string
		secret string
		now    time.Time
		header func() http.Header
		body   string
		want   error
	}{
		{"the published example verifies", exampleSecret, exampleTime, exampleHeader, exampleBody, nil},
		{"four minutes later it still verifies", exampleSecret, exampleTime.Add(4 * time.Minute), exampleHeader, exampleBody, nil},
		{"six minutes later it is stale", exampleSecret, exampleTime.Add(6 * time.Minute), exampleHeader, exampleBody, slack.ErrStaleTimestamp},
		{"six minutes in the future it is stale", exampleSecret, exampleTime.Add(-6 * time.Minute), exampleHeader, exampleBody, slack.ErrStaleTimestamp},
		{"another secret does not verify", "another-secret", exampleTime, exampleHeader, exampleBody, slack.ErrBadSignature},
		{"a changed body does not verify", exampleSecret, exampleTime, exampleHeader, exampleBody + "&x=1", slack.ErrBadSignature},
		{"an empty secret verifies nothing", "", exampleTime, exampleHeader, exampleBody, slack.ErrBadSignature},
		{"a missing signature is refused", exampleSecret, exampleTime, func() http.Header {
			h := exampleHeader()
			h.Del(slack.HeaderSignature)
			return h
		}, exampleBody, slack.ErrMissingHeaders},
		{"a missing timestamp is refused", exampleSecret, exampleTime, func() http.Header {
			h := exampleHeader()
			h.Del(slack.HeaderTimestamp)
			return h
		}, exampleBody, slack.ErrMissingHeaders},
		{"a non-numeric timestamp is refused", exampleSecret, exampleTime, func() http.Header {
			h := exampleHeader()
			h.Set(slack.HeaderTimestamp, "soon")
			return h
		}, exampleBody, slack.ErrMissingHeaders},
		{"a signature without v0= is refused", exampleSecret, exampleTime, func() http.Header {
			h := exampleHeader()
			h.Set(slack.HeaderSignature, exampleSignature[3:])
			return h
		}, exampleBody, slack.ErrBadSignature},
		{"a non-hex signature is refused", exampleSecret, exampleTime, func() http.Header {
			h := exampleHeader()
			h.Set(slack.HeaderSignature, "v0=zz")
			return h
		}, exampleBody, slack.ErrBadSignature},
		{"a signed timestamp cannot be swapped", exampleSecret, exampleTime, func() http.Header {
			h := exampleHeader()
			h.Set(slack.HeaderTimestamp, "1531420619")
			return h
		}, exampleBody, slack.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := slack.NewVerifier(tt.secret)
			v.Now = at(tt.now)
			err := v.Verify(tt.header(), []byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
