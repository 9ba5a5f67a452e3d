package client

import (
	"context"
	"errors"
	"net/http"

	"github.com/aipsec/aip"
)

// S3ExportService manages the organization's continuous export of raw
// events to S3 buckets (GET, PUT and DELETE /v2/integrations/s3export).
type S3ExportService service

// S3EnrollmentRequest is the body of S3ExportService.Put. The v2 fields
// are all required by the server; IAMRoleArnExternalID and Prefix may be
// empty.
type S3EnrollmentRequest struct {
	S3Bucket             string `json:"s3Bucket"`
	IAMRoleArn           string `json:"iamRoleArn"`
	IAMRoleArnExternalID string `json:"iamRoleArnExternalId"`
	Region               string `json:"region"`
	Prefix               string `json:"prefix"`
	// Enabled false pauses the export, keeping its cursor. It is always
	// sent, as TSCLI does, so that the zero value means what it says.
	Enabled bool `json:"enabled"`

	// Endpoint, AccessKeyID, SecretAccessKey and PathStyle are aip's
	// extension for S3-compatible stores. An update without
	// SecretAccessKey keeps the stored secret.
	Endpoint        string `json:"endpoint,omitempty"`
	AccessKeyID     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
	PathStyle       bool   `json:"pathStyle,omitempty"`
}

// List returns every enrollment of the organization with its export status
// (GET /v2/integrations/s3export, a JSON array).
func (s *S3ExportService) List(ctx context.Context) ([]*aip.S3Enrollment, *Response, error) {
	var out []*aip.S3Enrollment
	resp, err := s.client.call(ctx, http.MethodGet, "v2/integrations/s3export", nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Put creates the enrollment of r.S3Bucket or updates it
// (PUT /v2/integrations/s3export). Owners only.
func (s *S3ExportService) Put(ctx context.Context, r *S3EnrollmentRequest) (*aip.S3Enrollment, *Response, error) {
	if r == nil {
		return nil, nil, errors.New("s3 export put: nil request")
	}
	e := new(aip.S3Enrollment)
	resp, err := s.client.call(ctx, http.MethodPut, "v2/integrations/s3export", r, e)
	if err != nil {
		return nil, resp, err
	}
	return e, resp, nil
}

// Delete removes the enrollment of bucket and returns it
// (DELETE /v2/integrations/s3export with {"s3Bucket": bucket}). Owners
// only.
func (s *S3ExportService) Delete(ctx context.Context, bucket string) (*aip.S3Enrollment, *Response, error) {
	if bucket == "" {
		return nil, nil, errors.New("s3 export delete: empty bucket")
	}
	body := struct {
		S3Bucket string `json:"s3Bucket"`
	}{bucket}
	e := new(aip.S3Enrollment)
	resp, err := s.client.call(ctx, http.MethodDelete, "v2/integrations/s3export", body, e)
	if err != nil {
		return nil, resp, err
	}
	return e, resp, nil
}
