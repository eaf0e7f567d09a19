// Package boltstore is medic's embedded store: one bbolt file, used by
// `medic serve` and the CLI. Each Commit is one bbolt read-write
// transaction, so a transition, its lock and counter changes and its audit
// entries are written together or not at all.
package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/medicbot/medic/internal/store"
)

var (
	bucketIncidents = []byte("incidents")
	bucketAlarms    = []byte("alarms") // arn \x00 timestamp \x00 incident -> incident
	bucketProposals = []byte("proposals")
	bucketLocks     = []byte("locks")
	bucketCooldowns = []byte("cooldowns")
	bucketCounters  = []byte("counters")
	bucketMeta      = []byte("meta")
	bucketAudit     = []byte("audit")     // audit ID -> entry
	bucketAuditInc  = []byte("audit_inc") // incident \x00 audit ID -> nil
	bucketOwed      = []byte("owed")      // outbox entry ID -> entry
	keySwitch       = []byte("switch")
	allBuckets      = [][]byte{bucketIncidents, bucketAlarms, bucketProposals, bucketLocks, bucketCooldowns, bucketCounters, bucketMeta, bucketAudit, bucketAuditInc, bucketOwed}
)

// Options tune the store.
type Options struct {
	// NoSync skips fsync after each commit: much faster, and a crash may
	// lose the last commits. For benchmarks and throwaway demos only.
	NoSync bool
	// Now is the clock used to hide expired records; time.Now by default.
	Now func() time.Time
	// Timeout bounds waiting for the file lock held by another process.
	Timeout time.Duration
	// BatchDelay, when set, lets concurrent commits share one bbolt
	// transaction and one fsync: a commit waits up to BatchDelay for others
	// to join it. Worth it under an alarm storm (`medic serve`); leave it 0
	// for one-at-a-time use like the CLI.
	BatchDelay time.Duration
}

// Store is a bbolt-backed store.Store.
type Store struct {
	db    *bolt.DB
	now   func() time.Time
	batch bool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in the bbolt file at path.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create buckets in %s: %w", path, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.BatchDelay > 0 {
		db.MaxBatchDelay = opts.BatchDelay
	}
	return &Store{db: db, now: now, batch: opts.BatchDelay > 0}, nil
}

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

type counterRecord struct {
	N         int       `json:"n"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Commit applies tx in one bbolt transaction: every condition is checked
// before anything is written.
func (s *Store) Commit(ctx context.Context, tx *store.Tx) error {
	if err := tx.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	var conflict error
	fn := func(btx *bolt.Tx) error {
		// Batch may run fn again after another batched fn failed, so it
		// starts from scratch each time.
		conflict = check(btx, tx)
		if conflict != nil {
			return nil // nothing written; the conflict is the answer
		}
		return write(btx, tx)
	}
	var err error
	if s.batch {
		err = s.db.Batch(fn)
	} else {
		err = s.db.Update(fn)
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if conflict != nil {
		return conflict
	}
	tx.Committed()
	return nil
}

func check(btx *bolt.Tx, tx *store.Tx) error {
	now := tx.Now
	for _, w := range tx.Incidents {
		var cur store.Incident
		found, err := get(btx, bucketIncidents, w.Incident.ID, &cur)
		if err != nil {
			return err
		}
		if found && !cur.ExpiresAt.IsZero() && cur.ExpiresAt.Before(now) {
			found = false
		}
		switch {
		case w.Create && found:
			return &store.ConflictError{Kind: store.KindIncident, Key: w.Incident.ID, Exists: true}
		case !w.Create && (!found || cur.Version != w.Incident.Version):
			return &store.ConflictError{Kind: store.KindIncident, Key: w.Incident.ID}
		}
	}
	for _, w := range tx.Proposals {
		var cur store.Proposal
		found, err := get(btx, bucketProposals, w.Proposal.ID, &cur)
		if err != nil {
			return err
		}
		if found && w.Create && expired(cur.RecordExpiresAt, now) {
			found = false
		}
		switch {
		case w.Create && found:
			return &store.ConflictError{Kind: store.KindProposal, Key: w.Proposal.ID, Exists: true}
		case !w.Create && (!found || cur.State != w.From || cur.Version != w.Proposal.Version):
			return &store.ConflictError{Kind: store.KindProposal, Key: w.Proposal.ID}
		}
	}
	for _, w := range tx.Locks {
		var cur store.Lock
		found, err := get(btx, bucketLocks, w.Lock.Target, &cur)
		if err != nil {
			return err
		}
		ok := false
		switch w.Op {
		case store.LockAcquire:
			ok = !found || cur.Holder == w.Lock.Holder || cur.Stale
		case store.LockRelease:
			ok = found && cur.Holder == w.Lock.Holder
		case store.LockMarkStale:
			ok = found && cur.Holder == w.Lock.Holder && cur.LeaseUntil.Before(now)
		}
		if !ok {
			return &store.ConflictError{Kind: store.KindLock, Key: w.Lock.Target}
		}
	}
	for _, w := range tx.Cooldowns {
		if !w.CheckOnly {
			continue
		}
		var cur store.Cooldown
		found, err := get(btx, bucketCooldowns, w.Cooldown.Key(), &cur)
		if err != nil {
			return err
		}
		if found && cur.Until.After(now) {
			return &store.ConflictError{Kind: store.KindCooldown, Key: w.Cooldown.Key()}
		}
	}
	for _, w := range tx.Counters {
		if w.Limit <= 0 {
			continue
		}
		var cur counterRecord
		if _, err := get(btx, bucketCounters, w.Key, &cur); err != nil {
			return err
		}
		if cur.N >= w.Limit {
			return &store.ConflictError{Kind: store.KindCounter, Key: w.Key}
		}
	}
	for _, w := range tx.Owed {
		if w.Delete {
			continue
		}
		var cur store.Owed
		found, err := get(btx, bucketOwed, w.Owed.ID, &cur)
		if err != nil {
			return err
		}
		switch {
		case w.Create && found:
			return &store.ConflictError{Kind: store.KindOwed, Key: w.Owed.ID, Exists: true}
		case !w.Create && (!found || cur.Version != w.Owed.Version):
			return &store.ConflictError{Kind: store.KindOwed, Key: w.Owed.ID}
		}
	}
	if tx.RequireNotPaused {
		// Read in the same read-write transaction as the writes: a Pause
		// commits before or after it, never in between.
		var sw store.Switch
		if _, err := get(btx, bucketMeta, string(keySwitch), &sw); err != nil {
			return err
		}
		if sw.Paused {
			return &store.ConflictError{Kind: store.KindSwitch, Key: store.SwitchKey}
		}
	}
	return nil
}

func write(btx *bolt.Tx, tx *store.Tx) error {
	for _, w := range tx.Incidents {
		inc := *w.Incident
		inc.Version++
		if err := put(btx, bucketIncidents, inc.ID, &inc); err != nil {
			return err
		}
		if w.Create {
			k := alarmKey(inc.Alarm.ARN, inc.Alarm.Timestamp, inc.ID)
			if err := btx.Bucket(bucketAlarms).Put(k, []byte(inc.ID)); err != nil {
				return err
			}
		}
	}
	for _, w := range tx.Proposals {
		p := *w.Proposal
		p.Version++
		if err := put(btx, bucketProposals, p.ID, &p); err != nil {
			return err
		}
	}
	for _, w := range tx.Locks {
		switch w.Op {
		case store.LockAcquire:
			l := w.Lock
			l.Stale = false
			if l.AcquiredAt.IsZero() {
				l.AcquiredAt = tx.Now
			}
			if err := put(btx, bucketLocks, l.Target, &l); err != nil {
				return err
			}
		case store.LockRelease:
			if err := btx.Bucket(bucketLocks).Delete([]byte(w.Lock.Target)); err != nil {
				return err
			}
		case store.LockMarkStale:
			var cur store.Lock
			if _, err := get(btx, bucketLocks, w.Lock.Target, &cur); err != nil {
				return err
			}
			cur.Stale = true
			if err := put(btx, bucketLocks, cur.Target, &cur); err != nil {
				return err
			}
		}
	}
	for _, w := range tx.Cooldowns {
		if w.CheckOnly {
			continue
		}
		c := w.Cooldown
		if err := put(btx, bucketCooldowns, c.Key(), &c); err != nil {
			return err
		}
	}
	for _, w := range tx.Counters {
		var cur counterRecord
		if _, err := get(btx, bucketCounters, w.Key, &cur); err != nil {
			return err
		}
		cur.N++
		cur.ExpiresAt = w.ExpiresAt
		if err := put(btx, bucketCounters, w.Key, &cur); err != nil {
			return err
		}
	}
	if tx.Switch != nil {
		if err := put(btx, bucketMeta, string(keySwitch), tx.Switch); err != nil {
			return err
		}
	}
	for _, w := range tx.Owed {
		if w.Delete {
			if err := btx.Bucket(bucketOwed).Delete([]byte(w.Owed.ID)); err != nil {
				return err
			}
			continue
		}
		o := *w.Owed
		o.Version++
		if err := put(btx, bucketOwed, o.ID, &o); err != nil {
			return err
		}
	}
	seq, err := btx.Bucket(bucketAudit).NextSequence()
	if err != nil {
		return err
	}
	nonce := fmt.Sprintf("%016x", seq)
	for i, a := range tx.Audit {
		a.Time = tx.AuditTime(a)
		a.ID = store.AuditID(a.Time, i, nonce)
		if err := put(btx, bucketAudit, a.ID, &a); err != nil {
			return err
		}
		if a.Incident != "" {
			if err := btx.Bucket(bucketAuditInc).Put([]byte(a.Incident+"\x00"+a.ID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func alarmKey(arn string, ts time.Time, id string) []byte {
	return []byte(arn + "\x00" + ts.UTC().Format("2006-01-02T15:04:05.000000000Z") + "\x00" + id)
}

func get(btx *bolt.Tx, bucket []byte, key string, v any) (bool, error) {
	raw := btx.Bucket(bucket).Get([]byte(key))
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("decode %s %q: %w", bucket, key, err)
	}
	return true, nil
}

func put(btx *bolt.Tx, bucket []byte, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", bucket, key, err)
	}
	return btx.Bucket(bucket).Put([]byte(key), raw)
}

// view reads one record; ErrNotFound when absent.
func (s *Store) view(ctx context.Context, what string, bucket []byte, key string, v any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read %s %s: %w", what, key, err)
	}
	var found bool
	err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		found, err = get(btx, bucket, key, v)
		return err
	})
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, key, err)
	}
	if !found {
		return fmt.Errorf("read %s %s: %w", what, key, store.ErrNotFound)
	}
	return nil
}

// Incident returns one incident.
func (s *Store) Incident(ctx context.Context, id string) (*store.Incident, error) {
	var inc store.Incident
	if err := s.view(ctx, "incident", bucketIncidents, id, &inc); err != nil {
		return nil, err
	}
	if expired(inc.ExpiresAt, s.now()) {
		return nil, fmt.Errorf("read incident %s: %w", id, store.ErrNotFound)
	}
	return &inc, nil
}

func expired(at, now time.Time) bool { return !at.IsZero() && at.Before(now) }

// IncidentsByAlarm returns one alarm's incidents, oldest state change first.
func (s *Store) IncidentsByAlarm(ctx context.Context, arn string) ([]*store.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list incidents of %s: %w", arn, err)
	}
	now := s.now()
	var out []*store.Incident
	err := s.db.View(func(btx *bolt.Tx) error {
		prefix := []byte(arn + "\x00")
		c := btx.Bucket(bucketAlarms).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var inc store.Incident
			found, err := get(btx, bucketIncidents, string(v), &inc)
			if err != nil {
				return err
			}
			if found && !expired(inc.ExpiresAt, now) {
				out = append(out, &inc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents of %s: %w", arn, err)
	}
	return out, nil
}

// Proposal returns one proposal.
func (s *Store) Proposal(ctx context.Context, id string) (*store.Proposal, error) {
	var p store.Proposal
	if err := s.view(ctx, "proposal", bucketProposals, id, &p); err != nil {
		return nil, err
	}
	if expired(p.RecordExpiresAt, s.now()) {
		return nil, fmt.Errorf("read proposal %s: %w", id, store.ErrNotFound)
	}
	return &p, nil
}

// Proposals returns an incident's proposals ordered by policy and step.
func (s *Store) Proposals(ctx context.Context, incident string) ([]*store.Proposal, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list proposals of %s: %w", incident, err)
	}
	now := s.now()
	var out []*store.Proposal
	err := s.db.View(func(btx *bolt.Tx) error {
		prefix := []byte(incident + "/")
		c := btx.Bucket(bucketProposals).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p store.Proposal
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode proposal %q: %w", k, err)
			}
			if !expired(p.RecordExpiresAt, now) {
				out = append(out, &p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list proposals of %s: %w", incident, err)
	}
	store.SortProposals(out)
	return out, nil
}

// Lock returns the lock on target.
func (s *Store) Lock(ctx context.Context, target string) (*store.Lock, error) {
	var l store.Lock
	if err := s.view(ctx, "lock", bucketLocks, target, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Locks returns every lock.
func (s *Store) Locks(ctx context.Context) ([]*store.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	var out []*store.Lock
	err := s.db.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketLocks).ForEach(func(k, v []byte) error {
			var l store.Lock
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("decode lock %q: %w", k, err)
			}
			out = append(out, &l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	return out, nil
}

// Cooldown returns a running cooldown.
func (s *Store) Cooldown(ctx context.Context, policyName, target string) (*store.Cooldown, error) {
	key := store.Cooldown{Policy: policyName, Target: target}.Key()
	var c store.Cooldown
	if err := s.view(ctx, "cooldown", bucketCooldowns, key, &c); err != nil {
		return nil, err
	}
	if !c.Until.After(s.now()) {
		return nil, fmt.Errorf("read cooldown %s: %w", key, store.ErrNotFound)
	}
	return &c, nil
}

// Counter returns a counter's value.
func (s *Store) Counter(ctx context.Context, key string) (int, error) {
	var c counterRecord
	err := s.view(ctx, "counter", bucketCounters, key, &c)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if expired(c.ExpiresAt, s.now()) {
		return 0, nil
	}
	return c.N, nil
}

// Switch returns the stored kill switch.
func (s *Store) Switch(ctx context.Context) (*store.Switch, error) {
	var sw store.Switch
	err := s.view(ctx, "kill switch", bucketMeta, string(keySwitch), &sw)
	if errors.Is(err, store.ErrNotFound) {
		return &store.Switch{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &sw, nil
}

// Audit returns matching audit entries, oldest first.
func (s *Store) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	since := q.SinceAt(s.now())
	var out []store.AuditEntry
	err := s.db.View(func(btx *bolt.Tx) error {
		audit := btx.Bucket(bucketAudit)
		add := func(raw []byte) error {
			var a store.AuditEntry
			if err := json.Unmarshal(raw, &a); err != nil {
				return fmt.Errorf("decode audit entry: %w", err)
			}
			if !a.Time.Before(since) {
				out = append(out, a)
			}
			return nil
		}
		if q.Incident != "" {
			prefix := []byte(q.Incident + "\x00")
			c := btx.Bucket(bucketAuditInc).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if raw := audit.Get(k[len(prefix):]); raw != nil {
					if err := add(raw); err != nil {
						return err
					}
				}
			}
			return nil
		}
		c := audit.Cursor()
		start := []byte(since.UTC().Format("2006-01-02T15:04:05.000000000Z"))
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			if err := add(v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Owed returns up to limit outbox entries (0: all), oldest first.
func (s *Store) Owed(ctx context.Context, limit int) ([]*store.Owed, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list owed messages: %w", err)
	}
	var out []*store.Owed
	err := s.db.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketOwed).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var o store.Owed
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode owed message %q: %w", k, err)
			}
			out = append(out, &o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list owed messages: %w", err)
	}
	return out, nil
}
