// Package lambdamain is the cold start every medic Lambda shares: read the
// configuration (secrets from Secrets Manager), build the app once, log in
// Lambda's JSON format with the request id.
package lambdamain

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/wiring"
)

// Build reads the environment and wires medic for a Lambda, with opts
// (its Logger is set here).
func Build(ctx context.Context, opts wiring.Options) (*wiring.App, *slog.Logger, error) {
	log := slog.New(lambdacontext.NewLogHandler())
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return nil, log, err
	}
	cfg, err := config.FromEnv(ctx, os.Getenv, wiring.Secrets(awsCfg))
	if err != nil {
		return nil, log, err
	}
	if cfg.Table == "" || cfg.QueueURL == "" {
		return nil, log, fmt.Errorf("configure lambda: MEDIC_TABLE and MEDIC_QUEUE_URL are required (the template sets them)")
	}
	// Metrics go to stdout in CloudWatch's embedded metric format.
	opts.Logger, opts.Metrics = log, os.Stdout
	app, err := wiring.Build(ctx, cfg, awsCfg, opts)
	if err != nil {
		return nil, log, err
	}
	return app, log, nil
}

// Fail logs a cold-start failure and exits non-zero, which Lambda reports
// as an init error.
func Fail(log *slog.Logger, err error) {
	log.Error("medic failed to start", slog.Any("error", err))
	os.Exit(1)
}
