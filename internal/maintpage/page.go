package maintpage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
)

// page is the maintenance page's content.
type page struct {
	Message    string
	RetryAfter int
}

// retryText says when to come back, e.g. "Please try again in 5 minutes."
func retryText(sec int) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("Please try again in %d second%s.", sec, plural(sec))
	case sec%3600 == 0:
		return fmt.Sprintf("Please try again in %d hour%s.", sec/3600, plural(sec/3600))
	case sec%60 == 0:
		return fmt.Sprintf("Please try again in %d minute%s.", sec/60, plural(sec/60))
	}
	return fmt.Sprintf("Please try again in %d seconds.", sec)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (p page) html() string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="`)
	b.WriteString(strconv.Itoa(p.RetryAfter))
	b.WriteString(`">
<title>Down for maintenance</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1d2330;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:34rem;margin:2rem;padding:2.5rem 3rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{margin:0 0 .75rem;font-size:1.6rem}
p{margin:.5rem 0}.retry{color:#5b6478}
</style></head>
<body><main>
<h1>Down for maintenance</h1>
`)
	for _, line := range strings.Split(p.Message, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			b.WriteString(`<p class="message">` + html.EscapeString(line) + "</p>\n")
		}
	}
	b.WriteString(`<p class="retry">` + retryText(p.RetryAfter) + ` This page reloads by itself.</p>
</main></body></html>
`)
	return b.String()
}

// jsonBody is the JSON page's shape.
type jsonBody struct {
	Status     int    `json:"status"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after"`
}

func (p page) json() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// A struct of strings and ints always encodes.
	_ = enc.Encode(jsonBody{Status: 503, Error: "service_unavailable", Message: p.Message, RetryAfter: p.RetryAfter})
	return buf.String()
}

// wantsJSON reports whether accept prefers application/json over
// text/html: by quality, then by how specifically each is named (a type
// named outright beats text/* beats */*). No Accept header gets HTML.
func wantsJSON(accept string) bool {
	jq, js := quality(accept, "application", "json")
	hq, hs := quality(accept, "text", "html")
	if jq != hq {
		return jq > hq
	}
	return js > hs
}

// quality returns the q-value accept gives typ/sub and how specific the
// range that gave it is (2 exact, 1 typ/*, 0 */*, -1 none).
func quality(accept, typ, sub string) (float64, int) {
	q, spec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		t, s, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		sp := -1
		switch {
		case t == typ && s == sub:
			sp = 2
		case t == typ && s == "*":
			sp = 1
		case t == "*" && s == "*":
			sp = 0
		}
		if sp < spec || sp < 0 {
			continue
		}
		pq := 1.0
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.EqualFold(k, "q") {
				if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n <= 1 {
					pq = n
				}
			}
		}
		q, spec = pq, sp
	}
	return q, spec
}
