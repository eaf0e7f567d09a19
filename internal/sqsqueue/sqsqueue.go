// Package sqsqueue sends medic's work messages to an SQS queue, with a
// delivery delay where asked. SQS delays stop at 15 minutes: a longer wait
// is sent with the maximum delay and the receiver re-enqueues the rest (the
// message carries its not-before time).
package sqsqueue

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MaxDelay is the longest delivery delay SQS accepts.
const MaxDelay = 15 * time.Minute

// SendAPI is the SQS call the queue makes.
type SendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue sends to one SQS queue.
type Queue struct {
	api SendAPI
	url string
}

// New returns a Queue sending to the queue at url.
func New(api SendAPI, url string) *Queue { return &Queue{api: api, url: url} }

// Send sends body, delivered no sooner than delay from now (capped at
// MaxDelay).
func (q *Queue) Send(ctx context.Context, body []byte, delay time.Duration) error {
	delay = min(max(delay, 0), MaxDelay)
	s := string(body)
	_, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     &q.url,
		MessageBody:  &s,
		DelaySeconds: int32((delay + time.Second - 1) / time.Second),
	})
	if err != nil {
		return fmt.Errorf("send work message to %s: %w", q.url, err)
	}
	return nil
}
