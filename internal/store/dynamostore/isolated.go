package dynamostore

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Isolated wraps api so that writes run one at a time and reads never see
// a write in progress. DynamoDB itself needs none of this. moto (5.2.1)
// does: its TransactWriteItems applies items one by one and, when one
// fails, restores a copy of the whole table taken before it started,
// erasing whatever concurrent requests wrote meanwhile. Tests that run
// concurrent writers against moto wrap their client with Isolated to get
// DynamoDB's serializable transactions back.
func Isolated(api API) API { return &isolated{api: api} }

type isolated struct {
	mu  sync.RWMutex
	api API
}

func (i *isolated) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.api.GetItem(ctx, in, opts...)
}

func (i *isolated) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.api.Query(ctx, in, opts...)
}

func (i *isolated) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.api.PutItem(ctx, in, opts...)
}

func (i *isolated) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.api.UpdateItem(ctx, in, opts...)
}

func (i *isolated) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.api.DeleteItem(ctx, in, opts...)
}

func (i *isolated) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.api.TransactWriteItems(ctx, in, opts...)
}
