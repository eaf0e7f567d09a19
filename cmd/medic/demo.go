package main

import (
	"context"
	"fmt"
	"io"

	"github.com/medicbot/medic/internal/demo"
)

func runDemo(ctx context.Context, e *env, args []string) int {
	fset := e.flags("demo")
	verbose := fset.Bool("v", false, "show medic's warnings and errors while the demo runs")
	keep := fset.Bool("keep", false, "keep medic serve and its console (/ui) running after the demo, until Ctrl-C")
	if code, ok := parse(fset, args); !ok {
		return code
	}
	logw := io.Discard
	if *verbose {
		logw = e.stderr
	}
	if err := demo.RunWith(ctx, e.stdout, logw, demo.Options{Keep: *keep}); err != nil {
		fmt.Fprintf(e.stderr, "medic demo: %v\n", err)
		return exitFindings
	}
	return exitOK
}
