package killswitch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/testenv"
)

type storedSwitch struct {
	sw  store.Switch
	err error
}

func (s *storedSwitch) Switch(context.Context) (*store.Switch, error) {
	if s.err != nil {
		return nil, s.err
	}
	c := s.sw
	return &c, nil
}

func TestState(t *testing.T) {
	m := testenv.Moto(t)
	// Parameters are written and read with the SDK's client, the one the
	// Lambdas use.
	admin := ssm.NewFromConfig(m.Config)
	api := ssm.NewFromConfig(m.Config)
	ctx := context.Background()
	put := func(name, v string) {
		t.Helper()
		_, err := admin.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
		if err != nil {
			t.Fatalf("put parameter: %v", err)
		}
	}
	put("/medic/paused", "false")
	put("/medic/on", "true")

	tests := []struct {
		name       string
		stored     *storedSwitch
		param      string
		wantPaused bool
		wantErr    bool
		wantBy     string
	}{
		{name: "neither source pauses", stored: &storedSwitch{}, param: "/medic/paused"},
		{name: "the stored switch pauses", stored: &storedSwitch{sw: store.Switch{Paused: true, By: "U1", Why: "freeze"}}, param: "/medic/paused", wantPaused: true, wantBy: "U1"},
		{name: "the SSM parameter pauses", stored: &storedSwitch{}, param: "/medic/on", wantPaused: true, wantBy: "ssm:/medic/on"},
		{name: "no parameter configured reads the store only", stored: &storedSwitch{}},
		{name: "a missing parameter fails closed", stored: &storedSwitch{}, param: "/medic/missing", wantErr: true},
		{name: "an unreadable store fails closed", stored: &storedSwitch{err: errors.New("boom")}, param: "/medic/paused", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sw := killswitch.New(tc.stored, api, tc.param)
			st, err := sw.State(ctx)
			if (err != nil) != tc.wantErr {
				t.Fatalf("State error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if st.Paused != tc.wantPaused || st.By != tc.wantBy {
				t.Fatalf("State = %+v, want paused %v by %q", st, tc.wantPaused, tc.wantBy)
			}
		})
	}
}

func TestTruthy(t *testing.T) {
	for v, want := range map[string]bool{"true": true, " TRUE ": true, "paused": true, "1": true, "false": false, "": false, "0": false} {
		if got := killswitch.Truthy(v); got != want {
			t.Errorf("Truthy(%q) = %v, want %v", v, got, want)
		}
	}
}

// emptyParameter answers GetParameter without a parameter.
type emptyParameter struct{}

func (emptyParameter) GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return &ssm.GetParameterOutput{}, nil
}

func TestAnswerWithoutAParameterFailsClosed(t *testing.T) {
	sw := killswitch.New(&storedSwitch{}, emptyParameter{}, "/medic/paused")
	if st, err := sw.State(context.Background()); err == nil {
		t.Fatalf("State = %+v, want an error for a GetParameter answer without a parameter", st)
	}
}
