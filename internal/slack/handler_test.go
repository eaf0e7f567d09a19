package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
)

const (
	testSecret  = "medic-test-signing-secret"
	testChannel = "C0MEDIC"
)

var testNow = time.Date(2024, 3, 12, 14, 5, 0, 0, time.UTC)

// fakeDecider records decisions and answers with decide (Accepted when nil).
type fakeDecider struct {
	mu     sync.Mutex
	got    []slack.Decision
	decide func(ctx context.Context, d slack.Decision) (slack.Outcome, error)
}

func (f *fakeDecider) Decide(ctx context.Context, d slack.Decision) (slack.Outcome, error) {
	f.mu.Lock()
	f.got = append(f.got, d)
	decide := f.decide
	f.mu.Unlock()
	if decide == nil {
		return slack.Outcome{Kind: slack.OutcomeAccepted}, nil
	}
	return decide(ctx, d)
}

func (f *fakeDecider) decisions() []slack.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slack.Decision(nil), f.got...)
}

type env struct {
	srv     *slacktesting.Server
	client  *slack.Client
	handler *slack.Handler
	decider *fakeDecider
	logs    *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t *testing.T, cfg slack.HandlerConfig) *env {
	t.Helper()
	e := &env{srv: slacktesting.New(t), decider: &fakeDecider{}, logs: &syncBuffer{}}
	e.client = slack.NewClient(e.srv.Client("xoxb-test-token"), slack.WithSleep(func(context.Context, time.Duration) error { return nil }))
	if cfg.SigningSecret == "" {
		cfg.SigningSecret = testSecret
	}
	if cfg.Decider == nil {
		cfg.Decider = e.decider
	}
	if cfg.Ephemeral == nil {
		cfg.Ephemeral = e.client
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := slack.NewHandler(cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	e.handler = h
	t.Cleanup(func() { e.assertNoSecretsLogged(t) })
	return e
}

func (e *env) assertNoSecretsLogged(t *testing.T) {
	t.Helper()
	logs := e.logs.String()
	for _, secret := range []string{testSecret, "xoxb-test-token", "payload=", "response-url-secret", "v0="} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

// serve sends a signed click through ServeHTTP and returns the status.
func (e *env) serve(c slacktesting.Click) int {
	return e.serveBody(slacktesting.FormBody(slacktesting.BlockActionsPayload(c)))
}

func (e *env) serveBody(body []byte) int {
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, slacktesting.SignedHTTPRequest("/slack/interactivity", testSecret, testNow, body))
	return rec.Code
}

func (e *env) ephemerals() []url.Values {
	var out []url.Values
	for _, r := range e.srv.Requests(slacktesting.MethodPostEphemeral) {
		out = append(out, r.Form)
	}
	return out
}

func TestApproveFlowUpdatesTheCard(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	ctx := context.Background()

	card := baseCard()
	card.Steps = []slack.StepView{scaleStep()}
	ts, err := e.client.PostCard(ctx, testChannel, card)
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}

	// The fake engine: record the vote, reach quorum, update the card.
	e.decider.decide = func(ctx context.Context, d slack.Decision) (slack.Outcome, error) {
		card.Steps[0].Votes = append(card.Steps[0].Votes, slack.Vote{UserID: d.UserID, At: testNow})
		card.Steps[0].State = slack.StateApproved
		if err := e.client.UpdateCard(ctx, d.ChannelID, d.MessageTs, card); err != nil {
			return slack.Outcome{}, err
		}
		return slack.Outcome{Kind: slack.OutcomeAccepted}, nil
	}

	click := slacktesting.Click{UserID: "U0ALICE", UserName: "alice", ChannelID: testChannel, MessageTs: ts,
		ProposalID: "inc-1#0", Verb: "approve", ActionTs: "1710252300.000100"}
	if code := e.serve(click); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}

	want := []slack.Decision{{
		ProposalID: "inc-1#0", Verb: slack.VerbApprove, UserID: "U0ALICE", UserName: "alice", TeamID: "T0MEDIC",
		ChannelID: testChannel, MessageTs: ts, ActionTs: "1710252300.000100",
	}}
	if got := e.decider.decisions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("decisions:\n got %+v\nwant %+v", got, want)
	}

	updates := e.srv.Requests(slacktesting.MethodUpdate)
	if len(updates) != 1 {
		t.Fatalf("got %d chat.update calls, want 1", len(updates))
	}
	u := updates[0]
	if u.Form.Get("channel") != testChannel || u.Form.Get("ts") != ts {
		t.Fatalf("chat.update to %s/%s, want %s/%s", u.Form.Get("channel"), u.Form.Get("ts"), testChannel, ts)
	}
	if !containsString(blockStrings(t, u.Blocks), "approved by <@U0ALICE>") {
		t.Errorf("updated card does not show the vote")
	}
	if b := buttons(u.Blocks); len(b) != 0 {
		t.Errorf("approved card still has buttons %v", b)
	}
	if n := len(e.ephemerals()); n != 0 {
		t.Errorf("got %d ephemeral messages for an accepted vote, want 0", n)
	}
}

func containsString(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestHandlerRefusesUnsignedRequests(t *testing.T) {
	body := slacktesting.FormBody(slacktesting.BlockActionsPayload(slacktesting.Click{UserID: "U0ALICE", ProposalID: "p1", Verb: "approve"}))
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"a request signed with another secret", func() *http.Request {
			return slacktesting.SignedHTTPRequest("/", "not-the-secret", testNow, body)
		}},
		{"a request signed six minutes ago", func() *http.Request {
			return slacktesting.SignedHTTPRequest("/", testSecret, testNow.Add(-6*time.Minute), body)
		}},
		{"a request without signature headers", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		}},
		{"a request whose body was changed after signing", func() *http.Request {
			r := slacktesting.SignedHTTPRequest("/", testSecret, testNow, body)
			r.Body = http.NoBody
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, slack.HandlerConfig{})
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, tt.req())
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "timestamp") || strings.Contains(rec.Body.String(), "signature") {
				t.Errorf("response leaks the reason: %q", rec.Body.String())
			}
			if n := len(e.decider.decisions()); n != 0 {
				t.Fatalf("decider called %d times", n)
			}
		})
	}
}

func TestHandlerVerifiesSlacksPublishedExample(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{SigningSecret: exampleSecret, Now: func() time.Time { return exampleTime }})
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(exampleBody))
	req.Header = exampleHeader()
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	// The signature verifies; the body is a slash command, not an
	// interaction, so it is malformed for this endpoint.
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 (verified but not an interaction)", rec.Code)
	}
}

func TestHandlerIgnoresAReplayedRequest(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	click := slacktesting.Click{UserID: "U0ALICE", ProposalID: "p1", Verb: "approve"}
	for i := range 3 {
		if code := e.serve(click); code != http.StatusOK {
			t.Fatalf("delivery %d: status %d, want 200", i+1, code)
		}
	}
	if n := len(e.decider.decisions()); n != 1 {
		t.Fatalf("decider called %d times for one click delivered three times, want 1", n)
	}

	// A second click (new action_ts) is not a replay: the engine decides
	// what it means (its conditional vote counts a user once).
	click.ActionTs = "1700000200.000001"
	e.serve(click)
	if n := len(e.decider.decisions()); n != 2 {
		t.Fatalf("decider called %d times after a second click, want 2", n)
	}
}

func TestHandlerPassesOutcomesToTheUser(t *testing.T) {
	tests := []struct {
		name    string
		outcome slack.Outcome
		err     error
		want    string // "" means no ephemeral message
	}{
		{"an accepted vote is silent", slack.Outcome{Kind: slack.OutcomeAccepted}, nil, ""},
		{"an accepted vote with a message says it", slack.Outcome{Kind: slack.OutcomeAccepted, Message: "Vote recorded: 1 of 2."}, nil, "Vote recorded: 1 of 2."},
		{"a user who may not approve is told so", slack.Outcome{Kind: slack.OutcomeNotAllowed}, nil, "not allowed to approve"},
		{"an expired proposal is reported", slack.Outcome{Kind: slack.OutcomeExpired}, nil, "expired"},
		{"an already decided step is reported", slack.Outcome{Kind: slack.OutcomeAlreadyDecided}, nil, "already decided"},
		{"a stale card (alarm already OK) is reported", slack.Outcome{Kind: slack.OutcomeStale}, nil, "out of date"},
		{"an unknown proposal is reported", slack.Outcome{Kind: slack.OutcomeNotFound}, nil, "does not know"},
		{"a decider error asks the user to check and retry, without claiming nothing was done", slack.Outcome{}, errors.New("store unavailable"), "could not confirm that your click was recorded"},
		{"a counted approval says how many are needed", slack.Outcome{Kind: slack.OutcomeAccepted, Approvals: 1, Needed: 2}, nil, "recorded (1 of 2 needed)"},
		{"a user who is not an approver is told so", slack.Outcome{Kind: slack.OutcomeNotAllowed, NotApprover: true}, nil, "Not allowed: you are not an approver of this step. Your click to approve was not counted."},
		{"a refusal because the approvers could not be checked says to try again", slack.Outcome{Kind: slack.OutcomeNotAllowed, ApproversUnchecked: true}, nil, "could not check the approvers, so it refused (try again)"},
		{"a second approval by one user is reported", slack.Outcome{Kind: slack.OutcomeAlreadyDecided, AlreadyVoted: true}, nil, "already approved this step"},
		{"a step decided already says where it is", slack.Outcome{Kind: slack.OutcomeAlreadyDecided, State: "UNDO_FAILED"}, nil, "already decided (it is undo failed)"},
		{"an undo of a step that cannot be undone says where it is", slack.Outcome{Kind: slack.OutcomeCannotUndo, State: "FAILED"}, nil, "This step cannot be undone (it is failed); nothing was done."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, slack.HandlerConfig{})
			e.decider.decide = func(context.Context, slack.Decision) (slack.Outcome, error) { return tt.outcome, tt.err }
			if code := e.serve(slacktesting.Click{UserID: "U0BOB", ProposalID: "p1", Verb: "approve"}); code != http.StatusOK {
				t.Fatalf("status %d, want 200", code)
			}
			got := e.ephemerals()
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("got ephemeral %v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d ephemeral messages, want 1", len(got))
			}
			if got[0].Get("user") != "U0BOB" || got[0].Get("channel") != testChannel {
				t.Errorf("ephemeral to %s in %s, want U0BOB in %s", got[0].Get("user"), got[0].Get("channel"), testChannel)
			}
			if !strings.Contains(got[0].Get("text"), tt.want) {
				t.Errorf("ephemeral text %q does not contain %q", got[0].Get("text"), tt.want)
			}
		})
	}
}

func TestHandlerAuthorisesThroughGroups(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	e.srv.SetGroup("S0ONCALL", "U0CAROL", "U0DAVE")
	auth := slack.NewAuthorizer(e.srv.Client("xoxb-test-token"))
	approvers := []string{"U0ALICE", "S0ONCALL"}
	// A fake engine that authorises like the real one will: fail closed.
	e.decider.decide = func(ctx context.Context, d slack.Decision) (slack.Outcome, error) {
		ok, err := auth.Allowed(ctx, d.UserID, approvers)
		if err != nil || !ok {
			return slack.Outcome{Kind: slack.OutcomeNotAllowed}, nil
		}
		return slack.Outcome{Kind: slack.OutcomeAccepted}, nil
	}

	e.serve(slacktesting.Click{UserID: "U0MALLORY", ProposalID: "p1", Verb: "approve", ActionTs: "1.1"})
	eph := e.ephemerals()
	if len(eph) != 1 || eph[0].Get("user") != "U0MALLORY" || !strings.Contains(eph[0].Get("text"), "not allowed") {
		t.Fatalf("unauthorised user: ephemerals %v, want one 'not allowed' to U0MALLORY", eph)
	}

	e.serve(slacktesting.Click{UserID: "U0CAROL", ProposalID: "p1", Verb: "approve", ActionTs: "1.2"})
	if n := len(e.ephemerals()); n != 1 {
		t.Fatalf("group member got an ephemeral message; want none")
	}
	if n := e.srv.Count(slacktesting.MethodUserGroupUsers); n != 1 {
		t.Fatalf("usergroups.users.list called %d times, want 1 (cached)", n)
	}
}

func TestHandlerAcksASlowDeciderInTime(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{DecideTimeout: 100 * time.Millisecond, AckBudget: 2 * time.Second})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e.decider.decide = func(ctx context.Context, d slack.Decision) (slack.Outcome, error) {
		<-release // ignores its deadline, like a misbehaving decider would
		return slack.Outcome{Kind: slack.OutcomeAccepted}, nil
	}
	start := time.Now()
	code := e.serve(slacktesting.Click{UserID: "U0ALICE", ProposalID: "p1", Verb: "approve"})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("handler took %s, want well under Slack's 3 s", elapsed)
	}
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	eph := e.ephemerals()
	if len(eph) != 1 || !strings.Contains(eph[0].Get("text"), "still working") {
		t.Fatalf("ephemerals %v, want one 'still working'", eph)
	}
}

func TestHandlerGivesTheDeciderADeadline(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{DecideTimeout: 1500 * time.Millisecond})
	var deadline time.Duration
	e.decider.decide = func(ctx context.Context, d slack.Decision) (slack.Outcome, error) {
		dl, ok := ctx.Deadline()
		if ok {
			deadline = time.Until(dl)
		}
		return slack.Outcome{Kind: slack.OutcomeAccepted}, nil
	}
	e.serve(slacktesting.Click{UserID: "U0ALICE", ProposalID: "p1", Verb: "approve"})
	if deadline <= 0 || deadline > 1500*time.Millisecond {
		t.Fatalf("decider deadline %s away, want within 1.5 s", deadline)
	}
}

func TestHandlerRejectsMalformedPayloads(t *testing.T) {
	payload := func(mutate func(map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(slacktesting.BlockActionsPayload(slacktesting.Click{UserID: "U0ALICE", ProposalID: "p1", Verb: "approve"}), &m)
		mutate(m)
		b, _ := json.Marshal(m)
		return slacktesting.FormBody(b)
	}
	action := func(m map[string]any) map[string]any { return m["actions"].([]any)[0].(map[string]any) }
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"an empty body", nil, http.StatusBadRequest},
		{"a form without payload", []byte("foo=bar"), http.StatusBadRequest},
		{"a body that is not a form", []byte("%zz"), http.StatusBadRequest},
		{"a payload that is not JSON", []byte("payload=%7Bnot-json"), http.StatusBadRequest},
		{"a payload with the wrong JSON types", slacktesting.FormBody([]byte(`{"type":"block_actions","actions":"x"}`)), http.StatusBadRequest},
		{"an approve without a proposal id", payload(func(m map[string]any) { action(m)["value"] = "" }), http.StatusBadRequest},
		{"an approve with a proposal id full of spaces", payload(func(m map[string]any) { action(m)["value"] = "p 1\n" }), http.StatusBadRequest},
		{"an approve with an over-long proposal id", payload(func(m map[string]any) { action(m)["value"] = strings.Repeat("p", 201) }), http.StatusBadRequest},
		{"an approve without a user", payload(func(m map[string]any) { delete(m, "user") }), http.StatusBadRequest},
		{"another app's action is ignored", payload(func(m map[string]any) { action(m)["action_id"] = "other:thing" }), http.StatusOK},
		{"a view submission is ignored", payload(func(m map[string]any) { m["type"] = "view_submission" }), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, slack.HandlerConfig{})
			if code := e.serveBody(tt.body); code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
			if n := len(e.decider.decisions()); n != 0 {
				t.Fatalf("decider called %d times", n)
			}
		})
	}
}

func TestHandlerRefusesOtherMethods(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", rec.Code)
	}
}

func TestHandleFunctionURL(t *testing.T) {
	click := slacktesting.Click{UserID: "U0ALICE", UserName: "alice", ProposalID: "inc-1#1", Verb: "reject"}
	tests := []struct {
		name   string
		req    func() events.LambdaFunctionURLRequest
		status int
		decide int
	}{
		{"a base64-encoded body is decoded before verifying", func() events.LambdaFunctionURLRequest {
			return slacktesting.SignedFunctionURLClick(testSecret, testNow, click, true)
		}, http.StatusOK, 1},
		{"a plain body is verified as is", func() events.LambdaFunctionURLRequest {
			return slacktesting.SignedFunctionURLClick(testSecret, testNow, click, false)
		}, http.StatusOK, 1},
		{"a bad signature is refused", func() events.LambdaFunctionURLRequest {
			return slacktesting.SignedFunctionURLClick("wrong", testNow, click, true)
		}, http.StatusUnauthorized, 0},
		{"a stale request is refused", func() events.LambdaFunctionURLRequest {
			return slacktesting.SignedFunctionURLClick(testSecret, testNow.Add(-10*time.Minute), click, true)
		}, http.StatusUnauthorized, 0},
		{"a body that is not base64 is refused", func() events.LambdaFunctionURLRequest {
			r := slacktesting.SignedFunctionURLClick(testSecret, testNow, click, true)
			r.Body = "!!!" + r.Body
			return r
		}, http.StatusBadRequest, 0},
		{"a malformed payload is refused", func() events.LambdaFunctionURLRequest {
			return slacktesting.SignedFunctionURLRequest(testSecret, testNow, []byte("payload=nope"), true)
		}, http.StatusBadRequest, 0},
		{"a GET is refused", func() events.LambdaFunctionURLRequest {
			r := slacktesting.SignedFunctionURLClick(testSecret, testNow, click, false)
			r.RequestContext.HTTP.Method = http.MethodGet
			return r
		}, http.StatusMethodNotAllowed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, slack.HandlerConfig{})
			resp, err := e.handler.HandleFunctionURL(context.Background(), tt.req())
			if err != nil {
				t.Fatalf("HandleFunctionURL returned error %v; it must answer with a status", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			got := e.decider.decisions()
			if len(got) != tt.decide {
				t.Fatalf("decider called %d times, want %d", len(got), tt.decide)
			}
			if tt.decide == 1 && (got[0].Verb != slack.VerbReject || got[0].ProposalID != "inc-1#1" || got[0].UserID != "U0ALICE") {
				t.Errorf("decision %+v", got[0])
			}
		})
	}
}

func TestNewHandlerNeedsADecider(t *testing.T) {
	if _, err := slack.NewHandler(slack.HandlerConfig{SigningSecret: "x"}); err == nil {
		t.Fatal("NewHandler without a Decider succeeded")
	}
}

func FuzzParseInteraction(f *testing.F) {
	f.Add(slacktesting.FormBody(slacktesting.BlockActionsPayload(slacktesting.Click{UserID: "U1", ProposalID: "p", Verb: "approve"})))
	f.Add([]byte("payload=%7B%7D"))
	f.Add([]byte(exampleBody))
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := slack.ParseInteraction(body)
		if err != nil {
			return
		}
		ds, err := slack.Decisions(cb)
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.ProposalID == "" || d.UserID == "" || len(d.ProposalID) > slack.MaxProposalIDLen {
				t.Fatalf("invalid decision accepted: %+v", d)
			}
		}
	})
}
