package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/medicbot/medic/internal/doors"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/store"
)

// silentServer accepts TCP connections and never answers on them: a GitHub
// that is up enough to connect to and too sick to reply, the case that
// costs a caller its whole timeout.
type silentServer struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newSilentServer(t *testing.T) *silentServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the silent GitHub: %v", err)
	}
	s := &silentServer{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

func (s *silentServer) url() string { return "http://" + s.l.Addr().String() + "/" }

// accepted counts the connections made so far.
func (s *silentServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// TestBuiltSlackFunctionAnswersAClickWhileGitHubHangs is issue 13's proof
// that the click path calls no one but the store and Slack. GitHub accepts
// connections and never answers. The alarm function, the one function
// that looks up suspect deploys, waits out its lookup timeout
// (engine.DefaultSuspectTimeout), posts the card saying the deploys are
// unavailable and stores that note on the incident. The Slack function,
// started with the template's environment (no GitHub credential) and the
// same unreachable GITHUB_API_URL, acknowledges an approval in under a
// second and updates the card from the records, without connecting to
// GitHub.
func TestBuiltSlackFunctionAnswersAClickWhileGitHubHangs(t *testing.T) {
	github := newSilentServer(t)
	s := deploy(t, withGitHub("ghp_e2e_token", github.url()))
	ctx := context.Background()

	// The alarm: planning goes on, the deploy lookup hangs and is given up.
	start := time.Now()
	var res doors.AlarmResult
	s.alarm.decode(t, s.alarm.invoke(t, json.RawMessage(s.prod.AlarmEvent("ALARM", time.Now().Add(-time.Minute)))), &res)
	took := time.Since(start)
	t.Logf("alarm function answered in %s with GitHub hanging", took.Round(time.Millisecond))
	if len(res.Alarms) != 1 || res.Alarms[0].Incident == "" {
		t.Fatalf("alarm function answered %+v, want one incident\nalarm output:\n%s", res, s.alarm.out.String())
	}
	// Cold start, planning against moto and the 4 s lookup budget: far
	// within the function's 30 s timeout.
	if limit := engine.DefaultSuspectTimeout + 6*time.Second; took > limit {
		t.Errorf("the alarm function took %s with GitHub hanging, want under %s", took, limit)
	}
	if github.accepted() == 0 {
		t.Fatalf("the alarm function never connected to GitHub: the lookup this test is about did not run\nalarm output:\n%s", s.alarm.out.String())
	}
	inc, err := s.store.Incident(ctx, store.IncidentID(res.Alarms[0].Key))
	if err != nil {
		t.Fatalf("read incident: %v", err)
	}
	if inc.SuspectsNote != "GitHub timed out" || len(inc.Suspects) != 0 {
		t.Errorf("the incident stores suspects %+v, note %q; want none and %q\nalarm output:\n%s", inc.Suspects, inc.SuspectsNote, "GitHub timed out", s.alarm.out.String())
	}
	cards := topLevelPosts(s.slack)
	if len(cards) != 1 {
		t.Fatalf("%d cards posted, want 1\nalarm output:\n%s", len(cards), s.alarm.out.String())
	}
	if !anyText(cards[0].BlocksJSON, "unavailable: GitHub timed out") {
		t.Errorf("the card does not say the suspect deploys are unavailable: %s", cards[0].BlocksJSON)
	}
	proposalID := buttonValue(cards[0].BlocksJSON, "medic:approve")
	if proposalID == "" {
		t.Fatalf("the card has no Approve button: %s", cards[0].BlocksJSON)
	}

	// The click: acknowledged in under a second, the card updated, GitHub
	// never called.
	connections := github.accepted()
	updates := len(s.slack.Requests(slacktesting.MethodUpdate))
	click := slacktesting.SignedFunctionURLClick(signingSecret, time.Now(), slacktesting.Click{
		UserID: sreUser, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS, ProposalID: proposalID, Verb: "approve",
	}, true)
	start = time.Now()
	answer := s.slackFn.invoke(t, click)
	ack := time.Since(start)
	t.Logf("slack function acknowledged the click in %s with GitHub hanging", ack.Round(time.Millisecond))
	var resp events.LambdaFunctionURLResponse
	s.slackFn.decode(t, answer, &resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slack function answered %d %q, want 200\nslack output:\n%s", resp.StatusCode, resp.Body, s.slackFn.out.String())
	}
	if ack >= time.Second {
		t.Errorf("the click was acknowledged in %s, want under 1s\nslack output:\n%s", ack, s.slackFn.out.String())
	}
	if p, err := s.store.Proposal(ctx, proposalID); err != nil || p.State != store.StateApproved {
		t.Fatalf("after the click the proposal is %v (err %v), want APPROVED", stateOf(p), err)
	}
	ups := s.slack.Requests(slacktesting.MethodUpdate)
	if len(ups) <= updates {
		t.Fatalf("the click did not update the card (%d chat.update calls, %d before)\nslack output:\n%s", len(ups), updates, s.slackFn.out.String())
	}
	last := ups[len(ups)-1]
	if last.Form.Get("channel") != inc.Message.Channel || last.Form.Get("ts") != inc.Message.TS {
		t.Errorf("chat.update went to %s/%s, want the card %s/%s", last.Form.Get("channel"), last.Form.Get("ts"), inc.Message.Channel, inc.Message.TS)
	}
	if !anyText(last.BlocksJSON, "Approved") || !anyText(last.BlocksJSON, "unavailable: GitHub timed out") {
		t.Errorf("the updated card should show the approval and, from the record, the unavailable deploys: %s", last.BlocksJSON)
	}
	if n := github.accepted(); n != connections {
		t.Errorf("the click path connected to GitHub (%d connections, %d before)", n, connections)
	}
}
