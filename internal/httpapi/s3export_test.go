package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

const (
	testS3Secret  = "s3-secret-never-returned-0123"
	testS3RoleArn = "arn:aws:iam::123456789012:role/aip-export"
)

// s3Request is a valid enrollment request for bucket.
func s3Request(bucket string) *client.S3EnrollmentRequest {
	return &client.S3EnrollmentRequest{
		S3Bucket: bucket, IAMRoleArn: testS3RoleArn, IAMRoleArnExternalID: "ext-1",
		Region: "us-east-1", Prefix: "aip", Enabled: true,
	}
}

// storedS3 reads the enrollment of bucket straight from the store, with
// its sealed secret.
func (h *harness) storedS3(t testing.TB, orgID, bucket string) *aip.S3Enrollment {
	t.Helper()
	list, err := h.store.ListS3Enrollments(h.ctx(t), orgID)
	if err != nil {
		t.Fatalf("ListS3Enrollments: %v", err)
	}
	for _, e := range list {
		if e.S3Bucket == bucket {
			return e
		}
	}
	t.Fatalf("bucket %s is not stored", bucket)
	return nil
}

func TestS3ExportCRUD(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "s3")
	ownerAcc := h.newAccount(t, org, "owner@s3.example", aip.RoleOwner)
	owner := h.client(t, ownerAcc)
	user := h.client(t, h.newAccount(t, org, "user@s3.example", aip.RoleUser))
	reader := h.client(t, h.newAccount(t, org, "reader@s3.example", aip.RoleReader))
	timeEq := cmp.Comparer(func(a, b aip.Time) bool { return a.Equal(b.Time) })

	// rawBodies collects every answer body sent while the secret exists.
	var rawBodies [][]byte

	storeReq := s3Request("store-bucket")
	storeReq.Endpoint, storeReq.AccessKeyID, storeReq.SecretAccessKey, storeReq.PathStyle = "http://127.0.0.1:7070", "AKID", testS3Secret, true
	created, _, err := owner.S3Export.Put(h.ctx(t), storeReq)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	t.Run("create returns the enrollment", func(t *testing.T) {
		want := &aip.S3Enrollment{
			OrgID: org, S3Bucket: "store-bucket", IAMRoleArn: testS3RoleArn, IAMRoleArnExternalID: "ext-1",
			Region: "us-east-1", Prefix: "aip", Enabled: true,
			Endpoint: "http://127.0.0.1:7070", AccessKeyID: "AKID", PathStyle: true,
		}
		// The store stamps enrolledAt with its own clock.
		if created.EnrolledAt.IsZero() {
			t.Error("enrolledAt is zero")
		}
		want.EnrolledAt = created.EnrolledAt
		if diff := cmp.Diff(want, created, timeEq); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
	})
	t.Run("secret is sealed for its owner", func(t *testing.T) {
		e := h.storedS3(t, org, "store-bucket")
		got, err := h.keys.Open("s3export:"+org+":store-bucket", e.SecretSealed)
		if err != nil || got != testS3Secret {
			t.Errorf("Open = %q, %v; want the secret", got, err)
		}
	})

	h.clock.Advance(time.Hour)
	awsReq := s3Request("aws-bucket")
	if _, _, err := owner.S3Export.Put(h.ctx(t), awsReq); err != nil {
		t.Fatalf("Put aws-bucket: %v", err)
	}

	t.Run("every role lists an array by bucket", func(t *testing.T) {
		for _, c := range []*client.Client{owner, user, reader} {
			got, _, err := c.S3Export.List(h.ctx(t))
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var buckets []string
			for _, e := range got {
				buckets = append(buckets, e.S3Bucket)
			}
			if diff := cmp.Diff([]string{"aws-bucket", "store-bucket"}, buckets); diff != "" {
				t.Errorf("buckets (-want +got):\n%s", diff)
			}
		}
		r, _ := h.signedDo(t, ownerAcc, http.MethodGet, "/v2/integrations/s3export", nil)
		rawBodies = append(rawBodies, r.Body)
		var arr []json.RawMessage
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &arr) != nil || len(arr) != 2 {
			t.Errorf("GET = %d %s; want 200 and an array of 2", r.Status, r.Body)
		}
		for _, field := range []string{`"backlog":`, `"enrolledAt":`, `"organization_id":`} {
			if !strings.Contains(string(r.Body), field) {
				t.Errorf("GET body lacks %s: %s", field, r.Body)
			}
		}
	})

	t.Run("update keeps enrolledAt and the secret", func(t *testing.T) {
		h.clock.Advance(time.Hour)
		// The store stamps with the wall clock in milliseconds: make sure a
		// restamp would show.
		time.Sleep(3 * time.Millisecond)
		upd := s3Request("store-bucket")
		upd.Prefix, upd.Enabled = "other", false
		upd.Endpoint, upd.AccessKeyID = "https://s3.example.com", "AKID"
		body, _ := json.Marshal(upd)
		r, _ := h.signedDo(t, ownerAcc, http.MethodPut, "/v2/integrations/s3export", body)
		rawBodies = append(rawBodies, r.Body)
		var got aip.S3Enrollment
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil {
			t.Fatalf("PUT = %d %s", r.Status, r.Body)
		}
		if !got.EnrolledAt.Equal(created.EnrolledAt.Time) || got.Prefix != "other" || got.Enabled || got.Endpoint != "https://s3.example.com" {
			t.Errorf("updated = %+v; want enrolledAt %v, prefix other, disabled, the new endpoint", got, created.EnrolledAt)
		}
		secret, err := h.keys.Open("s3export:"+org+":store-bucket", h.storedS3(t, org, "store-bucket").SecretSealed)
		if err != nil || secret != testS3Secret {
			t.Errorf("stored secret = %q, %v; want it kept", secret, err)
		}
	})
	t.Run("enabled defaults to true", func(t *testing.T) {
		r, _ := h.signedDo(t, ownerAcc, http.MethodPut, "/v2/integrations/s3export",
			[]byte(`{"s3Bucket":"aws-bucket","iamRoleArn":"`+testS3RoleArn+`","iamRoleArnExternalId":"","region":"eu-west-3","prefix":""}`))
		var got aip.S3Enrollment
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || !got.Enabled || got.Region != "eu-west-3" {
			t.Errorf("PUT = %d %s; want 200 enabled in eu-west-3", r.Status, r.Body)
		}
	})

	t.Run("owners only", func(t *testing.T) {
		for name, c := range map[string]*client.Client{"user": user, "reader": reader} {
			if _, _, err := c.S3Export.Put(h.ctx(t), s3Request("nope-bucket")); statusOf(err) != http.StatusForbidden {
				t.Errorf("%s Put: status %d (%v), want 403", name, statusOf(err), err)
			}
			if _, _, err := c.S3Export.Delete(h.ctx(t), "aws-bucket"); statusOf(err) != http.StatusForbidden {
				t.Errorf("%s Delete: status %d (%v), want 403", name, statusOf(err), err)
			}
		}
		got, _, err := owner.S3Export.List(h.ctx(t))
		if err != nil || len(got) != 2 {
			t.Errorf("List = %d enrollments, %v; want the 2 untouched", len(got), err)
		}
	})

	t.Run("delete answers the enrollment then 404", func(t *testing.T) {
		r, _ := h.signedDo(t, ownerAcc, http.MethodDelete, "/v2/integrations/s3export", []byte(`{"s3Bucket":"store-bucket"}`))
		rawBodies = append(rawBodies, r.Body)
		var got aip.S3Enrollment
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || got.S3Bucket != "store-bucket" {
			t.Fatalf("DELETE = %d %s; want 200 with the enrollment", r.Status, r.Body)
		}
		_, _, err := owner.S3Export.Delete(h.ctx(t), "store-bucket")
		if statusOf(err) != http.StatusNotFound {
			t.Errorf("second delete: status %d (%v), want 404", statusOf(err), err)
		}
		list, _, err := owner.S3Export.List(h.ctx(t))
		if err != nil || len(list) != 1 || list[0].S3Bucket != "aws-bucket" {
			t.Errorf("List after delete = %v, %v; want aws-bucket alone", list, err)
		}
	})
	t.Run("delete rejects a body without a bucket", func(t *testing.T) {
		r, _ := h.signedDo(t, ownerAcc, http.MethodDelete, "/v2/integrations/s3export", []byte(`{}`))
		if r.Status != http.StatusBadRequest {
			t.Errorf("DELETE {} = %d %s; want 400", r.Status, r.Body)
		}
	})

	t.Run("secret never in any answer", func(t *testing.T) {
		for _, b := range rawBodies {
			if strings.Contains(string(b), testS3Secret) || strings.Contains(string(b), "secretAccessKey") {
				t.Errorf("answer shows the secret: %s", b)
			}
		}
	})

	t.Run("audits with the route's action names", func(t *testing.T) {
		h.flushAudit(t)
		recs, err := h.store.ListAuditRecords(h.ctx(t), aip.AuditFilter{OrgID: org, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.CRUD+" "+r.Action] = true
		}
		for _, want := range []string{"read read-s3-export-enrollments", "update update-s3-export-enrollment", "delete delete-s3-export-enrollment"} {
			if !seen[want] {
				t.Errorf("no audit record %q among %v", want, seen)
			}
		}
	})
}

func TestS3ExportValidation(t *testing.T) {
	h := newHarness(t)
	org := h.newOrg(t, "s3v")
	ownerAcc := h.newAccount(t, org, "owner@s3v.example", aip.RoleOwner)

	// body is a valid request with fields replaced (a nil value drops the
	// field).
	body := func(set map[string]any) []byte {
		m := map[string]any{
			"s3Bucket": "good-bucket", "iamRoleArn": testS3RoleArn, "iamRoleArnExternalId": "ext",
			"region": "us-east-1", "prefix": "aip", "enabled": true,
		}
		for k, v := range set {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		set  map[string]any
		want string // a part of the message
	}{
		{"rejects a missing bucket", map[string]any{"s3Bucket": nil}, "s3Bucket is required"},
		{"rejects a 2-character bucket", map[string]any{"s3Bucket": "ab"}, "3 to 63 characters"},
		{"rejects a 64-character bucket", map[string]any{"s3Bucket": strings.Repeat("a", 64)}, "3 to 63 characters"},
		{"rejects uppercase in a bucket", map[string]any{"s3Bucket": "Bucket"}, "lowercase letters, numbers and dashes"},
		{"rejects underscores in a bucket", map[string]any{"s3Bucket": "my_bucket"}, "lowercase letters, numbers and dashes"},
		{"rejects dots in a bucket", map[string]any{"s3Bucket": "my.bucket"}, "lowercase letters, numbers and dashes"},
		{"rejects a bucket starting with a dash", map[string]any{"s3Bucket": "-bucket"}, "start with a letter or a number"},
		{"rejects a bucket formatted as an IP address", map[string]any{"s3Bucket": "192.168.5.4"}, "IP address"},
		{"rejects a missing role arn", map[string]any{"iamRoleArn": nil}, "iamRoleArn is required"},
		{"rejects a 19-character role arn", map[string]any{"iamRoleArn": strings.Repeat("a", 19)}, "20 to 2048"},
		{"rejects a 2049-character role arn", map[string]any{"iamRoleArn": strings.Repeat("a", 2049)}, "20 to 2048"},
		{"rejects a missing external id", map[string]any{"iamRoleArnExternalId": nil}, "iamRoleArnExternalId is required"},
		{"rejects a 1225-character external id", map[string]any{"iamRoleArnExternalId": strings.Repeat("a", 1225)}, "at most 1224"},
		{"rejects a missing region", map[string]any{"region": nil}, "region is required"},
		{"rejects an unknown region", map[string]any{"region": "mars-1"}, "valid AWS region"},
		{"rejects a free region name for AWS", map[string]any{"region": "local"}, "valid AWS region"},
		{"rejects a region with spaces for a store", map[string]any{"endpoint": "http://s3.local", "region": "my region"}, "region must be at most 64"},
		{"rejects a missing prefix", map[string]any{"prefix": nil}, "prefix is required"},
		{"rejects a 65-character prefix", map[string]any{"prefix": strings.Repeat("p", 65)}, "at most 64"},
		{"rejects a non-http endpoint", map[string]any{"endpoint": "ftp://s3.local"}, "absolute http or https URL"},
		{"rejects a relative endpoint", map[string]any{"endpoint": "/s3"}, "absolute http or https URL"},
		{"rejects credentials in the endpoint", map[string]any{"endpoint": "http://k:s@s3.local"}, "must not carry credentials"},
		{"rejects a query in the endpoint", map[string]any{"endpoint": "http://s3.local/?x=1"}, "query or a fragment"},
		{"rejects a secret without an access key id", map[string]any{"secretAccessKey": "shh"}, "secretAccessKey requires accessKeyId"},
		{"rejects a new access key id without a secret", map[string]any{"accessKeyId": "AKID"}, "accessKeyId requires secretAccessKey"},
		{"rejects a string enabled", map[string]any{"enabled": "yes"}, "wrong type"},
		{"rejects unknown fields", map[string]any{"message": "hi"}, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := h.signedDo(t, ownerAcc, http.MethodPut, "/v2/integrations/s3export", body(tt.set))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("PUT = %d %s; want 400", r.Status, r.Body)
			}
			if msgs := errorsOf(t, r); len(msgs) != 1 || !strings.Contains(msgs[0], tt.want) {
				t.Errorf("errors = %q, want one containing %q", msgs, tt.want)
			}
		})
	}
	accepted := []struct {
		name string
		set  map[string]any
	}{
		{"accepts a 3-character bucket", map[string]any{"s3Bucket": "a-1"}},
		{"accepts a 63-character bucket", map[string]any{"s3Bucket": strings.Repeat("b", 63)}},
		{"accepts a GovCloud region", map[string]any{"s3Bucket": "gov-bucket", "region": "us-gov-west-1"}},
		{"accepts empty external id and prefix", map[string]any{"s3Bucket": "empty-fields", "iamRoleArnExternalId": "", "prefix": ""}},
		{"accepts the longest fields", map[string]any{"s3Bucket": "long-fields", "iamRoleArn": strings.Repeat("a", 2048),
			"iamRoleArnExternalId": strings.Repeat("e", 1224), "prefix": strings.Repeat("p", 64)}},
		{"accepts a free region name with an endpoint", map[string]any{"s3Bucket": "store-bucket", "endpoint": "https://s3.local:9000",
			"region": "local", "accessKeyId": "AKID", "secretAccessKey": "shh", "pathStyle": true}},
		{"accepts an access key id alone when a secret is stored", map[string]any{"s3Bucket": "store-bucket", "endpoint": "https://s3.local:9000",
			"region": "local", "accessKeyId": "AKID2"}},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := h.signedDo(t, ownerAcc, http.MethodPut, "/v2/integrations/s3export", body(tt.set))
			if r.Status != http.StatusOK {
				t.Errorf("PUT = %d %s; want 200", r.Status, r.Body)
			}
		})
	}
	t.Run("nothing rejected was stored", func(t *testing.T) {
		list, err := h.store.ListS3Enrollments(h.ctx(t), org)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range list {
			got = append(got, e.S3Bucket)
		}
		sort.Strings(got)
		want := []string{"a-1", strings.Repeat("b", 63), "empty-fields", "gov-bucket", "long-fields", "store-bucket"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored buckets (-want +got):\n%s", diff)
		}
	})
}

func TestS3ExportLimitAndIsolation(t *testing.T) {
	h := newHarness(t)
	orgA, orgB := h.newOrg(t, "a"), h.newOrg(t, "b")
	a := h.client(t, h.newAccount(t, orgA, "owner@a.example", aip.RoleOwner))
	b := h.client(t, h.newAccount(t, orgB, "owner@b.example", aip.RoleOwner))
	for i := range aip.MaxS3Enrollments {
		if _, _, err := a.S3Export.Put(h.ctx(t), s3Request(fmt.Sprintf("bucket-%02d", i))); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	t.Run("rejects one more than MaxS3Enrollments", func(t *testing.T) {
		_, _, err := a.S3Export.Put(h.ctx(t), s3Request("one-too-many"))
		if statusOf(err) != http.StatusBadRequest {
			t.Errorf("status = %d (%v), want 400", statusOf(err), err)
		}
	})
	t.Run("updates an existing one at the limit", func(t *testing.T) {
		req := s3Request("bucket-00")
		req.Prefix = "changed"
		if got, _, err := a.S3Export.Put(h.ctx(t), req); err != nil || got.Prefix != "changed" {
			t.Errorf("Put = %+v, %v; want the update", got, err)
		}
	})
	t.Run("B lists none of A's enrollments", func(t *testing.T) {
		got, _, err := b.S3Export.List(h.ctx(t))
		if err != nil || len(got) != 0 {
			t.Errorf("B's list = %v, %v; want empty", got, err)
		}
	})
	t.Run("B cannot delete A's enrollment", func(t *testing.T) {
		_, _, err := b.S3Export.Delete(h.ctx(t), "bucket-00")
		if statusOf(err) != http.StatusNotFound {
			t.Errorf("status = %d (%v), want 404", statusOf(err), err)
		}
		got, _, err := a.S3Export.List(h.ctx(t))
		if err != nil || len(got) != aip.MaxS3Enrollments {
			t.Errorf("A's list = %d, %v; want %d kept", len(got), err, aip.MaxS3Enrollments)
		}
	})
	t.Run("B enrolls the same bucket name apart from A", func(t *testing.T) {
		req := s3Request("bucket-00")
		req.Prefix = "b-prefix"
		if _, _, err := b.S3Export.Put(h.ctx(t), req); err != nil {
			t.Fatalf("B Put: %v", err)
		}
		got, _, err := a.S3Export.List(h.ctx(t))
		if err != nil || len(got) == 0 {
			t.Fatalf("A's list = %v, %v", got, err)
		}
		if got[0].S3Bucket != "bucket-00" || got[0].Prefix != "changed" {
			t.Errorf("A's first = %+v; want bucket-00 with A's prefix kept", got[0])
		}
	})
}
