package slack_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
)

type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestAuthorizerAllowed(t *testing.T) {
	srv := slacktesting.New(t)
	srv.SetGroup("S0ONCALL", "U0CAROL", "W0DAVE")
	srv.SetGroup("S0EMPTY")
	auth := slack.NewAuthorizer(srv.Client("xoxb-test"))
	ctx := context.Background()

	tests := []struct {
		name      string
		user      string
		approvers []string
		want      bool
		wantErr   bool
	}{
		{"a listed user is allowed", "U0ALICE", []string{"U0ALICE"}, true, false},
		{"a listed enterprise user is allowed", "W0ERIN", []string{"W0ERIN"}, true, false},
		{"a user listed as a mention is allowed", "U0ALICE", []string{"<@U0ALICE>"}, true, false},
		{"a member of a listed group is allowed", "U0CAROL", []string{"U0ALICE", "S0ONCALL"}, true, false},
		{"a member of a group listed as a mention is allowed", "W0DAVE", []string{"<!subteam^S0ONCALL|oncall>"}, true, false},
		{"a user in no listed group is refused", "U0MALLORY", []string{"U0ALICE", "S0ONCALL", "S0EMPTY"}, false, false},
		{"nobody is allowed when there are no approvers", "U0ALICE", nil, false, false},
		{"an empty user is refused", "", []string{"U0ALICE"}, false, false},
		{"a name that is not an ID never matches", "alice", []string{"alice", "@alice"}, false, false},
		{"a group ID is not a user", "S0ONCALL", []string{"S0ONCALL"}, false, false},
		{"an unknown group is an error, not a yes", "U0CAROL", []string{"S0GONE"}, false, true},
		{"another group can still allow when one fails", "U0CAROL", []string{"S0GONE", "S0ONCALL"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.Allowed(ctx, tt.user, tt.approvers)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Allowed(%q, %v) = %v, %v; want %v, error %v", tt.user, tt.approvers, got, err, tt.want, tt.wantErr)
			}
			if tt.wantErr {
				var slackErr slackapi.SlackErrorResponse
				if !errors.As(err, &slackErr) || slackErr.Err != "no_such_subteam" {
					t.Errorf("error %v does not carry Slack's no_such_subteam", err)
				}
			}
		})
	}
}

func TestAuthorizerCachesGroupMembers(t *testing.T) {
	srv := slacktesting.New(t)
	srv.SetGroup("S0ONCALL", "U0CAROL")
	clock := &manualClock{t: testNow}
	auth := slack.NewAuthorizer(srv.Client("xoxb-test"), slack.WithGroupTTL(time.Minute), slack.WithAuthorizerClock(clock.Now))
	ctx := context.Background()
	approvers := []string{"S0ONCALL"}

	for i := range 2 {
		if ok, err := auth.Allowed(ctx, "U0CAROL", approvers); !ok || err != nil {
			t.Fatalf("call %d: Allowed = %v, %v", i+1, ok, err)
		}
	}
	if n := srv.Count(slacktesting.MethodUserGroupUsers); n != 1 {
		t.Fatalf("usergroups.users.list called %d times for two checks within the TTL, want 1", n)
	}

	// Membership changes are picked up once the TTL has passed.
	srv.SetGroup("S0ONCALL", "U0DAVE")
	clock.Advance(61 * time.Second)
	if ok, _ := auth.Allowed(ctx, "U0CAROL", approvers); ok {
		t.Fatal("a removed member is still allowed after the TTL")
	}
	if n := srv.Count(slacktesting.MethodUserGroupUsers); n != 2 {
		t.Fatalf("usergroups.users.list called %d times, want 2 after expiry", n)
	}
}

func TestAuthorizerSharesConcurrentLookups(t *testing.T) {
	srv := slacktesting.New(t)
	srv.SetGroup("S0ONCALL", "U0CAROL")
	auth := slack.NewAuthorizer(srv.Client("xoxb-test"))

	var wg sync.WaitGroup
	var allowed atomic.Int32
	for range 20 {
		wg.Go(func() {
			if ok, err := auth.Allowed(context.Background(), "U0CAROL", []string{"S0ONCALL"}); ok && err == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 20 {
		t.Fatalf("%d of 20 concurrent checks allowed", allowed.Load())
	}
	if n := srv.Count(slacktesting.MethodUserGroupUsers); n != 1 {
		t.Fatalf("usergroups.users.list called %d times for 20 concurrent checks, want 1", n)
	}
}

func TestAuthorizerDoesNotCacheErrors(t *testing.T) {
	srv := slacktesting.New(t)
	auth := slack.NewAuthorizer(srv.Client("xoxb-test"))
	ctx := context.Background()
	if ok, err := auth.Allowed(ctx, "U0CAROL", []string{"S0ONCALL"}); ok || err == nil {
		t.Fatalf("unknown group: Allowed = %v, %v; want false and an error", ok, err)
	}
	srv.SetGroup("S0ONCALL", "U0CAROL")
	if ok, err := auth.Allowed(ctx, "U0CAROL", []string{"S0ONCALL"}); !ok || err != nil {
		t.Fatalf("after the group appears: Allowed = %v, %v", ok, err)
	}
}

func TestMemorySeenForgetsAfterTTL(t *testing.T) {
	clock := &manualClock{t: testNow}
	seen := slack.NewMemorySeen(clock.Now)
	ctx := context.Background()
	key := slack.ReplayKey("1.1", slack.ActionApprove, "U0ALICE", "2.2")
	if first, _ := seen.FirstSeen(ctx, key, time.Minute); !first {
		t.Fatal("first sighting reported as a repeat")
	}
	if first, _ := seen.FirstSeen(ctx, key, time.Minute); first {
		t.Fatal("repeat reported as first")
	}
	clock.Advance(time.Minute)
	if first, _ := seen.FirstSeen(ctx, key, time.Minute); !first {
		t.Fatal("key still remembered after its TTL")
	}
	if seen.Len() != 1 {
		t.Fatalf("Len = %d, want 1", seen.Len())
	}
}
