package github

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/medicbot/medic/remediations"
)

// ErrTemporary marks a GitHub failure worth retrying later: an exhausted
// rate limit or a server error that outlasted the client's own bounded
// retries. Permanent failures wrap remediations.ErrNotFound,
// remediations.ErrAccessDenied or remediations.ErrInvalid instead.
var ErrTemporary = errors.New("github temporarily unavailable")

// APIError is a GitHub API failure classified for medic: Kind is one of
// remediations.ErrNotFound, remediations.ErrAccessDenied,
// remediations.ErrInvalid or ErrTemporary, and Err is go-github's own error
// (*github.ErrorResponse, *github.RateLimitError, ...), so both errors.Is on
// the sentinel and errors.As on the go-github type work.
type APIError struct {
	// Op says what medic was doing, naming the repository.
	Op string
	// Status is the HTTP status code.
	Status int
	// Message is GitHub's explanation, with any field errors.
	Message string
	// Permission is what GitHub says the call needs, from the
	// X-Accepted-GitHub-Permissions (GitHub App) or X-Accepted-OAuth-Scopes
	// (classic token) response header, e.g. "deployments=write".
	Permission string
	// Kind is the sentinel the error wraps.
	Kind error
	// Err is the underlying go-github error.
	Err error
}

// Error says what was being done, the kind of failure, GitHub's message and
// any missing permission. It never includes request headers.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Permission != "" {
		b.WriteString("; the GitHub token or App needs permission ")
		b.WriteString(e.Permission)
	}
	return b.String()
}

// Unwrap returns the sentinel and the go-github error.
func (e *APIError) Unwrap() []error { return []error{e.Kind, e.Err} }

// apiErr classifies err from a go-github call made while doing op. Errors
// without an HTTP response (network, context) are wrapped as they are.
func apiErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var rle *gh.RateLimitError
	if errors.As(err, &rle) {
		msg := "rate limit exhausted"
		if !rle.Rate.Reset.IsZero() {
			msg += " until " + rle.Rate.Reset.UTC().Format(time.RFC3339)
		}
		return &APIError{Op: op, Status: statusOf(rle.Response), Message: msg, Kind: ErrTemporary, Err: err}
	}
	var are *gh.AbuseRateLimitError
	if errors.As(err, &are) {
		msg := "secondary rate limit exceeded"
		if are.RetryAfter != nil {
			msg += ", retry after " + are.RetryAfter.String()
		}
		return &APIError{Op: op, Status: statusOf(are.Response), Message: msg, Kind: ErrTemporary, Err: err}
	}
	var ie *ghinstallation.HTTPError
	if errors.As(err, &ie) && ie.Response != nil {
		// The GitHub App could not get an installation token.
		e := &APIError{Op: op, Status: ie.Response.StatusCode, Err: err,
			Message: fmt.Sprintf("the GitHub App could not get a token for installation %d, check the app id, installation id and private key", ie.InstallationID)}
		switch c := e.Status; {
		case c == http.StatusTooManyRequests || c >= 500:
			e.Kind = ErrTemporary
		default:
			e.Kind = remediations.ErrAccessDenied
		}
		return e
	}
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	e := &APIError{Op: op, Status: er.Response.StatusCode, Message: describeErrorResponse(er), Err: err}
	e.Permission = er.Response.Header.Get("X-Accepted-GitHub-Permissions")
	if e.Permission == "" {
		if s := er.Response.Header.Get("X-Accepted-OAuth-Scopes"); s != "" {
			e.Permission = "scope " + s
		}
	}
	switch c := e.Status; {
	case c == http.StatusUnauthorized:
		e.Kind = remediations.ErrAccessDenied
		e.Message = "authentication failed, the token or App credentials are invalid or expired: " + e.Message
	case c == http.StatusForbidden:
		e.Kind = remediations.ErrAccessDenied
	case c == http.StatusNotFound:
		// GitHub answers 404, not 403, when the credentials cannot see a
		// private repository.
		e.Kind = remediations.ErrNotFound
		e.Message += " (or the credentials cannot see it)"
	case c == http.StatusTooManyRequests || c >= 500:
		e.Kind = ErrTemporary
	default:
		// 400, 409, 410, 422 and anything else GitHub refuses.
		e.Kind = remediations.ErrInvalid
	}
	return e
}

func statusOf(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

// describeErrorResponse renders GitHub's message and field errors, without
// the request URL (the Op names what was being done).
func describeErrorResponse(er *gh.ErrorResponse) string {
	parts := []string{}
	if er.Message != "" {
		parts = append(parts, er.Message)
	}
	for _, fe := range er.Errors {
		var s []string
		if fe.Resource != "" || fe.Field != "" {
			s = append(s, strings.Trim(fe.Resource+"."+fe.Field, "."))
		}
		if fe.Code != "" && fe.Code != "custom" {
			s = append(s, fe.Code)
		}
		if fe.Message != "" {
			s = append(s, fe.Message)
		}
		if len(s) > 0 {
			parts = append(parts, strings.Join(s, " "))
		}
	}
	if len(parts) == 0 && er.Response != nil {
		return http.StatusText(er.Response.StatusCode)
	}
	return strings.Join(parts, ": ")
}
