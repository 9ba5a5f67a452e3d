package export

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aipsec/aip"
)

// defaultRegion signs requests to S3-compatible stores enrolled without a
// region; most of them accept any.
const defaultRegion = "us-east-1"

// roleSessionName names the sessions of the assumed role in the customer's
// CloudTrail.
const roleSessionName = "aip-s3-export"

// S3Uploader puts objects into one bucket with the AWS SDK.
type S3Uploader struct {
	client *s3.Client
	bucket string
}

// NewS3Uploader is the UploaderFactory for real stores. With static
// credentials (an access key ID and its secret) it talks to e.Endpoint, in
// path style if asked, as S3-compatible stores want; otherwise credentials
// come from the AWS default chain (environment, shared files, instance
// role…) and, when e names a role, the role is assumed with its external
// ID, as the customer's bucket policy grants access to that role only.
func NewS3Uploader(ctx context.Context, e *aip.S3Enrollment, secret string) (Uploader, error) {
	region := e.Region
	if region == "" {
		region = defaultRegion
	}
	if e.AccessKeyID != "" {
		opts := s3.Options{
			Region:       region,
			Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(e.AccessKeyID, secret, "")),
			UsePathStyle: e.PathStyle,
			// Not every S3-compatible store knows the SDK's newer
			// default checksums; TLS and SigV4 already protect the body.
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		}
		if e.Endpoint != "" {
			opts.BaseEndpoint = aws.String(e.Endpoint)
		}
		return &S3Uploader{client: s3.New(opts), bucket: e.S3Bucket}, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if e.IAMRoleArn != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), e.IAMRoleArn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = roleSessionName
			if e.IAMRoleArnExternalID != "" {
				o.ExternalID = aws.String(e.IAMRoleArnExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = e.PathStyle
		if e.Endpoint != "" {
			o.BaseEndpoint = aws.String(e.Endpoint)
		}
	})
	return &S3Uploader{client: client, bucket: e.S3Bucket}, nil
}

// PutObject uploads body under key, replacing any object there.
func (u *S3Uploader) PutObject(ctx context.Context, key string, body []byte) error {
	_, err := u.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(u.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String("application/gzip"),
	})
	if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	return nil
}
