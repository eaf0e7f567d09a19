package alb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"unicode"
)

// maxBody is the longest fixed-response MessageBody ALB accepts. The limit is
// stated in characters; bodies are kept within it in bytes, which is stricter.
const maxBody = 1024

// defaultMessage is shown when the policy gives no message.
const defaultMessage = "The service is down for maintenance."

// ellipsis marks a truncated message.
const ellipsis = "…"

// Content types of the 503 body, by format.
const (
	contentHTML = "text/html"
	contentJSON = "application/json"
)

// renderBody returns the 503 body and its content type for format ("html" or
// "json"), the user's message and the retry hint. The body is at most maxBody
// bytes: a long message is cut on a character boundary before escaping, so
// the result is always well-formed. truncated reports whether it was cut.
func renderBody(format, message string, retryAfter int) (body, contentType string, truncated bool) {
	msg := cleanMessage(message)
	if msg == "" {
		msg = defaultMessage
	}
	render := renderHTML
	contentType = contentHTML
	if format == "json" {
		render = renderJSON
		contentType = contentJSON
	}
	if b := render(msg, retryAfter); len(b) <= maxBody {
		return b, contentType, false
	}
	// Binary search for the most runes of msg that still fit. Every rune
	// takes at least one byte, so no more than maxBody of them can.
	runes := []rune(firstRunes(msg, maxBody))
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(render(cut(runes, mid), retryAfter)) <= maxBody {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return render(cut(runes, lo), retryAfter), contentType, true
}

// firstRunes returns the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// cut returns the first n runes of r followed by an ellipsis.
func cut(r []rune, n int) string {
	return strings.TrimRightFunc(string(r[:n]), unicode.IsSpace) + ellipsis
}

// cleanMessage makes s valid UTF-8 without control characters other than
// newline and tab, and trims surrounding space.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// retryHint is the sentence that tells clients when to retry; ALB fixed
// responses cannot carry a Retry-After header.
func retryHint(retryAfter int) string {
	if retryAfter == 1 {
		return "Please retry after 1 second."
	}
	return fmt.Sprintf("Please retry after %d seconds.", retryAfter)
}

func renderHTML(msg string, retryAfter int) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Service unavailable</title></head><body><h1>Service unavailable</h1><p>`)
	b.WriteString(html.EscapeString(msg))
	b.WriteString(`</p><p>`)
	b.WriteString(retryHint(retryAfter))
	b.WriteString(`</p></body></html>`)
	return b.String()
}

// jsonBody is the shape of the JSON 503 body.
type jsonBody struct {
	Status     int    `json:"status"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after"`
	Hint       string `json:"hint"`
}

func renderJSON(msg string, retryAfter int) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a struct of strings and ints cannot fail.
	_ = enc.Encode(jsonBody{
		Status:     503,
		Error:      "service_unavailable",
		Message:    msg,
		RetryAfter: retryAfter,
		Hint:       retryHint(retryAfter),
	})
	return strings.TrimSuffix(buf.String(), "\n")
}
