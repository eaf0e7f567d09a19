package localqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/localqueue"
)

func body(t *testing.T, m engine.Message) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var ctx = context.Background()

func TestLocalQueue(t *testing.T) {
	t.Run("messages run after their delay and failures are retried", func(t *testing.T) {
		q := localqueue.New(localqueue.Options{})
		var mu sync.Mutex
		var got []string
		failed := false
		done := make(chan struct{}, 3)
		q.Start(func(_ context.Context, m engine.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if m.Proposal == "flaky" && !failed {
				failed = true
				return errors.New("try again")
			}
			got = append(got, m.Proposal)
			done <- struct{}{}
			return nil
		})
		start := time.Now()
		_ = q.Send(ctx, body(t, engine.Message{Kind: engine.KindExecute, Proposal: "later"}), 150*time.Millisecond)
		_ = q.Send(ctx, body(t, engine.Message{Kind: engine.KindExecute, Proposal: "now"}), 0)
		_ = q.Send(ctx, body(t, engine.Message{Kind: engine.KindExecute, Proposal: "flaky"}), 0)
		for range 3 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("messages did not run: %v", got)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if got[0] != "now" || time.Since(start) < 150*time.Millisecond {
			t.Fatalf("order %v after %s", got, time.Since(start))
		}
		if _, err := q.Close(ctx); err != nil {
			t.Fatalf("close: %v", err)
		}
	})
	t.Run("close waits for running handlers, keeps their sends and reports what did not run", func(t *testing.T) {
		q := localqueue.New(localqueue.Options{})
		started := make(chan struct{})
		q.Start(func(_ context.Context, m engine.Message) error {
			if m.Proposal == "running" {
				close(started)
				time.Sleep(100 * time.Millisecond)
				// A handler's own follow-up, sent while the queue closes.
				return q.Send(ctx, body(t, engine.Message{Kind: engine.KindFollowUp, Proposal: "follow-up"}), time.Minute)
			}
			return nil
		})
		_ = q.Send(ctx, body(t, engine.Message{Kind: engine.KindExpire, Proposal: "waiting"}), time.Hour)
		_ = q.Send(ctx, body(t, engine.Message{Kind: engine.KindExecute, Proposal: "running"}), 0)
		<-started
		pending, err := q.Close(ctx)
		if err != nil {
			t.Fatalf("close: %v", err)
		}
		if len(pending) != 2 || pending[0].Proposal != "follow-up" || pending[1].Proposal != "waiting" {
			t.Fatalf("pending = %+v", pending)
		}
		if err := q.Send(ctx, body(t, engine.Message{Kind: engine.KindExecute, Proposal: "late"}), 0); !errors.Is(err, localqueue.ErrClosed) {
			t.Fatalf("send after close: %v", err)
		}
	})
}
