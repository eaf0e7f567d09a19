// Package history exports CloudWatch alarm state changes to a JSON Lines
// file and replays them against policies, so a policy change can be judged
// on the alarms that really fired, not only on fixtures.
//
// # Export
//
// Exporter.Export pages through DescribeAlarmHistory (HistoryItemType
// StateUpdate, StartDate now-Since, EndDate now, MaxRecords per page,
// following NextToken) and keeps one Record per state change: the alarm's
// name, the old and new state, the reason and the reasonData (the
// newState.stateReasonData object of the item's HistoryData JSON string).
// History items carry no ARN and no metrics, so the alarms named are then
// looked up with DescribeAlarms (ARN, description, namespace, metric,
// dimensions, metric-math queries, composite rule) and ListTagsForResource
// (tags), which policies match on. An alarm deleted since has no ARN and no
// metrics in its records: only policies matching on the alarm name can
// match it in a replay, and Result.Warnings says so.
//
// Write and Read use JSON Lines, one Record per line, oldest first; a
// Record's Alarm method rebuilds the alarm.Alarm that the decoders would
// have produced for the state change.
//
// How this is tested: moto 5.2.1 does NOT implement DescribeAlarmHistory (it
// answers HTTP 500). The export is therefore tested against an httptest
// server serving CloudWatch's documented query-protocol XML response for
// DescribeAlarmHistory (NextToken pagination across 3 pages, HistoryData
// JSON strings as AWS sends them), through the real SDK client with the
// awsquery protocol option; the DescribeAlarms and ListTagsForResource
// enrichment is tested against moto (alarms created with PutMetricAlarm).
//
// # Replay
//
// Replay evaluates every record's alarm against a set of policies, in time
// order, applying each policy's guardrails as the engine would: a firing
// starts the policy's cooldown on its target and counts towards its cap for
// the clock hour (max_per_hour, else the engine's default), and what they
// hold back is counted apart. For each policy it reports how many state
// changes it matched, how many it would have fired on and how many the
// cooldown or the cap held back ("3 matched, 1 would have fired, 2 held by
// cooldown"), what it would have done (its first step's action and
// approval mode), how many first-step renders failed, and how many of the
// ALARM transitions it fired on returned to OK by themselves within the
// policy's self-resolve window (see Window): a hint that the policy may act
// on noise. The replay cannot plan, so a target is the first step's action
// and rendered parameters with the alarm's dimensions (see Run).
package history
