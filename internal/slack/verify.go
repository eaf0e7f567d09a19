package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The reasons Verify refuses a request. Each is returned wrapped; test with
// errors.Is.
var (
	// ErrMissingHeaders means X-Slack-Signature or X-Slack-Request-Timestamp
	// is absent or malformed.
	ErrMissingHeaders = errors.New("missing or malformed slack signature headers")
	// ErrStaleTimestamp means the request timestamp is more than MaxSkew
	// away from now: too old to trust (a possible replay) or from the future.
	ErrStaleTimestamp = errors.New("slack request timestamp outside the allowed window")
	// ErrBadSignature means the signature does not match the body.
	ErrBadSignature = errors.New("slack request signature does not match")
)

// DefaultMaxSkew is how far a request timestamp may be from now, in either
// direction, as Slack recommends.
const DefaultMaxSkew = 5 * time.Minute

// The headers Slack signs requests with.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// Verifier checks Slack's request signature: X-Slack-Signature must equal
// "v0=" + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw
// body)) and the timestamp must be within MaxSkew of Now.
type Verifier struct {
	secret []byte
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxSkew is the allowed distance between the request timestamp and
	// Now; DefaultMaxSkew when zero.
	MaxSkew time.Duration
}

// NewVerifier returns a Verifier for the app's signing secret.
func NewVerifier(signingSecret string) *Verifier {
	return &Verifier{secret: []byte(signingSecret)}
}

// Verify checks header and the raw request body. It returns nil for a
// genuine, fresh request, and otherwise an error matching ErrMissingHeaders,
// ErrStaleTimestamp or ErrBadSignature. The error never contains the secret,
// the signature or the body.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	if v == nil || len(v.secret) == 0 {
		// A verifier without a secret must not accept anything.
		return ErrBadSignature
	}
	sig := header.Get(HeaderSignature)
	tsText := header.Get(HeaderTimestamp)
	if sig == "" || tsText == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || ts <= 0 {
		return ErrMissingHeaders
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	// Compare in seconds to avoid overflowing time.Duration on absurd values.
	diff := now().Unix() - ts
	if diff < 0 {
		diff = -diff
	}
	if diff > int64(skew/time.Second) {
		return ErrStaleTimestamp
	}
	const prefix = "v0="
	if !strings.HasPrefix(sig, prefix) {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(sig[len(prefix):])
	if err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal(got, Signature(v.secret, tsText, body)) {
		return ErrBadSignature
	}
	return nil
}

// Signature computes the raw HMAC-SHA256 Slack signs a request with, for the
// timestamp header value and raw body. Verify hex-encodes and prefixes it with
// "v0=" for comparison; tests use it to sign requests.
func Signature(secret []byte, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}
