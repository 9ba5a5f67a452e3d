package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// S3 export enrollment limits: api-v2.md D2 for the v2 fields; the
// extension's bounds are ours (an endpoint is a URL like a webhook's, key
// ids and secrets of S3-compatible stores are far shorter than these).
const (
	minS3Bucket       = 3
	maxS3Bucket       = 63
	minIAMRoleArn     = 20
	maxIAMRoleArn     = 2048
	maxIAMExternalID  = 1224
	maxS3Prefix       = 64
	maxS3Region       = 64
	maxS3Endpoint     = 2048
	maxS3AccessKeyID  = 128
	maxS3SecretLength = 256
)

var (
	// s3BucketRe is D2's rule: lowercase letters, numbers and dashes,
	// starting with a letter or a number.
	s3BucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	// awsRegionRe matches AWS region names (us-east-1, us-gov-west-1,
	// us-isob-east-1, ap-southeast-5).
	awsRegionRe = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$`)
	// s3StoreRegionRe is what an S3-compatible store's region may be: they
	// name regions freely ("garage", "local"), but it is signed into every
	// request, so it stays a plain token.
	s3StoreRegionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// s3SealOwner is the keyring owner of an enrollment's secret: prefixed so
// that it never collides with a user's sealed API key or a webhook's
// secret, and bound to the organization and bucket so that a sealed secret
// copied to another enrollment does not open.
func s3SealOwner(orgID, bucket string) string { return "s3export:" + orgID + ":" + bucket }

// s3EnrollmentRequest is the body of PUT /v2/integrations/s3export.
// Pointers tell an absent field from an empty one where D2 requires the
// field but allows it empty.
type s3EnrollmentRequest struct {
	S3Bucket             string  `json:"s3Bucket"`
	IAMRoleArn           string  `json:"iamRoleArn"`
	IAMRoleArnExternalID *string `json:"iamRoleArnExternalId"`
	Region               string  `json:"region"`
	Prefix               *string `json:"prefix"`
	Enabled              *bool   `json:"enabled"`
	Endpoint             string  `json:"endpoint"`
	AccessKeyID          string  `json:"accessKeyId"`
	SecretAccessKey      string  `json:"secretAccessKey"`
	PathStyle            bool    `json:"pathStyle"`
}

func s3Invalid(format string, args ...any) error { return aip.Errorf(aip.EINVALID, format, args...) }

// validS3Bucket applies D2's bucket rules. The IP test comes first so that
// "192.168.1.1" is told what is wrong with it, not that dots are refused.
func validS3Bucket(b string) error {
	switch {
	case b == "":
		return s3Invalid("s3Bucket is required.")
	case len(b) < minS3Bucket || len(b) > maxS3Bucket:
		return s3Invalid("s3Bucket must be %d to %d characters long.", minS3Bucket, maxS3Bucket)
	case net.ParseIP(b) != nil:
		return s3Invalid("s3Bucket cannot be formatted as an IP address.")
	case !s3BucketRe.MatchString(b):
		return s3Invalid("s3Bucket must only contain lowercase letters, numbers and dashes, and start with a letter or a number.")
	}
	return nil
}

// validS3Endpoint accepts an absolute http(s) URL naming a store, without
// credentials (those go in accessKeyId and secretAccessKey, where the
// secret is sealed) and without a query or fragment, which S3 request
// signing would not cover.
func validS3Endpoint(raw string) error {
	if len(raw) > maxS3Endpoint {
		return s3Invalid("endpoint must be at most %d characters long.", maxS3Endpoint)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return s3Invalid("endpoint must be an absolute http or https URL.")
	}
	if u.User != nil {
		return s3Invalid("endpoint must not carry credentials; use accessKeyId and secretAccessKey.")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return s3Invalid("endpoint must not carry a query or a fragment.")
	}
	return nil
}

// validate checks req as D2 and the extension say; it does not look at the
// stored enrollment (see s.putS3Enrollment for the kept secret).
func (req *s3EnrollmentRequest) validate() error {
	if err := validS3Bucket(req.S3Bucket); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(req.IAMRoleArn); req.IAMRoleArn == "" {
		return s3Invalid("iamRoleArn is required.")
	} else if n < minIAMRoleArn || n > maxIAMRoleArn {
		return s3Invalid("iamRoleArn must be %d to %d characters long.", minIAMRoleArn, maxIAMRoleArn)
	}
	if req.IAMRoleArnExternalID == nil {
		return s3Invalid("iamRoleArnExternalId is required (it may be empty).")
	}
	if utf8.RuneCountInString(*req.IAMRoleArnExternalID) > maxIAMExternalID {
		return s3Invalid("iamRoleArnExternalId must be at most %d characters long.", maxIAMExternalID)
	}
	if req.Endpoint != "" {
		if err := validS3Endpoint(req.Endpoint); err != nil {
			return err
		}
	}
	switch {
	case req.Region == "":
		return s3Invalid("region is required.")
	case req.Endpoint == "" && !awsRegionRe.MatchString(req.Region):
		return s3Invalid("region must be a valid AWS region name, such as us-east-1.")
	case req.Endpoint != "" && (len(req.Region) > maxS3Region || !s3StoreRegionRe.MatchString(req.Region)):
		return s3Invalid("region must be at most %d letters, numbers, dots, dashes or underscores.", maxS3Region)
	}
	if req.Prefix == nil {
		return s3Invalid("prefix is required (it may be empty).")
	}
	if utf8.RuneCountInString(*req.Prefix) > maxS3Prefix {
		return s3Invalid("prefix must be at most %d characters long.", maxS3Prefix)
	}
	if len(req.AccessKeyID) > maxS3AccessKeyID {
		return s3Invalid("accessKeyId must be at most %d characters long.", maxS3AccessKeyID)
	}
	if utf8.RuneCountInString(req.SecretAccessKey) > maxS3SecretLength {
		return s3Invalid("secretAccessKey must be at most %d characters long.", maxS3SecretLength)
	}
	if req.SecretAccessKey != "" && req.AccessKeyID == "" {
		return s3Invalid("secretAccessKey requires accessKeyId: they go together.")
	}
	return nil
}

func s3EnrollmentNotFound(bucket string) error {
	return aip.Errorf(aip.ENOTFOUND, "S3 export enrollment for bucket %s not found.", bucket)
}

// s3OwnerOnly answers 403 unless p owns the organization: an enrollment
// sends every raw event of the organization out, and may name credentials.
func (s *Server) s3OwnerOnly(w http.ResponseWriter, r *http.Request, p *principal) bool {
	if p.Role == aip.RoleOwner {
		return true
	}
	s.writeError(w, r, aip.Errorf(aip.EFORBIDDEN, "The user is not allowed to perform this action: only owners manage S3 export enrollments."))
	return false
}

// findS3Enrollment returns the organization's enrollment of bucket, or
// nil: the store lists by organization only.
func (s *Server) findS3Enrollment(ctx context.Context, orgID, bucket string) (*aip.S3Enrollment, error) {
	list, err := s.cfg.Store.ListS3Enrollments(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		if e.S3Bucket == bucket {
			return e, nil
		}
	}
	return nil, nil
}

func (s *Server) listS3Enrollments(w http.ResponseWriter, r *http.Request, p *principal) {
	list, err := s.cfg.Store.ListS3Enrollments(r.Context(), p.OrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []*aip.S3Enrollment{}
	}
	writeOK(w, list)
}

func (s *Server) putS3Enrollment(w http.ResponseWriter, r *http.Request, p *principal) {
	if !s.s3OwnerOnly(w, r, p) {
		return
	}
	var req s3EnrollmentRequest
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	// An access key id without its secret is only complete when the
	// stored enrollment has a secret to keep.
	if req.AccessKeyID != "" && req.SecretAccessKey == "" {
		old, err := s.findS3Enrollment(ctx, p.OrgID, req.S3Bucket)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if old == nil || len(old.SecretSealed) == 0 {
			s.writeError(w, r, s3Invalid("accessKeyId requires secretAccessKey: they go together."))
			return
		}
	}
	e := &aip.S3Enrollment{
		OrgID: p.OrgID, S3Bucket: req.S3Bucket, IAMRoleArn: req.IAMRoleArn,
		IAMRoleArnExternalID: *req.IAMRoleArnExternalID, Region: req.Region, Prefix: *req.Prefix,
		EnrolledAt: aip.Time{Time: s.now()}, Enabled: req.Enabled == nil || *req.Enabled,
		Endpoint: req.Endpoint, AccessKeyID: req.AccessKeyID, PathStyle: req.PathStyle,
	}
	if req.SecretAccessKey != "" {
		sealed, err := s.cfg.Keyring.Seal(s3SealOwner(p.OrgID, req.S3Bucket), req.SecretAccessKey)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("seal s3 export secret: %w", err))
			return
		}
		e.SecretSealed = sealed
	}
	// The store enforces aip.MaxS3Enrollments and keeps EnrolledAt, the
	// export state and the secret of an existing enrollment.
	if err := s.cfg.Store.PutS3Enrollment(ctx, e); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Read it back for what the store kept and the export status.
	got, err := s.findS3Enrollment(ctx, p.OrgID, req.S3Bucket)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if got == nil {
		// Deleted by a concurrent request between the two calls.
		s.writeError(w, r, s3EnrollmentNotFound(req.S3Bucket))
		return
	}
	writeOK(w, got)
}

func (s *Server) deleteS3Enrollment(w http.ResponseWriter, r *http.Request, p *principal) {
	if !s.s3OwnerOnly(w, r, p) {
		return
	}
	var req struct {
		S3Bucket string `json:"s3Bucket"`
	}
	if err := decodeJSON(p.Body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.S3Bucket == "" {
		s.writeError(w, r, s3Invalid("s3Bucket is required."))
		return
	}
	e, err := s.cfg.Store.DeleteS3Enrollment(r.Context(), p.OrgID, req.S3Bucket)
	if aip.ErrorCode(err) == aip.ENOTFOUND {
		s.writeError(w, r, s3EnrollmentNotFound(req.S3Bucket))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, e)
}
