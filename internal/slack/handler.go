package slack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	slackapi "github.com/slack-go/slack"
)

// Verb is what a button asks medic to do with a proposal.
type Verb string

// The verbs of the card's buttons.
const (
	VerbApprove Verb = "approve"
	VerbReject  Verb = "reject"
	VerbUndo    Verb = "undo"
)

// Decision is one verified button press, as the engine needs it.
type Decision struct {
	// ProposalID is the button's value.
	ProposalID string
	// Verb is approve, reject or undo.
	Verb Verb
	// UserID is the Slack user who clicked; UserName is their handle, for
	// display only (never for authorisation).
	UserID   string
	UserName string
	// TeamID is the user's workspace.
	TeamID string
	// ChannelID and MessageTs locate the card the button was on.
	ChannelID string
	MessageTs string
	// ActionTs is Slack's timestamp of the click.
	ActionTs string
}

// Decider is what the handler calls for each button press; the engine
// implements it (through the wiring's adapter). Decide must be quick: it
// authorises, records the vote with a conditional write and hands any
// execution off asynchronously (a queue message). The handler gives it a
// context with a deadline well inside Slack's 3 second budget.
//
// If Decide outlives that deadline the handler acknowledges anyway (telling
// the user medic is still working) and stops waiting; Decide should honour
// ctx. In Lambda a call still running after the response may be frozen with
// the execution environment, so whatever Decide writes must be safe to
// repeat (the user may click again) — the engine's conditional writes are.
type Decider interface {
	Decide(ctx context.Context, d Decision) (Outcome, error)
}

// OutcomeKind classifies what Decide did with a press.
type OutcomeKind string

// The outcomes the handler tells users about. Accepted is silent (the card
// update shows the effect); the others are sent to the user as an ephemeral
// message.
const (
	// OutcomeAccepted: the vote, rejection or undo request was recorded.
	OutcomeAccepted OutcomeKind = "accepted"
	// OutcomeNotAllowed: the user is not an approver of the step.
	OutcomeNotAllowed OutcomeKind = "not_allowed"
	// OutcomeExpired: the proposal expired before the press.
	OutcomeExpired OutcomeKind = "expired"
	// OutcomeAlreadyDecided: the step was already approved, rejected,
	// executed or undone; the press changed nothing (this includes a user
	// voting twice).
	OutcomeAlreadyDecided OutcomeKind = "already_decided"
	// OutcomeStale: the card is out of date, e.g. the alarm already
	// recovered or the plan no longer holds.
	OutcomeStale OutcomeKind = "stale"
	// OutcomeNotFound: medic has no such proposal.
	OutcomeNotFound OutcomeKind = "not_found"
	// OutcomeCannotUndo: the step cannot be undone (State says where it
	// is); nothing was done.
	OutcomeCannotUndo OutcomeKind = "cannot_undo"
)

// Outcome is Decide's answer: what became of the press, in facts. The
// words the user is told are this package's (see ephemeralText).
type Outcome struct {
	Kind OutcomeKind
	// Approvals and Needed count a step's approvals when this one was
	// counted and more are needed (OutcomeAccepted): the user is told how
	// many. Zero Needed: the press needs no word (the card shows it).
	Approvals, Needed int
	// AlreadyVoted: the user had approved the step before
	// (OutcomeAlreadyDecided).
	AlreadyVoted bool
	// State is where the step is now, e.g. "REJECTED"
	// (OutcomeAlreadyDecided, OutcomeCannotUndo).
	State string
	// NotApprover and ApproversUnchecked say why the user may not
	// (OutcomeNotAllowed): they are not an approver of the step, or the
	// approvers could not be checked (trying again may work).
	NotApprover, ApproversUnchecked bool
	// Message, when set, replaces the text for Kind (and is sent even for
	// OutcomeAccepted). It is mrkdwn and sent as is; it must not contain
	// secrets.
	Message string
}

// EphemeralPoster sends a message only one user can see; Client implements
// it.
type EphemeralPoster interface {
	PostEphemeral(ctx context.Context, channelID, userID string, msg Message) error
}

// Defaults for HandlerConfig.
const (
	// DefaultDecideTimeout bounds Decide, leaving time within Slack's 3 s
	// for an ephemeral reply and the response itself.
	DefaultDecideTimeout = 2 * time.Second
	// DefaultAckBudget bounds the whole handling of one request.
	DefaultAckBudget = 2700 * time.Millisecond
	// MaxBodyBytes bounds the request body read; block_actions payloads
	// carry the whole message and can be large, but not this large.
	MaxBodyBytes = 2 << 20
)

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// SigningSecret is the Slack app's signing secret. Without it the HTTP
	// doors refuse every request; Socket Mode does not need it.
	SigningSecret string
	// Decider receives every verified press. Required.
	Decider Decider
	// Ephemeral sends "not allowed", "expired" and the like to the user;
	// when nil those replies are only logged.
	Ephemeral EphemeralPoster
	// Seen drops replayed requests; an in-memory MemorySeen when nil (fine
	// for one process; Lambda wiring should pass a store-backed one).
	Seen Seen
	// Logger receives structured logs; slog.Default() when nil. Bodies,
	// tokens and signatures are never logged.
	Logger *slog.Logger
	// Now is the clock for signature timestamps and Seen; time.Now when nil.
	Now func() time.Time
	// DecideTimeout bounds each Decide call; DefaultDecideTimeout when zero.
	DecideTimeout time.Duration
	// AckBudget bounds the handling of one request, including the
	// ephemeral reply; DefaultAckBudget when zero.
	AckBudget time.Duration
}

// Handler receives Slack interactivity requests (button presses on cards)
// over HTTP (ServeHTTP), a Lambda Function URL (HandleFunctionURL) or Socket
// Mode (RunSocketMode); every door shares one core.
type Handler struct {
	verifier      *Verifier
	decider       Decider
	ephemeral     EphemeralPoster
	seen          Seen
	log           *slog.Logger
	decideTimeout time.Duration
	ackBudget     time.Duration
	hasSecret     bool
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Decider == nil {
		return nil, errors.New("create slack handler: a Decider is required")
	}
	h := &Handler{
		verifier:      NewVerifier(cfg.SigningSecret),
		decider:       cfg.Decider,
		ephemeral:     cfg.Ephemeral,
		seen:          cfg.Seen,
		log:           cfg.Logger,
		decideTimeout: cfg.DecideTimeout,
		ackBudget:     cfg.AckBudget,
		hasSecret:     cfg.SigningSecret != "",
	}
	h.verifier.Now = cfg.Now
	if h.seen == nil {
		h.seen = NewMemorySeen(cfg.Now)
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.decideTimeout <= 0 {
		h.decideTimeout = DefaultDecideTimeout
	}
	if h.ackBudget <= 0 {
		h.ackBudget = DefaultAckBudget
	}
	if h.decideTimeout > h.ackBudget {
		h.decideTimeout = h.ackBudget
	}
	return h, nil
}

// ServeHTTP handles one Slack interactivity request on the local server.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.log.WarnContext(r.Context(), "slack request body too large", "door", "http")
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.log.WarnContext(r.Context(), "read slack request body", "door", "http", "error", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	status := h.handle(r.Context(), "http", r.Header, body)
	if status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Error(w, http.StatusText(status), status)
}

// HandleFunctionURL handles one Slack interactivity request arriving through
// a Lambda Function URL. It never returns an error: every failure is an HTTP
// status (an error would make the Function URL answer 502).
func (h *Handler) HandleFunctionURL(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	respond := func(status int) events.LambdaFunctionURLResponse {
		body := ""
		if status != http.StatusOK {
			body = http.StatusText(status)
		}
		return events.LambdaFunctionURLResponse{
			StatusCode: status,
			Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			Body:       body,
		}
	}
	if m := req.RequestContext.HTTP.Method; m != "" && !strings.EqualFold(m, http.MethodPost) {
		return respond(http.StatusMethodNotAllowed), nil
	}
	header, body, err := FunctionURLRequest(req)
	if err != nil {
		h.log.WarnContext(ctx, "decode function url request", "door", "function_url", "error", err)
		return respond(http.StatusBadRequest), nil
	}
	if len(body) > MaxBodyBytes {
		h.log.WarnContext(ctx, "slack request body too large", "door", "function_url")
		return respond(http.StatusRequestEntityTooLarge), nil
	}
	return respond(h.handle(ctx, "function_url", header, body)), nil
}

// FunctionURLRequest turns a Function URL request into what signature
// verification needs: an http.Header built from the lower-cased header map,
// and the raw body, base64-decoded when IsBase64Encoded.
func FunctionURLRequest(req events.LambdaFunctionURLRequest) (http.Header, []byte, error) {
	header := make(http.Header, len(req.Headers))
	for k, v := range req.Headers {
		header.Add(k, v)
	}
	if !req.IsBase64Encoded {
		return header, []byte(req.Body), nil
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("decode base64 function url body: %w", err)
	}
	return header, body, nil
}

// handle is the HTTP doors' core: verify, decode, process. It returns the
// status to answer with.
func (h *Handler) handle(ctx context.Context, door string, header http.Header, body []byte) int {
	start := time.Now()
	if err := h.verifier.Verify(header, body); err != nil {
		if !h.hasSecret {
			h.log.ErrorContext(ctx, "slack request refused: no signing secret configured", "door", door)
		} else {
			// The error names the reason only; the body and headers stay out of logs.
			h.log.WarnContext(ctx, "slack request refused", "door", door, "reason", err.Error())
		}
		return http.StatusUnauthorized
	}
	cb, err := ParseInteraction(body)
	if err != nil {
		h.log.WarnContext(ctx, "malformed slack interaction", "door", door, "error", err)
		return http.StatusBadRequest
	}
	if err := h.process(ctx, door, cb, start); err != nil {
		h.log.WarnContext(ctx, "malformed slack interaction", "door", door, "error", err)
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// ParseInteraction decodes a verified interactivity body: a form whose
// "payload" field holds the interaction JSON.
func ParseInteraction(body []byte) (*slackapi.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("parse interaction form: body is not form-encoded")
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, errors.New("parse interaction form: no payload field")
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		// The JSON error may quote input; keep only its kind.
		return nil, fmt.Errorf("decode interaction payload: %s", jsonErrorKind(err))
	}
	return &cb, nil
}

func jsonErrorKind(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at offset %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("wrong JSON type for field %q", typ.Field)
	default:
		return "invalid JSON"
	}
}

// Decisions extracts medic's button presses from an interaction. Other
// interaction types and other actions yield nothing; a medic action with an
// unusable value, or a press without a user, is an error.
func Decisions(cb *slackapi.InteractionCallback) ([]Decision, error) {
	if cb == nil || cb.Type != slackapi.InteractionTypeBlockActions {
		return nil, nil
	}
	var out []Decision
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil {
			continue
		}
		verb, ok := verbFor(a.ActionID)
		if !ok {
			continue
		}
		if cb.User.ID == "" {
			return nil, errors.New("read block action: no user")
		}
		if err := validProposalID(a.Value); err != nil {
			return nil, fmt.Errorf("read block action %s: %w", a.ActionID, err)
		}
		d := Decision{
			ProposalID: a.Value,
			Verb:       verb,
			UserID:     cb.User.ID,
			UserName:   cb.User.Name,
			TeamID:     cb.User.TeamID,
			ChannelID:  cb.Channel.ID,
			MessageTs:  cb.Container.MessageTs,
			ActionTs:   a.ActionTs,
		}
		if d.TeamID == "" {
			d.TeamID = cb.Team.ID
		}
		if d.ChannelID == "" {
			d.ChannelID = cb.Container.ChannelID
		}
		if d.MessageTs == "" {
			d.MessageTs = cb.Message.Timestamp
		}
		if d.ActionTs == "" {
			d.ActionTs = cb.ActionTs
		}
		out = append(out, d)
	}
	return out, nil
}

func verbFor(actionID string) (Verb, bool) {
	switch actionID {
	case ActionApprove:
		return VerbApprove, true
	case ActionReject:
		return VerbReject, true
	case ActionUndo:
		return VerbUndo, true
	}
	return "", false
}

func validProposalID(id string) error {
	switch {
	case id == "":
		return errors.New("empty proposal id")
	case len(id) > MaxProposalIDLen:
		return errors.New("proposal id too long")
	case !utf8.ValidString(id):
		return errors.New("proposal id is not valid UTF-8")
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return errors.New("proposal id contains spaces or control characters")
		}
	}
	return nil
}

// process runs every medic press of one interaction through Seen and the
// Decider and replies to the user where needed. It returns an error only for
// a malformed interaction.
func (h *Handler) process(ctx context.Context, door string, cb *slackapi.InteractionCallback, start time.Time) error {
	decisions, err := Decisions(cb)
	if err != nil {
		return err
	}
	if len(decisions) == 0 {
		h.log.DebugContext(ctx, "slack interaction ignored", "door", door, "type", string(cb.Type))
		return nil
	}
	budget, cancel := context.WithDeadline(ctx, start.Add(h.ackBudget))
	defer cancel()
	for _, d := range decisions {
		h.decideOne(budget, door, d)
	}
	return nil
}

type decided struct {
	outcome Outcome
	err     error
}

func (h *Handler) decideOne(ctx context.Context, door string, d Decision) {
	log := h.log.With("door", door, "user", d.UserID, "proposal", d.ProposalID, "verb", string(d.Verb))

	key := ReplayKey(d.MessageTs, "medic:"+string(d.Verb), d.UserID, d.ActionTs)
	first, err := h.seen.FirstSeen(ctx, key, ReplayTTL)
	if err != nil {
		// The engine's conditional vote still prevents double counting.
		log.WarnContext(ctx, "replay check failed; continuing", "error", err)
	} else if !first {
		log.InfoContext(ctx, "replayed slack interaction ignored")
		return
	}

	dctx, cancel := context.WithTimeout(ctx, h.decideTimeout)
	defer cancel()
	done := make(chan decided, 1)
	go func() {
		o, err := h.decider.Decide(dctx, d)
		done <- decided{o, err}
	}()

	var text string
	select {
	case r := <-done:
		switch {
		case r.err != nil:
			log.ErrorContext(ctx, "decide slack press", "error", r.err)
			// The store may have taken the click before it failed to
			// answer: say what is known, not "nothing was done".
			text = ":warning: medic could not confirm that your click was recorded (its store did not answer). " +
				"If the card does not show it within a minute, click again; a click counted twice is counted once."
		default:
			log.InfoContext(ctx, "slack press decided", "outcome", string(r.outcome.Kind))
			text = ephemeralText(d, r.outcome)
		}
	case <-dctx.Done():
		log.WarnContext(ctx, "decide slack press: deadline exceeded; acknowledging anyway")
		text = ":hourglass_flowing_sand: medic is still working on your click. " +
			"If the card has not changed in a minute, click again."
		go func() {
			r := <-done
			log.InfoContext(context.WithoutCancel(ctx), "late slack press decision",
				"outcome", string(r.outcome.Kind), "error", r.err)
		}()
	}
	if text == "" {
		return
	}
	if h.ephemeral == nil {
		log.InfoContext(ctx, "no ephemeral poster configured; reply not sent")
		return
	}
	if d.ChannelID == "" {
		log.WarnContext(ctx, "cannot reply to slack press: no channel")
		return
	}
	if err := h.ephemeral.PostEphemeral(ctx, d.ChannelID, d.UserID, Message{Text: fallbackText(text), Blocks: []slackapi.Block{sectionBlock(text)}}); err != nil {
		log.WarnContext(ctx, "reply to slack press", "error", err)
	}
}

// ephemeralText is what the user is told about an outcome; "" for none.
// Every reply medic gives a press is worded here.
func ephemeralText(d Decision, o Outcome) string {
	if o.Message != "" {
		return o.Message
	}
	switch o.Kind {
	case OutcomeAccepted:
		if o.Needed > 0 {
			return fmt.Sprintf(":ballot_box_with_check: Your approval is recorded (%d of %d needed); the step runs once %d approvers agree.", o.Approvals, o.Needed, o.Needed)
		}
		return ""
	case OutcomeNotAllowed:
		switch {
		case o.ApproversUnchecked:
			return fmt.Sprintf(":no_entry: Not allowed: medic could not check the approvers, so it refused (try again). Your click to %s was not counted.", d.Verb)
		case o.NotApprover:
			return fmt.Sprintf(":no_entry: Not allowed: you are not an approver of this step. Your click to %s was not counted.", d.Verb)
		}
		return fmt.Sprintf(":no_entry: You are not allowed to %s this step, so your click was not counted.", d.Verb)
	case OutcomeExpired:
		return ":alarm_clock: This proposal has expired; nothing was done."
	case OutcomeAlreadyDecided:
		switch {
		case o.AlreadyVoted:
			return ":information_source: You have already approved this step; your click changed nothing."
		case o.State != "":
			return fmt.Sprintf(":information_source: This step was already decided (it is %s); your click changed nothing.", stateWords(o.State))
		}
		return ":information_source: This step was already decided; your click changed nothing."
	case OutcomeCannotUndo:
		if o.State != "" {
			return fmt.Sprintf(":information_source: This step cannot be undone (it is %s); nothing was done.", stateWords(o.State))
		}
		return ":information_source: This step cannot be undone; nothing was done."
	case OutcomeStale:
		return ":information_source: This card is out of date (the alarm may have recovered or the plan changed); nothing was done."
	case OutcomeNotFound:
		return ":grey_question: medic does not know this step; nothing was done."
	default:
		return ":information_source: Nothing was done."
	}
}

// stateWords says a step's state in words: "UNDO_FAILED" -> "undo failed".
func stateWords(state string) string {
	switch state {
	case "APPROVED":
		return "approved and queued to run" // its execution is owed with the approval
	case "EXECUTING":
		return "running"
	}
	return escape(strings.ToLower(strings.ReplaceAll(state, "_", " ")))
}
