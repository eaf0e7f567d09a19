package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/remediations"
)

// BuildControl wires what the emergency stop (`medic pause`, `medic
// resume`) and `medic audit` need, and nothing else: the store (the
// DynamoDB table when table is set, else the embedded store at storePath)
// and an engine over it. It reads no configuration secrets and builds no
// GitHub, Slack, CloudWatch or SSM client, so pausing works while any of
// them, or Secrets Manager, is failing. AWS configuration is loaded only
// for a table. Its engine matches no policy, has no action and refuses to
// queue work: Pause, Resume and Audit need none.
func BuildControl(ctx context.Context, table, storePath string, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	app := &App{}
	if table != "" {
		awsCfg, err := AWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		app.Store = dynamostore.New(dynamodb.NewFromConfig(awsCfg), table, dynamostore.Options{})
	} else {
		bs, err := boltstore.Open(storePath, boltstore.Options{BatchDelay: opts.StoreBatchDelay, Timeout: opts.StoreTimeout})
		if err != nil {
			return nil, err
		}
		app.Store = bs
		app.closers = append(app.closers, bs.Close)
	}
	reg, err := remediations.NewRegistry()
	if err != nil {
		_ = app.Close()
		return nil, err
	}
	app.Actions = reg
	app.Queue = noQueue{}
	eng, err := engine.New(engine.Config{}, engine.Deps{
		Store:    app.Store,
		Policies: noPolicies{},
		Render:   (*policy.Step).Render,
		Actions:  reg,
		Queue:    app.Queue,
		Clock:    opts.Clock,
		Logger:   log,
	})
	if err != nil {
		_ = app.Close()
		return nil, err
	}
	app.Engine = eng
	return app, nil
}

// noPolicies matches no alarm.
type noPolicies struct{}

func (noPolicies) Match(*alarm.Alarm) []*policy.Policy { return nil }

// errNoQueue is what a control engine answers to a request to queue work.
var errNoQueue = errors.New("this command has no work queue")

// noQueue refuses work: pause, resume and audit queue none.
type noQueue struct{}

func (noQueue) Send(context.Context, []byte, time.Duration) error {
	return fmt.Errorf("queue work: %w", errNoQueue)
}
