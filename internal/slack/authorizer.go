package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
)

// GroupMembersLister lists the members of a Slack user group
// (usergroups.users.list). *slack.Client from slack-go implements it.
type GroupMembersLister interface {
	GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slackapi.GetUserGroupMembersOption) ([]string, error)
}

// DefaultGroupTTL is how long an Authorizer trusts a group's member list.
const DefaultGroupTTL = 60 * time.Second

// Authorizer decides whether a Slack user may approve a step whose
// approvers are user IDs and user-group IDs. Group member lists are cached
// for a short TTL; concurrent lookups of the same group share one request.
// It is safe for concurrent use.
type Authorizer struct {
	groups GroupMembersLister
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	cache    map[string]groupEntry
	inflight map[string]*groupCall
}

type groupEntry struct {
	members map[string]struct{}
	expires time.Time
}

type groupCall struct {
	done    chan struct{}
	members map[string]struct{}
	err     error
}

// AuthorizerOption configures an Authorizer.
type AuthorizerOption func(*Authorizer)

// WithGroupTTL sets how long a group's member list is cached.
func WithGroupTTL(ttl time.Duration) AuthorizerOption {
	return func(a *Authorizer) { a.ttl = ttl }
}

// WithAuthorizerClock sets the clock used for cache expiry.
func WithAuthorizerClock(now func() time.Time) AuthorizerOption {
	return func(a *Authorizer) { a.now = now }
}

// NewAuthorizer returns an Authorizer that resolves groups through groups
// (usually the bot's *slack.Client, which needs the usergroups:read scope).
func NewAuthorizer(groups GroupMembersLister, opts ...AuthorizerOption) *Authorizer {
	a := &Authorizer{
		groups:   groups,
		ttl:      DefaultGroupTTL,
		now:      time.Now,
		cache:    make(map[string]groupEntry),
		inflight: make(map[string]*groupCall),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Allowed reports whether userID is one of approvers: a user ID (U…, W…)
// matches directly, a user-group ID (S…) through its members. Approvers may
// also be written as mentions (<@U…>, <!subteam^S…|name>). Anything else
// never matches.
//
// When no approver grants access and a group could not be resolved, Allowed
// returns false and the error; callers must treat an error as "not allowed".
func (a *Authorizer) Allowed(ctx context.Context, userID string, approvers []string) (bool, error) {
	if userID == "" {
		return false, nil
	}
	var groups []string
	for _, raw := range approvers {
		id := normaliseApprover(raw)
		switch {
		case id == "":
		case id == userID && (id[0] == 'U' || id[0] == 'W'):
			return true, nil
		case id[0] == 'S':
			groups = append(groups, id)
		}
	}
	var errs []error
	for _, g := range groups {
		members, err := a.members(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := members[userID]; ok {
			return true, nil
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	return false, nil
}

// normaliseApprover returns the bare ID of a user or group approver, or "".
func normaliseApprover(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">"):
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<@"), ">")
	case strings.HasPrefix(s, "<!subteam^") && strings.HasSuffix(s, ">"):
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<!subteam^"), ">")
	}
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[:i]
	}
	if !idPattern.MatchString(s) {
		return ""
	}
	return s
}

func (a *Authorizer) members(ctx context.Context, group string) (map[string]struct{}, error) {
	a.mu.Lock()
	if e, ok := a.cache[group]; ok && a.now().Before(e.expires) {
		a.mu.Unlock()
		return e.members, nil
	}
	if call, ok := a.inflight[group]; ok {
		a.mu.Unlock()
		select {
		case <-call.done:
			return call.members, call.err
		case <-ctx.Done():
			return nil, fmt.Errorf("list members of slack user group %s: %w", group, ctx.Err())
		}
	}
	call := &groupCall{done: make(chan struct{})}
	a.inflight[group] = call
	a.mu.Unlock()

	if a.groups == nil {
		call.err = fmt.Errorf("list members of slack user group %s: no slack client configured", group)
	} else {
		ids, err := a.groups.GetUserGroupMembersContext(ctx, group)
		if err != nil {
			call.err = fmt.Errorf("list members of slack user group %s: %w", group, err)
		} else {
			call.members = make(map[string]struct{}, len(ids))
			for _, id := range ids {
				call.members[id] = struct{}{}
			}
		}
	}

	a.mu.Lock()
	delete(a.inflight, group)
	if call.err == nil {
		a.cache[group] = groupEntry{members: call.members, expires: a.now().Add(a.ttl)}
	}
	a.mu.Unlock()
	close(call.done)
	return call.members, call.err
}
