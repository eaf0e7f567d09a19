// Command hello is the smallest aws-lambda-go function: the baseline the
// cold-start benchmark compares medic's bootstraps with.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, in map[string]any) (map[string]any, error) {
		return map[string]any{"hello": in["name"]}, nil
	})
}
