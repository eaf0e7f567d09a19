package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Poster is the part of slack-go's *slack.Client the Client uses.
type Poster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slackapi.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slackapi.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slackapi.MsgOption) (string, error)
}

// slack-go's client is what the wiring passes; Client is the handler's
// EphemeralPoster.
var (
	_ Poster             = (*slackapi.Client)(nil)
	_ GroupMembersLister = (*slackapi.Client)(nil)
	_ EphemeralPoster    = (*Client)(nil)
)

// Retry defaults for rate-limited (HTTP 429) calls.
const (
	DefaultMaxAttempts = 3
	DefaultMaxWait     = 10 * time.Second
	// fallbackRetryAfter is used when Slack sends 429 without a usable
	// Retry-After.
	fallbackRetryAfter = time.Second
)

// Client posts and updates medic's messages: the Notifier side. Calls that
// Slack rate-limits (429, *slack.RateLimitedError) are retried after
// Retry-After, at most MaxAttempts times in all and never waiting more than
// MaxWait in total or past the context's deadline; a 429 means Slack did not
// act, so retrying cannot duplicate a message. Other errors are returned at
// once, naming the method and channel.
type Client struct {
	api         Poster
	maxAttempts int
	maxWait     time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithRetry bounds rate-limit retries: maxAttempts calls in all (1 means no
// retry) and maxWait of total sleeping.
func WithRetry(maxAttempts int, maxWait time.Duration) ClientOption {
	return func(c *Client) {
		c.maxAttempts = maxAttempts
		c.maxWait = maxWait
	}
}

// WithSleep replaces the wait between retries (tests pass one that records
// and returns at once). sleep must return ctx.Err() when ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) ClientOption {
	return func(c *Client) { c.sleep = sleep }
}

// NewClient wraps a slack-go client (or anything implementing Poster) built
// with the bot token.
func NewClient(api Poster, opts ...ClientOption) *Client {
	c := &Client{api: api, maxAttempts: DefaultMaxAttempts, maxWait: DefaultMaxWait, sleep: sleepCtx}
	for _, o := range opts {
		o(c)
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = 1
	}
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PostCard posts a new card to channel and returns its message ts.
//
// Every call posts a new message: chat.postMessage has no idempotency key.
// The caller (the engine) posts one card per alarm state change, stores
// channel and ts with the incident, and uses UpdateCard for every later
// change of that card. If PostCard fails with a network error the card may
// or may not exist; the caller should prefer a possible duplicate card over
// a missing one, and must not retry in a tight loop.
func (c *Client) PostCard(ctx context.Context, channel string, card Card) (string, error) {
	msg := RenderCard(card)
	var ts string
	err := c.retry(ctx, "chat.postMessage", channel, func() error {
		var err error
		_, ts, err = c.api.PostMessageContext(ctx, channel, msgOptions(msg)...)
		return err
	})
	return ts, err
}

// UpdateCard replaces the card at channel/ts (chat.update).
func (c *Client) UpdateCard(ctx context.Context, channel, ts string, card Card) error {
	msg := RenderCard(card)
	return c.retry(ctx, "chat.update", channel, func() error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, msgOptions(msg)...)
		return err
	})
}

// Uploader uploads files; *slackapi.Client implements it. A Poster that
// is not one cannot upload images.
type Uploader interface {
	UploadFileContext(ctx context.Context, params slackapi.UploadFileParameters) (*slackapi.FileSummary, error)
}

var _ Uploader = (*slackapi.Client)(nil)

// UploadImage uploads an image into the thread of the message at
// threadTS in channel (slack-go's files upload v2 flow).
func (c *Client) UploadImage(ctx context.Context, channel, threadTS, filename, title string, image []byte) error {
	up, ok := c.api.(Uploader)
	if !ok {
		return fmt.Errorf("upload %s to %s: the Slack client cannot upload files", filename, channel)
	}
	return c.retry(ctx, "files.upload", channel, func() error {
		_, err := up.UploadFileContext(ctx, slackapi.UploadFileParameters{Channel: channel, ThreadTimestamp: threadTS,
			Filename: filename, Title: title, FileSize: len(image), Reader: bytes.NewReader(image)})
		return err
	})
}

// PostThread posts msg as a reply in the thread of the message at
// channel/threadTS, e.g. the RenderTimeline summary when an alarm recovers,
// and returns the reply's ts.
func (c *Client) PostThread(ctx context.Context, channel, threadTS string, msg Message) (string, error) {
	var ts string
	err := c.retry(ctx, "chat.postMessage", channel, func() error {
		var err error
		_, ts, err = c.api.PostMessageContext(ctx, channel, append(msgOptions(msg), slackapi.MsgOptionTS(threadTS))...)
		return err
	})
	return ts, err
}

// PostEphemeral shows msg to userID only, in channel (chat.postEphemeral).
// It implements EphemeralPoster.
func (c *Client) PostEphemeral(ctx context.Context, channel, userID string, msg Message) error {
	return c.retry(ctx, "chat.postEphemeral", channel, func() error {
		_, err := c.api.PostEphemeralContext(ctx, channel, userID, msgOptions(msg)...)
		return err
	})
}

func msgOptions(msg Message) []slackapi.MsgOption {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(msg.Text, false), slackapi.MsgOptionDisableLinkUnfurl()}
	if len(msg.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(msg.Blocks...))
	}
	return opts
}

// retry calls fn, retrying rate-limit errors within the Client's bounds.
func (c *Client) retry(ctx context.Context, method, channel string, fn func() error) error {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) {
			return fmt.Errorf("slack %s to %s: %w", method, channel, err)
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = fallbackRetryAfter
		}
		if attempt >= c.maxAttempts {
			return fmt.Errorf("slack %s to %s: rate limited after %d attempts: %w", method, channel, attempt, err)
		}
		if waited+wait > c.maxWait {
			return fmt.Errorf("slack %s to %s: rate limited, retry after %s exceeds the wait budget: %w", method, channel, wait, err)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("slack %s to %s: rate limited, retry after %s exceeds the deadline: %w", method, channel, wait, err)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("slack %s to %s: wait for rate limit: %w", method, channel, err)
		}
		waited += wait
	}
}
