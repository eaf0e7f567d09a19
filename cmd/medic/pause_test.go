package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/boltstore"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/internal/testenv"
)

// failingWorld is everything but the store, failing: one server answering
// 500 to every request stands for Secrets Manager, SSM, Slack and GitHub.
// It records what reached it.
type failingWorld struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []string
}

func (w *failingWorld) count() (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.requests), strings.Join(w.requests, "; ")
}

// breakEverythingButTheStore points every secret, Slack, GitHub and the
// SSM kill switch at a failing server, as an operator's shell would look
// with the deployed stack's environment during an outage. awsEndpoint, when
// set, is where the remaining AWS calls go (moto's DynamoDB); otherwise
// every AWS call fails too.
func breakEverythingButTheStore(t *testing.T, awsEndpoint string) *failingWorld {
	t.Helper()
	w := &failingWorld{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.requests = append(w.requests, r.Method+" "+r.Host+r.URL.Path+" "+r.Header.Get("X-Amz-Target"))
		w.mu.Unlock()
		http.Error(rw, `{"__type":"InternalServiceError","message":"down"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(w.srv.Close)
	if awsEndpoint == "" {
		awsEndpoint = w.srv.URL
	}
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": awsEndpoint, "AWS_ENDPOINT_URL_SECRETS_MANAGER": w.srv.URL, "AWS_ENDPOINT_URL_SSM": w.srv.URL,
		"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"SLACK_BOT_TOKEN_SECRET_ARN":      "arn:aws:secretsmanager:us-east-1:123456789012:secret:medic/slack-bot-token-AbCdEf",
		"SLACK_SIGNING_SECRET_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:medic/slack-signing-secret-AbCdEf",
		"GITHUB_SECRET_ARN":               "arn:aws:secretsmanager:us-east-1:123456789012:secret:medic/github-AbCdEf",
		"MEDIC_WEBHOOK_TOKEN_SECRET_ARN":  "arn:aws:secretsmanager:us-east-1:123456789012:secret:medic/webhook-AbCdEf",
		"SLACK_API_URL":                   w.srv.URL + "/api/",
		"GITHUB_API_URL":                  w.srv.URL + "/github/",
		"MEDIC_KILL_SWITCH_PARAM":         "/medic/paused",
		"MEDIC_QUEUE_URL":                 w.srv.URL + "/123456789012/medic-WorkQueue",
		"SLACK_BOT_TOKEN":                 "", "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": "", "GITHUB_TOKEN": "",
		"GITHUB_APP_ID": "", "GITHUB_APP_INSTALLATION_ID": "", "GITHUB_APP_PRIVATE_KEY": "",
		"MEDIC_TABLE": "", "MEDIC_STORE": "",
	} {
		t.Setenv(k, v)
	}
	return w
}

func TestPauseAndResumeTouchOnlyTheStore(t *testing.T) {
	medic := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	// pauseAndResume pauses and resumes with storeArgs, checking the
	// switch through read after each.
	pauseAndResume := func(t *testing.T, w *failingWorld, read func() store.Switch, storeArgs ...string) {
		t.Helper()
		code, out, stderr := medic(append([]string{"pause", "--reason", "GitHub is down"}, storeArgs...)...)
		if code != exitOK || !strings.Contains(out, "paused") {
			t.Fatalf("pause with everything but the store failing = %d %q %q, want exit 0", code, out, stderr)
		}
		if sw := read(); !sw.Paused || sw.Why != "GitHub is down" {
			t.Fatalf("the kill switch after pause = %+v, want paused because GitHub is down", sw)
		}
		code, out, stderr = medic(append([]string{"resume"}, storeArgs...)...)
		if code != exitOK || !strings.Contains(out, "resumed") {
			t.Fatalf("resume with everything but the store failing = %d %q %q, want exit 0", code, out, stderr)
		}
		if sw := read(); sw.Paused {
			t.Fatalf("the kill switch after resume = %+v, want not paused", sw)
		}
		if n, reqs := w.count(); n != 0 {
			t.Errorf("pause and resume made %d requests outside the store: %s", n, reqs)
		}
	}

	t.Run("on the embedded store", func(t *testing.T) {
		w := breakEverythingButTheStore(t, "")
		path := filepath.Join(t.TempDir(), "medic.db")
		pauseAndResume(t, w, func() store.Switch {
			st, err := boltstore.Open(path, boltstore.Options{})
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			defer st.Close()
			sw, err := st.Switch(context.Background())
			if err != nil {
				t.Fatalf("read the switch: %v", err)
			}
			return *sw
		}, "--store", path)
	})

	t.Run("on DynamoDB", func(t *testing.T) {
		m := testenv.Moto(t)
		ctx := context.Background()
		const table = "medic-Table-Stop"
		ddb := dynamodb.NewFromConfig(m.Config)
		if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
			t.Fatalf("create table: %v", err)
		}
		st := dynamostore.New(ddb, table, dynamostore.Options{})
		w := breakEverythingButTheStore(t, m.URL)
		t.Setenv("MEDIC_TABLE", table)
		t.Chdir(t.TempDir())
		pauseAndResume(t, w, func() store.Switch {
			sw, err := st.Switch(ctx)
			if err != nil {
				t.Fatalf("read the switch: %v", err)
			}
			return *sw
		})
	})
}
