package main

import (
	"context"
	"fmt"
	"os"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations/github"
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
	var gh *gogithub.Client
	if cfg.GitHubToken != "" || cfg.GitHubAppID != 0 {
		gh, err = github.NewClient(github.Config{
			Token: cfg.GitHubToken.Value(), AppID: cfg.GitHubAppID, InstallationID: cfg.GitHubInstallationID,
			PrivateKey: []byte(cfg.GitHubPrivateKey.Value()), APIURL: cfg.GitHubAPIURL,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("build github client: %w", err)
		}
	}
	rem, err := wiring.Remediations(cfg, awsCfg, gh)
	if err != nil {
		return nil, nil, err
	}
	return rem.Actions, wiring.Scope(cfg, awsCfg), nil
}
