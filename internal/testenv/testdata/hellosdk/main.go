// Command hellosdk is hello plus the AWS SDK clients medic's Lambdas build
// at cold start (configuration, DynamoDB, SQS, CloudWatch, ECS, Application
// Auto Scaling, ELBv2, Secrets Manager, SSM) and nothing of medic: the floor
// the cold-start benchmark sets medic's bootstraps against, separating what
// the SDK costs from what medic adds.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

func main() {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "load aws configuration:", err)
		os.Exit(1)
	}
	clients := []any{
		dynamodb.NewFromConfig(cfg),
		sqs.NewFromConfig(cfg),
		cloudwatch.NewFromConfig(cfg),
		ecs.NewFromConfig(cfg),
		applicationautoscaling.NewFromConfig(cfg),
		elasticloadbalancingv2.NewFromConfig(cfg),
		secretsmanager.NewFromConfig(cfg),
		ssm.NewFromConfig(cfg),
	}
	lambda.Start(func(_ context.Context, in map[string]any) (map[string]any, error) {
		return map[string]any{"hello": in["name"], "clients": len(clients)}, nil
	})
}
