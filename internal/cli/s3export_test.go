package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestS3ExportCommands(t *testing.T) {
	ts := newTestServer(t)
	const (
		roleArn     = "arn:aws:iam::123456789012:role/aip-export"
		stdinSecret = "secret-from-stdin-0123"
		fileSecret  = "secret-from-a-file-4567"
	)
	secretFile := filepath.Join(t.TempDir(), "s3.secret")
	if err := os.WriteFile(secretFile, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	awsArgs := func(bucket string, extra ...string) []string {
		return append([]string{"s3export", "put", "--bucket", bucket, "--role-arn", roleArn,
			"--external-id", "ext", "--region", "us-east-1", "--prefix", "aip"}, extra...)
	}
	storeArgs := func(extra ...string) []string {
		return awsArgs("store-bucket", append([]string{"--region", "local", "--endpoint", "http://127.0.0.1:7070",
			"--access-key-id", "AKID", "--path-style"}, extra...)...)
	}
	decode := func(t *testing.T, stdout string) *aip.S3Enrollment {
		t.Helper()
		var e aip.S3Enrollment
		if err := json.Unmarshal([]byte(stdout), &e); err != nil {
			t.Fatalf("decode %q: %v", stdout, err)
		}
		return &e
	}

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout string)
	}{
		{
			name: "put enrolls an AWS bucket as a table row", args: awsArgs("aws-bucket"),
			check: func(t *testing.T, stdout string) {
				row := strings.Split(strings.TrimSuffix(stdout, "\n"), "\t")
				if len(row) != len(s3EnrollmentColumns()) || row[0] != "aws-bucket" || row[1] != "us-east-1" || row[3] != "true" {
					t.Errorf("row = %q, want aws-bucket, us-east-1, enabled", stdout)
				}
			},
		},
		{
			name: "put reads the secret from stdin", stdin: stdinSecret + "\n",
			args: storeArgs("--secret-access-key-file", "-", "--json"),
			check: func(t *testing.T, stdout string) {
				e := decode(t, stdout)
				if e.Endpoint != "http://127.0.0.1:7070" || e.AccessKeyID != "AKID" || !e.PathStyle || !e.Enabled {
					t.Errorf("enrollment = %+v, want the store's fields", e)
				}
				if strings.Contains(stdout, stdinSecret) {
					t.Errorf("put prints the secret: %s", stdout)
				}
			},
		},
		{
			name: "put --disabled pauses and keeps the secret", args: storeArgs("--disabled", "--json"),
			check: func(t *testing.T, stdout string) {
				if e := decode(t, stdout); e.Enabled || e.AccessKeyID != "AKID" {
					t.Errorf("enrollment = %+v, want disabled with its key id", e)
				}
			},
		},
		{
			name: "put reads the secret from a file", args: storeArgs("--secret-access-key-file", secretFile, "--json"),
			check: func(t *testing.T, stdout string) {
				if e := decode(t, stdout); !e.Enabled {
					t.Errorf("enrollment = %+v, want enabled again", e)
				}
			},
		},
		{
			name: "list json shows both without secrets", args: []string{"s3export", "list", "--json"},
			check: func(t *testing.T, stdout string) {
				if strings.Contains(stdout, stdinSecret) || strings.Contains(stdout, fileSecret) {
					t.Errorf("list shows a secret: %s", stdout)
				}
				var got []*aip.S3Enrollment
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("decode %q: %v", stdout, err)
				}
				var buckets []string
				for _, e := range got {
					buckets = append(buckets, e.S3Bucket)
				}
				if diff := cmp.Diff([]string{"aws-bucket", "store-bucket"}, buckets); diff != "" {
					t.Errorf("buckets (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "delete prints the deleted enrollment", args: []string{"s3export", "delete", "aws-bucket", "--jq", ".s3Bucket"},
			check: func(t *testing.T, stdout string) {
				if stdout != "aws-bucket\n" {
					t.Errorf("stdout = %q, want aws-bucket", stdout)
				}
			},
		},
		{name: "deleting it again is not found", args: []string{"s3export", "delete", "aws-bucket"}, wantCode: ExitNotFound},
		{
			name: "jq lists the one left", args: []string{"s3export", "list", "--jq", ".[].s3Bucket"},
			check: func(t *testing.T, stdout string) {
				if stdout != "store-bucket\n" {
					t.Errorf("buckets = %q, want store-bucket", stdout)
				}
			},
		},
		{name: "rejects a missing bucket", args: []string{"s3export", "put", "--role-arn", roleArn, "--external-id", "", "--region", "us-east-1", "--prefix", ""}, wantCode: ExitUsage},
		{name: "rejects a secret file without a key id", args: awsArgs("x-bucket", "--secret-access-key-file", secretFile), wantCode: ExitUsage},
		{name: "rejects an empty secret on stdin", args: storeArgs("--secret-access-key-file", "-"), wantCode: ExitUsage},
		{name: "rejects an unreadable secret file", args: storeArgs("--secret-access-key-file", filepath.Join(t.TempDir(), "absent")), wantCode: ExitUsage},
		// Field rules are the server's: 400, exit code 1.
		{name: "server rejects an uppercase bucket", args: awsArgs("Bad_Bucket"), wantCode: ExitError},
		{name: "delete wants a bucket", args: []string{"s3export", "delete"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		ok := t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, ts.env, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if tt.check != nil {
				tt.check(t, stdout)
			}
		})
		if !ok {
			// Later steps build on earlier ones.
			t.FailNow()
		}
	}

	t.Run("the secret reaches the store sealed", func(t *testing.T) {
		// The server tests check what is sealed; here, that the secret the
		// CLI read reached the store, sealed.
		list, err := ts.main.Store().ListS3Enrollments(context.Background(), ts.env[envOrgID])
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || len(list[0].SecretSealed) == 0 {
			t.Fatalf("stored = %+v, want store-bucket with a sealed secret", list)
		}
	})
}
