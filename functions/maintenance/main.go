// Command maintenance is medic's maintenance function: the target of the
// ALB rule alb.maintenance adds in mode lambda. It answers every request
// with a 503 page carrying Retry-After (internal/maintpage) and imports no
// AWS SDK package: it reads no secrets and calls nothing.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/medicbot/medic/internal/maintpage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "medic maintenance function:", err)
		os.Exit(1)
	}
}

func run() error {
	var d maintpage.Defaults
	if v := os.Getenv("MEDIC_MAINTENANCE_RETRY_AFTER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maintpage.MaxRetryAfter {
			return fmt.Errorf("MEDIC_MAINTENANCE_RETRY_AFTER=%q: want whole seconds from 1 to %d", v, maintpage.MaxRetryAfter)
		}
		d.RetryAfter = n
	}
	lambda.Start(maintpage.New(d).Handle)
	return nil
}
