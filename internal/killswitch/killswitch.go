// Package killswitch answers "is medic paused?" from two sources: the
// switch stored by `Pause`/`Resume` (the store) and, in AWS, an SSM
// parameter an operator can flip without medic. Medic is paused when either
// says so. When either cannot be read the answer is an error, and callers
// fail closed: they propose, they never execute.
package killswitch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medicbot/medic/internal/store"
)

// State is the combined kill switch.
type State struct {
	Paused bool
	// By, Why and At say who paused medic, why and when (from the store;
	// By is "ssm:<name>" when only the parameter is set).
	By  string
	Why string
	At  time.Time
}

// SwitchReader reads the stored switch; a store.Store implements it.
type SwitchReader interface {
	Switch(ctx context.Context) (*store.Switch, error)
}

// ParameterAPI is the SSM call the switch makes; *ssm.Client implements it
// (IAM: ssm:GetParameter on the parameter).
type ParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// DefaultCacheFor is how long a successful SSM read is trusted, so an alarm
// storm does not turn into an SSM throttling storm (which would fail
// closed).
const DefaultCacheFor = 10 * time.Second

// Switch combines the stored switch and an optional SSM parameter.
type Switch struct {
	stored   SwitchReader
	ssm      ParameterAPI
	param    string
	cacheFor time.Duration
	now      func() time.Time

	mu       sync.Mutex
	cached   bool
	cachedAt time.Time
	cachedOn bool
}

// Option configures a Switch.
type Option func(*Switch)

// WithCacheFor sets how long an SSM answer is reused (0 reads every time).
func WithCacheFor(d time.Duration) Option { return func(s *Switch) { s.cacheFor = d } }

// WithClock sets the clock used for the cache.
func WithClock(now func() time.Time) Option { return func(s *Switch) { s.now = now } }

// New returns a switch reading stored and, when api and param are set, the
// SSM parameter param ("true", "on", "paused", "yes" or "1" pause medic).
func New(stored SwitchReader, api ParameterAPI, param string, opts ...Option) *Switch {
	s := &Switch{stored: stored, ssm: api, param: param, cacheFor: DefaultCacheFor, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// State reads both sources. A read failure of either is returned as an
// error: the caller must treat medic as paused.
func (s *Switch) State(ctx context.Context) (State, error) {
	sw, err := s.stored.Switch(ctx)
	if err != nil {
		return State{}, fmt.Errorf("read kill switch: %w", err)
	}
	st := State{Paused: sw.Paused, By: sw.By, Why: sw.Why, At: sw.At}
	if s.ssm == nil || s.param == "" {
		return st, nil
	}
	on, err := s.parameter(ctx)
	if err != nil {
		return State{}, err
	}
	if on && !st.Paused {
		st = State{Paused: true, By: "ssm:" + s.param, Why: "SSM parameter " + s.param + " is set"}
	}
	return st, nil
}

func (s *Switch) parameter(ctx context.Context) (bool, error) {
	s.mu.Lock()
	if s.cached && s.now().Sub(s.cachedAt) < s.cacheFor {
		on := s.cachedOn
		s.mu.Unlock()
		return on, nil
	}
	s.mu.Unlock()
	out, err := s.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.param)})
	if err != nil {
		return false, fmt.Errorf("read kill switch parameter %s: %w", s.param, err)
	}
	if out.Parameter == nil {
		return false, fmt.Errorf("read kill switch parameter %s: the response has no parameter", s.param)
	}
	on := Truthy(aws.ToString(out.Parameter.Value))
	s.mu.Lock()
	s.cached, s.cachedAt, s.cachedOn = true, s.now(), on
	s.mu.Unlock()
	return on, nil
}

// Truthy reports whether a parameter value means "paused".
func Truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "paused", "yes", "1":
		return true
	}
	return false
}
