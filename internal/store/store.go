package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors the stores return, for callers to decide with errors.Is.
var (
	// ErrNotFound: no such record (or it has expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a condition of a Tx failed; nothing was written. The
	// error is a *ConflictError naming the record.
	ErrConflict = errors.New("conflict")
	// ErrExists: a record a Tx creates already exists (also ErrConflict).
	ErrExists = errors.New("already exists")
	// ErrInvalid: a Tx asks for something the state machine or the store
	// does not allow; it is a bug in the caller, not a race.
	ErrInvalid = errors.New("invalid transaction")
	// ErrPaused: a Tx with RequireNotPaused found the stored kill switch
	// paused; nothing was written. The error is a *ConflictError of
	// KindSwitch (so also ErrConflict).
	ErrPaused = errors.New("medic is paused")
)

// Record kinds named by ConflictError.
const (
	KindIncident = "incident"
	KindProposal = "proposal"
	KindLock     = "lock"
	KindCooldown = "cooldown"
	KindCounter  = "counter"
	KindSwitch   = "switch"
	KindOwed     = "owed"
)

// ConflictError says which condition of a Tx failed.
type ConflictError struct {
	// Kind is the record kind: KindIncident, KindProposal, KindLock,
	// KindCooldown, KindCounter or KindSwitch.
	Kind string
	// Key is the record's key: incident or proposal ID, lock target,
	// cooldown key, counter key; SwitchKey for the kill switch.
	Key string
	// Exists is true when the Tx tried to create a record that exists.
	Exists bool
	// Transient is true when no condition failed but a concurrent
	// transaction on the same record got in the way; retrying from a fresh
	// read may succeed.
	Transient bool
}

// Error describes the conflict.
func (e *ConflictError) Error() string {
	switch {
	case e.Exists:
		return fmt.Sprintf("%s %s already exists", e.Kind, e.Key)
	case e.Transient:
		return fmt.Sprintf("%s %s: concurrent transaction", e.Kind, e.Key)
	case e.Kind == KindSwitch:
		return "kill switch: medic is paused"
	default:
		return fmt.Sprintf("%s %s: condition failed", e.Kind, e.Key)
	}
}

// Is makes errors.Is(err, ErrConflict) true for every ConflictError,
// errors.Is(err, ErrExists) true for creations and errors.Is(err, ErrPaused)
// true for a failed RequireNotPaused.
func (e *ConflictError) Is(target error) bool {
	switch target {
	case ErrConflict:
		return true
	case ErrExists:
		return e.Exists
	case ErrPaused:
		return e.Kind == KindSwitch && !e.Transient
	}
	return false
}

// SwitchKey is the Key of a ConflictError on the kill switch.
const SwitchKey = "paused"

// Store keeps medic's records. Every change goes through Commit; the reads
// return copies the caller may modify. Expired records (ExpiresAt in the
// past) read as missing.
type Store interface {
	// Commit applies tx atomically (see Tx).
	Commit(ctx context.Context, tx *Tx) error
	// Incident returns one incident.
	Incident(ctx context.Context, id string) (*Incident, error)
	// IncidentsByAlarm returns the incidents of one alarm ARN, oldest
	// state change first.
	IncidentsByAlarm(ctx context.Context, arn string) ([]*Incident, error)
	// Proposal returns one proposal.
	Proposal(ctx context.Context, id string) (*Proposal, error)
	// Proposals returns an incident's proposals ordered by policy, step.
	Proposals(ctx context.Context, incident string) ([]*Proposal, error)
	// Lock returns the lock on target.
	Lock(ctx context.Context, target string) (*Lock, error)
	// Locks returns every lock, for the stale-lease sweep.
	Locks(ctx context.Context) ([]*Lock, error)
	// Cooldown returns the cooldown of a policy on a target; ErrNotFound
	// when there is none or it has passed.
	Cooldown(ctx context.Context, policy, target string) (*Cooldown, error)
	// Counter returns a counter's value (0 when absent).
	Counter(ctx context.Context, key string) (int, error)
	// Switch returns the stored kill switch (zero when never set).
	Switch(ctx context.Context) (*Switch, error)
	// Audit returns matching audit entries in order.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// Owed returns up to limit outbox entries (0: all), oldest first.
	Owed(ctx context.Context, limit int) ([]*Owed, error)
}

// Tx is one atomic change: every condition holds and every write and audit
// entry is applied, or Commit returns an error and nothing is. A Tx touches
// each record at most once. On success Commit increments the Version of
// every incident and proposal written (and assigns audit IDs).
type Tx struct {
	// Now is the time conditions are judged at (lease expiry, cooldowns,
	// record expiry).
	Now       time.Time
	Incidents []IncidentWrite
	Proposals []ProposalWrite
	Locks     []LockWrite
	Cooldowns []CooldownWrite
	Counters  []CounterWrite
	// Switch, when set, replaces the stored kill switch.
	Switch *Switch
	// RequireNotPaused makes the Tx conditional on the stored kill switch
	// being off when it commits: if it is paused, Commit writes nothing and
	// returns a ConflictError of KindSwitch (errors.Is ErrPaused). Claims
	// set it, so that a Pause committed after the claimer last read the
	// switch still stops the claim. It cannot be combined with Switch.
	RequireNotPaused bool
	// Audit entries are appended; Time defaults to Now.
	Audit []AuditEntry
	// Owed adds, updates or deletes outbox entries: the messages the other
	// writes of the Tx owe (see Owed).
	Owed []OwedWrite
}

// IncidentWrite creates an incident (it must not exist, or must have
// expired) or updates one (its stored Version must equal Incident.Version).
type IncidentWrite struct {
	Incident *Incident
	Create   bool
}

// ProposalWrite creates a proposal (it must not exist) or moves it from
// state From (the stored state must be From and the stored Version must
// equal Proposal.Version). From -> Proposal.State must be allowed by the
// state machine.
type ProposalWrite struct {
	Proposal *Proposal
	Create   bool
	From     State
}

// LockOp is what a LockWrite does.
type LockOp int

// The lock operations.
const (
	// LockAcquire takes the lock on Lock.Target for Lock.Holder until
	// Lock.LeaseUntil. It holds if the lock is free, already held by the
	// same holder (the lease is extended) or marked stale.
	LockAcquire LockOp = iota + 1
	// LockRelease frees the lock; it holds only for the current holder.
	LockRelease
	// LockMarkStale marks the lock stale; it holds only for the current
	// holder and once its lease has run out (before Tx.Now).
	LockMarkStale
)

// LockWrite is one lock operation.
type LockWrite struct {
	Op   LockOp
	Lock Lock
}

// CooldownWrite sets a cooldown, or with CheckOnly requires that none is
// running (Until after Tx.Now) for the same policy and target.
type CooldownWrite struct {
	Cooldown  Cooldown
	CheckOnly bool
}

// CounterWrite adds one to a counter, on condition that its value is below
// Limit (0 means no limit). ExpiresAt is when the counter may be deleted.
type CounterWrite struct {
	Key       string
	Limit     int
	ExpiresAt time.Time
}

// Validate checks what can be checked without reading: transitions are
// allowed, each record is touched once, required fields are set. Stores call
// it first; it returns an ErrInvalid error.
func (tx *Tx) Validate() error {
	if tx.Now.IsZero() {
		return fmt.Errorf("%w: Now is not set", ErrInvalid)
	}
	seen := make(map[string]bool)
	once := func(kind, key string) error {
		k := kind + "\x00" + key
		if seen[k] {
			return fmt.Errorf("%w: %s %s written twice", ErrInvalid, kind, key)
		}
		seen[k] = true
		return nil
	}
	for _, w := range tx.Incidents {
		if w.Incident == nil || w.Incident.ID == "" {
			return fmt.Errorf("%w: incident without ID", ErrInvalid)
		}
		if err := once(KindIncident, w.Incident.ID); err != nil {
			return err
		}
	}
	for _, w := range tx.Proposals {
		p := w.Proposal
		if p == nil || p.ID == "" || p.Incident == "" {
			return fmt.Errorf("%w: proposal without ID or incident", ErrInvalid)
		}
		if inc, pol, step, err := ParseProposalID(p.ID); err != nil || inc != p.Incident || pol != p.Policy || step != p.Step {
			return fmt.Errorf("%w: proposal ID %q does not match incident, policy and step", ErrInvalid, p.ID)
		}
		from := w.From
		if w.Create {
			from = StateNew
		}
		if !CanTransition(from, p.State) {
			return fmt.Errorf("%w: proposal %s: %s -> %s is not allowed", ErrInvalid, p.ID, stateName(from), p.State)
		}
		if err := once(KindProposal, p.ID); err != nil {
			return err
		}
	}
	for _, w := range tx.Locks {
		if w.Lock.Target == "" || w.Lock.Holder == "" {
			return fmt.Errorf("%w: lock without target or holder", ErrInvalid)
		}
		if w.Op < LockAcquire || w.Op > LockMarkStale {
			return fmt.Errorf("%w: lock %s: unknown operation %d", ErrInvalid, w.Lock.Target, w.Op)
		}
		if err := once(KindLock, w.Lock.Target); err != nil {
			return err
		}
	}
	for _, w := range tx.Cooldowns {
		if w.Cooldown.Policy == "" || w.Cooldown.Target == "" {
			return fmt.Errorf("%w: cooldown without policy or target", ErrInvalid)
		}
		if err := once(KindCooldown, w.Cooldown.Key()); err != nil {
			return err
		}
	}
	for _, w := range tx.Counters {
		if w.Key == "" {
			return fmt.Errorf("%w: counter without key", ErrInvalid)
		}
		if err := once(KindCounter, w.Key); err != nil {
			return err
		}
	}
	for _, w := range tx.Owed {
		if w.Owed == nil || w.Owed.ID == "" {
			return fmt.Errorf("%w: outbox entry without ID", ErrInvalid)
		}
		if w.Create && w.Delete {
			return fmt.Errorf("%w: outbox entry %s both created and deleted", ErrInvalid, w.Owed.ID)
		}
		if !w.Delete && w.Owed.Kind != OwedQueue && w.Owed.Kind != OwedCard {
			return fmt.Errorf("%w: outbox entry %s: unknown kind %q", ErrInvalid, w.Owed.ID, w.Owed.Kind)
		}
		if err := once(KindOwed, w.Owed.ID); err != nil {
			return err
		}
	}
	if tx.RequireNotPaused && tx.Switch != nil {
		return fmt.Errorf("%w: the kill switch is both written and required off", ErrInvalid)
	}
	for _, a := range tx.Audit {
		if a.Event == "" {
			return fmt.Errorf("%w: audit entry without event", ErrInvalid)
		}
	}
	return nil
}

func stateName(s State) string {
	if s == StateNew {
		return "(new)"
	}
	return string(s)
}

// Committed is called by stores after a successful commit: it increments
// the versions of the written records, as the stored copies now have them.
func (tx *Tx) Committed() {
	for _, w := range tx.Incidents {
		w.Incident.Version++
	}
	for _, w := range tx.Proposals {
		w.Proposal.Version++
	}
	for _, w := range tx.Owed {
		if !w.Delete {
			w.Owed.Version++
		}
	}
}

// AuditTime is the time of an audit entry of tx: its own, or tx.Now.
func (tx *Tx) AuditTime(a AuditEntry) time.Time {
	if a.Time.IsZero() {
		return tx.Now.UTC()
	}
	return a.Time.UTC()
}

// auditIDTime is the sortable, fixed-width time format of audit IDs.
const auditIDTime = "2006-01-02T15:04:05.000000000Z"

// AuditID builds the ordered ID of the i-th audit entry of a Tx committed
// at t. nonce makes it unique across transactions and, where the store has
// a sequence, orders transactions committed at the same instant.
func AuditID(t time.Time, i int, nonce string) string {
	return fmt.Sprintf("%s.%s.%03d", t.UTC().Format(auditIDTime), nonce, i)
}

// SinceAt resolves q.Since against now (see AuditQuery).
func (q AuditQuery) SinceAt(now time.Time) time.Time {
	if q.Since.IsZero() && q.Incident == "" {
		return now.Add(-DefaultAuditWindow)
	}
	return q.Since
}
