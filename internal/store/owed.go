package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// OwedKind says what an owed message is.
type OwedKind string

// The kinds of owed message.
const (
	// OwedQueue is a work message for the queue (an engine.Message).
	OwedQueue OwedKind = "queue"
	// OwedCard is a card post or update (an engine notice).
	OwedCard OwedKind = "card"
)

// Owed is one message medic owes somebody: a queue message (execute,
// follow-up, expire, undo) or a card to post or update. It is written in the
// same Tx as the record change that owes it (the outbox), so a change is
// never committed without its message; a relay sends it and deletes it. A
// message may be sent twice (a relay dies between sending and deleting);
// never not at all.
type Owed struct {
	// ID orders the outbox: creation time, then order within the Tx (see
	// NewOwedID).
	ID       string   `json:"id"`
	Kind     OwedKind `json:"kind"`
	Incident string   `json:"incident,omitempty"`
	Proposal string   `json:"proposal,omitempty"`
	// Body is the message itself, as its sender encodes it.
	Body json.RawMessage `json:"body"`
	// DueAt is when the message is due (a delayed queue message keeps its
	// due time however late it is relayed); zero means now.
	DueAt     time.Time `json:"due_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	// NextAttemptAt is when a relay may next try it: a little after
	// CreatedAt (the writer sends it straight away and deletes it), and
	// later after each failure (backoff) or while a relay holds it.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// Attempts counts failed sends; LastError is the last failure.
	Attempts  int    `json:"attempts,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// AlertedAt is when operators were told this message is stuck.
	AlertedAt time.Time `json:"alerted_at,omitzero"`
	// Version counts the entry's writes; updates are conditional on it.
	Version int64 `json:"version"`
}

// NewOwedID returns a new outbox entry ID for a message owed at t: sortable
// by time, then by i (which orders the entries of one Tx), unique by a
// random nonce.
func NewOwedID(t time.Time, i int) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s.%03d.%s", t.UTC().Format(auditIDTime), i, hex.EncodeToString(b[:]))
}

// OwedWrite adds an outbox entry (Create), or updates one (its stored
// Version must equal Owed.Version; it must still exist), or with Delete
// removes one (sent; deleting a missing entry is no error).
type OwedWrite struct {
	Owed   *Owed
	Create bool
	Delete bool
}
