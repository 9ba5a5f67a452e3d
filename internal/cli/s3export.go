package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

func init() { register(newS3ExportCommand) }

// newS3ExportCommand is `aip s3export …`.
func newS3ExportCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "s3export",
		Short: "Manage the continuous export of raw events to S3 buckets",
		Example: `  aip s3export list
  aip s3export put --bucket acme-aip-events --role-arn arn:aws:iam::123456789012:role/aip-export \
    --external-id acme --region us-east-1 --prefix aip
  aip s3export delete acme-aip-events`,
		Args: noArgs,
	}
	cmd.AddCommand(newS3ExportListCommand(a), newS3ExportPutCommand(a), newS3ExportDeleteCommand(a))
	return cmd
}

// s3EnrollmentColumns are the columns of `aip s3export list`, `put` and
// `delete`.
func s3EnrollmentColumns() []column[*aip.S3Enrollment] {
	return []column[*aip.S3Enrollment]{
		{"BUCKET", func(e *aip.S3Enrollment) string { return e.S3Bucket }},
		{"REGION", func(e *aip.S3Enrollment) string { return e.Region }},
		{"PREFIX", func(e *aip.S3Enrollment) string { return e.Prefix }},
		{"ENABLED", func(e *aip.S3Enrollment) string { return strconv.FormatBool(e.Enabled) }},
		{"ENDPOINT", func(e *aip.S3Enrollment) string { return e.Endpoint }},
		{"ENROLLED", func(e *aip.S3Enrollment) string { return formatTime(e.EnrolledAt) }},
		{"LAST EXPORT", func(e *aip.S3Enrollment) string { return formatTime(e.LastExportedAt) }},
		{"BACKLOG", func(e *aip.S3Enrollment) string { return strconv.FormatInt(e.Backlog, 10) }},
		{"ERROR", func(e *aip.S3Enrollment) string { return e.LastError }},
	}
}

func newS3ExportListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List S3 export enrollments and how their export stands",
		Example: `  aip s3export list
  aip s3export list --jq '.[] | select(.lastError != null) | .s3Bucket'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			list, _, err := c.S3Export.List(cmd.Context())
			if err != nil {
				return fmt.Errorf("list s3 export enrollments: %w", err)
			}
			return writeSlice(a, list, s3EnrollmentColumns())
		},
	}
}

func newS3ExportPutCommand(a *app) *cobra.Command {
	var (
		req        client.S3EnrollmentRequest
		disabled   bool
		secretFile string
	)
	cmd := &cobra.Command{
		Use:   "put --bucket BUCKET --role-arn ARN --external-id ID --region REGION --prefix PREFIX [flags]",
		Short: "Create or update the export to a bucket (owners only)",
		Long: `Create the enrollment of a bucket, or update the existing one (its
enrollment time and export position are kept). Every event of the
organization is then written to the bucket as gzip-compressed JSON Lines.

For AWS, credentials come from the server's AWS credential chain and the
role --role-arn is assumed with --external-id. For an S3-compatible store,
give --endpoint and static credentials: --access-key-id with
--secret-access-key-file FILE (- reads standard input); the secret is never
shown again. Updating with --access-key-id alone keeps the stored secret.`,
		Example: `  aip s3export put --bucket acme-aip-events --role-arn arn:aws:iam::123456789012:role/aip-export \
    --external-id acme --region us-east-1 --prefix aip
  aip s3export put --bucket acme-aip-events --role-arn arn:aws:iam::123456789012:role/aip-export \
    --external-id acme --region us-east-1 --prefix aip --disabled
  printf %s "$SECRET" | aip s3export put --bucket events --role-arn arn:aws:iam::000000000000:role/none \
    --external-id "" --region local --prefix aip --endpoint http://127.0.0.1:7070 \
    --access-key-id minio --secret-access-key-file - --path-style`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			for _, name := range []string{"bucket", "role-arn", "external-id", "region", "prefix"} {
				if !f.Changed(name) {
					return usageErrorf("--%s is required", name)
				}
			}
			req.Enabled = !disabled
			if secretFile != "" {
				if req.AccessKeyID == "" {
					return usageErrorf("--secret-access-key-file requires --access-key-id")
				}
				secret, err := a.readS3Secret(secretFile)
				if err != nil {
					return err
				}
				req.SecretAccessKey = secret
			}
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			e, _, err := c.S3Export.Put(cmd.Context(), &req)
			if err != nil {
				return fmt.Errorf("put s3 export enrollment %s: %w", req.S3Bucket, err)
			}
			return writeItem(a, e, s3EnrollmentColumns())
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.S3Bucket, "bucket", "", "bucket name: 3 to 63 lowercase letters, numbers and dashes")
	f.StringVar(&req.IAMRoleArn, "role-arn", "", "IAM role assumed to write to the bucket (20 to 2048 characters)")
	f.StringVar(&req.IAMRoleArnExternalID, "external-id", "", "external id of the role (may be empty)")
	f.StringVar(&req.Region, "region", "", "AWS region of the bucket; any region name with --endpoint")
	f.StringVar(&req.Prefix, "prefix", "", "key prefix of the objects, at most 64 characters (may be empty)")
	f.BoolVar(&disabled, "disabled", false, "enroll paused: no export until enabled again (its position is kept)")
	f.StringVar(&req.Endpoint, "endpoint", "", "URL of an S3-compatible store instead of AWS")
	f.StringVar(&req.AccessKeyID, "access-key-id", "", "static access key id for the store")
	f.StringVar(&secretFile, "secret-access-key-file", "", "file holding the secret access key (- for stdin)")
	f.BoolVar(&req.PathStyle, "path-style", false, "path-style addressing, which most S3-compatible stores need")
	return cmd
}

// readS3Secret reads a secret from file, or standard input for "-": secrets
// stay out of the command line, where ps and shell history would show
// them. One trailing newline, as editors and echo leave, is dropped.
func (a *app) readS3Secret(file string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(a.env.Stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", usageErrorf("read %s: %w", file, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", usageErrorf("%s holds no secret", file)
	}
	return s, nil
}

func newS3ExportDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete BUCKET",
		Short:   "Stop exporting to a bucket and forget its enrollment (owners only)",
		Example: "  aip s3export delete acme-aip-events",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.output(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			e, _, err := c.S3Export.Delete(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("delete s3 export enrollment %s: %w", args[0], err)
			}
			return writeItem(a, e, s3EnrollmentColumns())
		},
	}
}
