package slackbridge_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/slackbridge"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/internal/testenv"
)

func TestStoreSeenRecordsEachKeyOnce(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"boltstore": func(t *testing.T) store.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "medic.db"), boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		"dynamostore": func(t *testing.T) store.Store {
			m := testenv.Moto(t)
			ddb := dynamodb.NewFromConfig(m.Config)
			if err := dynamostore.CreateTable(context.Background(), ddb, "medic-seen"); err != nil {
				t.Fatal(err)
			}
			// moto's transactions are not isolated (see dynamostore.Isolated):
			// concurrent deliveries need the wrapper to get DynamoDB's
			// behaviour.
			return dynamostore.New(dynamostore.Isolated(ddb), "medic-seen", dynamostore.Options{})
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			// Two Lambda instances: two StoreSeen on one store.
			a, b := slackbridge.NewStoreSeen(st, nil), slackbridge.NewStoreSeen(st, nil)
			key := slack.ReplayKey("1700000000.000100", slack.ActionApprove, "U0ALICE01", "1700000200.000001")

			if first, err := a.FirstSeen(ctx, key, slack.ReplayTTL); err != nil || !first {
				t.Fatalf("first delivery: first=%v err=%v, want first", first, err)
			}
			if first, err := b.FirstSeen(ctx, key, slack.ReplayTTL); err != nil || first {
				t.Fatalf("replay to another instance: first=%v err=%v, want seen", first, err)
			}
			if first, err := a.FirstSeen(ctx, key, slack.ReplayTTL); err != nil || first {
				t.Fatalf("replay to the same instance: first=%v err=%v, want seen", first, err)
			}
			other := slack.ReplayKey("1700000000.000100", slack.ActionApprove, "U0ALICE01", "1700000200.000002")
			if first, err := b.FirstSeen(ctx, other, slack.ReplayTTL); err != nil || !first {
				t.Fatalf("a new click (new action_ts): first=%v err=%v, want first", first, err)
			}

			// Concurrent deliveries of one request: exactly one is first.
			conc := slack.ReplayKey("1700000000.000100", slack.ActionReject, "U0BOB0001", "1700000300.000001")
			var wg sync.WaitGroup
			var firsts, errs atomic.Int32
			for range 8 {
				wg.Go(func() {
					first, err := slackbridge.NewStoreSeen(st, nil).FirstSeen(ctx, conc, slack.ReplayTTL)
					if err != nil {
						errs.Add(1)
						t.Errorf("concurrent FirstSeen: %v", err)
					}
					if first {
						firsts.Add(1)
					}
				})
			}
			wg.Wait()
			if firsts.Load() != 1 {
				t.Errorf("%d of 8 concurrent deliveries were first, want 1", firsts.Load())
			}

			// The records stay out of the audit trail and expire with the
			// signature window.
			if entries, err := st.Audit(ctx, store.AuditQuery{Since: time.Now().Add(-time.Hour)}); err != nil || len(entries) != 0 {
				t.Errorf("audit after replay checks = %d entries (err %v), want none", len(entries), err)
			}
		})
	}
}

// TestAReplayToAnotherInstanceCountsOnce: Slack (or an attacker) re-sends
// a signed approval and it reaches a different Lambda instance. With the
// store-backed Seen the second instance drops it, as one instance would.
func TestAReplayToAnotherInstanceCountsOnce(t *testing.T) {
	h := newHarness(t, requiredPolicy(2))
	inc := h.fire()
	id := firstProposal(inc)

	client := slack.NewClient(h.slack.Client("xoxb-test"))
	instance := func() *slack.Handler {
		hd, err := slack.NewHandler(slack.HandlerConfig{
			SigningSecret: signingSecret,
			Decider:       slackbridge.NewDecider(h.engine),
			Ephemeral:     client,
			Seen:          slackbridge.NewStoreSeen(h.store, nil),
			Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
			DecideTimeout: time.Minute,
			AckBudget:     time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		return hd
	}
	body := slacktesting.FormBody(slacktesting.BlockActionsPayload(slacktesting.Click{
		UserID: alice, ChannelID: inc.Message.Channel, MessageTs: inc.Message.TS, ProposalID: id, Verb: "approve",
		ActionTs: "1700000300.000001",
	}))
	signedAt := time.Now()
	for i, hd := range []*slack.Handler{instance(), instance()} {
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, slacktesting.SignedHTTPRequest(actionsPath, signingSecret, signedAt, body))
		if rec.Code != http.StatusOK {
			t.Fatalf("delivery %d answered %d", i+1, rec.Code)
		}
	}
	h.drain()
	if p := h.proposal(id); len(p.Votes) != 1 {
		t.Fatalf("%d votes after a replayed approval, want 1", len(p.Votes))
	}
	if got := h.ephemerals(alice); len(got) != 1 || !strings.Contains(got[0], "1 of 2") {
		t.Fatalf("alice was told %q, want one reply: the replay to the second instance is dropped silently", got)
	}
}
