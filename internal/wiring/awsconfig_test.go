package wiring

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// The SDK's own log lines (e.g. "WARN falling back to IMDSv1") are not
// printed; and missing credentials are reported as such, naming what to
// set (was: an IMDS error in every plan).
func TestAWSConfigIsQuietAndSaysWhenCredentialsAreMissing(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_REGION": "us-east-1",
	} {
		t.Setenv(k, v)
	}
	cfg, err := AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("the SDK logs through %T, want logging.Nop (its warnings must not reach the terminal)", cfg.Logger)
	}
	if err := CheckCredentials(context.Background(), cfg); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("CheckCredentials without credentials = %v, want ErrNoCredentials", err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err = AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCredentials(context.Background(), cfg); err != nil {
		t.Errorf("CheckCredentials with static credentials = %v, want nil", err)
	}
}
