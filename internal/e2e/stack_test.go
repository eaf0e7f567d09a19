package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/internal/testenv"
)

// What the stack is made of; the names are what a deployed stack "medic"
// would have.
const (
	tableName       = "medic-Table-E2E"
	queueName       = "medic-WorkQueue-E2E"
	killSwitchParam = "/medic/paused"
	defaultChannel  = "C0DEFAULT"
	botToken        = "xoxb-e2e-bot-token"
	signingSecret   = "e2e-signing-secret"
	sreGroup        = "S0SREGROUP"
	sreUser         = "U0SRE1"
	// incidentChannel is where examples/checkout.yaml posts.
	incidentChannel = "C0123INCIDENTS"
)

// stack is medic's deployed stack in moto, the production stack it looks
// after, a Slack test server, and the three functions running.
type stack struct {
	moto     *testenv.MotoServer
	prod     *testenv.Prod
	slack    *slacktesting.Server
	store    *dynamostore.Store
	ddb      *dynamodb.Client
	sqs      *sqs.Client
	queueURL string
	queueARN string

	alarm, slackFn, executor *function
	// env is the environment each function (by logical ID) was started
	// with, to start more instances of it.
	env map[string][]string
}

// deployOptions change what deploy deploys.
type deployOptions struct {
	// githubToken, when set, is stored as the GitHub credential secret
	// (the template's GitHubSecretArn); by default there is none.
	githubToken string
	// githubURL is where GITHUB_API_URL points (default: a closed port).
	githubURL string
}

// deployOption is one change to what deploy deploys.
type deployOption func(*deployOptions)

// withGitHub gives the stack a GitHub credential and points every
// function's GITHUB_API_URL at url.
func withGitHub(token, url string) deployOption {
	return func(o *deployOptions) { o.githubToken, o.githubURL = token, url }
}

// deploy creates the stack's resources the way template.yaml declares them
// and starts the three bootstraps with the environment the template gives
// them. Secrets come from Secrets Manager, so the secret-ARN path runs.
func deploy(t *testing.T, opts ...deployOption) *stack {
	t.Helper()
	o := deployOptions{githubURL: "http://127.0.0.1:1/"}
	for _, f := range opts {
		f(&o)
	}
	m := testenv.Moto(t) // first: without moto, skip (or fail in CI) before building
	bins := map[string]string{}
	for _, name := range []string{"alarm", "slack", "executor"} {
		bins[name] = bootstrap(t, name)
	}
	ctx := context.Background()
	s := &stack{moto: m, ddb: dynamodb.NewFromConfig(m.Config), sqs: sqs.NewFromConfig(m.Config)}

	if err := dynamostore.CreateTable(ctx, s.ddb, tableName); err != nil {
		t.Fatalf("create table: %v", err)
	}
	s.store = dynamostore.New(s.ddb, tableName, dynamostore.Options{})
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(queueName),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): "180"},
	})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	s.queueURL = *q.QueueUrl
	attrs, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("read queue ARN: %v", err)
	}
	s.queueARN = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if _, err := ssm.NewFromConfig(m.Config).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(killSwitchParam), Type: ssmtypes.ParameterTypeString, Value: aws.String("false"),
	}); err != nil {
		t.Fatalf("create kill switch parameter: %v", err)
	}
	sm := secretsmanager.NewFromConfig(m.Config)
	secretARN := func(name, value string) string {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		if err != nil {
			t.Fatalf("create secret %s: %v", name, err)
		}
		return *out.ARN
	}
	botTokenARN := secretARN("medic/slack-bot-token", botToken)
	signingSecretARN := secretARN("medic/slack-signing-secret", signingSecret)
	githubSecretARN := "" // the parameter's default: no GitHub
	if o.githubToken != "" {
		githubSecretARN = secretARN("medic/github", o.githubToken)
	}

	s.prod, err = testenv.CreateProd(ctx, m.Config)
	if err != nil {
		t.Fatalf("create prod in moto: %v", err)
	}
	s.slack = slacktesting.New(t)
	s.slack.SetGroup(sreGroup, sreUser)

	ops, err := sns.NewFromConfig(m.Config).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("medic-OpsTopic-E2E")})
	if err != nil {
		t.Fatalf("create ops topic: %v", err)
	}
	opsTopicARN := *ops.TopicArn

	// What each !Ref in the template's environment resolves to.
	refs := map[string]string{
		"Table":                  tableName,
		"WorkQueue":              s.queueURL,
		"KillSwitch":             killSwitchParam,
		"SlackChannel":           defaultChannel,
		"SlackBotTokenSecretArn": botTokenARN,
		"SlackSigningSecretArn":  signingSecretARN,
		"GitHubSecretArn":        githubSecretARN,
		"AWS::AccountId":         testenv.Account,
		"OpsTopic":               opsTopicARN,
		// A single-account stack: no member accounts.
		"MemberExternalId": "", "MemberAccounts": "", "MemberRegions": "",
		// No maintenance target group: alb.maintenance falls back to its
		// fixed 503 (maintenance_test.go drives the function itself).
		"MaintenanceTargetGroup": "",
	}
	// What the template does not set but the test must: every AWS call to
	// moto, Slack and GitHub to local servers (by default GitHub to one
	// nobody answers: without a GitHub credential no flow calls it).
	extra := []string{
		"AWS_ENDPOINT_URL=" + m.URL,
		"SLACK_API_URL=" + s.slack.GetAPIURL(),
		"GITHUB_API_URL=" + o.githubURL,
	}
	s.env = map[string][]string{}
	for _, fn := range []string{"AlarmFunction", "SlackFunction", "ExecutorFunction"} {
		s.env[fn] = functionEnv(t, fn, refs, extra...)
	}
	s.alarm = startFunction(t, "alarm", bins["alarm"], s.env["AlarmFunction"])
	s.slackFn = startFunction(t, "slack", bins["slack"], s.env["SlackFunction"])
	s.executor = startFunction(t, "executor", bins["executor"], s.env["ExecutorFunction"])
	return s
}

// itemCount counts the table's items.
func (s *stack) itemCount(t *testing.T) int32 {
	t.Helper()
	out, err := s.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tableName), Select: "COUNT"})
	if err != nil {
		t.Fatalf("scan %s: %v", tableName, err)
	}
	return out.Count
}

// desired reads the checkout service's desired count through the SDK.
func (s *stack) desired(t *testing.T) int32 {
	t.Helper()
	n, err := s.prod.DesiredCount(context.Background(), s.moto.Config)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
