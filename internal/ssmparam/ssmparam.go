// Package ssmparam reads one SSM parameter (GetParameter) with a small
// hand-written client, for the kill switch.
//
// It exists because the AWS SDK's ssm client is expensive to link: its
// generated schemas package takes ~10 ms of package init at every Lambda
// cold start (GODEBUG=inittrace=1), the largest single init in medic's
// binaries, and medic needs only GetParameter. This client speaks the AWS
// JSON 1.1 protocol directly and signs with the SDK's SigV4 signer, which
// the other clients link anyway. internal/deploycheck fails if a Lambda
// imports github.com/aws/aws-sdk-go-v2/service/ssm again.
package ssmparam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	// signingName is SSM's SigV4 service name; sdkID names it in
	// AWS_ENDPOINT_URL_<SDKID> and the shared config's services section.
	signingName = "ssm"
	sdkID       = "SSM"

	target      = "AmazonSSM.GetParameter"
	contentType = "application/x-amz-json-1.1"

	// maxAttempts is how many times a call is tried: network errors, HTTP
	// 5xx and throttling are retried.
	maxAttempts = 3
	// maxBody caps how much of a response is read.
	maxBody = 1 << 20
	// defaultTimeout bounds a request when cfg.HTTPClient is nil.
	defaultTimeout = 10 * time.Second
)

// backoff is the wait before the second and third attempts (jittered to
// between half and all of it).
var backoff = [maxAttempts - 1]time.Duration{50 * time.Millisecond, 200 * time.Millisecond}

// Client reads SSM parameters. It is safe for concurrent use.
type Client struct {
	creds    aws.CredentialsProvider
	region   string
	endpoint string
	// endpointErr is why no endpoint could be resolved; every call returns
	// it.
	endpointErr error
	http        aws.HTTPClient
	signer      *v4.Signer
}

// New returns a client for cfg: its credentials, region and HTTP client
// (an http.Client with a 10s timeout when nil), and its endpoint, resolved
// as the SDK's ssm client resolves it: AWS_ENDPOINT_URL_SSM (or the shared
// config's services section, via cfg.ConfigSources) over cfg.BaseEndpoint
// (AWS_ENDPOINT_URL), else https://ssm.<region>.amazonaws.com
// (.amazonaws.com.cn in cn- regions). Configuration errors are returned by
// GetParameter.
func New(cfg aws.Config) *Client {
	c := &Client{
		creds:  cfg.Credentials,
		region: cfg.Region,
		http:   cfg.HTTPClient,
		signer: v4.NewSigner(),
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	c.endpoint, c.endpointErr = resolveEndpoint(cfg)
	return c
}

// APIError is an error response from SSM.
type APIError struct {
	// Name is the parameter asked for.
	Name string
	// Code is the error type without its namespace, e.g.
	// "ParameterNotFound"; empty when the response did not name one.
	Code    string
	Message string
	// Status is the HTTP status code.
	Status int
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("HTTP %d", e.Status)
	}
	s := "ssm GetParameter " + e.Name + ": " + code
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// retryable reports whether the call may succeed if tried again.
func (e *APIError) retryable() bool {
	switch e.Code {
	case "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "TooManyUpdates", "RequestLimitExceeded", "RequestThrottled",
		"RequestTimeout", "RequestTimeoutException", "InternalServerError":
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// GetParameter returns the value of the parameter name. SecureString
// parameters are returned encrypted (WithDecryption is not sent).
func (c *Client) GetParameter(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", errors.New("ssm GetParameter: empty parameter name")
	}
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("ssm GetParameter %s: "+format, append([]any{name}, args...)...)
	}
	if c.endpointErr != nil {
		return fail("%w", c.endpointErr)
	}
	if c.creds == nil {
		return fail("no AWS credentials")
	}
	body, err := json.Marshal(struct{ Name string }{name})
	if err != nil {
		return fail("encode request: %w", err)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])

	for attempt := 1; ; attempt++ {
		value, retry, err := c.try(ctx, name, body, payloadHash)
		if err == nil {
			return value, nil
		}
		if !retry {
			return "", err
		}
		if ctx.Err() != nil {
			return fail("%w (after %d attempts; last error: %v)", ctx.Err(), attempt, err)
		}
		if attempt == maxAttempts {
			return "", fmt.Errorf("%w (after %d attempts)", err, attempt)
		}
		d := backoff[attempt-1]
		t := time.NewTimer(d/2 + rand.N(d/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fail("%w (after %d attempts; last error: %v)", ctx.Err(), attempt, err)
		case <-t.C:
		}
	}
}

// try makes one attempt; retry says whether another may succeed.
func (c *Client) try(ctx context.Context, name string, body []byte, payloadHash string) (value string, retry bool, err error) {
	fail := func(retry bool, format string, args ...any) (string, bool, error) {
		return "", retry, fmt.Errorf("ssm GetParameter %s: "+format, append([]any{name}, args...)...)
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fail(false, "retrieve AWS credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fail(false, "build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", target)
	if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, signingName, c.region, time.Now()); err != nil {
		return fail(false, "sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(ctx.Err() == nil, "send request to %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fail(ctx.Err() == nil, "read response (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(raw) > maxBody {
		return fail(false, "response (HTTP %d) is larger than %d bytes", resp.StatusCode, maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := decodeError(name, resp, raw)
		return "", apiErr.retryable(), apiErr
	}
	var out struct {
		Parameter *struct {
			Value *string
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fail(false, "decode response (HTTP %d): %w: %s", resp.StatusCode, err, snippet(raw))
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return fail(false, "response has no Parameter.Value: %s", snippet(raw))
	}
	return *out.Parameter.Value, false, nil
}

// decodeError reads an AWS JSON error: the type from the X-Amzn-ErrorType
// header or the body's __type (or code), without a "namespace#" prefix or
// a ":uri" suffix, and the message.
func decodeError(name string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Name: name, Status: resp.StatusCode}
	var info struct {
		Type    string `json:"__type"`
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	jsonErr := json.Unmarshal(raw, &info)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = info.Type
	}
	if code == "" {
		code, _ = info.Code.(string)
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	e.Code = code
	e.Message = info.Message
	if jsonErr != nil && e.Message == "" && len(bytes.TrimSpace(raw)) > 0 {
		e.Message = snippet(raw)
	}
	return e
}

// snippet quotes the start of a response body for an error message.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// resolveEndpoint returns the URL requests are posted to, as the SDK's ssm
// client resolves it (service/ssm resolveBaseEndpoint): the service-specific
// endpoint from cfg.ConfigSources (AWS_ENDPOINT_URL_SSM, the shared config's
// services section), unless only AWS_ENDPOINT_URL is set or configured
// endpoints are ignored, over cfg.BaseEndpoint, over the regional endpoint.
func resolveEndpoint(cfg aws.Config) (string, error) {
	var base string
	if cfg.BaseEndpoint != nil {
		base = *cfg.BaseEndpoint
	}
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, service := os.LookupEnv("AWS_ENDPOINT_URL_" + sdkID)
	if !global || service {
		if v, ok := serviceEndpoint(cfg.ConfigSources); ok {
			base = v
		}
	}
	if base == "" {
		if !validRegion(cfg.Region) {
			return "", fmt.Errorf("no endpoint: invalid or missing AWS region %q", cfg.Region)
		}
		suffix := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		return "https://" + signingName + "." + cfg.Region + "." + suffix + "/", nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint %q is not an http(s) URL", base)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	if cfg.Region == "" {
		return "", errors.New("no AWS region to sign for")
	}
	return u.String(), nil
}

// serviceEndpoint is internal/configsources.ResolveServiceBaseEndpoint,
// which the SDK keeps internal: the config sources LoadDefaultConfig
// records (environment, shared config) implement these methods.
func serviceEndpoint(sources []any) (string, bool) {
	ctx := context.Background()
	for _, s := range sources {
		if p, ok := s.(interface {
			GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
		}); ok {
			v, found, err := p.GetIgnoreConfiguredEndpoints(ctx)
			if found && v && err == nil {
				return "", false
			}
			if found || err != nil {
				break
			}
		}
	}
	for _, s := range sources {
		if p, ok := s.(interface {
			GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
		}); ok {
			v, found, err := p.GetServiceBaseEndpoint(ctx, sdkID)
			if err != nil {
				return "", false
			}
			if found {
				return v, true
			}
		}
	}
	return "", false
}

// validRegion reports whether region can be a host label.
func validRegion(region string) bool {
	if region == "" || len(region) > 63 || region[0] == '-' || region[len(region)-1] == '-' {
		return false
	}
	for _, r := range region {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
