// Package wiring builds medic once for every door: the three Lambdas and
// `medic serve` call Build and get the same engine, store, queue, Slack and
// remediations, chosen by configuration (DynamoDB and SQS in AWS, bbolt and
// an in-process queue locally). It is the one place that builds clients:
// the CLI's commands get theirs here too (Registry for simulate --plan,
// PolicyChecker for policy check, BuildControl for pause, resume and audit).
package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/accounts"
	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/localqueue"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slackbridge"
	"github.com/medicbot/medic/internal/sqsqueue"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/policies"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/alb"
	"github.com/medicbot/medic/remediations/github"
)

// Options choose what Build builds beyond the configuration.
type Options struct {
	// Policies is where the policies are read from; the embedded policies
	// when nil.
	Policies fs.FS
	// DryRun plans and posts everything but applies nothing.
	DryRun bool
	// Logger receives structured logs; slog.Default() when nil.
	Logger *slog.Logger
	// Clock overrides the engine's clock (tests).
	Clock engine.Clock
	// StoreBatchDelay lets the embedded store batch concurrent commits into
	// one fsync (a long-running server wants ~2ms; a CLI command wants 0).
	StoreBatchDelay time.Duration
	// StoreTimeout bounds the wait for the embedded store's file lock
	// (another process holding it); 0 means the store's default (5 s).
	StoreTimeout time.Duration
	// Metrics receives medic's own metrics in CloudWatch's embedded metric
	// format (the Lambdas' stdout); nil emits none.
	Metrics io.Writer
	// LocalApprover, set only by `medic serve --local-approvals USER` (never
	// in the Lambdas), is the one user who may approve without Slack: when
	// no SLACK_BOT_TOKEN is set, the engine's authorizer allows exactly
	// this user for every step. With Slack, Slack's authorizer decides.
	LocalApprover string
	// Intake is set for the doors that take alarms (the alarm function,
	// `medic serve`): their engine looks up each new incident's suspect
	// deploys on GitHub, once, and stores them on the incident. The other
	// doors (the Slack function, the executor) render cards from the
	// records and never look deploys up.
	Intake bool
	// Collectors replaces the evidence collectors an Intake engine runs
	// (tests: a local fake for a call the emulator lacks); nil means
	// Collectors(awsCfg, emulator, log).
	Collectors []evidence.Collector
}

// App is medic, built.
type App struct {
	Config   *config.Config
	Engine   *engine.Engine
	Policies *policy.Set
	Actions  *remediations.Registry
	Store    store.Store
	// Queue is the work queue; LocalQueue is set when it is in-process (the
	// caller starts it with Engine.HandleMessage and closes it).
	Queue      engine.Queue
	LocalQueue *localqueue.Queue
	// Slack is the interactivity handler; nil without a signing secret
	// (and without a bot token, in which case cards are only logged).
	Slack       *slack.Handler
	SlackAPI    *slackapi.Client
	SlackClient *slack.Client

	closers []func() error
}

// Close releases what Build opened (the embedded store).
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

// AWSConfig loads the AWS configuration from the environment (region,
// credentials, AWS_ENDPOINT_URL). The SDK's own log lines (such as
// "WARN falling back to IMDSv1" when no credentials are configured) are
// dropped: medic's errors say what failed.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(logging.Nop{}))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// ErrNoCredentials is what CheckCredentials wraps when no AWS credentials
// can be found.
var ErrNoCredentials = errors.New("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
	"or run where an instance or task role exists; until then every plan fails")

// CheckCredentials reports, within a few seconds, whether awsCfg yields
// credentials (it does not check them against AWS).
func CheckCredentials(ctx context.Context, awsCfg aws.Config) error {
	if awsCfg.Credentials == nil {
		return ErrNoCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("%w (%v)", ErrNoCredentials, err)
	}
	return nil
}

// Secrets returns the Secrets Manager client configuration needs.
func Secrets(awsCfg aws.Config) *secretsmanager.Client { return secretsmanager.NewFromConfig(awsCfg) }

// Build wires medic from cfg.
func Build(ctx context.Context, cfg *config.Config, awsCfg aws.Config, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	app := &App{Config: cfg}
	fail := func(err error) (*App, error) {
		_ = app.Close()
		return nil, err
	}

	// Remediations, built once.
	gh, err := GitHub(cfg)
	if err != nil {
		return fail(err)
	}
	rem, err := Remediations(cfg, awsCfg, gh)
	if err != nil {
		return fail(err)
	}
	reg := rem.Registry
	app.Actions = reg

	// Policies: what is merged is what runs.
	src := opts.Policies
	if src == nil {
		src = policies.FS
	}
	set, err := policy.Load(src, reg)
	if err != nil {
		return fail(fmt.Errorf("load policies: %w", err))
	}
	app.Policies = set

	// Store.
	if cfg.Table != "" {
		app.Store = dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, dynamostore.Options{})
	} else {
		bs, err := boltstore.Open(cfg.StorePath, boltstore.Options{BatchDelay: opts.StoreBatchDelay, Timeout: opts.StoreTimeout})
		if err != nil {
			return fail(err)
		}
		app.Store = bs
		app.closers = append(app.closers, bs.Close)
	}

	// Queue.
	if cfg.QueueURL != "" {
		app.Queue = sqsqueue.New(sqs.NewFromConfig(awsCfg), cfg.QueueURL)
	} else {
		app.LocalQueue = localqueue.New(localqueue.Options{Logger: log})
		app.Queue = app.LocalQueue
	}

	// Slack.
	var (
		notifier   engine.Notifier
		authorizer engine.Authorizer
	)
	if cfg.SlackBotToken != "" {
		app.SlackAPI = slackapi.New(cfg.SlackBotToken.Value(), slackapi.OptionAPIURL(cfg.SlackAPIURL))
		app.SlackClient = slack.NewClient(app.SlackAPI)
		notifier = slackbridge.NewNotifier(app.SlackClient, set, cfg.SlackChannel)
		authorizer = slack.NewAuthorizer(app.SlackAPI)
	} else {
		notifier = logNotifier{log: log}
		if opts.LocalApprover != "" {
			authorizer = localAuthorizer{user: opts.LocalApprover}
			log.WarnContext(ctx, "no SLACK_BOT_TOKEN: incident cards are logged, not posted; only "+opts.LocalApprover+" may approve, from the console")
		} else {
			log.WarnContext(ctx, "no SLACK_BOT_TOKEN: incident cards are logged, not posted, and nobody can approve")
		}
	}

	// Kill switch: the stored switch plus, in AWS, the SSM parameter.
	var ssmAPI killswitch.ParameterAPI
	if cfg.KillSwitchParam != "" {
		ssmAPI = ssm.NewFromConfig(awsCfg)
	}
	actions := rem.Actions
	if opts.DryRun {
		actions = dryRun{actions}
	}
	ops := &opsNotifier{topic: cfg.OpsTopicARN, log: log, metrics: opts.Metrics, now: time.Now}
	if cfg.OpsTopicARN != "" {
		ops.sns = sns.NewFromConfig(awsCfg)
	}
	var suspects engine.SuspectFinder
	if opts.Intake && gh != nil {
		suspects = NewSuspectFinder(github.New(gh))
	}
	// Evidence is gathered once, when the alarm door opens an incident.
	var gatherer engine.EvidenceGatherer
	switch {
	case opts.Intake && rem.Provider != nil && opts.Collectors == nil:
		// Many accounts: the collectors read the alarm's own account.
		gatherer = memberEvidence{where: rem, emulator: cfg.AWSEndpointURL != "", log: log}
	case opts.Intake:
		gatherer = Evidence(awsCfg, cfg.AWSEndpointURL != "", log, opts.Collectors...)
	}
	eng, err := engine.New(engine.Config{MaxPerHour: cfg.MaxPerHour, Scope: Scope(cfg, awsCfg)}, engine.Deps{
		Store:      app.Store,
		Policies:   set,
		Render:     (*policy.Step).Render,
		Actions:    actions,
		Notifier:   notifier,
		Queue:      app.Queue,
		AlarmState: rem.AlarmState(awsCfg, cfg.AWSEndpointURL != ""),
		Authorizer: authorizer,
		Switch:     killswitch.New(app.Store, ssmAPI, cfg.KillSwitchParam),
		Ops:        ops,
		Clock:      opts.Clock,
		Logger:     log,
		Suspects:   suspects,
		Evidence:   gatherer,
		Watcher:    maintenanceWatch{check: alb.NewExitCheck(elasticloadbalancingv2.NewFromConfig(awsCfg), nil), provider: rem.Provider},
	})
	if err != nil {
		return fail(err)
	}
	app.Engine = eng

	// The handler serves the HTTP doors (which need the signing secret) and
	// Socket Mode (which does not).
	if cfg.SlackSigningSecret != "" || cfg.SlackBotToken != "" {
		var eph slack.EphemeralPoster
		if app.SlackClient != nil {
			eph = app.SlackClient
		}
		// Replayed requests: in AWS every Lambda instance checks the table
		// (a Slack retry may reach another instance); the single local
		// process remembers them in memory (the handler's default).
		var seen slack.Seen
		if cfg.Table != "" {
			var now func() time.Time
			if opts.Clock != nil {
				now = opts.Clock.Now
			}
			seen = slackbridge.NewStoreSeen(app.Store, now)
		}
		h, err := slack.NewHandler(slack.HandlerConfig{
			SigningSecret: cfg.SlackSigningSecret.Value(),
			Decider:       slackbridge.NewDecider(eng),
			Ephemeral:     eph,
			Seen:          seen,
			Logger:        log,
		})
		if err != nil {
			return fail(fmt.Errorf("build slack handler: %w", err))
		}
		app.Slack = h
	}
	return app, nil
}

// Scope is where this deployment's remediations act: the configured
// account (MEDIC_ACCOUNT_ID) and the AWS configuration's region; in
// multi-account mode, also the member accounts (MEDIC_MEMBER_ACCOUNTS) in
// the allowed regions (MEDIC_MEMBER_REGIONS).
func Scope(cfg *config.Config, awsCfg aws.Config) engine.Scope {
	if cfg.MultiAccount() {
		return accounts.Members{Home: cfg.AccountID, Accounts: cfg.MemberAccounts, Regions: cfg.MemberRegions}
	}
	return remediations.Scope{Account: cfg.AccountID, Region: awsCfg.Region}
}

// CloudWatch returns a CloudWatch client. An emulator endpoint (moto) speaks
// the query protocol, not the SDK's default RPC v2 CBOR.
func CloudWatch(awsCfg aws.Config, emulator bool) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(awsCfg, func(o *cloudwatch.Options) {
		if emulator {
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	})
}

// logNotifier logs what a Slack card would show, for running without Slack.
type logNotifier struct{ log *slog.Logger }

func (n logNotifier) Notify(ctx context.Context, nt *engine.Notice) (store.MessageRef, error) {
	steps := make([]string, 0, len(nt.Proposals))
	for _, p := range nt.Proposals {
		line := fmt.Sprintf("%s step %d %s [%s] %s", p.Policy, p.Step+1, p.Action, p.Approval, p.State)
		if p.Plan != nil {
			line += ": " + p.Plan.Summary
		}
		if p.Reason != "" {
			line += " (" + p.Reason + ")"
		}
		steps = append(steps, line)
	}
	n.log.InfoContext(ctx, "incident", slog.String("notice", string(nt.Kind)), slog.String("incident", nt.Incident.ID),
		slog.String("alarm", nt.Incident.Alarm.Name), slog.String("summary", nt.Summary), slog.Any("steps", steps))
	ref := nt.Incident.Message
	if ref.IsZero() {
		ref = store.MessageRef{Channel: "log", TS: nt.Incident.ID}
	}
	return ref, nil
}

// localAuthorizer allows exactly one user, whatever the step's approvers:
// the user `medic serve --local-approvals` names, trying medic without
// Slack.
type localAuthorizer struct{ user string }

func (a localAuthorizer) Allowed(_ context.Context, user string, _ []string) (bool, error) {
	return user == a.user, nil
}

// dryRun plans for real and applies nothing.
type dryRun struct{ reg engine.Actions }

func (d dryRun) Get(name string) (remediations.Action, bool) {
	a, ok := d.reg.Get(name)
	if !ok {
		return nil, false
	}
	return dryRunAction{a}, true
}

type dryRunAction struct{ remediations.Action }

func (d dryRunAction) Apply(_ context.Context, p *remediations.Plan) (*remediations.Result, error) {
	return &remediations.Result{Action: p.Action, Target: p.Target, Summary: "dry run, not applied: " + p.Summary}, nil
}

func (d dryRunAction) Undo(_ context.Context, r *remediations.Result) (*remediations.Result, error) {
	return &remediations.Result{Action: r.Action, Target: r.Target, Summary: "dry run, nothing to undo"}, nil
}
