package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// MessageKind is what a queue message asks for.
type MessageKind string

// The kinds of queue message.
const (
	// KindExecute: claim and apply an APPROVED proposal.
	KindExecute MessageKind = "execute"
	// KindFollowUp: propose the step after Proposal, if the alarm is still
	// in ALARM.
	KindFollowUp MessageKind = "follow-up"
	// KindExpire: expire Proposal if it is still waiting for approval.
	KindExpire MessageKind = "expire"
	// KindUndo: undo a SUCCEEDED reversible Proposal.
	KindUndo MessageKind = "undo"
	// KindWatch: check whether a SUCCEEDED Proposal still in effect (e.g.
	// maintenance) may end (see Watcher).
	KindWatch MessageKind = "watch"
)

// Message is one unit of deferred work, carried as JSON by the Queue.
type Message struct {
	Kind     MessageKind `json:"kind"`
	Incident string      `json:"incident"`
	Proposal string      `json:"proposal"`
	// NotBefore is when the message may be handled; an earlier delivery is
	// sent back to the queue with the remaining delay.
	NotBefore time.Time `json:"not_before,omitzero"`
	// By is who asked (undo), for the audit trail.
	By string `json:"by,omitempty"`
}

// ParseMessage decodes a queue message body. It returns an
// ErrInvalidMessage error for bodies no retry will fix.
func ParseMessage(body []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	switch m.Kind {
	case KindExecute, KindFollowUp, KindExpire, KindUndo, KindWatch:
	default:
		return Message{}, fmt.Errorf("%w: unknown kind %q", ErrInvalidMessage, m.Kind)
	}
	if m.Proposal == "" {
		return Message{}, fmt.Errorf("%w: %s message without a proposal", ErrInvalidMessage, m.Kind)
	}
	return m, nil
}

// send queues m to be handled after delay.
func (e *Engine) send(ctx context.Context, m Message, delay time.Duration) error {
	delay = max(delay, 0)
	m.NotBefore = e.now().Add(delay)
	if delay == 0 {
		m.NotBefore = time.Time{}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message for %s: %w", m.Kind, m.Proposal, err)
	}
	if err := e.deps.Queue.Send(ctx, body, delay); err != nil {
		return fmt.Errorf("queue %s message for %s: %w", m.Kind, m.Proposal, err)
	}
	return nil
}

// HandleMessage handles one queue message. It is idempotent: a message
// delivered twice finds its proposal past the state it expects and does
// nothing. A message delivered before its NotBefore is queued again for the
// rest of the wait. An error means "deliver it again later"; an
// ErrInvalidMessage error means it never will work.
func (e *Engine) HandleMessage(ctx context.Context, m Message) error {
	if m.Proposal == "" {
		return fmt.Errorf("%w: %s message without a proposal", ErrInvalidMessage, m.Kind)
	}
	if wait := m.NotBefore.Sub(e.now()); wait > 0 {
		return e.send(ctx, m, wait)
	}
	e.log.DebugContext(ctx, "handle message", slog.String("kind", string(m.Kind)), slog.String("proposal", m.Proposal))
	switch m.Kind {
	case KindExecute:
		return e.execute(ctx, m)
	case KindFollowUp:
		return e.followUp(ctx, m)
	case KindExpire:
		return e.expire(ctx, m)
	case KindUndo:
		return e.undo(ctx, m)
	case KindWatch:
		return e.watch(ctx, m)
	}
	return fmt.Errorf("%w: unknown kind %q", ErrInvalidMessage, m.Kind)
}
