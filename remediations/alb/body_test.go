package alb

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// htmlMessage returns the escaped message of an HTML body and checks the
// body's fixed frame.
func htmlMessage(t testing.TB, body string) string {
	t.Helper()
	const open = `<h1>Service unavailable</h1><p>`
	i := strings.Index(body, open)
	j := strings.Index(body, `</p><p>Please retry after`)
	if !strings.HasPrefix(body, "<!DOCTYPE html>") || !strings.HasSuffix(body, "</p></body></html>") || i < 0 || j < i {
		t.Fatalf("body lost its frame: %s", body)
	}
	return body[i+len(open) : j]
}

// checkEscaped fails when s has markup or an ampersand that starts no
// entity html.EscapeString writes.
func checkEscaped(t testing.TB, s string) {
	t.Helper()
	if strings.ContainsAny(s, "<>\"'") {
		t.Fatalf("unescaped markup in %q", s)
	}
	for i := strings.Index(s, "&"); i >= 0; i = strings.Index(s, "&") {
		rest := s[i:]
		ok := false
		for _, e := range []string{"&amp;", "&lt;", "&gt;", "&#34;", "&#39;"} {
			if strings.HasPrefix(rest, e) {
				ok = true
				s = rest[len(e):]
				break
			}
		}
		if !ok {
			t.Fatalf("broken entity at %q", rest)
		}
	}
}

func TestRenderBody(t *testing.T) {
	tests := []struct {
		name, format, message string
		retryAfter            int
		wantTruncated         bool
		wantMessage           string
	}{
		{name: "html with the default message", format: "html", retryAfter: 300, wantMessage: "The service is down for maintenance."},
		{name: "html escapes markup", format: "html", message: `<script>alert("x")</script> & more`, retryAfter: 60, wantMessage: "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more"},
		{name: "json keeps markup readable", format: "json", message: `<b>"quoted"</b> & more`, retryAfter: 60, wantMessage: `<b>"quoted"</b> & more`},
		{name: "control characters are dropped", format: "json", message: "back\x00 soon\x1b[31m\n", retryAfter: 5, wantMessage: "back soon[31m"},
		{name: "invalid utf-8 is replaced", format: "json", message: "caf\xe9", retryAfter: 5, wantMessage: "caf\uFFFD"},
		{name: "a long html message is cut", format: "html", message: strings.Repeat("<&> ", 1000), retryAfter: 600, wantTruncated: true},
		{name: "a long json message is cut", format: "json", message: strings.Repeat(`"\ `, 1000), retryAfter: 600, wantTruncated: true},
		{name: "a long multibyte message is cut on a character boundary", format: "json", message: strings.Repeat("日本語✓", 500), retryAfter: 600, wantTruncated: true},
		{name: "one second is singular", format: "html", message: "x", retryAfter: 1, wantMessage: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct, truncated := renderBody(tt.format, tt.message, tt.retryAfter)
			if len(body) > maxBody || !utf8.ValidString(body) {
				t.Fatalf("body is %d bytes (valid UTF-8: %v), want at most %d", len(body), utf8.ValidString(body), maxBody)
			}
			if truncated != tt.wantTruncated {
				t.Errorf("truncated = %v, want %v", truncated, tt.wantTruncated)
			}
			if hint := retryHint(tt.retryAfter); !strings.Contains(body, hint) {
				t.Errorf("body has no retry hint %q: %s", hint, body)
			}
			var msg string
			switch tt.format {
			case "json":
				if ct != "application/json" {
					t.Errorf("content type = %q", ct)
				}
				var got jsonBody
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("body is not JSON: %v: %s", err, body)
				}
				if got.RetryAfter != tt.retryAfter || got.Status != 503 {
					t.Errorf("retry_after = %d, status = %d", got.RetryAfter, got.Status)
				}
				msg = got.Message
			default:
				if ct != "text/html" {
					t.Errorf("content type = %q", ct)
				}
				msg = htmlMessage(t, body)
				checkEscaped(t, msg)
			}
			if tt.wantTruncated {
				if !strings.HasSuffix(msg, ellipsis) {
					t.Errorf("cut message does not end in an ellipsis: %q", msg)
				}
				if len(body) < maxBody-40 {
					t.Errorf("cut body is %d bytes, wasting the %d allowed", len(body), maxBody)
				}
			} else if msg != tt.wantMessage {
				t.Errorf("message = %q, want %q", msg, tt.wantMessage)
			}
		})
	}
}

func FuzzRenderBody(f *testing.F) {
	f.Add("html", "hello", 300)
	f.Add("json", strings.Repeat(`<"&'>\`, 300), 86400)
	f.Add("json", "\xff\xfe\x00", 0)
	f.Fuzz(func(t *testing.T, format, message string, retryAfter int) {
		if format != "json" {
			format = "html"
		}
		body, _, _ := renderBody(format, message, retryAfter)
		if len(body) > maxBody {
			t.Fatalf("body is %d bytes", len(body))
		}
		if format == "json" {
			var got jsonBody
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
			return
		}
		checkEscaped(t, htmlMessage(t, body))
	})
}

func TestRetryHint(t *testing.T) {
	for n, want := range map[int]string{0: "Please retry after 0 seconds.", 1: "Please retry after 1 second.", 600: "Please retry after 600 seconds."} {
		if got := retryHint(n); got != want {
			t.Errorf("retryHint(%d) = %q, want %q", n, got, want)
		}
	}
}
