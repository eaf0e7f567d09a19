package github

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/medicbot/medic/remediations"
)

func TestConfigValidateReportsEveryProblemWithoutSecrets(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"nothing set", Config{}, []string{EnvToken, EnvAppID}},
		{"token and app", Config{Token: "ghp_topsecret", AppID: 1}, []string{"not both"}},
		{"app without key or installation", Config{AppID: 1}, []string{EnvInstallationID, "private key is required"}},
		{"bad url", Config{Token: "ghp_topsecret", APIURL: "ftp://x"}, []string{EnvAPIURL, "http(s)"}},
		{"url with credentials", Config{Token: "ghp_topsecret", APIURL: "https://user:hunter2@ghe.example.com/api/v3"}, []string{"must not carry credentials", "xxxxx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			mustContain(t, "error", err.Error(), tc.want...)
			for _, secret := range []string{"ghp_topsecret", "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks %q", err, secret)
				}
			}
		})
	}
}

func TestConfigPrintsAndLogsWithoutSecrets(t *testing.T) {
	key := testKey(t)
	for _, cfg := range []Config{
		{Token: "ghp_topsecret"},
		{AppID: 7, InstallationID: 8, PrivateKey: key},
	} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "github", cfg)
		for _, out := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), buf.String()} {
			if strings.Contains(out, "ghp_topsecret") || strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "MII") {
				t.Errorf("config output leaks a secret: %s", out)
			}
		}
	}
}

func testKey(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestNewClientAddsTheTrailingSlash(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "https://api.github.com/",
		"https://ghe.example.com/api/v3": "https://ghe.example.com/api/v3/",
		"http://127.0.0.1:9999":          "http://127.0.0.1:9999/",
	} {
		c, err := NewClient(Config{Token: "t", APIURL: in})
		if err != nil {
			t.Fatalf("NewClient(%q): %v", in, err)
		}
		if c.BaseURL.String() != want {
			t.Errorf("base URL for %q = %s, want %s", in, c.BaseURL, want)
		}
	}
}

func TestAppAuthUsesInstallationTokens(t *testing.T) {
	f := newFake(t)
	c, err := NewClient(Config{AppID: 12345, InstallationID: 99, PrivateKey: testKey(t), APIURL: f.srv.URL})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	for range 2 {
		if _, _, err := c.Repositories.Get(context.Background(), "acme", "shop"); err != nil {
			t.Fatalf("Get: %v", err)
		}
	}
	reqs := f.allRequests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %+v, want one token fetch and two calls", reqs)
	}
	if reqs[0].Path != "/app/installations/99/access_tokens" || !strings.HasPrefix(reqs[0].Auth, "Bearer ey") {
		t.Errorf("token request = %s %q", reqs[0].Path, reqs[0].Auth)
	}
	for _, r := range reqs[1:] {
		if r.Auth != "token ghs_installation_token" {
			t.Errorf("API call authorised with %q, want the installation token", r.Auth)
		}
	}
}

func TestAppTokenFailureIsAccessDenied(t *testing.T) {
	f := newFake(t)
	f.failFirst("POST", "/app/installations/99/access_tokens", 1, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded"})
	})
	c, err := NewClient(Config{AppID: 12345, InstallationID: 99, PrivateKey: testKey(t), APIURL: f.srv.URL})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	_, err = New(c).Plan(context.Background(), theAlarm, params())
	if !errors.Is(err, remediations.ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	mustContain(t, "error", err.Error(), "installation 99", "private key")
}

func TestBadPrivateKeyIsNotQuoted(t *testing.T) {
	key := []byte("-----BEGIN RSA PRIVATE KEY-----\nnot-really-a-key-hunter2\n-----END RSA PRIVATE KEY-----\n")
	_, err := NewClient(Config{AppID: 1, InstallationID: 2, PrivateKey: key})
	if err == nil {
		t.Fatal("bad key accepted")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error quotes the key: %v", err)
	}
	mustContain(t, "error", err.Error(), "not a PEM-encoded RSA key")
}
