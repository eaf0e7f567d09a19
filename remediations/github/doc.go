// Package github implements medic's github.rollback action: roll an
// environment back to the last good deploy when an alarm fires.
//
// GitHub only records deployments; the repository's `on: deployment` (or
// dispatched) workflow does the work. Plan lists the deployments to the
// environment, newest first across pages, and finds the live one (the
// newest whose latest status is success: the bad deploy) and the newest
// earlier deployment of another SHA that reached success (the good one;
// GitHub marks it inactive once superseded). Apply first checks that no
// deployment happened since the plan (else remediations.ErrStalePlan), then
// per strategy:
//
//   - redeploy (default): creates a deployment of the good SHA, its payload
//     naming medic, the incident and both SHAs;
//   - workflow: dispatches the named workflow with the good SHA as an input;
//   - revert-pr: commits the good SHA's tree on top of the branch head, which
//     must still be the bad SHA, on branch medic/revert-<sha> and opens a pull
//     request (optionally enabling auto-merge through GraphQL).
//
// The plan's summary names both SHAs with their authors, messages and ages,
// and links GitHub's compare page of the changes being rolled back.
//
// Undo rolls forward to the SHA rolled back from. For revert-pr it closes a
// still-open revert pull request and deletes its branch; once the revert is
// merged, it opens a roll-forward pull request (branch
// medic/roll-forward-<sha>, same auto-merge option) whose commit has the
// rolled-back SHA's tree on top of the branch head, which must still be the
// revert's merge commit (else ErrHeadMoved: revert the revert on GitHub or
// redeploy instead). SuspectDeploys lists the deploys shortly before an
// alarm; the alarm function looks them up once per incident and stores them
// for the Slack card.
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
