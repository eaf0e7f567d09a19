package slacktesting

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

func TestSignMatchesSlacksPublishedExample(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	ts, sig := Sign("8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), []byte(body))
	if ts != "1531420618" || sig != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Fatalf("Sign = %s, %s", ts, sig)
	}
}

func TestFormBodyCarriesThePayload(t *testing.T) {
	payload := BlockActionsPayload(Click{UserID: "U1", ProposalID: "inc#0", Verb: "undo"})
	form, err := url.ParseQuery(string(FormBody(payload)))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type    string `json:"type"`
		Actions []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "block_actions" || len(got.Actions) != 1 || got.Actions[0].ActionID != "medic:undo" || got.Actions[0].Value != "inc#0" {
		t.Fatalf("payload %+v", got)
	}
}
