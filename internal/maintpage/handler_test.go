package maintpage

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func loadRequest(t *testing.T, name string) events.ALBTargetGroupRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var req events.ALBTargetGroupRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// rewritten returns req as medic's maintenance rule's url-rewrite sends it.
func rewritten(t *testing.T, req events.ALBTargetGroupRequest, cfg Config) events.ALBTargetGroupRequest {
	t.Helper()
	enc, err := Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req.Path = PathPrefix + enc + req.Path
	return req
}

func handle(t *testing.T, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	t.Helper()
	res, err := New(Defaults{}).Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return res
}

func TestARealALBRequestGetsA503PageWithRetryAfter(t *testing.T) {
	res := handle(t, loadRequest(t, "alb-lambda-target-request-headers-only.json"))
	if res.StatusCode != 503 || res.StatusDescription != "503 Service Unavailable" {
		t.Errorf("status = %d %q", res.StatusCode, res.StatusDescription)
	}
	want := map[string]string{"Retry-After": "300", "Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}
	for k, v := range want {
		if res.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, res.Headers[k], v)
		}
	}
	if res.MultiValueHeaders != nil {
		t.Error("answered multiValueHeaders to a request without them")
	}
	for _, s := range []string{"<title>Down for maintenance</title>", "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com is down for maintenance.", "Please try again in 5 minutes."} {
		if !strings.Contains(res.Body, s) {
			t.Errorf("page lacks %q:\n%s", s, res.Body)
		}
	}
}

func TestMultiValueHeadersAreAnsweredInKind(t *testing.T) {
	res := handle(t, loadRequest(t, "alb-lambda-target-request-multivalue-headers.json"))
	if res.StatusCode != 503 || len(res.Headers) != 0 {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Headers)
	}
	if got := res.MultiValueHeaders["Retry-After"]; len(got) != 1 || got[0] != "300" {
		t.Errorf("multiValueHeaders Retry-After = %v", got)
	}
}

func TestTheRulesConfigDecidesTheAnswer(t *testing.T) {
	base := loadRequest(t, "alb-lambda-target-request-headers-only.json")
	cfg := Config{Message: "Checkout is being upgraded.\nBack soon <3", RetryAfter: 120, AllowPaths: []string{"/healthz", "/status/*"}}
	cases := []struct {
		name        string
		path        string
		method      string
		headers     map[string]string
		status      int
		contentType string
		body        []string
	}{
		{name: "a page asks for the message and retry the rule carries", path: "/cart", status: 503, contentType: "text/html; charset=utf-8",
			body: []string{`<p class="message">Checkout is being upgraded.</p>`, `<p class="message">Back soon &lt;3</p>`, "Please try again in 2 minutes.", `content="120"`}},
		{name: "an API client asking for JSON gets JSON", path: "/api/orders", headers: map[string]string{"accept": "application/json, text/plain, */*"}, status: 503, contentType: "application/json",
			body: []string{`"status":503`, `"retry_after":120`, `"message":"Checkout is being upgraded.\nBack soon <3"`}},
		{name: "a browser's Accept gets HTML", path: "/", headers: map[string]string{"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, status: 503, contentType: "text/html; charset=utf-8"},
		{name: "JSON preferred by quality", path: "/", headers: map[string]string{"accept": "text/html;q=0.5, application/json"}, status: 503, contentType: "application/json"},
		{name: "an allowed health path passes with 200", path: "/healthz", status: 200, contentType: "text/plain; charset=utf-8", body: []string{"ok"}},
		{name: "an allowed prefix passes with 200", path: "/status/db", status: 200, contentType: "text/plain; charset=utf-8"},
		{name: "a path only starting like an allowed one does not", path: "/healthz/deep", status: 503, contentType: "text/html; charset=utf-8"},
		{name: "the target group's health checker gets 200", path: "/anything", headers: map[string]string{"user-agent": "ELB-HealthChecker/2.0"}, status: 200},
		{name: "HEAD gets the headers and no body", path: "/cart", method: "HEAD", status: 503, contentType: "text/html; charset=utf-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			req.Headers = map[string]string{}
			for k, v := range base.Headers {
				req.Headers[k] = v
			}
			for k, v := range tc.headers {
				req.Headers[k] = v
			}
			req.Path = tc.path
			if tc.method != "" {
				req.HTTPMethod = tc.method
			}
			res := handle(t, rewritten(t, req, cfg))
			if res.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tc.status, res.Body)
			}
			if tc.contentType != "" && res.Headers["Content-Type"] != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", res.Headers["Content-Type"], tc.contentType)
			}
			if res.Headers["Cache-Control"] != "no-store" {
				t.Errorf("Cache-Control = %q", res.Headers["Cache-Control"])
			}
			if tc.status == 503 && res.Headers["Retry-After"] != "120" {
				t.Errorf("Retry-After = %q, want the rule's 120", res.Headers["Retry-After"])
			}
			if tc.method == "HEAD" && res.Body != "" {
				t.Errorf("HEAD got a body: %q", res.Body)
			}
			for _, s := range tc.body {
				if !strings.Contains(res.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, res.Body)
				}
			}
		})
	}
}

func TestABrokenConfigStillGetsAPage(t *testing.T) {
	req := loadRequest(t, "alb-lambda-target-request-headers-only.json")
	for _, path := range []string{PathPrefix + "not-base64!/x", PathPrefix + "e30", PathPrefix, PathPrefix + strings.Repeat("A", 2000) + "/x"} {
		req.Path = path
		res := handle(t, req)
		if res.StatusCode != 503 || res.Headers["Retry-After"] != "300" || !strings.Contains(res.Body, "is down for maintenance.") {
			t.Errorf("path %.40q: status %d, Retry-After %q", path, res.StatusCode, res.Headers["Retry-After"])
		}
	}
}

func TestConfigEncodingRoundTripsAndRefusesWhatDoesNotFit(t *testing.T) {
	cfg := Config{Message: "Back at 14:00 UTC", RetryAfter: 900, AllowPaths: []string{"/healthz"}}
	enc, err := Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(enc, "/+=?#") {
		t.Errorf("encoded config %q is not path-safe", enc)
	}
	got, err := Decode(enc)
	if err != nil || got.Message != cfg.Message || got.RetryAfter != 900 || len(got.AllowPaths) != 1 {
		t.Errorf("Decode(Encode(cfg)) = %+v, %v", got, err)
	}
	if _, err := Encode(Config{Message: strings.Repeat("x", 1000)}); err == nil || !strings.Contains(err.Error(), "shorten the message") {
		t.Errorf("a message too long for a rule: %v", err)
	}
	if _, err := Encode(Config{RetryAfter: -1}); err == nil {
		t.Error("a negative retry-after encoded")
	}
	if _, err := Encode(Config{AllowPaths: []string{"healthz"}}); err == nil {
		t.Error("an allow path without / encoded")
	}
}

func FuzzHandle(f *testing.F) {
	f.Add("GET", "/", "*/*", "example.com")
	f.Add("HEAD", PathPrefix+"eyJtIjoiaGkifQ/x", "application/json;q=0.1,text/*", "")
	h := New(Defaults{})
	f.Fuzz(func(t *testing.T, method, path, accept, host string) {
		res, err := h.Handle(context.Background(), events.ALBTargetGroupRequest{HTTPMethod: method, Path: path, Headers: map[string]string{"accept": accept, "host": host}})
		if err != nil || (res.StatusCode != 503 && res.StatusCode != 200) {
			t.Fatalf("status %d err %v", res.StatusCode, err)
		}
		if res.StatusCode == 503 && res.Headers["Retry-After"] == "" {
			t.Fatal("503 without Retry-After")
		}
	})
}
