package slack_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
)

// sleepRecorder is an injected sleep that records waits and returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func newClient(t *testing.T, opts ...slack.ClientOption) (*slacktesting.Server, *slack.Client, *sleepRecorder) {
	t.Helper()
	srv := slacktesting.New(t)
	rec := &sleepRecorder{}
	c := slack.NewClient(srv.Client("xoxb-test"), append([]slack.ClientOption{slack.WithSleep(rec.sleep)}, opts...)...)
	return srv, c, rec
}

func TestPostCardRetriesAfterRateLimit(t *testing.T) {
	srv, c, rec := newClient(t)
	srv.RateLimit(slacktesting.MethodPostMessage, 1, 3*time.Second)

	card := baseCard()
	card.Steps = []slack.StepView{scaleStep()}
	ts, err := c.PostCard(context.Background(), testChannel, card)
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}
	if ts == "" {
		t.Fatal("PostCard returned no ts")
	}
	if !reflect.DeepEqual(rec.waits, []time.Duration{3 * time.Second}) {
		t.Fatalf("waited %v, want [3s] (Retry-After)", rec.waits)
	}
	reqs := srv.Requests(slacktesting.MethodPostMessage)
	if len(reqs) != 2 || !reqs[0].RateLimited || reqs[1].RateLimited {
		t.Fatalf("calls %+v, want one 429 then one success", reqs)
	}
	got := reqs[1]
	if got.Form.Get("channel") != testChannel || len(got.Blocks) == 0 || !strings.Contains(got.Form.Get("text"), "checkout-5xx") {
		t.Fatalf("posted %v with %d blocks", got.Form, len(got.Blocks))
	}
	if want := slack.RenderCard(card).Blocks; len(got.Blocks) != len(want) {
		t.Errorf("posted %d blocks, rendered %d", len(got.Blocks), len(want))
	}
}

func TestRateLimitRetriesAreBounded(t *testing.T) {
	t.Run("by attempts", func(t *testing.T) {
		srv, c, rec := newClient(t, slack.WithRetry(3, time.Minute))
		srv.RateLimit(slacktesting.MethodUpdate, 10, time.Second)
		err := c.UpdateCard(context.Background(), testChannel, "1.1", baseCard())
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("error %v, want a RateLimitedError", err)
		}
		if n := srv.Count(slacktesting.MethodUpdate); n != 3 {
			t.Fatalf("chat.update called %d times, want 3", n)
		}
		if len(rec.waits) != 2 {
			t.Fatalf("waited %v, want two waits", rec.waits)
		}
	})
	t.Run("by total wait", func(t *testing.T) {
		srv, c, rec := newClient(t, slack.WithRetry(10, 5*time.Second))
		srv.RateLimit(slacktesting.MethodPostEphemeral, 10, 3*time.Second)
		err := c.PostEphemeral(context.Background(), testChannel, "U0ALICE", slack.Message{Text: "hi"})
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("error %v, want a RateLimitedError", err)
		}
		if len(rec.waits) != 1 || srv.Count(slacktesting.MethodPostEphemeral) != 2 {
			t.Fatalf("waited %v over %d calls, want one 3 s wait over 2 calls", rec.waits, srv.Count(slacktesting.MethodPostEphemeral))
		}
	})
	t.Run("by the context deadline", func(t *testing.T) {
		srv, c, rec := newClient(t)
		srv.RateLimit(slacktesting.MethodPostMessage, 10, 5*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := c.PostCard(ctx, testChannel, baseCard()); err == nil {
			t.Fatal("PostCard succeeded against a rate limit longer than the deadline")
		}
		if len(rec.waits) != 0 {
			t.Fatalf("waited %v past the deadline", rec.waits)
		}
	})
}

func TestClientErrorsNameMethodAndChannel(t *testing.T) {
	srv, c, rec := newClient(t)
	srv.FailWith(slacktesting.MethodUpdate, "channel_not_found")
	err := c.UpdateCard(context.Background(), "C0GONE", "1.1", baseCard())
	var slackErr slackapi.SlackErrorResponse
	if !errors.As(err, &slackErr) || slackErr.Err != "channel_not_found" {
		t.Fatalf("error %v does not carry Slack's error", err)
	}
	if !strings.Contains(err.Error(), "chat.update") || !strings.Contains(err.Error(), "C0GONE") {
		t.Errorf("error %q does not name the method and channel", err)
	}
	if len(rec.waits) != 0 || srv.Count(slacktesting.MethodUpdate) != 1 {
		t.Errorf("a permanent error was retried")
	}
}

func TestPostThreadAndEphemeral(t *testing.T) {
	srv, c, _ := newClient(t)
	ctx := context.Background()
	ts, err := c.PostThread(ctx, testChannel, "1700000000.000001", slack.RenderTimeline([]slack.TimelineEntry{{At: testNow, Actor: "medic", Text: "resolved"}}))
	if err != nil || ts == "" {
		t.Fatalf("PostThread = %q, %v", ts, err)
	}
	posts := srv.Requests(slacktesting.MethodPostMessage)
	if len(posts) != 1 || posts[0].Form.Get("thread_ts") != "1700000000.000001" {
		t.Fatalf("thread reply %+v, want thread_ts set", posts)
	}
	if err := c.PostEphemeral(ctx, testChannel, "U0ALICE", slack.Message{Text: "only you"}); err != nil {
		t.Fatalf("PostEphemeral: %v", err)
	}
	eph := srv.Requests(slacktesting.MethodPostEphemeral)
	if len(eph) != 1 || eph[0].Form.Get("user") != "U0ALICE" || eph[0].Form.Get("text") != "only you" {
		t.Fatalf("ephemeral %+v", eph)
	}
}
