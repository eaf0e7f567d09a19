package server

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medicbot/medic/internal/slack/slacktesting"
)

var screenshot = flag.String("console-screenshot", "", "write a screenshot of the console's incident page to this PNG file")

// chromium starts a headless Chromium from the distribution's packages
// (`make browser` installs it) and returns a browser context. Without one
// the test is skipped with a message, except on CI, where it fails.
func chromium(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium on PATH: the console's browser tests need it (`make browser` installs it: apt-get install chromium)")
		}
		t.Skip("no Chromium on PATH: run `make browser` (apt-get install chromium) to run the console's browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1400),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

// text returns the text of the element sel on the current page.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// The console, in a real browser: an incident whose card Slack did not
// take shows "nobody has been told" and the owed card; once Slack takes it
// the card renders as in Slack; the local user approves it (through the
// confirmation, as in Slack) and the ECS service scales; the pause switch
// pauses and resumes medic; forms without the CSRF token are refused.
func TestConsoleInABrowser(t *testing.T) {
	h := start(t, "", func(o *Options) { o.LocalApprovals = oncall; o.RelayEvery = 200 * time.Millisecond })
	ctx := chromium(t)

	h.slack.FailWith(slacktesting.MethodPostMessage, "channel_not_found")
	if code, out := h.post("/alarms", h.prod.AlarmEvent("ALARM", time.Now()), nil); code != http.StatusOK {
		t.Fatalf("POST /alarms = %d %v", code, out)
	}

	// Nobody was told: the index says so and lists the owed card.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/ui"), chromedp.WaitVisible(chromedp.CSS("#incidents"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#incidents"); !strings.Contains(got, h.prod.AlarmName) || !strings.Contains(got, "not posted: nobody has been told") {
		t.Errorf("incidents = %q, want the alarm and that nobody has been told", got)
	}
	if got := text(t, ctx, "#owed"); !strings.Contains(got, "card") || !strings.Contains(got, "channel_not_found") {
		t.Errorf("owed messages = %q, want the card with Slack's error", got)
	}

	// Slack takes the card at the next relay.
	h.slack.FailWith(slacktesting.MethodPostMessage, "")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(getBody(t, h.url+"/ui"), "posted to "+channel) {
		if time.Now().After(deadline) {
			t.Fatal("the owed card was not posted after Slack came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	slackHeader := postedHeader(t, h)

	// The incident page: the card as Slack shows it, evidence, timeline.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/ui"), chromedp.Click(chromedp.CSS("#incidents a")),
		chromedp.WaitVisible(chromedp.CSS("#card"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#card h2"); got != slackHeader {
		t.Errorf("the console's card header = %q, Slack's = %q: want the same card", got, slackHeader)
	}
	card := text(t, ctx, "#card")
	for _, want := range []string{"ecs.scale", "4 → 6", "Approve…", "Reject"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if got := text(t, ctx, "#evidence"); !strings.Contains(got, "HTTPCode_Target_5XX_Count") || !strings.Contains(got, "Threshold Crossed") {
		t.Errorf("evidence = %q, want the metric and the alarm's reason", got)
	}
	if got := text(t, ctx, "#timeline"); !strings.Contains(got, "incident.opened") || !strings.Contains(got, "proposal.created") {
		t.Errorf("timeline = %q, want the incident's audit entries", got)
	}
	if *screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Approve through the confirmation, as the local user.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("details.confirm summary")),
		chromedp.WaitVisible(chromedp.CSS(`button[data-action="approve"]`)),
		chromedp.Click(chromedp.CSS(`button[data-action="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("#flash"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#flash"); !strings.HasPrefix(got, "approve as "+oncall+": approved") {
		t.Errorf("after Approve the console says %q, want approve as %s: approved", got, oncall)
	}
	h.waitDesired(6)

	// The pause switch.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/ui"),
		chromedp.SendKeys(chromedp.CSS(`input[name="reason"]`), "deploy freeze"),
		chromedp.Click(chromedp.CSS("#pause")), chromedp.WaitVisible(chromedp.CSS("#resume"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#switch"); !strings.Contains(got, "medic is paused by "+oncall+" (console): deploy freeze") {
		t.Errorf("switch = %q, want paused by the local user with the reason", got)
	}
	if !paused(t, h) {
		t.Error("/healthz says medic is not paused after the console paused it")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#resume")), chromedp.WaitVisible(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	if paused(t, h) {
		t.Error("/healthz says medic is paused after the console resumed it")
	}

	// A form without the page's token is refused (another site's form).
	for _, path := range []string{"/ui/pause", "/ui/act"} {
		resp, err := http.PostForm(h.url+path, url.Values{"csrf": {"forged"}, "proposal": {h.proposalOnCard()}, "action": {"approve"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a forged token = %d, want 403", path, resp.StatusCode)
		}
	}
	if paused(t, h) {
		t.Error("a forged pause form paused medic")
	}
}

// Without --local-approvals the console shows the card's buttons disabled
// and refuses votes.
func TestConsoleWithoutLocalApprovalsCannotVote(t *testing.T) {
	h := start(t, "")
	ctx := chromium(t)
	if code, out := h.post("/alarms", h.prod.AlarmEvent("ALARM", time.Now()), nil); code != http.StatusOK {
		t.Fatalf("POST /alarms = %d %v", code, out)
	}
	id := h.proposalOnCard()
	incident, _, _ := strings.Cut(id, "/")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url+"/ui/incidents/"+incident), chromedp.WaitVisible(chromedp.CSS("#card"))); err != nil {
		t.Fatal(err)
	}
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#card button")).map(b => b.textContent + ":" + b.disabled)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(disabled, ",") != "Approve:true,Reject:true" {
		t.Errorf("card buttons = %v, want Approve and Reject, disabled", disabled)
	}
	csrf, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`input[name="csrf"]`), "value"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(h.url+"/ui/act", url.Values{"csrf": {csrf.Value}, "proposal": {id}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /ui/act without --local-approvals = %d, want 403", resp.StatusCode)
	}
}

func paused(t *testing.T, h *harness) bool {
	t.Helper()
	resp, err := http.Get(h.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Paused bool }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Paused
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// postedHeader is the header text of the card Slack took.
func postedHeader(t *testing.T, h *harness) string {
	t.Helper()
	posts := h.slack.Requests(slacktesting.MethodPostMessage)
	for i := len(posts) - 1; i >= 0; i-- {
		var blocks []struct {
			Type string `json:"type"`
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		}
		if json.Unmarshal(posts[i].BlocksJSON, &blocks) == nil && len(blocks) > 0 && blocks[0].Type == "header" {
			return blocks[0].Text.Text
		}
	}
	t.Fatal("no card with a header was posted")
	return ""
}
