// Package policydiff tells what a change to the policies does, for the
// review of a policy pull request (`medic policy diff`).
//
// Compare takes two versions of the policies (Repo.FS reads one at a git
// commit with `git ls-tree` and `git show`), the alarms of both versions'
// fixtures (FixtureSamples, UnionSamples) and, optionally, recorded alarm
// state changes (internal/history), and reports:
//
//   - changes that widen automation, listed first: a step becoming auto
//     (from required or shadow), a shadow step becoming required, a new
//     auto step, a new or re-enabled policy with an auto step, a higher
//     max_per_hour (no max_per_hour counting as the engine's default,
//     policy.DefaultMaxPerHour), a shorter cooldown, an auto step's shorter
//     after, an auto step's parameter that lets its action do more (one
//     its schema marks Widens, such as ecs.scale's max, add, set, factor
//     and min or github.rollback's window and auto_merge, going up, turning
//     on or newly given; or one it marks WidensDown, such as
//     waf.rate_limit's limit, going down: a lower limit tightens the
//     throttle, a higher one loosens it; a changed template is flagged for
//     review), a
//     removed approver, a lower quorum, on_recovery: undo added, and a
//     broader match (a constraint removed, a pattern added or changed,
//     another state); and every alarm that head would handle automatically
//     where base did not;
//   - the alarms whose matches, first actions or approval modes differ;
//   - the policies added, removed and changed, field by field, defaults
//     applied (writing out a default is no change);
//   - with a history, the replay of every recorded state change under both
//     versions (history.Run).
//
// Report.Markdown renders it deterministically (everything sorted), and
// Report.BehaviourChanged says whether anything but wording changed.
//
// Widening is judged on the compiled policies, conservatively: a changed
// glob is flagged unless it is the same text, because whether one glob
// matches a subset of another is not decided here; the alarm evaluation
// shows what the change does to the alarms at hand.
package policydiff
