package config

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/medicbot/medic/internal/testenv"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvReadsPlainValuesAndDefaults(t *testing.T) {
	c, err := FromEnv(context.Background(), env(map[string]string{
		"SLACK_BOT_TOKEN":      "xoxb-1",
		"SLACK_SIGNING_SECRET": "shh",
		"MEDIC_TABLE":          "medic",
		"MEDIC_MAX_PER_HOUR":   "4",
		"MEDIC_ACCOUNT_ID":     "123456789012",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackBotToken.Value() != "xoxb-1" || c.SlackSigningSecret.Value() != "shh" || c.Table != "medic" || c.MaxPerHour != 4 || c.AccountID != "123456789012" {
		t.Errorf("config = %+v", c)
	}
	if c.SlackAPIURL != "https://slack.com/api/" || c.GitHubAPIURL != "https://api.github.com/" || c.StorePath != "medic.db" {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c := &Config{SlackBotToken: "xoxb-secret", GitHubPrivateKey: "-----BEGIN"}
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.SlackBotToken)} {
		if strings.Contains(s, "xoxb-secret") || strings.Contains(s, "BEGIN") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func TestFromEnvReportsEveryProblem(t *testing.T) {
	_, err := FromEnv(context.Background(), env(map[string]string{
		"MEDIC_MAX_PER_HOUR":         "many",
		"MEDIC_ACCOUNT_ID":           "prod",
		"GITHUB_APP_ID":              "12",
		"SLACK_BOT_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
	}), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"MEDIC_MAX_PER_HOUR", "MEDIC_ACCOUNT_ID", "GITHUB_APP_INSTALLATION_ID", "SLACK_BOT_TOKEN_SECRET_ARN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestFromEnvReadsSecretsFromSecretsManager(t *testing.T) {
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(testenv.Moto(t).Config)
	mk := func(name, value string) string {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		if err != nil {
			t.Fatalf("create secret %s: %v", name, err)
		}
		return *out.ARN
	}
	bot := mk("medic/slack-bot", "xoxb-from-sm")
	sign := mk("medic/slack-signing", "signing-from-sm")
	gh := mk("medic/github", `{"app_id": 42, "installation_id": 7, "private_key": "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----"}`)
	c, err := FromEnv(ctx, env(map[string]string{
		"SLACK_BOT_TOKEN_SECRET_ARN":      bot,
		"SLACK_SIGNING_SECRET_SECRET_ARN": sign,
		"GITHUB_SECRET_ARN":               gh,
	}), sm)
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackBotToken.Value() != "xoxb-from-sm" || c.SlackSigningSecret.Value() != "signing-from-sm" {
		t.Errorf("slack secrets = %q %q", c.SlackBotToken.Value(), c.SlackSigningSecret.Value())
	}
	if c.GitHubAppID != 42 || c.GitHubInstallationID != 7 || !strings.HasPrefix(c.GitHubPrivateKey.Value(), "-----BEGIN") {
		t.Errorf("github app = %d %d %q", c.GitHubAppID, c.GitHubInstallationID, c.GitHubPrivateKey)
	}

	_, err = FromEnv(ctx, env(map[string]string{"SLACK_BOT_TOKEN_SECRET_ARN": bot + "-missing"}), sm)
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN_SECRET_ARN") {
		t.Fatalf("missing secret: err = %v", err)
	}
}

// The GitHub settings, as remediations/github's ConfigFromEnv read them
// before this package became their one reader.
func TestFromEnvReadsGitHub(t *testing.T) {
	c, err := FromEnv(context.Background(), env(map[string]string{
		"GITHUB_APP_ID": "123", "GITHUB_APP_INSTALLATION_ID": " 456 ", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN",
		"GITHUB_API_URL": "https://ghe.example.com/api/v3",
	}), nil)
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	if c.GitHubAppID != 123 || c.GitHubInstallationID != 456 || c.GitHubAPIURL != "https://ghe.example.com/api/v3" {
		t.Errorf("github app = %d %d %q", c.GitHubAppID, c.GitHubInstallationID, c.GitHubAPIURL)
	}

	_, err = FromEnv(context.Background(), env(map[string]string{
		"GITHUB_APP_ID": "abc", "GITHUB_APP_INSTALLATION_ID": "-1", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN",
	}), nil)
	if err == nil {
		t.Fatal("bad numbers accepted")
	}
	for _, want := range []string{"GITHUB_APP_ID", "GITHUB_APP_INSTALLATION_ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}

	c, err = FromEnv(context.Background(), env(map[string]string{"GITHUB_TOKEN": "ghp_abc"}), nil)
	if err != nil || c.GitHubToken.Value() != "ghp_abc" || c.GitHubAppID != 0 {
		t.Errorf("token config = %d %v", c.GitHubAppID, err)
	}
}
