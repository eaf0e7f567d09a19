// Package demo is `make demo`: medic's whole loop on a laptop with no AWS
// account and no Slack workspace. It starts moto_server, creates a small
// "prod" in it (VPC, ALB, listener, ECS service), starts `medic serve` with
// the example policies (examples/) against moto and a local Slack test server,
// creates the recommended alarms (`medic alarms --apply`), deploys a new
// task definition revision whose targets then fail their health checks
// (evidence.go), fires the generated target 5xx rate alarm with a
// real-shaped EventBridge event, shows the card with the evidence medic
// gathered and the step that evidence picks (a rollback), approves it as
// an allowed user, prints the service's task definition before and after,
// and, once the alarm is back to OK, the incident report medic posts in
// the card's thread.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	slackapi "github.com/slack-go/slack"

	"github.com/medicbot/medic/examples"
	"github.com/medicbot/medic/internal/alarmgen"
	"github.com/medicbot/medic/internal/config"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/server"
	"github.com/medicbot/medic/internal/slack/slacktesting"
	"github.com/medicbot/medic/internal/testenv"
	"github.com/medicbot/medic/internal/wiring"
)

// The example policy's approvers (examples/checkout.yaml).
const (
	approverGroup = "S0SREGROUP"
	approver      = "U0ALICE"
	signing       = "demo-signing-secret"
)

// Options change the demo.
type Options struct {
	// Keep leaves medic serve and its console running after the demo,
	// until ctx is done (`make demo KEEP=1`).
	Keep bool
}

// Run runs the demo, narrating to out. Logs go to logw.
func Run(ctx context.Context, out, logw io.Writer) error { return RunWith(ctx, out, logw, Options{}) }

// RunWith runs the demo with opts.
func RunWith(ctx context.Context, out, logw io.Writer, opts Options) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	say("==> starting moto_server (AWS APIs on 127.0.0.1)")
	// moto reports this many running tasks for every service: prod's
	// deployments complete, as ECS's would once its tasks run.
	moto, err := testenv.StartMoto("MOTO_ECS_SERVICE_RUNNING=4")
	if err != nil {
		return fmt.Errorf("the demo needs moto_server (pip install 'moto[server]==5.2.1', or `make tools`): %w", err)
	}
	defer moto.Stop()
	awsCfg, err := moto.Config(ctx)
	if err != nil {
		return err
	}
	say("    %s", moto.URL)

	say("==> creating a small prod in moto: VPC, ALB checkout-prod, listener :80, ECS prod/checkout (4 tasks), alarm")
	prod, err := testenv.CreateProd(ctx, awsCfg)
	if err != nil {
		return err
	}
	running, err := taskDefinition(ctx, awsCfg, prod)
	if err != nil {
		return err
	}
	say("    prod/checkout runs task definition %s", shortTaskDef(running))

	say("==> medic alarms --apply: the recommended alarms for the target groups the example policies name")
	alarms, changes, err := createAlarms(ctx, awsCfg)
	if err != nil {
		return err
	}
	for _, c := range changes {
		say("    %-9s %s", c.Outcome, c.Name)
	}
	var fired *alarmgen.Alarm
	for i := range alarms {
		if alarms[i].Name == firstAlarm {
			fired = &alarms[i]
		}
	}
	if fired == nil {
		return fmt.Errorf("medic alarms generated no %s", firstAlarm)
	}

	say("==> starting a local Slack API (slacktest) with user group %s = {%s}", approverGroup, approver)
	sl := slacktesting.NewServer()
	sl.Start()
	defer sl.Stop()
	sl.SetGroup(approverGroup, approver)

	dir, err := os.MkdirTemp("", "medic-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	storePath := filepath.Join(dir, "medic.db")
	cfg := &config.Config{
		StorePath: storePath, SlackAPIURL: sl.GetAPIURL(), SlackBotToken: "xoxb-demo", SlackSigningSecret: signing,
		AWSEndpointURL: moto.URL, MaxPerHour: 10, GitHubAPIURL: "http://127.0.0.1:1/",
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	say("==> medic's evidence collectors run against moto, with two stand-ins for what moto cannot show:")
	say("    - target health: the demo's stand-in for DescribeTargetHealth reports %d of %d targets unhealthy (%s);", unhealthyTargets, targets, unhealthyReason)
	say("      moto reports every registered target healthy. Tasks, stopped tasks, CPU and memory are read from moto.")
	say("    - deployments: moto keeps the service's first task definition on its deployment; the demo reads the")
	say("      service's current one onto it, as ECS shows it. The deployment's time is moto's own.")
	app, err := wiring.Build(ctx, cfg, awsCfg, wiring.Options{Logger: log, Intake: true, Policies: examples.FS, Collectors: collectors(awsCfg, log)})
	if err != nil {
		return err
	}
	defer app.Close()
	ready := make(chan string, 1)
	srv, err := server.New(app, log, server.Options{Addr: "127.0.0.1:0", Ready: ready, PendingFile: storePath + ".pending.json",
		LocalApprovals: approver})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Run(sctx) }()
	defer func() { stop(); <-served }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-served:
		return fmt.Errorf("medic serve stopped: %w", err)
	}
	say("==> medic serve listening on %s with the example policies (examples/)", base)
	say("    console: %s/ui (incidents, cards as Slack shows them, audit, pause switch; approving as %s)", base, approver)

	say("\n==> a deploy: task definition checkout revision with image %s, and prod/checkout updated to it (real ECS calls in moto)", newImage)
	from, to, err := deployNewRevision(ctx, awsCfg, prod)
	if err != nil {
		return err
	}
	say("    %s -> %s", shortTaskDef(from), shortTaskDef(to))
	say("==> its tasks answer 5xx: %d of %d requests in the last minute (the load balancer's metrics, put into moto's CloudWatch)", spike5xx, spikeRequests)
	if err := putSpike(ctx, awsCfg, prod, time.Now()); err != nil {
		return err
	}
	before, err := taskDefinition(ctx, awsCfg, prod)
	if err != nil {
		return err
	}
	say("\n    task definition of prod/checkout BEFORE: %s\n", shortTaskDef(before))

	say("==> the generated alarm %s (5xx rate, metric math) goes to ALARM: POST %s/alarms (EventBridge event)", fired.Name, base)
	if err := send(ctx, awsCfg, base, *fired, "ALARM"); err != nil {
		return err
	}

	card, proposal, err := waitCard(ctx, sl)
	if err != nil {
		return err
	}
	say("\n==> the card medic posted to Slack:\n%s", indent(card))
	if err := explain(say, card, app.Policies.Policies()); err != nil {
		return err
	}

	say("==> %s (in %s) clicks Approve: a signed Slack block_actions request to %s/slack/actions", approver, approverGroup, base)
	req := slacktesting.SignedClick(base+"/slack/actions", signing, time.Now(), slacktesting.Click{
		UserID: approver, UserName: "alice", ChannelID: "C0123INCIDENTS", ProposalID: proposal, Verb: "approve",
	})
	req.RequestURI = ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("approve: HTTP %d", resp.StatusCode)
	}

	after := before
	deadline := time.Now().Add(20 * time.Second)
	for after == before && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if after, err = taskDefinition(ctx, awsCfg, prod); err != nil {
			return err
		}
	}
	updated := lastUpdate(sl)
	if updated != "" {
		say("\n==> the card after the approval:\n%s", indent(updated))
	}
	say("    task definition of prod/checkout AFTER:  %s\n", shortTaskDef(after))
	if after == before {
		return errors.New("the approved step did not change the service's task definition within 20s; see the log above")
	}

	say("==> the 5xx rate falls: %s goes back to OK", fired.Name)
	if err := send(ctx, awsCfg, base, *fired, "OK"); err != nil {
		return err
	}
	report, err := waitReport(ctx, sl)
	if err != nil {
		return err
	}
	say("\n==> the incident report medic posted in the card's thread:\n%s\n", indent(report))
	say("==> done: deploy -> generated alarm -> evidence -> card -> approval -> rollback -> recovery -> report, all through medic's real code paths.")
	if opts.Keep {
		say("\n==> medic serve keeps running: open %s/ui (approving as %s). POST more alarms to %s/alarms. Ctrl-C stops it.", base, approver, base)
		<-ctx.Done()
	} else {
		say("    (make demo KEEP=1 keeps medic serve and its console at %s/ui open)", base)
	}
	return nil
}

// send sets the alarm's state in moto and posts the event CloudWatch would
// send to medic.
func send(ctx context.Context, awsCfg aws.Config, base string, a alarmgen.Alarm, state string) error {
	ev, err := fire(ctx, awsCfg, a, state, time.Now())
	if err != nil {
		return err
	}
	resp, err := http.Post(base+"/alarms", "application/json", bytes.NewReader(ev))
	if err != nil {
		return fmt.Errorf("send alarm %s %s: %w", a.Name, state, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("send alarm %s %s: HTTP %d: %s", a.Name, state, resp.StatusCode, body)
	}
	return nil
}

// waitReport waits for the incident report in the card's thread.
func waitReport(ctx context.Context, sl *slacktesting.Server) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range sl.Requests(slacktesting.MethodPostMessage) {
			if text := blocksText(r.Blocks); r.Form.Get("thread_ts") != "" && strings.Contains(text, "*Incident report*") {
				return text, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", errors.New("no incident report was posted in the card's thread within 10s of the recovery")
}

// waitCard waits for the incident card and returns it as text and the
// proposal ID on its Approve button.
func waitCard(ctx context.Context, sl *slacktesting.Server) (string, string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range sl.Requests(slacktesting.MethodPostMessage) {
			if r.Form.Get("thread_ts") != "" {
				continue
			}
			if id := approveValue(r.Blocks); id != "" {
				return blocksText(r.Blocks), id, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", "", errors.New("no card with an Approve button was posted within 10s")
}

func approveValue(blocks []slackapi.Block) string {
	for _, b := range blocks {
		if a, ok := b.(*slackapi.ActionBlock); ok && a.Elements != nil {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slackapi.ButtonBlockElement); ok && btn.ActionID == "medic:approve" {
					return btn.Value
				}
			}
		}
	}
	return ""
}

func lastUpdate(sl *slacktesting.Server) string {
	ups := sl.Requests(slacktesting.MethodUpdate)
	if len(ups) == 0 {
		return ""
	}
	return blocksText(ups[len(ups)-1].Blocks)
}

// blocksText renders Block Kit blocks as plain lines, the way a reader
// would scan the card.
func blocksText(blocks []slackapi.Block) string {
	var lines []string
	for _, b := range blocks {
		switch t := b.(type) {
		case *slackapi.HeaderBlock:
			lines = append(lines, t.Text.Text)
		case *slackapi.SectionBlock:
			if t.Text != nil {
				lines = append(lines, t.Text.Text)
			}
			for _, f := range t.Fields {
				lines = append(lines, strings.ReplaceAll(f.Text, "\n", ": "))
			}
		case *slackapi.ContextBlock:
			for _, el := range t.ContextElements.Elements {
				if txt, ok := el.(*slackapi.TextBlockObject); ok {
					lines = append(lines, txt.Text)
				}
			}
		case *slackapi.ActionBlock:
			var buttons []string
			for _, el := range t.Elements.ElementSet {
				if btn, ok := el.(*slackapi.ButtonBlockElement); ok {
					buttons = append(buttons, "["+btn.Text.Text+"]")
				}
			}
			lines = append(lines, strings.Join(buttons, " "))
		case *slackapi.DividerBlock:
			lines = append(lines, "----")
		}
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// explain narrates, from the card, what the evidence says and the step it
// picked, and, by the ladder's own rule (policy.FirstStep), what the
// policy would have proposed without that evidence.
func explain(say func(string, ...any), card string, pols []*policy.Policy) error {
	reading, favours := "", ""
	for _, l := range strings.Split(card, "\n") {
		if _, r, ok := strings.Cut(l, "_reading, not a verdict_: "); ok {
			reading = r
		}
		if f, ok := strings.CutPrefix(l, "• Evidence favours "); ok {
			favours = f
		}
	}
	if reading == "" || favours == "" {
		return fmt.Errorf("the card shows no reading or no favoured step:\n%s", card)
	}
	say("==> what the evidence says, from the card:")
	say("    reading: %s", html.UnescapeString(reading))
	say("    favours: %s", html.UnescapeString(favours))
	for _, p := range pols {
		if p.Name != policyName {
			continue
		}
		i, skipped := p.FirstStep(policy.Facts{})
		if i < 0 {
			return fmt.Errorf("policy %s proposes no step without evidence", p.Name)
		}
		say("    without that evidence: %s; the ladder would propose step %d (%s)", strings.Join(skipped, "; "), i+1, p.Steps[i].Action)
		return nil
	}
	return fmt.Errorf("no policy %s in the embedded policies", policyName)
}

// shortTaskDef is family:revision from a task definition ARN.
func shortTaskDef(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
