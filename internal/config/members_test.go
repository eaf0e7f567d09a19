package config

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestFromEnvReadsTheMemberAccounts(t *testing.T) {
	c, err := FromEnv(context.Background(), env(map[string]string{
		"MEDIC_ACCOUNT_ID":         "123456789012",
		"MEDIC_MEMBER_ROLE_NAME":   "medic-member",
		"MEDIC_MEMBER_EXTERNAL_ID": "ext-id",
		"MEDIC_MEMBER_ACCOUNTS":    "111111111111, 222222222222",
		"MEDIC_MEMBER_REGIONS":     "eu-west-1,us-east-1",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.MultiAccount() || !slices.Equal(c.MemberAccounts, []string{"111111111111", "222222222222"}) ||
		!slices.Equal(c.MemberRegions, []string{"eu-west-1", "us-east-1"}) || c.MemberExternalID.Value() != "ext-id" {
		t.Errorf("config = %+v", c)
	}
}

func TestSingleAccountDeploysStaySingleAccount(t *testing.T) {
	c, err := FromEnv(context.Background(), env(map[string]string{"MEDIC_MEMBER_EXTERNAL_ID": "", "MEDIC_MEMBER_ACCOUNTS": ""}), nil)
	if err != nil || c.MultiAccount() {
		t.Errorf("empty member settings: multi-account %v, err %v; want single-account, no error", c != nil && c.MultiAccount(), err)
	}
}

func TestFromEnvReportsEveryMemberProblem(t *testing.T) {
	_, err := FromEnv(context.Background(), env(map[string]string{
		"MEDIC_MEMBER_ROLE_NAME":   "medic-member",
		"MEDIC_MEMBER_EXTERNAL_ID": "x",
		"MEDIC_MEMBER_ACCOUNTS":    "prod",
	}), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"needs MEDIC_ACCOUNT_ID", "MEDIC_MEMBER_EXTERNAL_ID", `got "prod"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
