// Package testfakes holds the fakes the engine's tests and the tests of the
// packages around it share: a clock moved by hand and a queue that keeps the
// engine's messages, due on that clock, until the test takes them. It is
// for tests only.
package testfakes

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/medicbot/medic/internal/engine"
)

// Clock is a fake engine.Clock tests move by hand. Each reading ticks it by
// a microsecond, as a real clock would move between two transactions, so
// audit entries keep their order.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at the current second.
func NewClock() *Clock { return &Clock{t: time.Now().UTC().Truncate(time.Second)} }

// Now returns the clock's time and ticks it a microsecond.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Queue is an in-memory engine.Queue: it keeps each message with its due
// time on the clock until the test takes it.
type Queue struct {
	// Clock is the clock delays run on; set it before the first Send.
	Clock *Clock

	mu      sync.Mutex
	waiting []Queued
	sent    []engine.Message // every message ever sent
}

// Queued is a message waiting in a Queue.
type Queued struct {
	Msg engine.Message
	Due time.Time
}

// NewQueue returns an empty queue whose delays run on clock.
func NewQueue(clock *Clock) *Queue { return &Queue{Clock: clock} }

// Send decodes body (an engine.Message) and keeps it until delay from now.
func (q *Queue) Send(_ context.Context, body []byte, delay time.Duration) error {
	m, err := engine.ParseMessage(body)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, Queued{Msg: m, Due: q.Clock.Now().Add(delay)})
	q.sent = append(q.sent, m)
	return nil
}

// Put queues m again, due at due (a redelivery); it does not count as sent.
func (q *Queue) Put(m engine.Message, due time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, Queued{Msg: m, Due: due})
}

// Take removes and returns the messages due now, in the order sent.
func (q *Queue) Take() []engine.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.Clock.Now()
	var due []engine.Message
	rest := q.waiting[:0]
	for _, w := range q.waiting {
		if !w.Due.After(now) {
			due = append(due, w.Msg)
		} else {
			rest = append(rest, w)
		}
	}
	q.waiting = rest
	return due
}

// Waiting returns a copy of the messages not taken yet.
func (q *Queue) Waiting() []Queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.waiting)
}

// Next returns the earliest due time of a waiting message.
func (q *Queue) Next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		return time.Time{}, false
	}
	sort.SliceStable(q.waiting, func(i, j int) bool { return q.waiting[i].Due.Before(q.waiting[j].Due) })
	return q.waiting[0].Due, true
}

// Kinds lists the kind of every message ever sent, in order.
func (q *Queue) Kinds() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.sent {
		out = append(out, string(m.Kind))
	}
	return out
}

// Count counts the messages of kind ever sent.
func (q *Queue) Count(kind engine.MessageKind) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.sent {
		if m.Kind == kind {
			n++
		}
	}
	return n
}
