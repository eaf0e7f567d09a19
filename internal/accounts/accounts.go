// Package accounts lets one medic deployment act in many accounts and
// regions: it assumes the member role in the alarm's account (with an
// external ID and a session name that names the incident), caches the
// credentials until shortly before they expire, decides which alarms a
// multi-account deployment may act for, and wraps the registry so every
// action plans, applies and undoes with clients for the alarm's own account
// and region.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/internal/store"
)

// ErrAssumeRole: the member role of an account could not be assumed, so
// nothing can be read or changed there. Callers fail closed.
var ErrAssumeRole = errors.New("cannot assume the member role")

// maxCached bounds the credentials and registries kept (one per account,
// region and incident), so a long-running `medic serve` does not grow
// without end: past it the caches start again empty.
const maxCached = 256

// ExpiryWindow is how long before they expire cached credentials are
// renewed.
const ExpiryWindow = 5 * time.Minute

// AssumeRoleAPI is the one STS call the provider makes; *sts.Client
// implements it.
type AssumeRoleAPI = stscreds.AssumeRoleAPIClient

// Config says how to reach member accounts.
type Config struct {
	// Home is the function's own AWS configuration; its credentials act in
	// HomeAccount.
	Home aws.Config
	// HomeAccount is the account medic runs in (MEDIC_ACCOUNT_ID). Alarms
	// from it use Home's credentials, never an assumed role.
	HomeAccount string
	// RoleName is the member role's name (MEDIC_MEMBER_ROLE_NAME), the same
	// in every member account.
	RoleName string
	// ExternalID is passed on every AssumeRole (MEDIC_MEMBER_EXTERNAL_ID).
	ExternalID string
	// STS assumes the roles; sts.NewFromConfig(Home) when nil.
	STS AssumeRoleAPI
}

// Provider hands out AWS configurations for an account and region.
// Credentials are cached per account, region and incident (so every
// session in CloudTrail names the incident it acted for) until ExpiryWindow
// before they expire. It is safe for concurrent use.
type Provider struct {
	cfg   Config
	mu    sync.Mutex
	cache map[credKey]*aws.CredentialsCache
}

type credKey struct{ account, region, session string }

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	var errs []error
	if cfg.RoleName == "" {
		errs = append(errs, errors.New("accounts: no member role name (MEDIC_MEMBER_ROLE_NAME)"))
	}
	if len(cfg.ExternalID) < 2 {
		errs = append(errs, errors.New("accounts: the external ID (MEDIC_MEMBER_EXTERNAL_ID) must have at least 2 characters"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.STS == nil {
		cfg.STS = sts.NewFromConfig(cfg.Home)
	}
	return &Provider{cfg: cfg, cache: map[credKey]*aws.CredentialsCache{}}, nil
}

// RoleARN is the member role medic assumes in account.
func (p *Provider) RoleARN(account string) string {
	return "arn:aws:iam::" + account + ":role/" + p.cfg.RoleName
}

// Config returns an AWS configuration acting in account and region for the
// incident named by session (see SessionName). The home account (or an
// empty account) gets the function's own credentials. For a member
// account the role is assumed now, so a role that cannot be assumed fails
// here with an error wrapping ErrAssumeRole and naming the account and the
// role, before anything is read or changed.
func (p *Provider) Config(ctx context.Context, account, region, session string) (aws.Config, error) {
	cfg := p.cfg.Home.Copy()
	if region != "" {
		cfg.Region = region
	}
	if account == "" || account == p.cfg.HomeAccount {
		return cfg, nil
	}
	if session == "" {
		session = "medic"
	}
	k := credKey{account, region, session}
	p.mu.Lock()
	c, ok := p.cache[k]
	if !ok {
		if len(p.cache) >= maxCached {
			clear(p.cache)
		}
		arn := p.RoleARN(account)
		c = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(p.cfg.STS, arn, func(o *stscreds.AssumeRoleOptions) {
			o.ExternalID = aws.String(p.cfg.ExternalID)
			o.RoleSessionName = session
		}), func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = ExpiryWindow })
		p.cache[k] = c
	}
	p.mu.Unlock()
	if _, err := c.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("cannot assume role %s in account %s (%w): %w; nothing was done (failing closed)",
			p.RoleARN(account), account, ErrAssumeRole, err)
	}
	cfg.Credentials = c
	return cfg, nil
}

// SessionName is the STS session name for the incident of a: "medic-"
// followed by the incident ID and as much of the alarm name as fits, in
// STS's character set ([\w+=,.@-]) and at most 64 characters.
func SessionName(a *alarm.Alarm) string {
	if a == nil {
		return "medic"
	}
	s := "medic-" + store.IncidentID(a.DedupKey()) + "-" + a.Name
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Members is where a multi-account deployment may act: the home account,
// the member accounts and the allowed regions. It implements the engine's
// scope check.
type Members struct {
	// Home is medic's own account.
	Home string
	// Accounts are the member accounts; "*" admits any account (the
	// central bus's policy then limits who can send alarms, e.g. to an
	// organisation).
	Accounts []string
	// Regions are the allowed regions; empty admits every region.
	Regions []string
}

// Refusal says why medic must not act for a, or "" when it may.
func (m Members) Refusal(a *alarm.Alarm) string {
	if a == nil {
		return ""
	}
	if a.Account == "" || a.Region == "" {
		return fmt.Sprintf("alarm %s does not say which account and region it is in; medic cannot tell which resources it means", a.Name)
	}
	if a.Account != m.Home && !contains(m.Accounts, a.Account) && !contains(m.Accounts, "*") {
		return fmt.Sprintf("alarm %s is in account %s, which is not a medic member account (members: %s); nothing will be changed there",
			a.Name, a.Account, strings.Join(append([]string{m.Home}, m.Accounts...), ", "))
	}
	if len(m.Regions) > 0 && !contains(m.Regions, a.Region) {
		return fmt.Sprintf("alarm %s is in region %s; medic acts only in %s", a.Name, a.Region, strings.Join(m.Regions, ", "))
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
