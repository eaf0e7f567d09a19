package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
)

const (
	signingSecret = "test-signing-secret"
	channel       = "C0INCIDENTS"
	oncall        = "U0ONCALL1"
)

const testPolicy = `version: 1
policies:
  - name: checkout-target-5xx
    description: Checkout tasks return 5xx
    runbook: https://runbooks.example.com/checkout-5xx
    match:
      alarm: ["checkout-*-5xx"]
      namespace: AWS/ApplicationELB
      metric: HTTPCode_Target_5XX_Count
    cooldown: 30m
    slack: {channel: ` + channel + `}
    steps:
      - action: ecs.scale
        approval: required
        approvers: ["S0SREGROUP", "` + oncall + `"]
        quorum: 1
        expires: 30m
        params: {cluster: prod, service: checkout, add: 2, max: 10}
`

type harness struct {
	t     *testing.T
	url   string
	slack *slacktesting.Server
	prod  *testenv.Prod
	moto  *testenv.MotoServer
}

// start runs medic serve against moto and a Slack test server; opts, when
// given, change the server's options.
func start(t *testing.T, webhookToken string, opts ...func(*Options)) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := testenv.Moto(t)
	prod, err := testenv.CreateProd(ctx, m.Config)
	if err != nil {
		t.Fatalf("create prod in moto: %v", err)
	}
	sl := slacktesting.New(t)
	sl.SetGroup("S0SREGROUP", "U0SRE1", "U0SRE2")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "checkout.yaml"), []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "medic.db")
	cfg := &config.Config{
		StorePath: store, SlackAPIURL: sl.GetAPIURL(), SlackBotToken: "xoxb-test", SlackSigningSecret: signingSecret,
		AWSEndpointURL: m.URL, WebhookToken: config.Secret(webhookToken), MaxPerHour: 10, GitHubAPIURL: "http://127.0.0.1:1/",
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := wiring.Build(ctx, cfg, m.Config, wiring.Options{Policies: os.DirFS(dir), Logger: log})
	if err != nil {
		t.Fatalf("wire medic: %v", err)
	}
	ready := make(chan string, 1)
	o := Options{Addr: "127.0.0.1:0", PendingFile: store + ".pending.json", Ready: ready}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(app, log, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		_ = app.Close()
	})
	select {
	case addr := <-ready:
		return &harness{t: t, url: "http://" + addr, slack: sl, prod: prod, moto: m}
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return nil
}

func (h *harness) post(path string, body []byte, header http.Header) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (h *harness) click(user, proposal, verb string) int {
	h.t.Helper()
	req := slacktesting.SignedClick(h.url+"/slack/actions", signingSecret, time.Now(), slacktesting.Click{
		UserID: user, ChannelID: channel, ProposalID: proposal, Verb: verb,
	})
	req.RequestURI = "" // built as a server request; send it as a client one
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("click: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// proposalOnCard returns the proposal ID carried by the card's Approve button.
func (h *harness) proposalOnCard() string {
	h.t.Helper()
	posts := h.slack.Requests(slacktesting.MethodPostMessage)
	for _, p := range posts {
		if p.Form.Get("thread_ts") != "" {
			continue
		}
		var blocks []map[string]any
		_ = json.Unmarshal(p.BlocksJSON, &blocks)
		for _, b := range blocks {
			els, _ := b["elements"].([]any)
			for _, e := range els {
				el, _ := e.(map[string]any)
				if el["action_id"] == "medic:approve" {
					return el["value"].(string)
				}
			}
		}
	}
	h.t.Fatalf("no card with an Approve button among %d posts", len(posts))
	return ""
}

func (h *harness) waitDesired(want int32) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got int32
	for time.Now().Before(deadline) {
		var err error
		got, err = h.prod.DesiredCount(context.Background(), h.moto.Config)
		if err != nil {
			h.t.Fatal(err)
		}
		if got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("desired count = %d, want %d", got, want)
}

func TestServeRunsAnAlarmThroughApprovalToTheECSChange(t *testing.T) {
	h := start(t, "")
	ev := h.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute))

	// The same state change twice (a retry, or a second route): one card.
	for i := 0; i < 2; i++ {
		if code, out := h.post("/alarms", ev, nil); code != http.StatusOK {
			t.Fatalf("POST /alarms = %d %v", code, out)
		}
	}
	cards := 0
	for _, p := range h.slack.Requests(slacktesting.MethodPostMessage) {
		if p.Form.Get("thread_ts") == "" {
			cards++
			if p.Form.Get("channel") != channel {
				t.Errorf("card posted to %q, want %s", p.Form.Get("channel"), channel)
			}
			if !strings.Contains(string(p.BlocksJSON), "desiredCount: 4 → 6") {
				t.Errorf("card does not show the plan: %s", p.BlocksJSON)
			}
		}
	}
	if cards != 1 {
		t.Fatalf("%d cards posted for one state change, want 1", cards)
	}
	proposal := h.proposalOnCard()

	// Someone not among the approvers: refused privately, nothing runs.
	if code := h.click("U0INTRUDER", proposal, "approve"); code != http.StatusOK {
		t.Fatalf("click = %d", code)
	}
	if n := h.slack.Count(slacktesting.MethodPostEphemeral); n != 1 {
		t.Fatalf("%d ephemeral replies to an unauthorised click, want 1", n)
	}
	if got, _ := h.prod.DesiredCount(context.Background(), h.moto.Config); got != 4 {
		t.Fatalf("desired count changed to %d after an unauthorised click", got)
	}

	// A member of the approver group approves: the service scales.
	if code := h.click("U0SRE1", proposal, "approve"); code != http.StatusOK {
		t.Fatalf("click = %d", code)
	}
	h.waitDesired(6)

	// The card is updated with the outcome.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ups := h.slack.Requests(slacktesting.MethodUpdate)
		last := lastText(ups)
		if strings.Contains(last, ":white_check_mark: *done*") && strings.Contains(last, "approved by <@u0sre1>") && strings.Contains(last, `"action_id":"medic:undo"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("card never updated with the outcome; updates: %d, last: %s", len(ups), lastText(ups))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A second approval after execution never runs it twice.
	h.click("U0SRE2", proposal, "approve")
	time.Sleep(300 * time.Millisecond)
	h.waitDesired(6)
}

func lastText(reqs []slacktesting.Request) string {
	if len(reqs) == 0 {
		return ""
	}
	unescape := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	return strings.ToLower(unescape.Replace(string(reqs[len(reqs)-1].BlocksJSON)))
}

func TestAlarmsEndpointChecksTheBearerTokenAndRejectsBadPayloads(t *testing.T) {
	h := start(t, "s3cret")
	ev := h.prod.AlarmEvent("ALARM", time.Now())
	if code, _ := h.post("/alarms", ev, nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := h.post("/alarms", ev, http.Header{"Authorization": {"Bearer wrong"}}); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	code, out := h.post("/alarms", []byte(`{"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "detail": {`), auth)
	if code != http.StatusBadRequest || out["error"] == nil {
		t.Errorf("malformed: %d %v, want 400 with an error", code, out)
	}
	code, out = h.post("/alarms", []byte(`{"detail-type": "CloudWatch Alarm Configuration Change", "source": "aws.cloudwatch", "detail": {}}`), auth)
	if code != http.StatusOK || out["ignored"] == nil {
		t.Errorf("not a state change: %d %v, want 200 ignored", code, out)
	}
	if code, _ := h.post("/alarms", ev, auth); code != http.StatusOK {
		t.Errorf("right token: %d, want 200", code)
	}
}
