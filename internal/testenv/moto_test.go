package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func TestMotoServesECSAndResetsBetweenTests(t *testing.T) {
	for i := 0; i < 2; i++ {
		m := Moto(t)
		c := ecs.NewFromConfig(m.Config)
		out, err := c.ListClusters(context.Background(), &ecs.ListClustersInput{})
		if err != nil {
			t.Fatalf("list clusters: %v", err)
		}
		if len(out.ClusterArns) != 0 {
			t.Fatalf("round %d: moto not reset, clusters %v", i, out.ClusterArns)
		}
		if _, err := c.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: ptr("prod")}); err != nil {
			t.Fatalf("create cluster: %v", err)
		}
	}
}

func ptr(s string) *string { return &s }
