// Package github implements medic's github.rollback action: roll an
// environment back to the last good deploy when an alarm fires.
//
// GitHub only records deployments; the repository's `on: deployment` (or
// dispatched) workflow does the work. Plan lists the deployments to the
// environment, newest first across pages, and finds the live one (the
// newest whose latest status is success: the one a rollback replaces) and
// the target, chosen relative to the alarm:
//
//   - The spike is taken to begin at the start of the alarm's evaluation
//     range: (n+1) periods before the alarm's state change, period being
//     the reasonData's (else the longest of the alarm's metrics) and n the
//     number of datapoints CloudWatch evaluated (the reasonData's recent
//     datapoints, at least one): they cover n periods, and CloudWatch
//     changes state after the last one closes. For an alarm without a
//     period (a composite alarm) it is the state change; the range is
//     capped at a week.
//   - Suspects are the deploys created, or first successful, from window
//     (default 60m) before the spike up to the alarm's state change. One
//     rule decides this for Plan and for SuspectDeploys (the Slack card).
//   - The target is the newest earlier deployment of another SHA that
//     reached success (GitHub marks it inactive once superseded), was live
//     before the suspect window began, and whose SHA is no suspect's nor
//     one medic already rolled back from. Without one, Plan fails with
//     ErrNotFound naming the suspects.
//   - A deployment created, or first successful, after the alarm fired (a
//     hotfix, say; medic's own deploys for the same incident aside) sets
//     the plan's Hold, naming it: the engine then proposes the step for a
//     person's approval even when it is an auto step. A plan made without
//     an alarm time holds too.
//
// Apply first checks that no deployment happened since the plan and that
// none newer than the live one has become live since (else
// remediations.ErrStalePlan), then per strategy:
//
//   - redeploy (default): creates a deployment of the good SHA, its payload
//     naming medic, the incident and both SHAs;
//   - workflow: dispatches the named workflow with the good SHA as an input;
//   - revert-pr: commits the good SHA's tree on top of the branch head, which
//     must still be the bad SHA, on branch medic/revert-<sha> and opens a pull
//     request (optionally enabling auto-merge through GraphQL).
//
// The plan's summary names both SHAs with their authors, messages and ages,
// links GitHub's compare page of the changes being rolled back, lists the
// suspects skipped and repeats the Hold.
//
// Undo rolls forward to the SHA rolled back from. For revert-pr it closes a
// still-open revert pull request and deletes its branch; once the revert is
// merged, it opens a roll-forward pull request (branch
// medic/roll-forward-<sha>, same auto-merge option) whose commit has the
// rolled-back SHA's tree on top of the branch head, which must still be the
// revert's merge commit (else ErrHeadMoved: revert the revert on GitHub or
// redeploy instead). SuspectDeploys lists an alarm's suspect deploys; the
// alarm function looks them up once per incident and stores them for the
// Slack card.
//
// The GitHub App (or token) needs metadata: read and contents: read
// throughout; deployments: write for redeploy; actions: write for workflow;
// contents: write and pull_requests: write for revert-pr (auto-merge also
// needs it allowed in the repository settings).
//
// NewClient builds the go-github client from a token or a GitHub App
// installation (ghinstallation), with a RoundTripper that waits out rate
// limits and retries server errors within fixed bounds. API failures come
// back as *APIError wrapping remediations.ErrNotFound, ErrAccessDenied,
// ErrInvalid or this package's ErrTemporary, naming the repository and any
// permission GitHub says is missing.
package github
