package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// LambdaRuntime is a test implementation of the AWS Lambda Runtime API
// (2018-06-01): a built bootstrap started with AWS_LAMBDA_RUNTIME_API set to
// Addr polls it for invocations and posts responses or errors back.
type LambdaRuntime struct {
	// Addr is host:port for AWS_LAMBDA_RUNTIME_API.
	Addr string

	srv     *http.Server
	pending chan *invocation
	mu      sync.Mutex
	byID    map[string]*invocation
	seq     int
	// InitError receives the body of an /init/error post, if any.
	InitError chan []byte
}

type invocation struct {
	id      string
	payload []byte
	done    chan InvokeResult
}

// InvokeResult is what the function answered to one invocation.
type InvokeResult struct {
	// Response is the function's response body (nil on error).
	Response []byte
	// Error is the body of an invocation error post (nil on success).
	Error []byte
}

// NewLambdaRuntime starts a Runtime API server on a free loopback port; it
// stops when the test ends.
func NewLambdaRuntime(t interface {
	Helper()
	Fatalf(string, ...any)
	Cleanup(func())
}) *LambdaRuntime {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for lambda runtime api: %v", err)
	}
	rt := &LambdaRuntime{
		Addr:      l.Addr().String(),
		pending:   make(chan *invocation, 16),
		byID:      make(map[string]*invocation),
		InitError: make(chan []byte, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", rt.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", rt.result(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", rt.result(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case rt.InitError <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rt.srv.Serve(l) }()
	t.Cleanup(func() { _ = rt.srv.Close() })
	return rt
}

func (rt *LambdaRuntime) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-rt.pending:
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(2*time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:medic-test")
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

func (rt *LambdaRuntime) result(isErr bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		body, _ := io.ReadAll(r.Body)
		rt.mu.Lock()
		inv, ok := rt.byID[id]
		delete(rt.byID, id)
		rt.mu.Unlock()
		if !ok {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		res := InvokeResult{Response: body}
		if isErr {
			res = InvokeResult{Error: body}
		}
		inv.done <- res
		w.WriteHeader(http.StatusAccepted)
	}
}

// Invoke hands payload to the function and waits for its answer.
func (rt *LambdaRuntime) Invoke(ctx context.Context, payload any) (InvokeResult, error) {
	var body []byte
	switch p := payload.(type) {
	case []byte:
		body = p
	case json.RawMessage:
		body = p
	default:
		var err error
		if body, err = json.Marshal(p); err != nil {
			return InvokeResult{}, fmt.Errorf("marshal invocation payload: %w", err)
		}
	}
	rt.mu.Lock()
	rt.seq++
	inv := &invocation{id: fmt.Sprintf("req-%d", rt.seq), payload: bytes.Clone(body), done: make(chan InvokeResult, 1)}
	rt.byID[inv.id] = inv
	rt.mu.Unlock()
	select {
	case rt.pending <- inv:
	case <-ctx.Done():
		return InvokeResult{}, fmt.Errorf("queue invocation %s: %w", inv.id, ctx.Err())
	}
	select {
	case res := <-inv.done:
		return res, nil
	case init := <-rt.InitError:
		return InvokeResult{}, fmt.Errorf("function failed to initialise: %s", init)
	case <-ctx.Done():
		return InvokeResult{}, fmt.Errorf("wait for invocation %s: %w", inv.id, ctx.Err())
	}
}
