package client

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

// TestS3ExportService checks the wire of S3ExportService against the fake:
// the method, path and body each call sends, and the decoding of answers.
func TestS3ExportService(t *testing.T) {
	at := aip.Time{Time: time.Date(2026, 11, 23, 12, 0, 0, 123e6, time.UTC)}
	const enrollment = `{"organization_id":"` + testOrgID + `","s3Bucket":"acme-events","iamRoleArn":"arn:aws:iam::123456789012:role/x",` +
		`"iamRoleArnExternalId":"ext","region":"us-east-1","prefix":"aip","enrolledAt":"2026-11-23T12:00:00.123Z","enabled":true,` +
		`"endpoint":"http://127.0.0.1:7070","accessKeyId":"AKID","pathStyle":true,"lastExportedAt":"2026-11-23T12:00:00.123Z","lastError":"boom","backlog":42}`
	want := &aip.S3Enrollment{
		OrgID: testOrgID, S3Bucket: "acme-events", IAMRoleArn: "arn:aws:iam::123456789012:role/x", IAMRoleArnExternalID: "ext",
		Region: "us-east-1", Prefix: "aip", EnrolledAt: at, Enabled: true, Endpoint: "http://127.0.0.1:7070", AccessKeyID: "AKID",
		PathStyle: true, LastExportedAt: at, LastError: "boom", Backlog: 42,
	}
	tests := []struct {
		name       string
		answer     string
		call       func(c *Client) (any, error)
		want       any
		wantMethod string
		wantBody   string
	}{
		{
			name:   "lists enrollments from an array",
			answer: "[" + enrollment + "]",
			call: func(c *Client) (any, error) {
				got, _, err := c.S3Export.List(context.Background())
				return got, err
			},
			want:       []*aip.S3Enrollment{want},
			wantMethod: http.MethodGet,
		},
		{
			name:   "puts an enrollment sending enabled false",
			answer: enrollment,
			call: func(c *Client) (any, error) {
				got, _, err := c.S3Export.Put(context.Background(), &S3EnrollmentRequest{
					S3Bucket: "acme-events", IAMRoleArn: "arn:aws:iam::123456789012:role/x", Region: "us-east-1",
					Endpoint: "http://127.0.0.1:7070", AccessKeyID: "AKID", SecretAccessKey: "shh", PathStyle: true,
				})
				return got, err
			},
			want:       want,
			wantMethod: http.MethodPut,
			wantBody: `{"s3Bucket":"acme-events","iamRoleArn":"arn:aws:iam::123456789012:role/x","iamRoleArnExternalId":"",` +
				`"region":"us-east-1","prefix":"","enabled":false,"endpoint":"http://127.0.0.1:7070","accessKeyId":"AKID",` +
				`"secretAccessKey":"shh","pathStyle":true}`,
		},
		{
			name:   "deletes by bucket in the body",
			answer: enrollment,
			call: func(c *Client) (any, error) {
				got, _, err := c.S3Export.Delete(context.Background(), "acme-events")
				return got, err
			},
			want:       want,
			wantMethod: http.MethodDelete,
			wantBody:   `{"s3Bucket":"acme-events"}`,
		},
	}
	opt := cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, ok(tt.answer))
			got, err := tt.call(f.client())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, opt); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			r := f.requests()[0]
			if r.method != tt.wantMethod || r.uri != "/v2/integrations/s3export" {
				t.Errorf("request = %s %s, want %s /v2/integrations/s3export", r.method, r.uri, tt.wantMethod)
			}
			if got := strings.TrimSpace(string(r.body)); got != tt.wantBody {
				t.Errorf("body = %s, want %s", got, tt.wantBody)
			}
		})
	}
	t.Run("rejects an empty bucket without a request", func(t *testing.T) {
		f := newFake(t, ok("{}"))
		if _, _, err := f.client().S3Export.Delete(context.Background(), ""); err == nil {
			t.Error("Delete(\"\") = nil error, want one")
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d requests sent, want 0", n)
		}
	})
}
