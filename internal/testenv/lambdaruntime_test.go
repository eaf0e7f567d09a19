package testenv

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestLambdaRuntimeDrivesABuiltBootstrap(t *testing.T) {
	bin := BuildBootstrap(t, "./internal/testenv/testdata/hello")
	rt := NewLambdaRuntime(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+rt.Addr)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bootstrap: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"medic", "again"} {
		res, err := rt.Invoke(ctx, map[string]string{"name": name})
		if err != nil {
			t.Fatalf("invoke: %v", err)
		}
		var got map[string]string
		if err := json.Unmarshal(res.Response, &got); err != nil {
			t.Fatalf("response %q (error %q): %v", res.Response, res.Error, err)
		}
		if got["hello"] != name {
			t.Errorf("response = %v, want hello=%s", got, name)
		}
	}
}
