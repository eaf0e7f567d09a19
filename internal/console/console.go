// Package console is `medic serve`'s local web console at /ui: server-
// rendered HTML, no JavaScript. It lists the incidents with their cards as
// a person sees them in Slack (slack.RenderCard's Block Kit, written out as
// HTML: the card's logic stays in one renderer), each incident's evidence
// (the alarm, its metrics, the suspect deploys) and audit timeline, the
// pause switch, and the messages medic still owes (cards Slack has not
// taken, queue messages not sent).
//
// Approve, Reject and Undo work from the console only when it is given a
// local user (`medic serve --local-approvals USER`): the console then votes
// as that user through the engine, whose Authorizer decides as for a Slack
// press. The console answers only clients on this machine, and every POST
// carries a per-process CSRF token.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"html/template"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/killswitch"
	"github.com/medicbot/medic/internal/slack"
	"github.com/medicbot/medic/internal/slackbridge"
	"github.com/medicbot/medic/internal/store"
)

// Engine is the part of the engine the console calls.
type Engine interface {
	Vote(ctx context.Context, proposalID, userID string, approve bool) (engine.VoteOutcome, error)
	RequestUndo(ctx context.Context, proposalID, userID string) (engine.VoteOutcome, error)
	Pause(ctx context.Context, who, why string) error
	Resume(ctx context.Context, who string) error
	Paused(ctx context.Context) (killswitch.State, error)
}

// Records is the part of the store the console reads; a store.Store
// implements it.
type Records interface {
	Incident(ctx context.Context, id string) (*store.Incident, error)
	Proposals(ctx context.Context, incident string) ([]*store.Proposal, error)
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	Owed(ctx context.Context, limit int) ([]*store.Owed, error)
}

// Config is what the console needs.
type Config struct {
	Engine   Engine
	Records  Records
	Policies slackbridge.PolicyLookup
	// LocalUser, when set, is who the console's Approve, Reject and Undo
	// vote as (and who pauses and resumes); without it the console shows
	// the card's buttons disabled and changes nothing but the pause switch.
	LocalUser string
	// Window is how far back the incident list looks (default 7 days).
	Window time.Duration
	// AnyClient lets clients beyond this machine use the console; by
	// default only loopback clients may.
	AnyClient bool
	Logger    *slog.Logger
	Now       func() time.Time
}

// Console serves /ui.
type Console struct {
	cfg   Config
	csrf  string
	cards *slackbridge.Notifier
	tmpl  *template.Template
}

//go:embed templates/*.html
var templates embed.FS

// New returns the console.
func New(cfg Config) (*Console, error) {
	var missing []string
	if cfg.Engine == nil {
		missing = append(missing, "Engine")
	}
	if cfg.Records == nil {
		missing = append(missing, "Records")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("console: missing %s", strings.Join(missing, ", "))
	}
	if cfg.Window <= 0 {
		cfg.Window = 7 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("console: csrf token: %w", err)
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
	}).ParseFS(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	return &Console{cfg: cfg, csrf: hex.EncodeToString(b[:]), cards: slackbridge.NewNotifier(nil, cfg.Policies, ""), tmpl: tmpl}, nil
}

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui", c.local(c.index))
	mux.HandleFunc("GET /ui/{$}", c.local(c.index))
	mux.HandleFunc("GET /ui/incidents/{id}", c.local(c.incident))
	mux.HandleFunc("POST /ui/pause", c.local(c.post(c.pause)))
	mux.HandleFunc("POST /ui/resume", c.local(c.post(c.resume)))
	mux.HandleFunc("POST /ui/act", c.local(c.post(c.act)))
}

// local refuses clients beyond this machine unless AnyClient.
func (c *Console) local(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.cfg.AnyClient {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				http.Error(w, "the console answers only clients on this machine", http.StatusForbidden)
				return
			}
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h(w, r)
	}
}

// post checks a form's CSRF token before h.
func (c *Console) post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "read form: "+err.Error(), http.StatusBadRequest)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(c.csrf)) != 1 {
			http.Error(w, "missing or stale form token: reload the page and try again", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// redirect sends the browser back to path with a message to show.
func redirect(w http.ResponseWriter, r *http.Request, path, msg string) {
	if msg != "" {
		path += "?msg=" + url.QueryEscape(msg)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

type page struct {
	Title     string
	CSRF      string
	LocalUser string
	Message   string
	Switch    switchView
	Error     string
}

type switchView struct {
	Paused  bool
	By, Why string
	At      time.Time
	ReadErr string
}

func (c *Console) switchView(ctx context.Context) switchView {
	st, err := c.cfg.Engine.Paused(ctx)
	v := switchView{Paused: st.Paused, By: st.By, Why: st.Why, At: st.At}
	if err != nil {
		v.Paused, v.ReadErr = true, err.Error()
	}
	return v
}

type incidentRow struct {
	ID, Alarm, State string
	Policies         string
	Opened           time.Time
	Card             string // where the card is, or why it is not there
	Waiting          int    // steps waiting for a vote
}

type owedRow struct {
	Kind, Incident, Proposal string
	Due, Created, NextTry    time.Time
	Attempts                 int
	LastError                string
}

func (c *Console) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data := struct {
		page
		Incidents  []incidentRow
		Owed       []owedRow
		WindowDays int
	}{page: c.page(r, "medic console"), WindowDays: int(c.cfg.Window / (24 * time.Hour))}
	ids, err := c.incidentIDs(ctx)
	if err != nil {
		data.Error = err.Error()
	}
	for _, id := range ids {
		inc, err := c.cfg.Records.Incident(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			data.Error = err.Error()
			continue
		}
		row := incidentRow{ID: inc.ID, Alarm: inc.Alarm.Name, State: string(inc.State), Policies: strings.Join(inc.Policies, ", "),
			Opened: inc.CreatedAt, Card: "posted to " + inc.Message.Channel}
		if inc.Message.IsZero() {
			row.Card = "not posted: nobody has been told (see the owed messages)"
		}
		if props, err := c.cfg.Records.Proposals(ctx, inc.ID); err == nil {
			for _, p := range props {
				if p.State.AwaitsVote() {
					row.Waiting++
				}
			}
		}
		data.Incidents = append(data.Incidents, row)
	}
	owed, err := c.cfg.Records.Owed(ctx, 200)
	if err != nil {
		data.Error = err.Error()
	}
	for _, o := range owed {
		data.Owed = append(data.Owed, owedRow{Kind: string(o.Kind), Incident: o.Incident, Proposal: o.Proposal, Due: o.DueAt,
			Created: o.CreatedAt, NextTry: o.NextAttemptAt, Attempts: o.Attempts, LastError: o.LastError})
	}
	c.render(w, "index.html", data)
}

// incidentIDs are the incidents with audit entries in the window, newest
// first.
func (c *Console) incidentIDs(ctx context.Context) ([]string, error) {
	entries, err := c.cfg.Records.Audit(ctx, store.AuditQuery{Since: c.cfg.Now().Add(-c.cfg.Window)})
	if err != nil {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	var ids []string
	for i := len(entries) - 1; i >= 0; i-- {
		if id := entries[i].Incident; id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

type timelineRow struct {
	Time                        time.Time
	Event, Who, Subject, State  string
	Why, Plan, Result, ErrorMsg string
}

type metricView struct {
	Namespace, Name, Dimensions string
}

func (c *Console) incident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	inc, err := c.cfg.Records.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no incident "+id, http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "read incident "+id+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	props, err := c.cfg.Records.Proposals(ctx, id)
	if err != nil {
		http.Error(w, "read the steps of incident "+id+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	data := struct {
		page
		Incident *store.Incident
		CardHTML template.HTML
		Posted   string
		Metrics  []metricView
		Timeline []timelineRow
	}{page: c.page(r, "incident "+id+" · medic"), Incident: inc}
	if inc.Message.IsZero() {
		data.Posted = "This card has not been posted to Slack yet: nobody has been told. It stays owed and is relayed until Slack takes it."
	} else {
		data.Posted = "Posted to Slack channel " + inc.Message.Channel + " (ts " + inc.Message.TS + ")."
	}
	notice := &engine.Notice{Kind: engine.NoticeUpdated, Incident: inc, Proposals: props}
	if sv := data.Switch; sv.Paused {
		notice.Paused = &killswitch.State{Paused: true, By: sv.By, Why: sv.Why, At: sv.At}
		if sv.ReadErr != "" {
			notice.Paused.Why = "kill switch cannot be read (failing closed)"
		}
	}
	msg := slack.RenderCard(c.cards.Card(notice))
	data.CardHTML = template.HTML(blocksHTML(msg.Blocks, c.button)) //nolint:gosec // blocksHTML escapes every text
	for _, m := range inc.Alarm.Metrics {
		var dims []string
		for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
			dims = append(dims, k+"="+m.Dimensions[k])
		}
		data.Metrics = append(data.Metrics, metricView{Namespace: m.Namespace, Name: m.Name, Dimensions: strings.Join(dims, " ")})
	}
	entries, err := c.cfg.Records.Audit(ctx, store.AuditQuery{Incident: id})
	if err != nil {
		data.Error = err.Error()
	}
	for _, a := range entries {
		row := timelineRow{Time: a.Time, Event: a.Event, Who: a.Who, Subject: a.Proposal, Why: a.Why, ErrorMsg: a.Error}
		if row.Subject == "" {
			row.Subject = a.Incident
		}
		row.State = string(a.To)
		if a.From != "" {
			row.State = string(a.From) + " → " + row.State
		}
		if a.Plan != nil {
			row.Plan = a.Plan.Summary
		}
		if a.Result != nil {
			row.Result = a.Result.Summary
		}
		data.Timeline = append(data.Timeline, row)
	}
	c.render(w, "incident.html", data)
}

// The console's names for the card's actions.
const (
	actApprove = "approve"
	actReject  = "reject"
	actUndo    = "undo"
)

// button renders a card button: a form that acts as the local user, or,
// without one, a disabled button saying where to press it.
func (c *Console) button(b *slackapi.ButtonBlockElement) string {
	label := ""
	if b.Text != nil {
		label = b.Text.Text
	}
	act := map[string]string{slack.ActionApprove: actApprove, slack.ActionReject: actReject, slack.ActionUndo: actUndo}[b.ActionID]
	class := "btn"
	if b.Style != "" {
		class += " btn-" + string(b.Style)
	}
	if act == "" || c.cfg.LocalUser == "" {
		return `<button type="button" class="` + class + `" disabled title="press it in Slack, or start medic serve with --local-approvals USER">` +
			html.EscapeString(label) + `</button>`
	}
	form := `<form method="post" action="/ui/act" class="act">` +
		`<input type="hidden" name="csrf" value="` + c.csrf + `">` +
		`<input type="hidden" name="proposal" value="` + html.EscapeString(b.Value) + `">` +
		`<input type="hidden" name="action" value="` + act + `">`
	if b.Confirm != nil && b.Confirm.Text != nil {
		// Slack asks before it sends; so does the console, without
		// JavaScript: the real button is inside the opened details.
		return `<details class="confirm"><summary class="` + class + `">` + html.EscapeString(label) + `…</summary>` +
			`<div class="confirm-box"><p>` + textHTML(b.Confirm.Text) + `</p>` + form +
			`<button type="submit" class="` + class + `" data-action="` + act + `">` + html.EscapeString(label) + " as " +
			html.EscapeString(c.cfg.LocalUser) + `</button></form></div></details>`
	}
	return form + `<button type="submit" class="` + class + `" data-action="` + act + `">` + html.EscapeString(label) + `</button></form>`
}

func (c *Console) act(w http.ResponseWriter, r *http.Request) {
	if c.cfg.LocalUser == "" {
		http.Error(w, "approvals from the console are off: start medic serve with --local-approvals USER", http.StatusForbidden)
		return
	}
	id := r.PostForm.Get("proposal")
	incident, _, _, err := store.ParseProposalID(id)
	if err != nil {
		http.Error(w, "proposal: "+err.Error(), http.StatusBadRequest)
		return
	}
	var out engine.VoteOutcome
	switch r.PostForm.Get("action") {
	case actApprove:
		out, err = c.cfg.Engine.Vote(r.Context(), id, c.cfg.LocalUser, true)
	case actReject:
		out, err = c.cfg.Engine.Vote(r.Context(), id, c.cfg.LocalUser, false)
	case actUndo:
		out, err = c.cfg.Engine.RequestUndo(r.Context(), id, c.cfg.LocalUser)
	default:
		http.Error(w, fmt.Sprintf("action: want approve, reject or undo, got %q", r.PostForm.Get("action")), http.StatusBadRequest)
		return
	}
	if err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console action failed", slog.String("proposal", id), slog.Any("error", err))
		redirect(w, r, "/ui/incidents/"+url.PathEscape(incident), "failed: "+err.Error())
		return
	}
	msg := string(out.Result)
	switch {
	case out.ApproversUnchecked:
		msg += ": the approvers could not be checked, so medic refused (try again)"
	case out.Proposal != nil:
		msg += " (the step is " + strings.ToLower(string(out.Proposal.State)) + ")"
	}
	redirect(w, r, "/ui/incidents/"+url.PathEscape(incident), r.PostForm.Get("action")+" as "+c.cfg.LocalUser+": "+msg)
}

func (c *Console) pause(w http.ResponseWriter, r *http.Request) {
	who, ok := c.operator(w)
	if !ok {
		return
	}
	if err := c.cfg.Engine.Pause(r.Context(), who, r.PostForm.Get("reason")); err != nil {
		redirect(w, r, "/ui", "pause failed: "+err.Error())
		return
	}
	redirect(w, r, "/ui", "medic is paused: nothing executes until it is resumed")
}

func (c *Console) resume(w http.ResponseWriter, r *http.Request) {
	who, ok := c.operator(w)
	if !ok {
		return
	}
	if err := c.cfg.Engine.Resume(r.Context(), who); err != nil {
		redirect(w, r, "/ui", "resume failed: "+err.Error())
		return
	}
	redirect(w, r, "/ui", "medic is resumed")
}

// operator is who pauses and resumes from the console: the local user, or
// "console" (anyone on this machine may also run `medic pause`).
func (c *Console) operator(http.ResponseWriter) (string, bool) {
	if c.cfg.LocalUser == "" {
		return "console", true
	}
	return c.cfg.LocalUser + " (console)", true
}

func (c *Console) page(r *http.Request, title string) page {
	return page{Title: title, CSRF: c.csrf, LocalUser: c.cfg.LocalUser, Message: r.URL.Query().Get("msg"), Switch: c.switchView(r.Context())}
}

func (c *Console) render(w http.ResponseWriter, name string, data any) {
	var b strings.Builder
	if err := c.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		c.cfg.Logger.Error("console page", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
