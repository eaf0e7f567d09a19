package maintpage

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Defaults are what the function uses when the request carries no config.
type Defaults struct {
	// RetryAfter is in seconds; 0 means 300.
	RetryAfter int
}

// Handler answers ALB target requests (Handle) and plain HTTP (ServeHTTP).
type Handler struct {
	defaults Defaults
}

// New returns a Handler with defaults.
func New(d Defaults) *Handler {
	if d.RetryAfter <= 0 || d.RetryAfter > MaxRetryAfter {
		d.RetryAfter = 300
	}
	return &Handler{defaults: d}
}

// Handle answers one request an ALB forwarded to the function. It never
// fails: a visitor always gets a page.
func (h *Handler) Handle(_ context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	get := func(name string) string {
		if v, ok := req.Headers[name]; ok {
			return v
		}
		if vs := req.MultiValueHeaders[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	a := h.answer(req.HTTPMethod, req.Path, get)
	res := events.ALBTargetGroupResponse{
		StatusCode:        a.status,
		StatusDescription: strconv.Itoa(a.status) + " " + http.StatusText(a.status),
		Body:              a.body,
	}
	// With multi-value headers on the target group, ALB sends and expects
	// multiValueHeaders; otherwise headers.
	if len(req.MultiValueHeaders) > 0 {
		res.MultiValueHeaders = make(map[string][]string, len(a.headers))
		for k, v := range a.headers {
			res.MultiValueHeaders[k] = []string{v}
		}
	} else {
		res.Headers = a.headers
	}
	return res, nil
}

// ServeHTTP answers plain HTTP the way Handle answers ALB events.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	get := func(name string) string {
		if strings.EqualFold(name, "host") {
			return r.Host
		}
		return r.Header.Get(name)
	}
	a := h.answer(r.Method, r.URL.Path, get)
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

// answer is one response, whichever transport carries it.
type answer struct {
	status  int
	headers map[string]string
	body    string
}

// answer decides the response to method and path; header reads a request
// header by lower-case name.
func (h *Handler) answer(method, path string, header func(string) string) answer {
	cfg, orig := h.config(path, header)
	head := method == http.MethodHead
	ok := func(text string) answer {
		a := answer{status: http.StatusOK, headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}, body: text + "\n"}
		if head {
			a.body = ""
		}
		return a
	}
	if orig == HealthPath || strings.HasPrefix(header("user-agent"), "ELB-HealthChecker/") {
		return ok("ok")
	}
	if cfg.Allows(orig) {
		return ok("ok (maintenance)")
	}
	msg := cfg.Message
	if msg == "" {
		msg = defaultMessage(header("host"))
	}
	p := page{Message: msg, RetryAfter: cfg.RetryAfter}
	a := answer{status: http.StatusServiceUnavailable, headers: map[string]string{
		"Retry-After":   strconv.Itoa(cfg.RetryAfter),
		"Cache-Control": "no-store",
	}}
	if wantsJSON(header("accept")) {
		a.headers["Content-Type"] = "application/json"
		a.body = p.json()
	} else {
		a.headers["Content-Type"] = "text/html; charset=utf-8"
		a.body = p.html()
	}
	if head {
		a.body = ""
	}
	return a
}

// config returns the config the request carries (or the defaults) and the
// request's original path.
func (h *Handler) config(path string, header func(string) string) (Config, string) {
	cfg, orig := Config{}, path
	if rest, ok := strings.CutPrefix(path, PathPrefix); ok {
		enc, tail, _ := strings.Cut(rest, "/")
		orig = "/" + tail
		if c, err := Decode(enc); err == nil {
			cfg = c
		}
	} else if enc := header(Header); enc != "" {
		if c, err := Decode(enc); err == nil {
			cfg = c
		}
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = h.defaults.RetryAfter
	}
	return cfg, orig
}

// defaultMessage names the host when the request has a plausible one.
func defaultMessage(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	if host == "" || len(host) > 253 || strings.ContainsAny(host, " <>\"'&/\\") {
		return "This service is down for maintenance."
	}
	return host + " is down for maintenance."
}
