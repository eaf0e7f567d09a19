package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
)

// DefaultAPIURL is GitHub.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// The environment variables that configure GitHub access (internal/config
// reads them); errors name them.
const (
	EnvToken          = "GITHUB_TOKEN"
	EnvAppID          = "GITHUB_APP_ID"
	EnvInstallationID = "GITHUB_APP_INSTALLATION_ID"
	EnvAPIURL         = "GITHUB_API_URL"
)

// Config says how medic authenticates to GitHub: either a token, or a GitHub
// App installation (AppID, InstallationID and the App's private key). Its
// String and LogValue never show the token or the key.
type Config struct {
	// Token is a GitHub token (GITHUB_TOKEN).
	Token string
	// AppID, InstallationID and PrivateKey (PEM) identify a GitHub App
	// installation. The wiring reads the key, e.g. from Secrets Manager.
	AppID          int64
	InstallationID int64
	PrivateKey     []byte
	// APIURL is the REST API base URL (GITHUB_API_URL): default
	// DefaultAPIURL; GitHub Enterprise Server's is https://HOST/api/v3.
	APIURL string
	// Transport is the base HTTP transport (default http.DefaultTransport).
	Transport http.RoundTripper
	// Retry bounds retries of rate-limited and failed requests.
	Retry RetryPolicy
	// UserAgent defaults to "medic".
	UserAgent string
}

// App reports whether the config uses GitHub App authentication.
func (c Config) App() bool {
	return c.AppID != 0 || c.InstallationID != 0 || len(c.PrivateKey) > 0
}

// Validate reports every problem with c, never quoting the token or key.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Token != "" && c.App():
		errs = append(errs, errors.New("github auth: set either a token or GitHub App credentials, not both"))
	case c.Token == "" && !c.App():
		errs = append(errs, fmt.Errorf("github auth: set %s, or %s, %s and the App private key", EnvToken, EnvAppID, EnvInstallationID))
	case c.App():
		if c.AppID <= 0 {
			errs = append(errs, fmt.Errorf("github app: %s is required", EnvAppID))
		}
		if c.InstallationID <= 0 {
			errs = append(errs, fmt.Errorf("github app: %s is required", EnvInstallationID))
		}
		if len(c.PrivateKey) == 0 {
			errs = append(errs, errors.New("github app: the private key is required"))
		}
	}
	if _, err := apiBaseURL(c.APIURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// String describes c without secrets.
func (c Config) String() string {
	base, _ := apiBaseURL(c.APIURL)
	var where string
	if base != nil {
		where = base.Redacted()
	}
	if c.App() {
		return fmt.Sprintf("github app %d installation %d at %s", c.AppID, c.InstallationID, where)
	}
	return "github token auth at " + where
}

// GoString keeps %#v from printing the token or key.
func (c Config) GoString() string { return c.String() }

// LogValue logs c without secrets.
func (c Config) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// apiBaseURL parses s (default DefaultAPIURL) and adds the trailing slash
// go-github needs. Errors show the URL without any user info.
func apiBaseURL(s string) (*url.URL, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := "the value given"
		if err == nil {
			shown = u.Redacted()
		}
		return nil, fmt.Errorf("%s: must be an http(s) URL such as %s, got %s", EnvAPIURL, DefaultAPIURL, shown)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: must not carry credentials, got %s", EnvAPIURL, u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// NewClient returns a go-github client authenticated as cfg says, whose
// requests are retried within cfg.Retry's bounds (see NewRetryTransport).
// For a GitHub App, installation tokens are fetched and refreshed by
// ghinstallation against the same API URL.
func NewClient(cfg Config) (*gh.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("build github client: %w", err)
	}
	base, _ := apiBaseURL(cfg.APIURL)
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if cfg.App() {
		itr, err := ghinstallation.New(tr, cfg.AppID, cfg.InstallationID, cfg.PrivateKey)
		if err != nil {
			// The library's message names only the parse failure; keep
			// even that out, in case a future version quotes the input.
			return nil, fmt.Errorf("build github client for app %d: the private key is not a PEM-encoded RSA key", cfg.AppID)
		}
		itr.BaseURL = strings.TrimSuffix(base.String(), "/")
		tr = itr
	}
	hc := &http.Client{Transport: NewRetryTransport(tr, cfg.Retry)}
	c := gh.NewClient(hc)
	if cfg.Token != "" {
		c = c.WithAuthToken(cfg.Token)
	}
	c.BaseURL = base
	c.UserAgent = cfg.UserAgent
	if c.UserAgent == "" {
		c.UserAgent = "medic"
	}
	return c, nil
}
