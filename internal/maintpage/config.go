// Package maintpage answers the requests an ALB forwards to medic's
// maintenance function while alb.maintenance (mode lambda) is on: a 503
// with a Retry-After header, Cache-Control: no-store and a page in HTML or
// JSON by the request's Accept header; health-check paths get 200 so the
// target group stays healthy. It imports no AWS SDK package (the function
// only answers ALB events), and the same Handler serves plain HTTP for
// tests and local previews.
//
// # Where the page's words come from
//
// One function serves every load balancer. ALB listener rules cannot add
// request headers, but they can rewrite the URL (a url-rewrite transform):
// medic's maintenance rule rewrites every path P to
// PathPrefix + Encode(cfg) + P, so the function reads that rule's message,
// retry-after and allow_paths from the request, and a new message needs a
// new rule, not a redeploy. A proxy in front may send the same encoding in
// the Header header instead. Without either, the page names the request's
// host and uses the function's defaults.
package maintpage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// PathPrefix starts a path rewritten by medic's maintenance rule:
// PathPrefix + encoded config + the original path.
const PathPrefix = "/_medic/maintenance/"

// Header carries an encoded config when a proxy sets it (ALB rules cannot).
const Header = "x-medic-maintenance"

// HealthPath is the path the maintenance target group's own health check
// asks for; it always gets 200.
const HealthPath = "/_medic/health"

// MaxRetryAfter bounds Retry-After: one day.
const MaxRetryAfter = 86400

// maxEncoded bounds an encoded config (ALB allows 1,024 characters in a
// rewrite's replacement).
const maxEncoded = 900

// Config is what one maintenance rule tells the function.
type Config struct {
	// Message is the text shown to visitors; empty: "<host> is down for
	// maintenance."
	Message string `json:"m,omitempty"`
	// RetryAfter is the Retry-After header, in seconds; 0: the function's
	// default.
	RetryAfter int `json:"r,omitempty"`
	// AllowPaths are paths answered with 200 (health checks), exact or,
	// ending in *, by prefix.
	AllowPaths []string `json:"a,omitempty"`
}

// Encode returns cfg as it travels in a path segment or header: base64url
// of its JSON, without padding. It fails when the result is longer than a
// rule can carry.
func Encode(cfg Config) (string, error) {
	if err := cfg.check(); err != nil {
		return "", err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("encode maintenance page config: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	if len(s) > maxEncoded {
		return "", fmt.Errorf("maintenance page config is %d characters encoded, at most %d fit in a rule: shorten the message or allow_paths", len(s), maxEncoded)
	}
	return s, nil
}

// Decode reads an encoded config; it fails on anything Encode would not
// have produced.
func Decode(s string) (Config, error) {
	var cfg Config
	if s == "" || len(s) > maxEncoded {
		return cfg, fmt.Errorf("maintenance page config: %d characters, want 1 to %d", len(s), maxEncoded)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cfg, fmt.Errorf("maintenance page config is not base64url: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("maintenance page config is not the expected JSON: %w", err)
	}
	if err := cfg.check(); err != nil {
		return Config{}, err
	}
	cfg.Message = clean(cfg.Message)
	return cfg, nil
}

func (c Config) check() error {
	if c.RetryAfter < 0 || c.RetryAfter > MaxRetryAfter {
		return fmt.Errorf("maintenance page config: retry after %d s, want 0 to %d", c.RetryAfter, MaxRetryAfter)
	}
	for _, p := range c.AllowPaths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("maintenance page config: allow path %q does not start with /", p)
		}
	}
	return nil
}

// Allows reports whether path is one of AllowPaths.
func (c Config) Allows(path string) bool {
	for _, p := range c.AllowPaths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(path, prefix) || p == path {
			return true
		}
	}
	return false
}

// clean keeps printable text and newlines, trimmed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
	return strings.TrimSpace(s)
}
