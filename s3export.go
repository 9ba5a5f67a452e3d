package aip

import (
	"context"
	"time"
)

// S3Enrollment is the v2 wire shape of an S3 export enrollment (api-v2.md
// §3.11), one per bucket of an organization, plus aip's extensions: a
// store other than AWS (Endpoint, AccessKeyID and the secret, PathStyle)
// and the export's status.
type S3Enrollment struct {
	OrgID                string `json:"organization_id"`
	S3Bucket             string `json:"s3Bucket"`
	IAMRoleArn           string `json:"iamRoleArn"`
	IAMRoleArnExternalID string `json:"iamRoleArnExternalId"`
	Region               string `json:"region"`
	Prefix               string `json:"prefix"`
	EnrolledAt           Time   `json:"enrolledAt"`
	Enabled              bool   `json:"enabled"`

	// Endpoint is an S3-compatible store's URL ("" for AWS).
	Endpoint string `json:"endpoint,omitempty"`
	// AccessKeyID and the sealed secret are static credentials for such
	// a store; without them the AWS credential chain and the role apply.
	AccessKeyID  string `json:"accessKeyId,omitempty"`
	SecretSealed []byte `json:"-"`
	PathStyle    bool   `json:"pathStyle,omitempty"`

	// LastExportedAt is when an object was last uploaded (zero: never);
	// LastError the latest failure ("" after a success); Backlog the
	// events of the organization not exported yet.
	LastExportedAt Time   `json:"lastExportedAt,omitzero"`
	LastError      string `json:"lastError,omitempty"`
	Backlog        int64  `json:"backlog"`
}

// ExportObject is one object of an export, planned before it is uploaded:
// the events after AfterSeq up to LastSeq (the store's arrival order),
// under Key. A plan is durable, so that after a crash the same object is
// uploaded again with the same content, never another one.
type ExportObject struct {
	Sequence int64  // the enrollment's object counter
	Key      string // the object key
	AfterSeq int64  // exclusive
	LastSeq  int64  // inclusive
	Events   int
}

// ExportState is where an enrollment's export stands.
type ExportState struct {
	// CursorSeq is the arrival sequence of the last event uploaded.
	CursorSeq int64
	// NextObject is the sequence the next planned object takes.
	NextObject int64
	// Pending is the planned object not yet confirmed uploaded, if any.
	Pending *ExportObject
}

// ExportEvent is an event with its arrival sequence in the organization.
type ExportEvent struct {
	Seq        int64
	ReceivedAt time.Time
	Event      *Event
}

// S3ExportStore persists enrollments and their export state.
type S3ExportStore interface {
	// PutS3Enrollment creates or replaces (by bucket) an enrollment of
	// e.OrgID, keeping an existing one's EnrolledAt and export state, and
	// its sealed secret when e carries none. ENOTFOUND for an unknown
	// organization; EINVALID when it has MaxS3Enrollments already.
	PutS3Enrollment(ctx context.Context, e *S3Enrollment) error
	// ListS3Enrollments returns the organization's enrollments by bucket,
	// with their status (Backlog included).
	ListS3Enrollments(ctx context.Context, orgID string) ([]*S3Enrollment, error)
	// DeleteS3Enrollment removes one with its export state; ENOTFOUND when
	// absent.
	DeleteS3Enrollment(ctx context.Context, orgID, bucket string) (*S3Enrollment, error)
	// EnabledS3Enrollments lists every enabled enrollment of every
	// organization, for the exporter.
	EnabledS3Enrollments(ctx context.Context) ([]*S3Enrollment, error)
	// ExportState reads an enrollment's export state.
	ExportState(ctx context.Context, orgID, bucket string) (*ExportState, error)
	// EventsAfter returns at most limit events of orgID with an arrival
	// sequence above afterSeq, in that order, committed before any that
	// could still appear below them (so that a cursor never skips one).
	EventsAfter(ctx context.Context, orgID string, afterSeq int64, limit int) ([]*ExportEvent, error)
	// PlanExportObject records o as the enrollment's pending object
	// (o.Sequence must be the state's NextObject); ECONFLICT when another
	// object is pending.
	PlanExportObject(ctx context.Context, orgID, bucket string, o *ExportObject) error
	// CompleteExportObject confirms the pending object uploaded: the
	// cursor moves to its LastSeq, the counter past it, LastExportedAt to
	// at and LastError clears.
	CompleteExportObject(ctx context.Context, orgID, bucket string, sequence int64, at time.Time) error
	// RecordExportError stores the latest failure of an enrollment.
	RecordExportError(ctx context.Context, orgID, bucket, msg string) error
}

// MaxS3Enrollments bounds the buckets one organization exports to.
const MaxS3Enrollments = 10
