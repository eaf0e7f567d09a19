package wiring

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"
	gogithub "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/policycheck"
	"github.com/medicbot/medic/remediations/builtin"
	"github.com/medicbot/medic/remediations/github"
)

// GitHub returns the GitHub client for cfg's credential (a token or a
// GitHub App installation), or nil when cfg has none.
func GitHub(cfg *config.Config) (*gogithub.Client, error) {
	if cfg.GitHubToken == "" && cfg.GitHubAppID == 0 {
		return nil, nil
	}
	gh, err := github.NewClient(github.Config{
		Token: cfg.GitHubToken.Value(), AppID: cfg.GitHubAppID, InstallationID: cfg.GitHubInstallationID,
		PrivateKey: []byte(cfg.GitHubPrivateKey.Value()), APIURL: cfg.GitHubAPIURL,
	})
	if err != nil {
		return nil, fmt.Errorf("build github client: %w", err)
	}
	return gh, nil
}

// PolicyChecker returns the checker of `medic policy check`: it looks the
// policies' ECS services and ALB listeners up with awsCfg and, with a GitHub
// credential in cfg, their repositories.
func PolicyChecker(cfg *config.Config, awsCfg aws.Config) (*policycheck.Checker, error) {
	gh, err := GitHub(cfg)
	if err != nil {
		return nil, err
	}
	var repos policycheck.RepoGetter
	if gh != nil {
		repos = gh.Repositories
	}
	return policycheck.New(ecs.NewFromConfig(awsCfg), elasticloadbalancingv2.NewFromConfig(awsCfg), repos), nil
}

// ActionClients builds the clients of the built-in actions (gh may be nil:
// github.rollback then says it has no client) and passes them cfg's
// settings. Build and `medic simulate --plan` take their actions' clients
// from here.
func ActionClients(cfg *config.Config, awsCfg aws.Config, gh *gogithub.Client) builtin.Clients {
	return builtin.Clients{
		MaintenanceTargetGroup: cfg.MaintenanceTargetGroupARN,
		ECS:                    ecs.NewFromConfig(awsCfg),
		AutoScaling:            applicationautoscaling.NewFromConfig(awsCfg),
		ELBv2:                  elasticloadbalancingv2.NewFromConfig(awsCfg),
		WAFv2:                  wafv2.NewFromConfig(awsCfg),
		GitHub:                 gh,
	}
}
