// Package store defines medic's records (incidents, proposals, locks,
// cooldowns, counters, the kill switch and the audit trail), the one Store
// interface the engine writes them through, and the proposal state machine.
//
// Every change is a Tx committed atomically: all of its writes, conditions
// and audit entries apply together or none does. A failed condition is an
// answer, not a fault: Commit returns a *ConflictError (errors.Is
// ErrConflict, and ErrExists for creations) naming the record whose
// condition failed, so the caller can tell "someone else holds the lock"
// from "the cap is reached" from "the proposal moved on". A Tx may also
// require the stored kill switch to be off (Tx.RequireNotPaused), so that a
// claim and a Pause cannot both win; a paused switch fails it with
// ErrPaused.
//
// Two implementations share one conformance suite (storetest.Run): boltstore
// (embedded bbolt file, for `medic serve` and the CLI) and dynamostore (one
// DynamoDB table, for the Lambdas).
package store
