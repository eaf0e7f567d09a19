package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/internal/testenv"
)

// TestPauseResumeAndAuditOnDynamoDB: with MEDIC_TABLE (or --table) the CLI
// works on a deployed medic's DynamoDB table, not on an embedded store file:
// pause sets the switch item the Lambdas read, audit lists what the Lambdas
// wrote.
func TestPauseResumeAndAuditOnDynamoDB(t *testing.T) {
	m := testenv.Moto(t)
	ctx := context.Background()
	const table = "medic-Table-CLI"
	ddb := dynamodb.NewFromConfig(m.Config)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	st := dynamostore.New(ddb, table, dynamostore.Options{})
	// What a Lambda recorded.
	if err := st.Commit(ctx, &store.Tx{Now: time.Now(), Audit: []store.AuditEntry{{
		Incident: "inc-from-lambda", Event: "incident.opened", Who: "medic", Why: "alarm checkout-5xx in ALARM (written by the alarm Lambda)",
	}}}); err != nil {
		t.Fatalf("seed the table: %v", err)
	}

	// The environment of an operator pointed at the stack (here: moto), in
	// a directory without medic.db.
	dir := t.TempDir()
	t.Chdir(dir)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": m.URL, "AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"MEDIC_TABLE": table, "MEDIC_QUEUE_URL": "", "MEDIC_KILL_SWITCH_PARAM": "", "MEDIC_STORE": "",
		"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": "",
	} {
		t.Setenv(k, v)
	}
	medic := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, stderr := medic("pause", "--reason", "game day")
	if code != exitOK || !strings.Contains(out, "paused") || !strings.Contains(out, "DynamoDB table "+table) {
		t.Fatalf("pause with MEDIC_TABLE = %d %q %q, want exit 0 naming the table", code, out, stderr)
	}
	sw, err := st.Switch(ctx)
	if err != nil || !sw.Paused || sw.Why != "game day" || sw.By == "" {
		t.Fatalf("the table's kill switch after pause = %+v (err %v), want paused for game day, by someone", sw, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "medic.db")); err == nil {
		t.Errorf("pause with MEDIC_TABLE created an embedded store medic.db")
	}

	code, out, stderr = medic("audit", "--format", "json")
	if code != exitOK {
		t.Fatalf("audit with MEDIC_TABLE = %d %q", code, stderr)
	}
	if !strings.Contains(stderr, "DynamoDB table "+table) {
		t.Errorf("audit does not say which store it read: stderr %q", stderr)
	}
	var entries []struct {
		Incident string `json:"incident"`
		Event    string `json:"event"`
		Why      string `json:"why"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("audit --format json is not a JSON array: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Event] = true
	}
	if !got["incident.opened"] || !got["switch.paused"] {
		t.Errorf("audit of the table lists %v, want the Lambda's incident.opened and the CLI's switch.paused:\n%s", got, out)
	}

	// --table works without MEDIC_TABLE.
	t.Setenv("MEDIC_TABLE", "")
	if code, out, stderr := medic("resume", "--table", table); code != exitOK || !strings.Contains(out, "DynamoDB table "+table) {
		t.Fatalf("resume --table = %d %q %q", code, out, stderr)
	}
	if sw, err := st.Switch(ctx); err != nil || sw.Paused {
		t.Errorf("the table's kill switch after resume = %+v (err %v), want not paused", sw, err)
	}
	if code, out, stderr := medic("audit", "--table", table, "--since", "1h"); code != exitOK || !strings.Contains(out, "written by the alarm Lambda") {
		t.Errorf("audit --table = %d %q %q, want the Lambda's entry", code, out, stderr)
	}

	// Without a table the embedded store is used, as before.
	if code, _, stderr := medic("audit"); code != exitUsage || !strings.Contains(stderr, "medic.db") {
		t.Errorf("audit without a table = %d %q, want exit 2 naming the missing medic.db", code, stderr)
	}
	// An explicit --store beats MEDIC_TABLE; both flags is an error.
	t.Setenv("MEDIC_TABLE", table)
	if code, _, stderr := medic("audit", "--store", "local.db"); code != exitUsage || !strings.Contains(stderr, "local.db") {
		t.Errorf("audit --store with MEDIC_TABLE = %d %q, want the embedded local.db (missing: exit 2)", code, stderr)
	}
	if code, _, stderr := medic("audit", "--store", "local.db", "--table", table); code != exitUsage || !strings.Contains(stderr, "--table and --store") {
		t.Errorf("audit --store --table = %d %q, want a usage error", code, stderr)
	}
}
