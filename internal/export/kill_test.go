package export_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/store/sqlite"
)

// keys lists the keys of bucket.
func (tg *s3Target) keys(t testing.TB, bucket string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(tg.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list objects: %v", err)
		}
		for _, o := range page.Contents {
			out = append(out, *o.Key)
		}
	}
	return out
}

// aipd runs `aipd serve` on dataDir until the returned process is killed.
func aipd(t *testing.T, bin, dataDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", dataDir, "--addr", "127.0.0.1:0", "--event-retention", "0")
	logs, err := os.Create(filepath.Join(t.TempDir(), "aipd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aipd: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logs.Close() })
	return cmd
}

func TestS3ExportSurvivesKill(t *testing.T) {
	tg := newS3Target(t)
	if testing.Short() {
		t.Skip("builds and runs aipd")
	}
	bin := filepath.Join(t.TempDir(), "aipd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/aipsec/aip/cmd/aipd").CombinedOutput(); err != nil {
		t.Fatalf("build aipd: %v\n%s", err, out)
	}

	// Bootstrap the data dir and store the events, then enroll the bucket
	// with the server stopped, so that only aipd exports.
	dataDir := t.TempDir()
	m, kr := boot(t, app.Config{DataDir: dataDir})
	org := m.Bootstrap.OrgID
	const n = 100000 // ten full objects
	want := makeEvents(org, "k", n)
	insert(t, m.Store(), org, want)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), m.Config.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	bucket := tg.bucket(t)
	tg.enroll(t, db, kr, org, bucket, "")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	first := aipd(t, bin, dataDir)
	deadline := time.Now().Add(60 * time.Second)
	for len(tg.keys(t, bucket)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no object within a minute")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	seen := tg.objects(t, bucket)
	if len(seen) == n/10000 {
		t.Logf("aipd exported all %d objects before the kill landed", len(seen))
	} else {
		t.Logf("killed aipd with %d of %d objects exported", len(seen), n/10000)
	}

	second := aipd(t, bin, dataDir)
	var objs map[string][]byte
	waitFor(t, 60*time.Second, "every event after the restart", func() bool {
		objs = tg.objects(t, bucket)
		return len(exported(t, objs)) >= n
	})
	_ = second.Process.Signal(syscall.SIGTERM)
	_ = second.Wait()
	if diff := cmp.Diff(ids(want), exported(t, objs)); diff != "" {
		t.Errorf("exported ids (-want +got):\n%s", diff)
	}
	for key, before := range seen {
		if !bytes.Equal(objs[key], before) {
			t.Errorf("object %s changed content after the restart", key)
		}
	}
}
