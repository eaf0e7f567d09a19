package ssmparam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medicbot/medic/internal/testenv"
)

func TestMoto(t *testing.T) {
	m := testenv.Moto(t)
	ctx := context.Background()
	// Written with the SDK's client, read with ours.
	admin := ssm.NewFromConfig(m.Config)
	values := map[string]string{
		"/medic/paused": "true",
		"/medic/odd":    `ünïcode "quoted" \ and %s`,
	}
	for name, v := range values {
		if _, err := admin.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(name), Value: aws.String(v), Type: ssmtypes.ParameterTypeString,
		}); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	c := New(m.Config)
	for name, want := range values {
		got, err := c.GetParameter(ctx, name)
		if err != nil || got != want {
			t.Errorf("GetParameter(%q) = %q, %v; want %q", name, got, err, want)
		}
	}

	_, err := c.GetParameter(ctx, "/medic/missing")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("GetParameter of a missing parameter: error %v (%T), want *APIError", err, err)
	}
	if apiErr.Code != "ParameterNotFound" || apiErr.Status != http.StatusBadRequest {
		t.Errorf("missing parameter: APIError %+v, want ParameterNotFound, HTTP 400", *apiErr)
	}
	if !strings.HasPrefix(err.Error(), "ssm GetParameter /medic/missing: ParameterNotFound") {
		t.Errorf("error %q does not name the operation, the parameter and the code", err)
	}
}

// server answers each request with the next of answers (the last one
// repeats) and records the requests.
type server struct {
	*httptest.Server
	calls atomic.Int32
	reqs  chan capturedRequest
}

type capturedRequest struct {
	header http.Header
	method string
	path   string
	host   string
	body   []byte
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func newServer(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{reqs: make(chan capturedRequest, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1))
		body, _ := io.ReadAll(r.Body)
		select {
		case s.reqs <- capturedRequest{header: r.Header.Clone(), method: r.Method, path: r.URL.Path, host: r.Host, body: body}:
		default:
		}
		a := answers[min(n, len(answers))-1]
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func testConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN"),
		BaseEndpoint: aws.String(endpoint),
	}
}

const okBody = `{"Parameter":{"Name":"/medic/paused","Type":"String","Value":"on","Version":1}}`

func TestRequest(t *testing.T) {
	s := newServer(t, answer{status: 200, body: okBody})
	got, err := New(testConfig(s.URL)).GetParameter(context.Background(), "/medic/paused")
	if err != nil || got != "on" {
		t.Fatalf("GetParameter = %q, %v; want on", got, err)
	}
	r := <-s.reqs
	if r.method != http.MethodPost || r.path != "/" {
		t.Errorf("request %s %s, want POST /", r.method, r.path)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", ct)
	}
	if tg := r.header.Get("X-Amz-Target"); tg != "AmazonSSM.GetParameter" {
		t.Errorf("X-Amz-Target %q", tg)
	}
	var in map[string]any
	if err := json.Unmarshal(r.body, &in); err != nil || len(in) != 1 || in["Name"] != "/medic/paused" {
		t.Errorf("body %s, want {\"Name\":\"/medic/paused\"}", r.body)
	}
	if tok := r.header.Get("X-Amz-Security-Token"); tok != "TOKEN" {
		t.Errorf("X-Amz-Security-Token %q, want the session token", tok)
	}
	auth := r.header.Get("Authorization")
	re := regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKID/(\d{8})/eu-west-1/ssm/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)
	mm := re.FindStringSubmatch(auth)
	if mm == nil {
		t.Fatalf("Authorization %q is not a SigV4 header for AKID, eu-west-1, ssm", auth)
	}
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"} {
		if !strings.Contains(";"+mm[2]+";", ";"+h+";") {
			t.Errorf("SignedHeaders %q lack %s", mm[2], h)
		}
	}

	// The signature is the one the signer computes for the body received
	// (so the payload hash signed is the body's).
	at, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	again, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(string(r.body)))
	again.Header.Set("Content-Type", r.header.Get("Content-Type"))
	again.Header.Set("X-Amz-Target", r.header.Get("X-Amz-Target"))
	sum := sha256.Sum256(r.body)
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "ssm", "eu-west-1", at); err != nil {
		t.Fatal(err)
	}
	if want := again.Header.Get("Authorization"); auth != want {
		t.Errorf("Authorization %q\nwant %q", auth, want)
	}
}

func TestRetriesServerErrors(t *testing.T) {
	s := newServer(t, answer{status: 500, body: `{"__type":"InternalServerError","message":"oops"}`}, answer{status: 200, body: okBody})
	got, err := New(testConfig(s.URL)).GetParameter(context.Background(), "/medic/paused")
	if err != nil || got != "on" {
		t.Fatalf("GetParameter = %q, %v; want on after a retry", got, err)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestThrottlingGivesUpAfterThreeAttempts(t *testing.T) {
	s := newServer(t, answer{status: 400, body: `{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}`})
	_, err := New(testConfig(s.URL)).GetParameter(context.Background(), "/medic/paused")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "ThrottlingException" || apiErr.Message != "Rate exceeded" || apiErr.Status != 400 {
		t.Fatalf("error %v, want *APIError ThrottlingException: Rate exceeded (HTTP 400)", err)
	}
	if !strings.Contains(err.Error(), "ssm GetParameter /medic/paused: ThrottlingException: Rate exceeded") {
		t.Errorf("error %q does not name the operation, parameter and code", err)
	}
	if n := s.calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestErrorsNotRetried(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		wantCode string
		wantMsg  string
	}{
		{"body type", answer{status: 400, body: `{"__type":"ParameterNotFound","message":"gone"}`}, "ParameterNotFound", "gone"},
		{"header type wins", answer{status: 400, header: map[string]string{"X-Amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"}, body: `{"Message":"no"}`}, "AccessDeniedException", "no"},
		{"code field", answer{status: 403, body: `{"code":"UnrecognizedClientException"}`}, "UnrecognizedClientException", ""},
		{"not json", answer{status: 403, body: `<html>forbidden</html>`}, "", `"<html>forbidden</html>"`},
		{"empty", answer{status: 404}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.answer)
			_, err := New(testConfig(s.URL)).GetParameter(context.Background(), "/p")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T), want *APIError", err, err)
			}
			if apiErr.Code != tc.wantCode || apiErr.Message != tc.wantMsg || apiErr.Status != tc.answer.status {
				t.Errorf("APIError %+v, want code %q message %q status %d", *apiErr, tc.wantCode, tc.wantMsg, tc.answer.status)
			}
			if n := s.calls.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
			if !strings.HasPrefix(err.Error(), "ssm GetParameter /p: ") {
				t.Errorf("error %q does not name the operation and parameter", err)
			}
		})
	}
}

func TestBadResponses(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"malformed", `{"Parameter":{"Value":`, "decode response"},
		{"not an object", `[1,2]`, "decode response"},
		{"wrong type", `{"Parameter":{"Value":5}}`, "decode response"},
		{"empty", ``, "decode response"},
		{"null", `null`, "no Parameter.Value"},
		{"no parameter", `{}`, "no Parameter.Value"},
		{"no value", `{"Parameter":{"Name":"/p"}}`, "no Parameter.Value"},
		{"too large", `{"Parameter":{"Value":"` + strings.Repeat("x", maxBody) + `"}}`, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, answer{status: 200, body: tc.body})
			v, err := New(testConfig(s.URL)).GetParameter(context.Background(), "/p")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ssm GetParameter /p: ") {
				t.Fatalf("GetParameter = %q, %v; want an error about %q", v, err, tc.want)
			}
			if n := s.calls.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(testConfig(srv.URL)).GetParameter(ctx, "/p")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v, want promptly after the context ends", d)
	}

	// Cancelled while waiting to retry.
	s := newServer(t, answer{status: 503})
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		for s.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = New(testConfig(s.URL)).GetParameter(ctx, "/p")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestConfigurationErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  aws.Config
		want string
	}{
		{"no credentials", aws.Config{Region: "us-east-1"}, "no AWS credentials"},
		{"no region", aws.Config{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, "region"},
		{"bad region", aws.Config{Region: "us-east-1/../x", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, "region"},
		{"bad endpoint", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("localhost:4566"), Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, "not an http(s) URL"},
		{"failing credentials", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("imds down")
		})}, "retrieve AWS credentials: imds down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg).GetParameter(ctx, "/p")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one about %q", err, tc.want)
			}
		})
	}
	if _, err := New(testConfig("http://127.0.0.1:1")).GetParameter(ctx, ""); err == nil {
		t.Error("an empty name is not an error")
	}
}

func TestNetworkErrorsAreRetriedAndWrapped(t *testing.T) {
	var calls atomic.Int32
	cfg := testConfig("http://ssm.invalid")
	cfg.HTTPClient = doFunc(func(*http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, errors.New("connection reset")
	})
	_, err := New(cfg).GetParameter(context.Background(), "/p")
	if err == nil || !strings.Contains(err.Error(), "ssm GetParameter /p: send request to http://ssm.invalid/: connection reset") {
		t.Fatalf("error %v, want the network error wrapped", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":  "https://ssm.us-east-1.amazonaws.com/",
		"eu-west-1":  "https://ssm.eu-west-1.amazonaws.com/",
		"cn-north-1": "https://ssm.cn-north-1.amazonaws.com.cn/",
	} {
		if got, err := resolveEndpoint(aws.Config{Region: region}); err != nil || got != want {
			t.Errorf("endpoint for %s = %q, %v; want %s", region, got, err, want)
		}
	}
	if got, _ := resolveEndpoint(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:5000")}); got != "http://127.0.0.1:5000/" {
		t.Errorf("base endpoint: %q", got)
	}
}

// TestEndpointFromEnvironment checks AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_SSM as config.LoadDefaultConfig records them.
func TestEndpointFromEnvironment(t *testing.T) {
	s := newServer(t, answer{status: 200, body: okBody})
	get := func(t *testing.T) error {
		t.Helper()
		cfg, err := config.LoadDefaultConfig(context.Background(),
			config.WithRegion("eu-west-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(cfg).GetParameter(context.Background(), "/p")
		return err
	}
	t.Run("AWS_ENDPOINT_URL", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL", s.URL)
		if err := get(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AWS_ENDPOINT_URL_SSM wins", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
		t.Setenv("AWS_ENDPOINT_URL_SSM", s.URL)
		if err := get(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:1")
		t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := resolveEndpoint(cfg); err != nil || got != "https://ssm.eu-west-1.amazonaws.com/" {
			t.Fatalf("endpoint %q, %v; want the regional one", got, err)
		}
	})
}
