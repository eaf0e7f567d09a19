package slacktesting

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Click describes one button press on a medic card, as Slack reports it in a
// block_actions interaction.
type Click struct {
	// UserID, UserName and TeamID identify who clicked; TeamID defaults to
	// "T0MEDIC".
	UserID   string
	UserName string
	TeamID   string
	// ChannelID and MessageTs locate the card; defaults "C0MEDIC" and
	// "1700000000.000001".
	ChannelID string
	MessageTs string
	// ProposalID is the button's value.
	ProposalID string
	// Verb is "approve", "reject" or "undo"; the action ID is
	// "medic:"+Verb unless ActionID is set.
	Verb     string
	ActionID string
	// ActionTs is Slack's click timestamp; default "1700000100.000001".
	ActionTs string
}

func (c Click) withDefaults() Click {
	if c.TeamID == "" {
		c.TeamID = "T0MEDIC"
	}
	if c.ChannelID == "" {
		c.ChannelID = "C0MEDIC"
	}
	if c.MessageTs == "" {
		c.MessageTs = "1700000000.000001"
	}
	if c.ActionTs == "" {
		c.ActionTs = "1700000100.000001"
	}
	if c.ActionID == "" {
		c.ActionID = "medic:" + c.Verb
	}
	if c.UserName == "" {
		c.UserName = strings.ToLower(c.UserID)
	}
	return c
}

// BlockActionsPayload returns the interaction JSON Slack sends for c: type
// block_actions, user, team, channel, container (message_ts), message and
// one button action.
func BlockActionsPayload(c Click) []byte {
	c = c.withDefaults()
	label := map[string]string{"medic:approve": "Approve", "medic:reject": "Reject", "medic:undo": "Undo"}[c.ActionID]
	if label == "" {
		label = c.ActionID
	}
	payload := map[string]any{
		"type":       "block_actions",
		"api_app_id": "A0MEDIC",
		"trigger_id": "1700000100.1234.abcdef",
		"user": map[string]any{
			"id": c.UserID, "username": c.UserName, "name": c.UserName, "team_id": c.TeamID,
		},
		"team": map[string]any{"id": c.TeamID, "domain": "medic-test"},
		"container": map[string]any{
			"type": "message", "message_ts": c.MessageTs, "channel_id": c.ChannelID, "is_ephemeral": false,
		},
		"channel": map[string]any{"id": c.ChannelID, "name": "incidents"},
		"message": map[string]any{
			"type": "message", "ts": c.MessageTs, "text": "ALARM checkout-5xx", "user": "U0MEDICBOT", "bot_id": "B0MEDIC",
		},
		"response_url": "https://hooks.slack.com/actions/" + c.TeamID + "/1/response-url-secret",
		"state":        map[string]any{"values": map[string]any{}},
		"actions": []map[string]any{{
			"type":      "button",
			"action_id": c.ActionID,
			"block_id":  "step-actions",
			"text":      map[string]any{"type": "plain_text", "text": label, "emoji": true},
			"value":     c.ProposalID,
			"action_ts": c.ActionTs,
		}},
	}
	b, _ := json.Marshal(payload)
	return b
}

// FormBody wraps an interaction JSON the way Slack posts it:
// application/x-www-form-urlencoded with a single "payload" field.
func FormBody(payload []byte) []byte {
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

// Sign returns the X-Slack-Request-Timestamp and X-Slack-Signature values
// Slack would send for body at ts.
func Sign(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedHTTPRequest returns a POST of body to target, signed with secret at
// ts, with Slack's headers. Like httptest.NewRequest (which it uses) it is
// an incoming server request: pass it to a handler's ServeHTTP.
func SignedHTTPRequest(target, secret string, ts time.Time, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	timestamp, sig := Sign(secret, ts, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", timestamp)
	req.Header.Set("X-Slack-Signature", sig)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return req
}

// SignedClick returns the signed HTTP request Slack would send for c.
func SignedClick(target, secret string, ts time.Time, c Click) *http.Request {
	return SignedHTTPRequest(target, secret, ts, FormBody(BlockActionsPayload(c)))
}

// SignedFunctionURLRequest returns a Lambda Function URL event carrying body
// signed with secret at ts: lower-cased headers, and the body base64-encoded
// with IsBase64Encoded when b64 is true.
func SignedFunctionURLRequest(secret string, ts time.Time, body []byte, b64 bool) events.LambdaFunctionURLRequest {
	timestamp, sig := Sign(secret, ts, body)
	req := events.LambdaFunctionURLRequest{
		Version: "2.0",
		RawPath: "/",
		Headers: map[string]string{
			"content-type":              "application/x-www-form-urlencoded",
			"x-slack-request-timestamp": timestamp,
			"x-slack-signature":         sig,
			"user-agent":                "Slackbot 1.0 (+https://api.slack.com/robots)",
			"host":                      "abcdefgh.lambda-url.eu-west-1.on.aws",
		},
		RequestContext: events.LambdaFunctionURLRequestContext{
			RequestID: "req-1",
			HTTP:      events.LambdaFunctionURLRequestContextHTTPDescription{Method: http.MethodPost, Path: "/"},
		},
		Body: string(body),
	}
	if b64 {
		req.Body = base64.StdEncoding.EncodeToString(body)
		req.IsBase64Encoded = true
	}
	return req
}

// SignedFunctionURLClick returns the Function URL event Slack's request for
// c would become.
func SignedFunctionURLClick(secret string, ts time.Time, c Click, b64 bool) events.LambdaFunctionURLRequest {
	return SignedFunctionURLRequest(secret, ts, FormBody(BlockActionsPayload(c)), b64)
}

// SendInteractive pushes a Socket Mode "interactive" envelope carrying
// payload to connected Socket Mode clients.
func (s *Server) SendInteractive(envelopeID string, payload []byte) {
	env, _ := json.Marshal(map[string]any{
		"type":                     "interactive",
		"envelope_id":              envelopeID,
		"payload":                  json.RawMessage(payload),
		"accepts_response_payload": false,
	})
	s.SendToWebsocket(string(env))
}

// Acks returns the envelope IDs Socket Mode clients acknowledged, in order.
func (s *Server) Acks() []string {
	var out []string
	for _, m := range s.GetSeenInboundMessages() {
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal([]byte(m), &ack) == nil && ack.EnvelopeID != "" {
			out = append(out, ack.EnvelopeID)
		}
	}
	return out
}
