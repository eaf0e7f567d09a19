package wiring_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/medicbot/medic/internal/wiring"
	"github.com/medicbot/medic/remediations"
	"github.com/medicbot/medic/remediations/builtin"
	ecsrem "github.com/medicbot/medic/remediations/ecs"
)

// These tests check what the issue promises of the AWS clients medic builds:
// throttling and 5xx are retried by the SDK's bounded standard retryer;
// permanent errors are not retried and come out of the remediations
// classified, naming the IAM action and the resource. The ECS client is
// built from wiring.AWSConfig and ecs.NewFromConfig as wiring.Build builds
// it, against a fake ECS (an httptest server speaking AWS JSON 1.1) that
// AWS_ENDPOINT_URL points at.

// answer is one scripted ECS response.
type answer struct {
	status int
	// code is the error code (X-Amzn-ErrorType and __type); empty for a
	// success.
	code string
	msg  string
}

var (
	throttled    = answer{status: http.StatusBadRequest, code: "ThrottlingException", msg: "Rate exceeded"}
	serverError  = answer{status: http.StatusInternalServerError, code: "ServerException", msg: "Service Unavailable. Please try again later."}
	accessDenied = answer{status: http.StatusBadRequest, code: "AccessDeniedException", msg: "User: arn:aws:sts::123456789012:assumed-role/medic-executor/medic is not authorized to perform: ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service/prod/checkout because no identity-based policy allows the ecs:DescribeServices action"}
	ok           = answer{status: http.StatusOK}
)

// fakeECS answers DescribeServices from a script, one answer per request;
// the last answer repeats. It records every request's operation and
// Amz-Sdk-Request header (attempt=N; max=M).
type fakeECS struct {
	mu       sync.Mutex
	script   []answer
	ops      []string
	attempts []string
}

func (f *fakeECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	n := len(f.ops)
	f.ops = append(f.ops, strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113."))
	f.attempts = append(f.attempts, r.Header.Get("Amz-Sdk-Request"))
	a := f.script[min(n, len(f.script)-1)]
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("req-%d", n+1))
	if a.code != "" {
		w.Header().Set("X-Amzn-ErrorType", a.code)
		w.WriteHeader(a.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": a.code, "message": a.msg})
		return
	}
	if op := f.ops[n]; op != "DescribeServices" {
		http.Error(w, `{"__type":"InvalidAction","message":"fake ECS only answers DescribeServices, not `+op+`"}`, http.StatusBadRequest)
		return
	}
	const td = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:2"
	_ = json.NewEncoder(w).Encode(map[string]any{
		"services": []map[string]any{{
			"serviceName":    "checkout",
			"serviceArn":     "arn:aws:ecs:us-east-1:123456789012:service/prod/checkout",
			"clusterArn":     "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
			"status":         "ACTIVE",
			"desiredCount":   4,
			"runningCount":   4,
			"taskDefinition": td,
			"deployments": []map[string]any{{
				"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": "COMPLETED", "taskDefinition": td,
				"desiredCount": 4, "runningCount": 4,
			}},
		}},
		"failures": []any{},
	})
}

func (f *fakeECS) calls() (ops, attempts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...), append([]string(nil), f.attempts...)
}

// newECS starts a fake ECS answering script and returns it with an ECS
// client built as wiring.Build builds it: from wiring.AWSConfig, with the
// environment pointing the SDK at the fake.
func newECS(t *testing.T, script ...answer) (*fakeECS, *ecs.Client) {
	t.Helper()
	f := &fakeECS{script: script}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)

	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_ECS", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	// The SDK defaults, not a developer's or CI's settings.
	t.Setenv("AWS_RETRY_MODE", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	cfg, err := wiring.AWSConfig(context.Background())
	if err != nil {
		t.Fatalf("AWSConfig: %v", err)
	}
	return f, ecs.NewFromConfig(cfg)
}

// fastBackoff keeps the client's retryer (which errors it retries, how many
// attempts, its retry quota) and only shortens the wait between attempts,
// which is jittered up to 2s and 4s for the first two retries.
func fastBackoff(o *ecs.Options) {
	o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond)
}

// fastECS is the client the remediations get, with fastBackoff on every
// call they make here.
type fastECS struct{ *ecs.Client }

func (c fastECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return c.Client.DescribeServices(ctx, in, append(optFns, fastBackoff)...)
}

// restart returns ecs.restart from the built-in registry, as wiring.Build
// registers it, on client.
func restart(t *testing.T, client ecsrem.ECSAPI) remediations.Action {
	t.Helper()
	reg, err := builtin.Registry(builtin.Clients{ECS: client})
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	a, found := reg.Get(ecsrem.RestartName)
	if !found {
		t.Fatalf("%s is not registered", ecsrem.RestartName)
	}
	return a
}

var prodCheckout = remediations.Params{"cluster": "prod", "service": "checkout"}

func wantAttempts(t *testing.T, f *fakeECS, n int) {
	t.Helper()
	ops, attempts := f.calls()
	if len(ops) != n {
		t.Fatalf("%d requests %v, want %d", len(ops), ops, n)
	}
	for i := range ops {
		if ops[i] != "DescribeServices" {
			t.Errorf("request %d is %s, want DescribeServices", i+1, ops[i])
		}
		if want := fmt.Sprintf("attempt=%d; max=3", i+1); !strings.HasPrefix(attempts[i], want) {
			t.Errorf("request %d: Amz-Sdk-Request %q, want %q", i+1, attempts[i], want)
		}
	}
}

func TestECSClientRetryerIsTheBoundedStandardOne(t *testing.T) {
	_, client := newECS(t, ok)
	r := client.Options().Retryer
	if r == nil {
		t.Fatal("the ECS client has no retryer")
	}
	if got := r.MaxAttempts(); got != 3 {
		t.Errorf("MaxAttempts %d, want the SDK default 3", got)
	}
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException"}
	for attempt := 1; attempt <= 10; attempt++ {
		d, err := r.RetryDelay(attempt, throttle)
		if err != nil || d < 0 || d > retry.DefaultMaxBackoff {
			t.Errorf("retry delay before attempt %d: %v, %v; want at most %v", attempt+1, d, err, retry.DefaultMaxBackoff)
		}
	}
}

func TestECSClientRetriesThrottlingThenSucceeds(t *testing.T) {
	f, client := newECS(t, throttled, throttled, ok)
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"checkout"}}, fastBackoff)
	if err != nil {
		t.Fatalf("DescribeServices after two throttles: %v", err)
	}
	if len(out.Services) != 1 || aws.ToString(out.Services[0].ServiceName) != "checkout" {
		t.Errorf("services %+v, want checkout", out.Services)
	}
	wantAttempts(t, f, 3)
}

func TestECSClientRetriesServerErrors(t *testing.T) {
	f, client := newECS(t, serverError, ok)
	// Through ecs.restart: the plan is made once ECS answers.
	pl, err := restart(t, fastECS{client}).Plan(context.Background(), nil, prodCheckout)
	if err != nil {
		t.Fatalf("plan after a 500: %v", err)
	}
	if want := "prod/checkout: restart all 4 tasks on checkout:2"; !strings.HasPrefix(pl.Summary, want) {
		t.Errorf("summary %q, want it to start %q", pl.Summary, want)
	}
	wantAttempts(t, f, 2)
}

func TestECSClientGivesUpAfterThreeAttemptsAndTheErrorStaysRetryable(t *testing.T) {
	f, client := newECS(t, throttled)
	_, err := restart(t, fastECS{client}).Plan(context.Background(), nil, prodCheckout)
	if err == nil {
		t.Fatal("plan succeeded against an ECS that always throttles")
	}
	wantAttempts(t, f, 3)
	if remediations.AWSErrorCode(err) != "ThrottlingException" {
		t.Errorf("error %v does not carry the ThrottlingException", err)
	}
	for _, permanent := range []error{remediations.ErrAccessDenied, remediations.ErrNotFound, remediations.ErrInvalid} {
		if errors.Is(err, permanent) {
			t.Errorf("throttling is classified as %v: %v", permanent, err)
		}
	}
	if !strings.Contains(err.Error(), "ecs:DescribeServices on prod/checkout") {
		t.Errorf("error %q does not say which call on what failed", err)
	}
}

func TestECSClientDoesNotRetryPermanentErrors(t *testing.T) {
	for _, tt := range []struct {
		answer answer
		want   error
	}{
		{accessDenied, remediations.ErrAccessDenied},
		{answer{status: http.StatusBadRequest, code: "ClusterNotFoundException", msg: "Cluster not found."}, remediations.ErrNotFound},
		{answer{status: http.StatusBadRequest, code: "InvalidParameterException", msg: "Invalid service name."}, remediations.ErrInvalid},
	} {
		t.Run(tt.answer.code, func(t *testing.T) {
			f, client := newECS(t, tt.answer, ok)
			// The client exactly as wiring.Build hands it to the
			// remediations: a retry here would wait the SDK's real backoff
			// and then show in the request count.
			_, err := restart(t, client).Plan(context.Background(), nil, prodCheckout)
			if !errors.Is(err, tt.want) {
				t.Fatalf("plan error %v, want %v", err, tt.want)
			}
			wantAttempts(t, f, 1)
			var ae *remediations.APIError
			if !errors.As(err, &ae) || ae.Op != "ecs:DescribeServices" || ae.Resource != "prod/checkout" {
				t.Errorf("APIError %+v, want op ecs:DescribeServices on prod/checkout", ae)
			}
			if remediations.AWSErrorCode(err) != tt.answer.code {
				t.Errorf("AWS error code %q, want %q", remediations.AWSErrorCode(err), tt.answer.code)
			}
			want := fmt.Sprintf("ecs:DescribeServices on prod/checkout: %v (%s: %s)", tt.want, tt.answer.code, tt.answer.msg)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}
