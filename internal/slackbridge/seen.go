package slackbridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/store"
)

// StoreSeen is a slack.Seen kept in the store, so that a replayed Slack
// request is dropped whichever Lambda instance (or process) receives it, not
// only by the instance that handled the original. Each key is a counter that
// may be incremented once (store.CounterWrite with Limit 1): the first
// commit wins, every later one fails its condition. The counter expires
// with the ttl the handler asks for (slack.ReplayTTL, longer than the
// signature window), and DynamoDB's TTL deletes it; a replay arriving after
// that no longer passes the signature check. No audit entry is written.
type StoreSeen struct {
	store store.Store
	now   func() time.Time
}

var _ slack.Seen = (*StoreSeen)(nil)

// NewStoreSeen returns a StoreSeen on st using now as its clock (time.Now
// when nil).
func NewStoreSeen(st store.Store, now func() time.Time) *StoreSeen {
	if now == nil {
		now = time.Now
	}
	return &StoreSeen{store: st, now: now}
}

// SeenKey is the counter key StoreSeen records a replay key under.
func SeenKey(key string) string { return "slack-seen#" + key }

// FirstSeen implements slack.Seen. A conflict on the key (already
// recorded, or being recorded by a concurrent delivery of the same request)
// means "seen"; any other failure is returned, and the handler carries on
// (the engine's conditional votes still count each approver once).
func (s *StoreSeen) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := s.now()
	err := s.store.Commit(ctx, &store.Tx{Now: now, Counters: []store.CounterWrite{{
		Key: SeenKey(key), Limit: 1, ExpiresAt: now.Add(ttl),
	}}})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrConflict):
		return false, nil
	}
	return false, fmt.Errorf("record slack interaction %s: %w", key, err)
}
