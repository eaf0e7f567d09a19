package github

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/remediations"
)

// failFirst makes the fake answer the first n requests matching method and
// path with respond, then behave normally.
func (f *fakeGitHub) failFirst(method, path string, n int, respond func(w http.ResponseWriter)) {
	var mu sync.Mutex
	left := n
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != method || r.URL.Path != path || left == 0 {
			return false
		}
		left--
		respond(w)
		return true
	}
}

func rateLimited(reset time.Time) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Used", "5000")
		w.Header().Set("X-RateLimit-Resource", "core")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		writeJSON(w, http.StatusForbidden, map[string]any{
			"message":           "API rate limit exceeded for installation ID 99.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
		})
	}
}

func secondaryLimited(status int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(w, status, map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	}
}

func serverError(status int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html>Unicorn!</html>"))
	}
}

const deploymentsPath = "/repos/acme/shop/deployments"

func TestRateLimitIsWaitedOutUntilTheReset(t *testing.T) {
	s := newScenario(t)
	s.f.failFirst("GET", deploymentsPath, 1, rateLimited(now.Add(20*time.Second)))
	if _, err := s.x.Plan(context.Background(), theAlarm, params()); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if got, want := s.clk.Sleeps(), []time.Duration{21 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v (reset + 1s slack)", got, want)
	}
}

func TestRateLimitBeyondTheBoundFailsAtOnce(t *testing.T) {
	s := newScenario(t)
	reset := now.Add(10 * time.Minute)
	s.f.failFirst("GET", deploymentsPath, 1, rateLimited(reset))
	_, err := s.x.Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	var rle *gh.RateLimitError
	if !errors.As(err, &rle) {
		t.Errorf("err %v does not carry *github.RateLimitError", err)
	}
	mustContain(t, "error", err.Error(), "rate limit exhausted until "+reset.Format(time.RFC3339), "list deployments of acme/shop")
	if got := s.clk.Sleeps(); len(got) != 0 {
		t.Errorf("slept %v for a reset past the bound", got)
	}
}

func TestSecondaryRateLimitsWaitForRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		after  string
		want   time.Duration
	}{
		{"403 with Retry-After", http.StatusForbidden, "30", 30 * time.Second},
		{"429 with Retry-After", http.StatusTooManyRequests, "5", 5 * time.Second},
		{"403 without Retry-After waits a minute", http.StatusForbidden, "", time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t)
			s.f.failFirst("GET", "/repos/acme/shop", 1, secondaryLimited(tc.status, tc.after))
			if _, err := s.x.Plan(context.Background(), theAlarm, params()); err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if got := s.clk.Sleeps(); !slices.Equal(got, []time.Duration{tc.want}) {
				t.Errorf("slept %v, want [%v]", got, tc.want)
			}
		})
	}
}

func TestRateLimitedCreateIsRetriedWithTheSameBody(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	s.f.failFirst("POST", deploymentsPath, 1, rateLimited(now.Add(3*time.Second)))
	if _, err := s.x.Apply(context.Background(), plan); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	posts := s.f.requestsTo("POST", deploymentsPath)
	if len(posts) != 2 || string(posts[0].Body) != string(posts[1].Body) || len(posts[1].Body) == 0 {
		t.Fatalf("posts = %d, bodies %q / %q", len(posts), posts[0].Body, posts[len(posts)-1].Body)
	}
	if n := len(s.f.deployments); n != 5 {
		t.Errorf("%d deployments, want exactly one more than the 4 before", n)
	}
}

func TestServerErrorsOfReadsAreRetriedWithBackoff(t *testing.T) {
	s := newScenario(t)
	s.f.failFirst("GET", deploymentsPath, 2, serverError(http.StatusBadGateway))
	if _, err := s.x.Plan(context.Background(), theAlarm, params()); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if got, want := s.clk.Sleeps(), []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v", got, want)
	}
}

func TestServerErrorsPastTheAttemptsAreTemporary(t *testing.T) {
	s := newScenario(t)
	s.f.failFirst("GET", deploymentsPath, 3, serverError(http.StatusServiceUnavailable))
	_, err := s.x.Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Errorf("err = %#v, want an APIError with status 503", err)
	}
	if n := len(s.f.requestsTo("GET", deploymentsPath)); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestServerErrorOfACreateIsNotRetried(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	s.f.failFirst("POST", deploymentsPath, 1, serverError(http.StatusBadGateway))
	_, err = s.x.Apply(context.Background(), plan)
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	if n := len(s.f.requestsTo("POST", deploymentsPath)); n != 1 || len(s.clk.Sleeps()) != 0 {
		t.Errorf("%d posts, slept %v: a POST that may have taken effect was retried", n, s.clk.Sleeps())
	}
}

func TestValidationFailureIsPermanent(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	s.f.mu.Lock()
	delete(s.f.commits, s.good) // the good commit is gone (force-push + gc)
	s.f.mu.Unlock()
	_, err = s.x.Apply(context.Background(), plan)
	if !errors.Is(err, remediations.ErrInvalid) || errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		t.Fatalf("err = %#v, want an APIError with status 422", err)
	}
	mustContain(t, "error", err.Error(), "create deployment of "+short(s.good)+" to production in acme/shop", "No ref found for: "+s.good)
	if len(s.clk.Sleeps()) != 0 {
		t.Error("a 422 was retried")
	}
}

func TestValidationFieldErrorsAreNamed(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	s.f.failFirst("POST", deploymentsPath, 1, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []any{map[string]any{"resource": "Deployment", "field": "environment", "code": "invalid"}}})
	})
	_, err = s.x.Apply(context.Background(), plan)
	if !errors.Is(err, remediations.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	mustContain(t, "error", err.Error(), "Validation Failed", "Deployment.environment invalid")
}

func TestMissingPermissionIsNamed(t *testing.T) {
	s := newScenario(t)
	plan, err := s.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	s.f.failFirst("POST", deploymentsPath, 1, func(w http.ResponseWriter) {
		w.Header().Set("X-Accepted-GitHub-Permissions", "deployments=write")
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "Resource not accessible by integration",
			"documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"})
	})
	_, err = s.x.Apply(context.Background(), plan)
	if !errors.Is(err, remediations.ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Permission != "deployments=write" {
		t.Errorf("err = %#v, want Permission deployments=write", err)
	}
	mustContain(t, "error", err.Error(), "acme/shop", "Resource not accessible by integration", "needs permission deployments=write")
	if len(s.clk.Sleeps()) != 0 {
		t.Error("a permission error was retried")
	}
}

func TestUnknownRepositoryIsNotFound(t *testing.T) {
	s := newScenario(t)
	p := params()
	p["repo"] = "acme/other"
	_, err := s.x.Plan(context.Background(), theAlarm, p)
	if !errors.Is(err, remediations.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	mustContain(t, "error", err.Error(), "get repository acme/other", "cannot see it")
}

func TestErrorsNeverCarryTheToken(t *testing.T) {
	s := newScenario(t)
	s.f.failFirst("GET", "/repos/acme/shop", 1, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
	})
	_, err := s.x.Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, remediations.ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	mustContain(t, "error", err.Error(), "Bad credentials", "authentication failed")
	if strings.Contains(err.Error(), "ghp_secret_test_token") || strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the token: %v", err)
	}
	if r := s.f.allRequests()[0]; r.Auth != "Bearer ghp_secret_test_token" {
		t.Errorf("token not sent: %q", r.Auth)
	}
}

func TestCancelledWaitReturnsTheContextError(t *testing.T) {
	f := newFake(t)
	f.failFirst("GET", "/repos/acme/shop", 1, secondaryLimited(http.StatusForbidden, "30"))
	c, err := NewClient(Config{Token: "t", APIURL: f.srv.URL}) // real sleep
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = c.Repositories.Get(ctx, "acme", "shop")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the wait ignored the context")
	}
}

func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"0":   0,
		"120": 2 * time.Minute,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
	} {
		got, ok := parseRetryAfter(v, now)
		if !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "soon", "-5"} {
		if _, ok := parseRetryAfter(v, now); ok {
			t.Errorf("parseRetryAfter(%q) accepted", v)
		}
	}
}

// The recorded plan of a rate-limited run equals an undisturbed one: retries
// are invisible above the transport.
func TestRetriesDoNotChangeThePlan(t *testing.T) {
	a, b := newScenario(t), newScenario(t)
	b.f.failFirst("GET", "/repos/acme/shop/commits/"+b.good, 1, serverError(http.StatusInternalServerError))
	pa, err := a.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.x.Plan(context.Background(), theAlarm, params())
	if err != nil {
		t.Fatal(err)
	}
	if da, db := planData_(t, pa), planData_(t, pb); !reflect.DeepEqual(da, db) || pa.Summary != pb.Summary {
		t.Errorf("plans differ:\n%+v\n%+v", pa, pb)
	}
}
