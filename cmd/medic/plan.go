package main

import (
	"context"
	"os"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/wiring"
)

// planRegistry builds the actions with real clients so simulate --plan can
// read current state, and says where they act (an alarm from elsewhere is
// not planned, as in the engine). In multi-account mode the actions plan in
// the alarm's own account and region, as the engine's do. Plans never
// change anything. endpoint, when set, overrides every AWS endpoint (e.g. a
// moto server).
func planRegistry(ctx context.Context, endpoint string) (engine.Actions, engine.Scope, error) {
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	if endpoint != "" {
		awsCfg.BaseEndpoint = &endpoint
	}
	cfg, err := config.FromEnv(ctx, os.Getenv, wiring.Secrets(awsCfg))
	if err != nil {
		return nil, nil, err
	}
	gh, err := wiring.GitHub(cfg)
	if err != nil {
		return nil, nil, err
	}
	rem, err := wiring.Remediations(cfg, awsCfg, gh)
	if err != nil {
		return nil, nil, err
	}
	return rem.Actions, wiring.Scope(cfg, awsCfg), nil
}
