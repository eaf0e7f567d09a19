package wiring_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
)

// TestBuildReadsTheSSMKillSwitch builds medic with a kill switch parameter
// against moto and checks that the engine reads it: set, medic is paused by
// the parameter; missing, the switch cannot be read and medic fails closed.
func TestBuildReadsTheSSMKillSwitch(t *testing.T) {
	ctx := context.Background()
	m := testenv.Moto(t)
	const param = "/medic-wiring-test/paused"
	_, err := ssm.NewFromConfig(m.Config).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(param), Value: aws.String("true"), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("put parameter: %v", err)
	}
	build := func(param string) *wiring.App {
		t.Helper()
		cfg := &config.Config{
			StorePath: filepath.Join(t.TempDir(), "medic.db"), KillSwitchParam: param,
			AWSEndpointURL: m.URL, MaxPerHour: 10,
		}
		app, err := wiring.Build(ctx, cfg, m.Config, wiring.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("wire medic: %v", err)
		}
		t.Cleanup(func() { _ = app.Close() })
		return app
	}

	st, err := build(param).Engine.Paused(ctx)
	if err != nil {
		t.Fatalf("Paused: %v", err)
	}
	if !st.Paused || st.By != "ssm:"+param {
		t.Errorf("Paused = %+v, want paused by ssm:%s", st, param)
	}

	if st, err := build("/medic-wiring-test/missing").Engine.Paused(ctx); err == nil {
		t.Errorf("Paused with a missing parameter = %+v, want an error (fail closed)", st)
	}
}
