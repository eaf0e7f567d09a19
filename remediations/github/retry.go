package github

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds how the client retries GitHub requests. The zero value
// means the defaults.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts per request, retries included
	// (default 3; 1 disables retries).
	MaxAttempts int
	// MaxWait bounds the total time one request spends waiting between
	// attempts (default 60s). A rate limit that resets later than that is
	// not waited for: the caller gets ErrTemporary at once.
	MaxWait time.Duration
	// Backoff is the wait before the first retry of a server error, doubled
	// for each further retry (default 1s).
	Backoff time.Duration
	// Now and Sleep replace the clock, for tests. Sleep must return early
	// with the context's error when it is done.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one line per retry (method, path, status, wait); nil
	// discards them. Nothing logged carries credentials.
	Logger *slog.Logger
}

const (
	defaultAttempts = 3
	defaultMaxWait  = 60 * time.Second
	defaultBackoff  = time.Second
	// resetSlack is added to a primary rate limit's reset time, against
	// clock skew between GitHub and us.
	resetSlack = time.Second
	// secondaryWait is GitHub's advice when a secondary rate limit response
	// names no Retry-After: wait at least a minute.
	secondaryWait = time.Minute
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = defaultAttempts
	}
	if p.MaxWait <= 0 {
		p.MaxWait = defaultMaxWait
	}
	if p.Backoff <= 0 {
		p.Backoff = defaultBackoff
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryTransport retries rate-limited requests after the time GitHub names
// and server errors of idempotent requests with exponential backoff, both
// within RetryPolicy's bounds. It sits below go-github, so go-github only
// ever sees the final response: its own rate-limit bookkeeping (which refuses
// further calls until a recorded reset) is not tripped by a limit we waited
// out, and every call, including GraphQL requests sent through the same
// client, is covered in one place.
type retryTransport struct {
	base http.RoundTripper
	p    RetryPolicy
}

// NewRetryTransport returns an http.RoundTripper that retries requests sent
// through base as p allows: 403/429 rate-limit responses (primary limits
// after X-RateLimit-Reset, secondary ones after Retry-After) for any method,
// since GitHub did not act on them; 500/502/503/504 only for idempotent
// methods, since a POST that failed with a server error may still have
// taken effect.
func NewRetryTransport(base http.RoundTripper, p RetryPolicy) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &retryTransport{base: base, p: p.withDefaults()}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		wait, why, ok := t.retryAfter(req, resp, attempt)
		if !ok || attempt >= t.p.MaxAttempts || waited+wait > t.p.MaxWait ||
			(req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		t.p.Logger.LogAttrs(ctx, slog.LevelWarn, "github request retried",
			slog.String("method", req.Method), slog.String("path", req.URL.Path),
			slog.Int("status", resp.StatusCode), slog.String("reason", why),
			slog.Duration("wait", wait), slog.Int("attempt", attempt))
		if err := t.p.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		waited += wait
	}
}

// retryAfter says whether resp is worth retrying and after how long.
func (t *retryTransport) retryAfter(req *http.Request, resp *http.Response, attempt int) (time.Duration, string, bool) {
	switch c := resp.StatusCode; {
	case c == http.StatusForbidden || c == http.StatusTooManyRequests:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.p.Now()); ok {
			return d, "secondary rate limit", true
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if sec, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				d := time.Unix(sec, 0).Sub(t.p.Now()) + resetSlack
				return max(d, 0), "rate limit", true
			}
		}
		if isSecondaryLimit(resp) {
			return secondaryWait, "secondary rate limit", true
		}
		return 0, "", false
	case c == http.StatusInternalServerError || c == http.StatusBadGateway ||
		c == http.StatusServiceUnavailable || c == http.StatusGatewayTimeout:
		if !idempotent(req.Method) {
			return 0, "", false
		}
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.p.Now()); ok {
			return d, "server error", true
		}
		return t.p.Backoff << (attempt - 1), "server error", true
	}
	return 0, "", false
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if sec, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && sec >= 0 {
		return time.Duration(sec) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// isSecondaryLimit reports whether a 403/429 body is GitHub's secondary rate
// limit message. It reads the body and puts it back for go-github.
func isSecondaryLimit(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return false
	}
	s := strings.ToLower(string(data))
	return strings.Contains(s, "secondary rate limit") || strings.Contains(s, "abuse")
}
