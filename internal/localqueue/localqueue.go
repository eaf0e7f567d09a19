// Package localqueue is the in-process work queue of `medic serve`, in
// place of SQS: messages wait in memory for their delay and then run
// through the engine's HandleMessage on a few workers. Close hands back
// what had not run, which the server keeps in a file for its next start.
package localqueue

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/medicbot/medic/internal/engine"
)

// ErrClosed is returned by Queue.Send after Close.
var ErrClosed = errors.New("queue closed")

// Queue is the in-process engine.Queue of `medic serve`: messages wait in
// memory for their delay, then run through the handler on a few workers. A
// handler error retries the message with a growing delay, like SQS
// redelivery, up to MaxAttempts. Close stops taking new work, waits for the
// running handlers (whose own sends are kept) and reports what had not run.
type Queue struct {
	log         *slog.Logger
	workers     int
	maxAttempts int

	mu       sync.Mutex
	items    queueHeap
	seq      int
	handle   func(context.Context, engine.Message) error
	stopping bool
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	running  sync.WaitGroup
	slots    chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
}

type queued struct {
	due      time.Time
	seq      int
	body     []byte
	attempts int
}

type queueHeap []*queued

func (h queueHeap) Len() int { return len(h) }
func (h queueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h queueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *queueHeap) Push(x any)   { *h = append(*h, x.(*queued)) }
func (h *queueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// Options tune a Queue. Zero values take the defaults.
type Options struct {
	// Workers is how many messages run at once (default 4).
	Workers int
	// MaxAttempts is how often a failing message is tried (default 5).
	MaxAttempts int
	// Logger logs dropped messages; slog.Default() by default.
	Logger *slog.Logger
}

// New returns a queue that holds messages until Start.
func New(opts Options) *Queue {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{log: opts.Logger, workers: opts.Workers, maxAttempts: opts.MaxAttempts,
		wake: make(chan struct{}, 1), done: make(chan struct{}), slots: make(chan struct{}, opts.Workers),
		ctx: ctx, cancel: cancel}
}

// Send queues body to run no sooner than delay from now.
func (q *Queue) Send(_ context.Context, body []byte, delay time.Duration) error {
	return q.push(body, delay, 0)
}

func (q *Queue) push(body []byte, delay time.Duration, attempts int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("send to local queue: %w", ErrClosed)
	}
	q.seq++
	heap.Push(&q.items, &queued{due: time.Now().Add(max(delay, 0)), seq: q.seq, body: append([]byte(nil), body...), attempts: attempts})
	q.poke()
	return nil
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Start runs queued messages through handle (usually the engine's
// HandleMessage) until Close. Call it once.
func (q *Queue) Start(handle func(context.Context, engine.Message) error) {
	q.mu.Lock()
	q.handle = handle
	q.mu.Unlock()
	go q.dispatch()
}

func (q *Queue) dispatch() {
	defer close(q.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		if q.stopping {
			q.mu.Unlock()
			return
		}
		var wait time.Duration = time.Hour
		var it *queued
		if len(q.items) > 0 {
			if d := time.Until(q.items[0].due); d <= 0 {
				it = heap.Pop(&q.items).(*queued)
			} else {
				wait = d
			}
		}
		q.mu.Unlock()
		if it != nil {
			select {
			case q.slots <- struct{}{}:
			case <-q.ctx.Done():
				q.requeue(it)
				return
			}
			q.mu.Lock()
			stopping := q.stopping
			q.mu.Unlock()
			if stopping {
				<-q.slots
				q.requeue(it)
				return
			}
			q.running.Add(1)
			go q.run(it)
			continue
		}
		timer.Reset(wait)
		select {
		case <-q.wake:
		case <-timer.C:
		case <-q.ctx.Done():
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (q *Queue) requeue(it *queued) {
	q.mu.Lock()
	heap.Push(&q.items, it)
	q.mu.Unlock()
}

func (q *Queue) run(it *queued) {
	defer func() { <-q.slots; q.running.Done() }()
	m, err := engine.ParseMessage(it.body)
	if err == nil {
		err = q.handle(q.ctx, m)
	}
	if err == nil {
		return
	}
	it.attempts++
	if errors.Is(err, engine.ErrInvalidMessage) || it.attempts >= q.maxAttempts {
		q.log.Error("local queue dropped a message", slog.String("body", string(it.body)), slog.Int("attempts", it.attempts), slog.Any("error", err))
		return
	}
	delay := time.Duration(it.attempts*it.attempts) * time.Second
	if perr := q.push(it.body, delay, it.attempts); perr != nil {
		q.log.Error("local queue lost a message on shutdown", slog.String("body", string(it.body)), slog.Any("error", err))
	}
}

// Close stops dispatching, waits (up to ctx) for running handlers, and
// returns the messages that had not run, for the caller to report. Sends
// from running handlers are kept; sends after Close fail with
// ErrClosed.
func (q *Queue) Close(ctx context.Context) ([]engine.Message, error) {
	q.mu.Lock()
	already := q.stopping
	q.stopping = true
	started := q.handle != nil
	q.mu.Unlock()
	if already {
		return nil, nil
	}
	q.poke()
	if started {
		<-q.done
	}
	waited := make(chan struct{})
	go func() { q.running.Wait(); close(waited) }()
	var err error
	select {
	case <-waited:
	case <-ctx.Done():
		q.cancel() // tell handlers to give up
		err = fmt.Errorf("close local queue: handlers still running: %w", ctx.Err())
	}
	q.mu.Lock()
	q.closed = true
	items := q.items
	q.items = nil
	q.mu.Unlock()
	q.cancel()
	sortQueued(items)
	var pending []engine.Message
	for _, it := range items {
		m, perr := engine.ParseMessage(it.body)
		if perr != nil {
			continue
		}
		pending = append(pending, m)
	}
	return pending, err
}

func sortQueued(items queueHeap) {
	h := append(queueHeap(nil), items...)
	heap.Init(&h)
	for i := range items {
		items[i] = heap.Pop(&h).(*queued)
	}
}

// Len returns how many messages wait.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
