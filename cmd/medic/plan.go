package main

import (
	"context"
	"fmt"
	"os"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/builtin"
	"github.com/medicbot/medic/remediations/github"
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
	var gh *gogithub.Client
	if cfg.GitHubToken != "" || cfg.GitHubAppID != 0 {
		gh, err = github.NewClient(github.Config{
			Token: cfg.GitHubToken.Value(), AppID: cfg.GitHubAppID, InstallationID: cfg.GitHubInstallationID,
			PrivateKey: []byte(cfg.GitHubPrivateKey.Value()), APIURL: cfg.GitHubAPIURL,
		})
		if err != nil {
			return nil, remediations.Scope{}, fmt.Errorf("build github client: %w", err)
		}
	}
	reg, err := builtin.Registry(wiring.ActionClients(cfg, awsCfg, gh))
	return reg, wiring.Scope(cfg, awsCfg), err
}
