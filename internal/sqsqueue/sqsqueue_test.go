package sqsqueue

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/medicbot/medic/internal/testenv"
)

func TestSendDeliversAndHonoursTheDelay(t *testing.T) {
	ctx := context.Background()
	c := sqs.NewFromConfig(testenv.Moto(t).Config)
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("medic-work")})
	if err != nil {
		t.Fatal(err)
	}
	q := New(c, *out.QueueUrl)
	if err := q.Send(ctx, []byte(`{"kind":"execute"}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(ctx, []byte(`{"kind":"follow-up"}`), 2*time.Hour); err != nil {
		t.Fatalf("a delay over the SQS maximum must be capped, not refused: %v", err)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || *got.Messages[0].Body != `{"kind":"execute"}` {
		t.Fatalf("received %d messages, want only the undelayed one", len(got.Messages))
	}
}

func TestSendNamesTheQueueOnError(t *testing.T) {
	c := sqs.NewFromConfig(testenv.Moto(t).Config)
	err := New(c, "http://127.0.0.1:1/123456789012/missing").Send(context.Background(), []byte("x"), 0)
	if err == nil || !strings.Contains(err.Error(), "123456789012/missing") {
		t.Fatalf("err = %v, want an error naming the missing queue", err)
	}
}
