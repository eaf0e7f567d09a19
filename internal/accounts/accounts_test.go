package accounts_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/medicbot/medic/internal/accounts"
	"github.com/medicbot/medic/internal/alarm"
)

// fakeSTS records AssumeRole calls and answers with credentials valid for
// ttl, or with err.
type fakeSTS struct {
	mu    sync.Mutex
	calls []sts.AssumeRoleInput
	ttl   time.Duration
	err   error
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *in)
	if f.err != nil {
		return nil, f.err
	}
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("AKID"), SecretAccessKey: aws.String("s"),
		SessionToken: aws.String("t"), Expiration: aws.Time(time.Now().Add(f.ttl))}}, nil
}

func provider(t *testing.T, f *fakeSTS) *accounts.Provider {
	t.Helper()
	p, err := accounts.New(accounts.Config{Home: aws.Config{Region: "us-east-1"}, HomeAccount: "123456789012",
		RoleName: "medic-member", ExternalID: "ext-123", STS: f})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCredentialsAreAssumedOnceAndRenewedNearExpiry(t *testing.T) {
	ctx := context.Background()
	f := &fakeSTS{ttl: time.Hour}
	p := provider(t, f)
	for i := 0; i < 3; i++ {
		cfg, err := p.Config(ctx, "111111111111", "eu-west-1", "medic-inc1")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Region != "eu-west-1" {
			t.Errorf("region %q, want eu-west-1", cfg.Region)
		}
	}
	if len(f.calls) != 1 {
		t.Fatalf("%d AssumeRole calls for one account and region, want 1 (cached)", len(f.calls))
	}
	in := f.calls[0]
	if *in.RoleArn != "arn:aws:iam::111111111111:role/medic-member" || *in.ExternalId != "ext-123" || *in.RoleSessionName != "medic-inc1" {
		t.Errorf("assumed %s with external ID %s as %s", *in.RoleArn, *in.ExternalId, *in.RoleSessionName)
	}

	g := &fakeSTS{ttl: 4 * time.Minute} // inside the 5-minute window
	q := provider(t, g)
	for i := 0; i < 2; i++ {
		if _, err := q.Config(ctx, "111111111111", "eu-west-1", "medic-inc1"); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.calls) != 2 {
		t.Errorf("%d AssumeRole calls with credentials 4 minutes from expiry, want 2 (renewed each time)", len(g.calls))
	}
}

func TestTheHomeAccountUsesTheFunctionsOwnCredentials(t *testing.T) {
	f := &fakeSTS{ttl: time.Hour}
	cfg, err := provider(t, f).Config(context.Background(), "123456789012", "eu-west-1", "medic-inc1")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 || cfg.Region != "eu-west-1" {
		t.Errorf("home account: %d AssumeRole calls, region %q; want none and eu-west-1", len(f.calls), cfg.Region)
	}
}

func TestARefusedRoleNamesTheAccountAndRole(t *testing.T) {
	f := &fakeSTS{err: errors.New("AccessDenied: not authorized to perform sts:AssumeRole")}
	_, err := provider(t, f).Config(context.Background(), "111111111111", "eu-west-1", "medic-inc1")
	if !errors.Is(err, accounts.ErrAssumeRole) {
		t.Fatalf("err = %v, want ErrAssumeRole", err)
	}
	for _, want := range []string{"arn:aws:iam::111111111111:role/medic-member", "account 111111111111", "AccessDenied", "failing closed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestNewRefusesAMissingRoleOrExternalID(t *testing.T) {
	_, err := accounts.New(accounts.Config{ExternalID: "x"})
	if err == nil || !strings.Contains(err.Error(), "MEDIC_MEMBER_ROLE_NAME") || !strings.Contains(err.Error(), "MEDIC_MEMBER_EXTERNAL_ID") {
		t.Errorf("err = %v, want both problems named", err)
	}
}

func TestSessionNamesFitSTSAndNameTheIncident(t *testing.T) {
	valid := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	for _, name := range []string{"checkout-5xx", "checkout prod / 5xx (p99) ☃", strings.Repeat("very-long-alarm-name", 10)} {
		a := &alarm.Alarm{Name: name, ARN: "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:" + name, Timestamp: time.Unix(1700000000, 0)}
		s := accounts.SessionName(a)
		if !valid.MatchString(s) {
			t.Errorf("session name %q for alarm %q is not a valid STS session name", s, name)
		}
		if !strings.HasPrefix(s, "medic-") || len(s) < len("medic-")+16 {
			t.Errorf("session name %q does not carry the incident ID", s)
		}
	}
}

func TestMembersRefuseAccountsAndRegionsMedicDoesNotServe(t *testing.T) {
	m := accounts.Members{Home: "123456789012", Accounts: []string{"111111111111"}, Regions: []string{"eu-west-1", "us-east-1"}}
	cases := []struct {
		name, account, region, want string
	}{
		{"a member account in an allowed region is served", "111111111111", "eu-west-1", ""},
		{"the home account is served", "123456789012", "us-east-1", ""},
		{"another account is refused", "222222222222", "eu-west-1", "not a medic member account"},
		{"another region is refused", "111111111111", "ap-south-1", "region ap-south-1"},
		{"an alarm that does not say where it is is refused", "", "eu-west-1", "does not say which account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := m.Refusal(&alarm.Alarm{Name: "x", Account: c.account, Region: c.region})
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("Refusal = %q, want %q", got, c.want)
			}
		})
	}
	any := accounts.Members{Home: "123456789012", Accounts: []string{"*"}}
	if got := any.Refusal(&alarm.Alarm{Name: "x", Account: "333333333333", Region: "sa-east-1"}); got != "" {
		t.Errorf(`"*" refused %q`, got)
	}
}
