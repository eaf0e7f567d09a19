package slack

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Seen remembers interaction keys so that a replayed request (the same
// signed body sent again within the signature window) is handled once.
//
// In AWS the wiring backs it with the DynamoDB table
// (slackbridge.StoreSeen: a conditional write with an expiry), so a replay
// is dropped whichever Lambda instance receives it; MemorySeen serves tests
// and the single `medic serve` process. Seen is a first line of defence:
// the engine's conditional vote (distinct users per proposal) already makes
// a double-counted vote impossible, so when Seen fails the handler logs and
// carries on.
type Seen interface {
	// FirstSeen records key for at least ttl and reports whether this is
	// the first time it was recorded (true) or a repeat (false).
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// ReplayTTL is how long the handler asks Seen to remember a key: longer than
// the signature window on both sides, so any request that still verifies is
// still remembered.
const ReplayTTL = 2*DefaultMaxSkew + time.Minute

// ReplayKey is the natural key of one button press: the message it was on,
// the action, the user and Slack's action timestamp. A second click by the
// same user has a new action timestamp and is not a replay (the engine
// decides what it means); a re-sent request has the same key.
func ReplayKey(messageTs, actionID, userID, actionTs string) string {
	return strings.Join([]string{"slack", messageTs, actionID, userID, actionTs}, "|")
}

// MemorySeen is an in-memory Seen with per-key expiry, safe for concurrent
// use. Expired keys are swept on write.
type MemorySeen struct {
	mu   sync.Mutex
	keys map[string]time.Time // key -> expiry
	now  func() time.Time
}

// NewMemorySeen returns an empty MemorySeen using now as its clock
// (time.Now when nil).
func NewMemorySeen(now func() time.Time) *MemorySeen {
	if now == nil {
		now = time.Now
	}
	return &MemorySeen{keys: make(map[string]time.Time), now: now}
}

// FirstSeen implements Seen.
func (m *MemorySeen) FirstSeen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, exp := range m.keys {
		if !now.Before(exp) {
			delete(m.keys, k)
		}
	}
	if _, ok := m.keys[key]; ok {
		return false, nil
	}
	m.keys[key] = now.Add(ttl)
	return true, nil
}

// Len reports how many unexpired keys are held; for tests.
func (m *MemorySeen) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	now := m.now()
	for _, exp := range m.keys {
		if now.Before(exp) {
			n++
		}
	}
	return n
}
