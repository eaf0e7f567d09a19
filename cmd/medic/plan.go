package main

import (
	"context"
	"os"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations"
)

// planRegistry builds the actions with real clients so simulate --plan can
// read current state, and says where they act (an alarm from elsewhere is
// not planned, as in the engine). Plans never change anything. endpoint,
// when set, overrides every AWS endpoint (e.g. a moto server).
func planRegistry(ctx context.Context, endpoint string) (*remediations.Registry, remediations.Scope, error) {
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return nil, remediations.Scope{}, err
	}
	if endpoint != "" {
		awsCfg.BaseEndpoint = &endpoint
	}
	cfg, err := config.FromEnv(ctx, os.Getenv, wiring.Secrets(awsCfg))
	if err != nil {
		return nil, remediations.Scope{}, err
	}
	reg, _, err := wiring.Registry(cfg, awsCfg)
	return reg, wiring.Scope(cfg, awsCfg), err
}
