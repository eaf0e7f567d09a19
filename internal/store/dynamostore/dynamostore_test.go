package dynamostore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// TestRequireNotPausedReadsOldSwitchItems: a kill switch item written
// before the "paused" attribute existed holds only its JSON doc; the
// condition of RequireNotPaused must still see a paused one as paused.
func TestRequireNotPausedReadsOldSwitchItems(t *testing.T) {
	m := testenv.Moto(t)
	api := dynamodb.NewFromConfig(m.Config)
	if err := dynamostore.CreateTable(context.Background(), api, "medic"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	st := dynamostore.New(api, "medic", dynamostore.Options{})
	for _, tc := range []struct {
		doc    string
		paused bool
	}{
		{`{"paused":true,"by":"U1","why":"game day"}`, true},
		{`{"paused":false,"by":"U1"}`, false},
		{`{"paused":false,"by":"U1","why":"was \"paused\":true yesterday"}`, false},
	} {
		_, err := api.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: ptr("medic"), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "SWITCH"}, "sk": &types.AttributeValueMemberS{Value: "paused"},
			"doc": &types.AttributeValueMemberS{Value: tc.doc}}})
		if err != nil {
			t.Fatalf("put old switch item: %v", err)
		}
		sw, err := st.Switch(context.Background())
		if err != nil || sw.Paused != tc.paused {
			t.Fatalf("switch %s read as %+v, %v", tc.doc, sw, err)
		}
		err = st.Commit(context.Background(), &store.Tx{Now: time.Now(), RequireNotPaused: true})
		if got := errors.Is(err, store.ErrPaused); got != tc.paused || (err != nil && !got) {
			t.Fatalf("require not paused with switch %s: %v", tc.doc, err)
		}
	}
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
