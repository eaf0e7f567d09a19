// Package slack is medic's Slack side: it renders incident cards (Block Kit)
// and the incident reports posted in their threads (RenderReport) from its
// own view model, verifies and decodes Slack interactivity requests
// (Approve, Reject and Undo buttons) arriving over HTTP, a Lambda Function URL
// or Socket Mode, checks whether a user may approve a step (Authorizer), and
// posts and updates messages with bounded rate-limit retries (Client).
//
// The package knows nothing about medic's engine. It declares the small
// interfaces it consumes (Decider, Seen, EphemeralPoster, GroupMembersLister)
// and its own view types (Card, StepView, TimelineEntry); the wiring adapts
// the engine to them.
//
// The flow of a button click:
//
//	Slack -> Handler.ServeHTTP / HandleFunctionURL / RunSocketMode
//	      -> verify signature and timestamp (HTTP doors only)
//	      -> decode block_actions -> drop replays (Seen)
//	      -> Decider.Decide within a deadline -> ephemeral reply when needed
//	      -> 200 within Slack's 3 second budget
//
// Every word a user reads is this package's: the cards, the thread replies
// (SummaryMessage escapes what medic reports) and the ephemeral replies to a
// press, which the Decider answers in facts (Outcome) and ephemeralText
// words. Every text sent to Slack is built by the limit-aware builders of
// blockkit.go, which cut it to Block Kit's limits without breaking a rune, an
// escape or a <…> construct; Message.Check verifies a message against those
// limits. A card that would exceed MaxBlocks collapses its finished steps
// first and keeps the buttons of the steps awaiting a person (up to
// MaxActionableSteps of them).
//
// slack-go's package is imported as slackapi throughout to keep the two
// "slack" packages apart.
package slack
