package evidence

import (
	"context"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// LogsAPI is what the logs collector asks CloudWatch Logs;
// *cloudwatchlogs.Client implements it.
type LogsAPI interface {
	StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
	StopQuery(ctx context.Context, in *cloudwatchlogs.StopQueryInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error)
}

// Bounds of a logs query.
const (
	// LogsWindow is the longest time range queried: from the spike's
	// start at best, never more than this before now.
	LogsWindow = 15 * time.Minute
	// MaxLogRows and MaxLogBytes bound what is read of the results;
	// MaxLogMessage bounds one message before it is grouped.
	MaxLogRows    = 1000
	MaxLogBytes   = 256 << 10
	MaxLogMessage = 300
	// logsPoll is how often results are asked for.
	logsPoll = 250 * time.Millisecond
	// logsStop is how long StopQuery may take once the collector's own
	// context has ended.
	logsStop = time.Second
)

// Logs is the logs collector: the policy's Logs Insights query (by default
// the lines that look like errors) over the last LogsWindow, its rows
// grouped by message pattern (numbers, hex and ids folded) and counted.
// A query whose rows already carry a count (stats count(*) by ...) is
// taken as counted.
//
// A query abandoned while it still runs (the budget, or LateLimit for
// GatherLate, ended; polling failed) is stopped with StopQuery, so that it
// does not go on scanning, and costing, in the account. A query that
// finished is never stopped.
type Logs struct {
	api  LogsAPI
	log  *slog.Logger
	poll time.Duration
}

// NewLogs returns the logs collector; it logs a query it could not stop to
// log (slog.Default() when nil).
func NewLogs(api LogsAPI, log *slog.Logger) *Logs {
	if log == nil {
		log = slog.Default()
	}
	return &Logs{api: api, log: log, poll: logsPoll}
}

// Name is "logs".
func (*Logs) Name() string { return "logs" }

// IAM is logs:StartQuery on the log groups, logs:GetQueryResults and
// logs:StopQuery (neither has resource-level permissions).
func (*Logs) IAM() []remediations.IAMPermission {
	return []remediations.IAMPermission{
		{Actions: []string{"logs:StartQuery"}, Resource: "arn:aws:logs:REGION:ACCOUNT:log-group:*"},
		{Actions: []string{"logs:GetQueryResults"}, Resource: "*"},
		{Actions: []string{"logs:StopQuery"}, Resource: "*"},
	}
}

// Collect runs t's logs query.
func (l *Logs) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	if t.Logs == nil || len(t.Logs.Groups) == 0 {
		return nil, missingConfig("the policy has no logs query")
	}
	query := t.Logs.Query
	if query == "" {
		query = policy.DefaultLogsQuery
	}
	end := t.Now
	start := end.Add(-LogsWindow)
	q, err := l.api.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupNames: t.Logs.Groups, QueryString: aws.String(query),
		StartTime: aws.Int64(start.Unix()), EndTime: aws.Int64(end.Unix()), Limit: aws.Int32(MaxLogRows)})
	if err != nil {
		return nil, callFailed("logs:StartQuery", strings.Join(t.Logs.Groups, ","), err)
	}
	for {
		res, err := l.api.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			l.stop(ctx, q.QueryId)
			return nil, callFailed("logs:GetQueryResults", aws.ToString(q.QueryId), err)
		}
		switch res.Status {
		case logtypes.QueryStatusComplete:
			out := group(res.Results)
			out.Groups, out.Start, out.End = t.Logs.Groups, start.UTC(), end.UTC()
			return &store.Evidence{Logs: out}, nil
		case logtypes.QueryStatusFailed, logtypes.QueryStatusCancelled, logtypes.QueryStatusTimeout:
			return nil, callFailed("logs:GetQueryResults", aws.ToString(q.QueryId), errQuery(res.Status))
		}
		select {
		case <-ctx.Done():
			l.stop(ctx, q.QueryId)
			return nil, ctx.Err()
		case <-time.After(l.poll):
		}
	}
}

// stop stops the query id, which is abandoned unfinished, within logsStop
// of ctx ending. A failure changes nothing on the card (the collector is
// missing already): it is logged.
func (l *Logs) stop(ctx context.Context, id *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logsStop)
	defer cancel()
	if _, err := l.api.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: id}); err != nil {
		l.log.WarnContext(ctx, "logs query left running", slog.String("query", aws.ToString(id)),
			slog.Any("error", callFailed("logs:StopQuery", aws.ToString(id), err)))
	}
}

type errQuery logtypes.QueryStatus

func (e errQuery) Error() string { return "the query ended " + string(e) }

// group counts rows by pattern, within the bounds.
func group(rows [][]logtypes.ResultField) *store.Logs {
	out := &store.Logs{Rows: len(rows)}
	counts := map[string]int{}
	bytes := 0
	for i, row := range rows {
		if i == MaxLogRows || bytes > MaxLogBytes {
			out.Truncated = true
			break
		}
		var msg string
		n := 1
		var rest []string
		for _, f := range row {
			name, value := aws.ToString(f.Field), aws.ToString(f.Value)
			bytes += len(value)
			switch {
			case name == "@message":
				msg = value
			case name == "count(*)" || name == "count":
				if c, ok := atoi(value); ok {
					n = c
				}
			case !strings.HasPrefix(name, "@"):
				rest = append(rest, value)
			}
		}
		if msg == "" {
			msg = strings.Join(rest, " ")
		}
		if msg == "" {
			continue
		}
		counts[Fold(msg)] += n
	}
	for p, n := range counts {
		out.Patterns = append(out.Patterns, store.PatternCount{Pattern: p, Count: n})
	}
	sort.Slice(out.Patterns, func(i, j int) bool {
		if out.Patterns[i].Count != out.Patterns[j].Count {
			return out.Patterns[i].Count > out.Patterns[j].Count
		}
		return out.Patterns[i].Pattern < out.Patterns[j].Pattern
	})
	return out
}

var (
	uuidRE   = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	hexRE    = regexp.MustCompile(`\b(0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b`)
	numberRE = regexp.MustCompile(`\d+(\.\d+)?`)
	quoteRE  = regexp.MustCompile(`"[^"]*"`)
	spaceRE  = regexp.MustCompile(`\s+`)
	stampRE  = regexp.MustCompile(`^\S*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\S*\s*`)
)

// Fold reduces a log message to its pattern: a leading timestamp dropped,
// ids, hex, numbers and quoted strings replaced, spaces collapsed, cut
// to MaxLogMessage bytes.
func Fold(msg string) string {
	if len(msg) > 4*MaxLogMessage {
		msg = msg[:4*MaxLogMessage]
	}
	msg = stampRE.ReplaceAllString(strings.TrimSpace(msg), "")
	msg = uuidRE.ReplaceAllString(msg, "<id>")
	msg = quoteRE.ReplaceAllString(msg, `"…"`)
	msg = hexRE.ReplaceAllString(msg, "<hex>")
	msg = numberRE.ReplaceAllString(msg, "N")
	msg = spaceRE.ReplaceAllString(msg, " ")
	if len(msg) > MaxLogMessage {
		msg = strings.ToValidUTF8(msg[:MaxLogMessage], "") + "…"
	}
	return msg
}

func atoi(s string) (int, bool) {
	n := 0
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
