package slack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives interactivity over Slack's Socket Mode websocket,
// for local use without a public URL, until ctx is done. Each interactive
// event is acknowledged at once and then fed to the same core as the HTTP
// doors (replay check, Decider, ephemeral replies). No signature check is
// needed: Slack authenticates the websocket with the app-level token.
//
// appToken is the app-level token (xapp-…, scope connections:write). The bot
// client used for replies is the one given to the Handler as its
// EphemeralPoster. apiOpts configure the app-token client, e.g.
// slack.OptionAPIURL for tests. It returns nil when ctx is cancelled and an
// error when the connection cannot be (re)established.
func RunSocketMode(ctx context.Context, appToken string, h *Handler, apiOpts ...slackapi.Option) error {
	if appToken == "" {
		return errors.New("run slack socket mode: no app-level token")
	}
	if h == nil {
		return errors.New("run slack socket mode: no handler")
	}
	opts := append([]slackapi.Option{slackapi.OptionAppLevelToken(appToken)}, apiOpts...)
	sm := socketmode.New(slackapi.New("", opts...))
	return h.runSocketMode(ctx, sm)
}

func (h *Handler) runSocketMode(ctx context.Context, sm *socketmode.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(ctx) }()

	var wg sync.WaitGroup
	defer wg.Wait()

	for {
		select {
		case <-ctx.Done():
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("run slack socket mode: %w", err)
		case evt := <-sm.Events:
			h.socketEvent(ctx, sm, evt, &wg)
		}
	}
}

func (h *Handler) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, wg *sync.WaitGroup) {
	const door = "socket_mode"
	ack := func() {
		if evt.Request == nil || evt.Request.EnvelopeID == "" {
			return
		}
		if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
			h.log.WarnContext(ctx, "acknowledge socket mode event", "door", door, "error", err)
		}
	}
	switch evt.Type {
	case socketmode.EventTypeInteractive:
		ack()
		cb, ok := evt.Data.(slackapi.InteractionCallback)
		if !ok {
			h.log.WarnContext(ctx, "malformed slack interaction", "door", door, "error", "unexpected event data")
			return
		}
		start := time.Now()
		wg.Go(func() {
			if err := h.process(ctx, door, &cb, start); err != nil {
				h.log.WarnContext(ctx, "malformed slack interaction", "door", door, "error", err)
			}
		})
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
		// Not used by medic; acknowledge so Slack does not retry.
		ack()
	case socketmode.EventTypeConnected:
		h.log.InfoContext(ctx, "slack socket mode connected", "door", door)
	case socketmode.EventTypeConnecting, socketmode.EventTypeHello:
		h.log.DebugContext(ctx, "slack socket mode", "door", door, "event", string(evt.Type))
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth,
		socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		h.log.WarnContext(ctx, "slack socket mode problem", "door", door, "event", string(evt.Type))
	default:
		h.log.DebugContext(ctx, "slack socket mode event ignored", "door", door, "event", string(evt.Type))
	}
}
