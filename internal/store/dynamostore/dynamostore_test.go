package dynamostore_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/internal/store/dynamostore"
	"github.com/medicbot/medic/internal/store/storetest"
	"github.com/medicbot/medic/internal/testenv"
)

// newStore returns a store on a fresh table in a freshly reset moto.
func newStore(t *testing.T) store.Store {
	t.Helper()
	m := testenv.Moto(t)
	api := dynamodb.NewFromConfig(m.Config)
	if err := dynamostore.CreateTable(context.Background(), api, "medic"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return dynamostore.New(dynamostore.Isolated(api), "medic", dynamostore.Options{})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestCreateTableTwice(t *testing.T) {
	m := testenv.Moto(t)
	api := dynamodb.NewFromConfig(m.Config)
	for range 2 {
		if err := dynamostore.CreateTable(context.Background(), api, "medic"); err != nil {
			t.Fatalf("create table: %v", err)
		}
	}
	out, err := api.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: ptr("medic")})
	if err != nil || out.TimeToLiveDescription == nil || out.TimeToLiveDescription.AttributeName == nil || *out.TimeToLiveDescription.AttributeName != "expires_at" {
		t.Fatalf("TTL = %+v, %v", out, err)
	}
}

func ptr(s string) *string { return &s }
