// Package config reads medic's configuration from the environment, the same
// names in the Lambdas and in `medic serve`. Secrets come from the
// environment or, in the Lambdas, from AWS Secrets Manager ARNs; they are
// never logged (Config's String method redacts them).
package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Config is medic's runtime configuration.
type Config struct {
	// Table is the DynamoDB table (Lambdas); empty means the embedded store.
	Table string
	// StorePath is the bbolt file of the embedded store.
	StorePath string
	// QueueURL is the SQS work queue (Lambdas).
	QueueURL string
	// KillSwitchParam is the SSM parameter that pauses medic when "true".
	KillSwitchParam string
	// SlackChannel is the default channel for cards.
	SlackChannel string
	// SlackAPIURL is Slack's API base URL (tests point it elsewhere).
	SlackAPIURL string
	// SlackBotToken and SlackSigningSecret authenticate medic to Slack and
	// Slack to medic. SlackAppToken enables Socket Mode locally.
	SlackBotToken      Secret
	SlackSigningSecret Secret
	SlackAppToken      Secret
	// GitHubAPIURL is GitHub's API base URL (tests point it elsewhere).
	GitHubAPIURL string
	// GitHubToken, or the GitHub App triple, authenticates medic to GitHub.
	GitHubToken          Secret
	GitHubAppID          int64
	GitHubInstallationID int64
	GitHubPrivateKey     Secret
	// WebhookToken, when set, is required as a Bearer token on POST /alarms.
	WebhookToken Secret
	// AWSEndpointURL overrides every AWS endpoint (AWS_ENDPOINT_URL), e.g. a
	// moto server.
	AWSEndpointURL string
	// MaxPerHour is the global cap on executions per hour.
	MaxPerHour int
	// OpsTopicARN is the SNS topic operators read (MEDIC_OPS_TOPIC_ARN):
	// medic publishes there when Slack has not taken a card for a while.
	OpsTopicARN string
	// AccountID is the AWS account medic acts in (MEDIC_ACCOUNT_ID; the
	// template sets it). Alarms from other accounts are refused; when it is
	// empty only the region is checked.
	AccountID string
	// MaintenanceTargetGroupARN is the maintenance function's lambda target
	// group (MEDIC_MAINTENANCE_TARGET_GROUP_ARN; the template sets it):
	// alb.maintenance forwards maintenance requests to it.
	MaintenanceTargetGroupARN string
	// MemberRoleName turns on multi-account mode (MEDIC_MEMBER_ROLE_NAME):
	// medic assumes this role in the alarm's account to act there.
	MemberRoleName string
	// MemberExternalID is passed on every AssumeRole of the member role
	// (MEDIC_MEMBER_EXTERNAL_ID).
	MemberExternalID Secret
	// MemberAccounts are the accounts medic may act in besides its own
	// (MEDIC_MEMBER_ACCOUNTS, comma-separated; "*" for any account the
	// central bus admits, e.g. an organisation's).
	MemberAccounts []string
	// MemberRegions are the regions medic may act in, in multi-account
	// mode (MEDIC_MEMBER_REGIONS, comma-separated; empty: every region).
	MemberRegions []string
}

// MultiAccount reports whether medic acts in member accounts.
func (c *Config) MultiAccount() bool { return c.MemberRoleName != "" }

// Secret is a string that never prints.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret in %#v.
func (s Secret) GoString() string { return s.String() }

// Value returns the secret itself; call it only where the secret is used.
func (s Secret) Value() string { return string(s) }

// SecretsAPI is the Secrets Manager call config makes.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FromEnv reads the configuration from getenv. Secrets named by
// *_SECRET_ARN variables are fetched through sm (which may be nil when none
// are named). Every problem is reported at once.
func FromEnv(ctx context.Context, getenv func(string) string, sm SecretsAPI) (*Config, error) {
	c := &Config{
		Table:           getenv("MEDIC_TABLE"),
		StorePath:       or(getenv("MEDIC_STORE"), "medic.db"),
		QueueURL:        getenv("MEDIC_QUEUE_URL"),
		KillSwitchParam: getenv("MEDIC_KILL_SWITCH_PARAM"),
		SlackChannel:    getenv("MEDIC_SLACK_CHANNEL"),
		SlackAPIURL:     or(getenv("SLACK_API_URL"), "https://slack.com/api/"),
		GitHubAPIURL:    or(getenv("GITHUB_API_URL"), "https://api.github.com/"),
		AWSEndpointURL:  getenv("AWS_ENDPOINT_URL"),
		MaxPerHour:      10,
		AccountID:       getenv("MEDIC_ACCOUNT_ID"),
		OpsTopicARN:     getenv("MEDIC_OPS_TOPIC_ARN"),

		MaintenanceTargetGroupARN: getenv("MEDIC_MAINTENANCE_TARGET_GROUP_ARN"),
	}
	var errs []error
	if c.AccountID != "" && !isAccountID(c.AccountID) {
		errs = append(errs, fmt.Errorf("MEDIC_ACCOUNT_ID: want a 12-digit AWS account ID, got %q", c.AccountID))
	}
	errs = append(errs, c.members(getenv)...)
	if v := getenv("MEDIC_MAX_PER_HOUR"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("MEDIC_MAX_PER_HOUR: want a whole number >= 0, got %q", v))
		}
		c.MaxPerHour = n
	}
	r := resolver{ctx: ctx, getenv: getenv, sm: sm}
	c.SlackBotToken = r.secret("SLACK_BOT_TOKEN")
	c.SlackSigningSecret = r.secret("SLACK_SIGNING_SECRET")
	c.SlackAppToken = r.secret("SLACK_APP_TOKEN")
	c.WebhookToken = r.secret("MEDIC_WEBHOOK_TOKEN")
	c.GitHubToken = r.secret("GITHUB_TOKEN")
	c.GitHubPrivateKey = r.secret("GITHUB_APP_PRIVATE_KEY")
	c.GitHubAppID = r.id("GITHUB_APP_ID")
	c.GitHubInstallationID = r.id("GITHUB_APP_INSTALLATION_ID")
	if arn := getenv("GITHUB_SECRET_ARN"); arn != "" {
		r.githubSecret(c, arn)
	}
	errs = append(errs, r.errs...)
	if (c.GitHubAppID != 0 || c.GitHubInstallationID != 0 || c.GitHubPrivateKey != "") &&
		(c.GitHubAppID == 0 || c.GitHubInstallationID == 0 || c.GitHubPrivateKey == "") {
		errs = append(errs, errors.New("github app: GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY must be given together"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return c, nil
}

type resolver struct {
	ctx    context.Context
	getenv func(string) string
	sm     SecretsAPI
	errs   []error
}

// secret reads NAME, or the Secrets Manager secret named by NAME_SECRET_ARN.
func (r *resolver) secret(name string) Secret {
	if v := r.getenv(name); v != "" {
		return Secret(v)
	}
	arn := r.getenv(name + "_SECRET_ARN")
	if arn == "" {
		return ""
	}
	v, err := r.fetch(arn)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s_SECRET_ARN: %w", name, err))
	}
	return Secret(v)
}

// id reads a GitHub App or installation ID: unset is 0, anything else
// must be a positive number (spaces around it are dropped).
func (r *resolver) id(name string) int64 {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: must be a positive number, got %q", name, v))
	}
	return n
}

// githubSecret reads a GitHub credential secret: a bare token, or JSON with a
// token or an App's app_id, installation_id and private_key.
func (r *resolver) githubSecret(c *Config, arn string) {
	v, err := r.fetch(arn)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("GITHUB_SECRET_ARN: %w", err))
		return
	}
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "{") {
		c.GitHubToken = Secret(v)
		return
	}
	var s struct {
		Token          string `json:"token"`
		AppID          int64  `json:"app_id"`
		InstallationID int64  `json:"installation_id"`
		PrivateKey     string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		// The error text could quote the secret: do not include it.
		r.errs = append(r.errs, errors.New("GITHUB_SECRET_ARN: secret is neither a token nor valid JSON with token or app_id/installation_id/private_key"))
		return
	}
	c.GitHubToken = Secret(s.Token)
	c.GitHubAppID, c.GitHubInstallationID, c.GitHubPrivateKey = s.AppID, s.InstallationID, Secret(s.PrivateKey)
}

func (r *resolver) fetch(arn string) (string, error) {
	if r.sm == nil {
		return "", fmt.Errorf("read secret %s: no Secrets Manager client", arn)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("read secret %s: it has no string value", arn)
	}
	return *out.SecretString, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// members reads the multi-account settings.
func (c *Config) members(getenv func(string) string) []error {
	c.MemberRoleName = getenv("MEDIC_MEMBER_ROLE_NAME")
	c.MemberExternalID = Secret(getenv("MEDIC_MEMBER_EXTERNAL_ID"))
	c.MemberAccounts = list(getenv("MEDIC_MEMBER_ACCOUNTS"))
	c.MemberRegions = list(getenv("MEDIC_MEMBER_REGIONS"))
	if c.MemberRoleName == "" {
		if len(c.MemberAccounts) > 0 {
			return []error{errors.New("MEDIC_MEMBER_ACCOUNTS is set but MEDIC_MEMBER_ROLE_NAME is not: medic cannot act in member accounts without their role")}
		}
		return nil
	}
	var errs []error
	if c.AccountID == "" {
		errs = append(errs, errors.New("MEDIC_MEMBER_ROLE_NAME needs MEDIC_ACCOUNT_ID: medic must know its own account to tell members from home"))
	}
	if len(c.MemberExternalID) < 2 {
		errs = append(errs, errors.New("MEDIC_MEMBER_EXTERNAL_ID: want at least 2 characters when MEDIC_MEMBER_ROLE_NAME is set"))
	}
	if len(c.MemberAccounts) == 0 {
		errs = append(errs, errors.New(`MEDIC_MEMBER_ACCOUNTS: want a comma-separated list of 12-digit account IDs, or "*", when MEDIC_MEMBER_ROLE_NAME is set`))
	}
	for _, a := range c.MemberAccounts {
		if a != "*" && !isAccountID(a) {
			errs = append(errs, fmt.Errorf("MEDIC_MEMBER_ACCOUNTS: want 12-digit AWS account IDs or \"*\", got %q", a))
		}
	}
	return errs
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
