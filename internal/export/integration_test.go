package export_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/export"
	"github.com/aipsec/aip/internal/keyring"
)

// s3Target is the S3-compatible server of the integration tests
// (versitygw, started by .ci/run).
type s3Target struct {
	endpoint, accessKey, secretKey string
	client                         *s3.Client
}

func newS3Target(t testing.TB) *s3Target {
	t.Helper()
	endpoint := os.Getenv("AIP_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Skip("AIP_TEST_S3_ENDPOINT is not set (see .ci/run)")
	}
	tg := &s3Target{endpoint: endpoint, accessKey: os.Getenv("AIP_TEST_S3_ACCESS_KEY"), secretKey: os.Getenv("AIP_TEST_S3_SECRET_KEY")}
	tg.client = s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(tg.accessKey, tg.secretKey, ""),
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return tg
}

// bucket creates a bucket of its own for the test.
func (tg *s3Target) bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("aip-test-%d", time.Now().UnixNano())
	if _, err := tg.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// objects downloads every object of bucket, by key.
func (tg *s3Target) objects(t testing.TB, bucket string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(tg.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list objects: %v", err)
		}
		for _, o := range page.Contents {
			res, err := tg.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("get %s: %v", *o.Key, err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatalf("read %s: %v", *o.Key, err)
			}
			out[*o.Key] = b
		}
	}
	return out
}

// eventIDs is the _ids of an object's events, in order.
func eventIDs(t testing.TB, key string, body []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	var ids []string
	for line := range strings.Lines(string(b)) {
		var ev struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%s: line %q: %v", key, line, err)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

// exported is every event id of the bucket, objects in sequence order (the
// key's last part; the key's time part is the first event's own time, which
// need not grow with arrival).
func exported(t testing.TB, objs map[string][]byte) []string {
	t.Helper()
	keys := slices.Collect(maps.Keys(objs))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(objectSeq(t, a), objectSeq(t, b)) })
	var ids []string
	for _, k := range keys {
		ids = append(ids, eventIDs(t, k, objs[k])...)
	}
	return ids
}

// objectSeq is the sequence of an object key.
func objectSeq(t testing.TB, key string) int64 {
	t.Helper()
	var seq int64
	if _, err := fmt.Sscanf(key[strings.LastIndexByte(key, '-')+1:], "%d.jsonl.gz", &seq); err != nil {
		t.Fatalf("key %q has no sequence: %v", key, err)
	}
	return seq
}

// enroll enrolls bucket for org with the target's static keys, at endpoint
// (the target's unless given).
func (tg *s3Target) enroll(t testing.TB, store aip.S3ExportStore, kr *keyring.Keyring, org, bucket, endpoint string) {
	t.Helper()
	if endpoint == "" {
		endpoint = tg.endpoint
	}
	sealed, err := kr.Seal(export.SecretOwner(org, bucket), tg.secretKey)
	if err != nil {
		t.Fatal(err)
	}
	err = store.PutS3Enrollment(context.Background(), &aip.S3Enrollment{
		OrgID: org, S3Bucket: bucket, Region: "us-east-1", Prefix: "exp", Enabled: true,
		Endpoint: endpoint, AccessKeyID: tg.accessKey, SecretSealed: sealed, PathStyle: true,
	})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
}

// makeEvents is n events named prefix-i, an hour-stable timestamp apart.
func makeEvents(org, prefix string, n int) []*aip.Event {
	base := time.Now().UTC().Truncate(time.Hour).Add(time.Minute)
	evs := make([]*aip.Event, n)
	for i := range evs {
		id := fmt.Sprintf("%s-%07d", prefix, i)
		ts := base.Add(time.Duration(i) * time.Millisecond)
		evs[i] = &aip.Event{ID: id, OrgID: org, Type: "host", Time: ts,
			Raw: []byte(fmt.Sprintf(`{"_id":%q,"timestamp":%d,"event_type":"host","n":%d}`, id, ts.UnixMilli(), i))}
	}
	return evs
}

// insert stores evs in batches of 1000.
func insert(t testing.TB, store aip.Store, org string, evs []*aip.Event) {
	t.Helper()
	for batch := range slices.Chunk(evs, 1000) {
		if _, err := store.InsertEvents(context.Background(), org, batch); err != nil {
			t.Fatalf("insert events: %v", err)
		}
	}
}

func ids(evs []*aip.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// boot starts app.Main on a temporary SQLite data dir with a fast exporter.
func boot(t testing.TB, cfg app.Config) (*app.Main, *keyring.Keyring) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Addr = "127.0.0.1:0"
	m := &app.Main{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	kr, _, err := keyring.LoadOrCreate(m.Config.MasterKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	return m, kr
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestS3ExportIntegration(t *testing.T) {
	tg := newS3Target(t)
	t.Run("writes every event once under the right keys", func(t *testing.T) {
		m, kr := boot(t, app.Config{ExportPollInterval: 50 * time.Millisecond, ExportFlushAfter: 300 * time.Millisecond})
		org := m.Bootstrap.OrgID
		bucket := tg.bucket(t)
		tg.enroll(t, m.Store(), kr, org, bucket, "")
		var want []*aip.Event
		for round := range 3 {
			evs := makeEvents(org, fmt.Sprintf("r%d", round), 2500)
			insert(t, m.Store(), org, evs)
			want = append(want, evs...)
			time.Sleep(500 * time.Millisecond) // a flush between rounds
		}
		var objs map[string][]byte
		waitFor(t, 30*time.Second, "every event in the bucket", func() bool {
			objs = tg.objects(t, bucket)
			return len(exported(t, objs)) >= len(want)
		})
		if diff := gocmp.Diff(ids(want), exported(t, objs)); diff != "" {
			t.Fatalf("exported ids (-want +got):\n%s", diff)
		}
		// Each key is that of its first event and its sequence.
		byID := map[string]*aip.Event{}
		for _, ev := range want {
			byID[ev.ID] = ev
		}
		var seqs []int64
		for key, body := range objs {
			first := byID[eventIDs(t, key, body)[0]]
			seq := objectSeq(t, key)
			seqs = append(seqs, seq)
			if want := export.ObjectKey("exp", org, first, seq); key != want {
				t.Errorf("key %q, want %q", key, want)
			}
		}
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != int64(i) {
				t.Errorf("object sequences %v, want 0..%d", seqs, len(seqs)-1)
				break
			}
		}
		waitFor(t, 5*time.Second, "a clean status", func() bool {
			es, err := m.Store().ListS3Enrollments(context.Background(), org)
			return err == nil && len(es) == 1 && es[0].Backlog == 0 && !es[0].LastExportedAt.IsZero() && es[0].LastError == ""
		})
	})
	t.Run("resumes after the store was unreachable and delivers every event once", func(t *testing.T) {
		proxy := newFlakyProxy(t, strings.TrimPrefix(tg.endpoint, "http://"))
		m, kr := boot(t, app.Config{ExportPollInterval: 50 * time.Millisecond, ExportFlushAfter: 200 * time.Millisecond})
		org := m.Bootstrap.OrgID
		bucket := tg.bucket(t)
		tg.enroll(t, m.Store(), kr, org, bucket, "http://"+proxy.addr())
		before := makeEvents(org, "before", 1500)
		insert(t, m.Store(), org, before)
		waitFor(t, 30*time.Second, "the first events", func() bool { return len(exported(t, tg.objects(t, bucket))) == len(before) })

		proxy.setDown(true)
		during := makeEvents(org, "during", 12000)
		insert(t, m.Store(), org, during)
		waitFor(t, 30*time.Second, "the failure in the enrollment's status", func() bool {
			es, err := m.Store().ListS3Enrollments(context.Background(), org)
			return err == nil && len(es) == 1 && es[0].LastError != "" && es[0].Backlog > 0
		})
		if got := len(exported(t, tg.objects(t, bucket))); got != len(before) {
			t.Fatalf("%d events in the bucket while the store was down, want %d", got, len(before))
		}
		time.Sleep(2 * time.Second) // a few failed attempts
		proxy.setDown(false)
		after := makeEvents(org, "after", 700)
		insert(t, m.Store(), org, after)
		want := ids(slices.Concat(before, during, after))
		var got []string
		waitFor(t, 60*time.Second, "every event after the store came back", func() bool {
			got = exported(t, tg.objects(t, bucket))
			return len(got) >= len(want)
		})
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("exported ids (-want +got):\n%s", diff)
		}
	})
}

// flakyProxy forwards TCP to target, or, while down, refuses service by
// closing every connection: the S3 store seen unreachable.
type flakyProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newFlakyProxy(t testing.TB, target string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *flakyProxy) addr() string { return p.ln.Addr().String() }

func (p *flakyProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *flakyProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		go p.forward(c)
	}
}

func (p *flakyProxy) forward(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
