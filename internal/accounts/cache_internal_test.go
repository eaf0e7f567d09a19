package accounts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/medicbot/medic/remediations"
)

type okSTS struct{}

func (okSTS) AssumeRole(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("A"), SecretAccessKey: aws.String("s"),
		SessionToken: aws.String("t"), Expiration: aws.Time(time.Now().Add(time.Hour))}}, nil
}

// A long-running medic serve sees many incidents: the caches stay bounded.
func TestCachesStayBounded(t *testing.T) {
	p, err := New(Config{RoleName: "medic-member", ExternalID: "ext", STS: okSTS{}})
	if err != nil {
		t.Fatal(err)
	}
	build := func(aws.Config) (*remediations.Registry, error) { return remediations.NewRegistry() }
	home, _ := build(aws.Config{})
	r := NewRegistry(home, build, p)
	for i := 0; i < 3*maxCached; i++ {
		session := fmt.Sprintf("medic-incident-%d", i)
		if _, err := r.actionFor(context.Background(), "none", "111111111111", "eu-west-1", session); err == nil {
			t.Fatal("an unregistered action was found")
		}
	}
	if len(p.cache) > maxCached || len(r.regs) > maxCached {
		t.Errorf("after %d incidents: %d credentials and %d registries cached, want at most %d", 3*maxCached, len(p.cache), len(r.regs), maxCached)
	}
}
