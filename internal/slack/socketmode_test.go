package slack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
)

// TestSocketModeFeedsTheDecider runs RunSocketMode against slacktest's own
// apps.connections.open and websocket endpoints: the server pushes an
// "interactive" envelope, the client acknowledges it and the press reaches
// the Decider; an outcome that needs a reply is posted as an ephemeral.
func TestSocketModeFeedsTheDecider(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	decided := make(chan slack.Decision, 4)
	e.decider.decide = func(_ context.Context, d slack.Decision) (slack.Outcome, error) {
		decided <- d
		return slack.Outcome{Kind: slack.OutcomeExpired}, nil
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- slack.RunSocketMode(ctx, "xapp-test-token", e.handler, slackapi.OptionAPIURL(e.srv.GetAPIURL()))
	}()

	click := slacktesting.Click{UserID: "U0ALICE", ProposalID: "inc-1#0", Verb: "approve"}
	e.srv.SendInteractive("env-1", slacktesting.BlockActionsPayload(click))

	select {
	case d := <-decided:
		if d.ProposalID != "inc-1#0" || d.Verb != slack.VerbApprove || d.UserID != "U0ALICE" {
			t.Fatalf("decision %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no decision arrived over socket mode")
	}

	waitFor(t, "the envelope to be acknowledged", func() bool { return slices.Contains(e.srv.Acks(), "env-1") })
	waitFor(t, "the 'expired' ephemeral", func() bool { return len(e.ephemerals()) == 1 })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunSocketMode after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not stop after cancel")
	}
}

func TestRunSocketModeNeedsAnAppToken(t *testing.T) {
	e := newEnv(t, slack.HandlerConfig{})
	if err := slack.RunSocketMode(context.Background(), "", e.handler); err == nil {
		t.Fatal("RunSocketMode without an app token succeeded")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
