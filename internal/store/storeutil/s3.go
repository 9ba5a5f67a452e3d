package storeutil

import (
	"database/sql"

	"github.com/aipsec/aip"
)

// Scanner is a *sql.Row or a *sql.Rows: what a scan function reads one
// row from.
type Scanner interface{ Scan(dest ...any) error }

// ScanS3Enrollment reads an enrollment from the store's s3Columns, then
// the backlog column when withBacklog. Errors are returned as is, so that
// callers can tell sql.ErrNoRows.
func ScanS3Enrollment(row Scanner, withBacklog bool) (*aip.S3Enrollment, error) {
	var (
		e            aip.S3Enrollment
		enrolled     int64
		lastExported sql.NullInt64
	)
	dest := []any{&e.OrgID, &e.S3Bucket, &e.IAMRoleArn, &e.IAMRoleArnExternalID, &e.Region, &e.Prefix, &enrolled, &e.Enabled,
		&e.Endpoint, &e.AccessKeyID, &e.SecretSealed, &e.PathStyle, &lastExported, &e.LastError}
	if withBacklog {
		dest = append(dest, &e.Backlog)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	e.EnrolledAt = aip.Time{Time: FromMillis(enrolled)}
	e.LastExportedAt = aip.Time{Time: FromNullMillis(lastExported)}
	return &e, nil
}

// ScanExportState reads an enrollment's export state from the store's
// ExportStateSelect columns; a NULL pending sequence means no object is
// pending. Errors are returned as is, so that callers can tell
// sql.ErrNoRows.
func ScanExportState(row Scanner) (*aip.ExportState, error) {
	var (
		st      aip.ExportState
		pending sql.NullInt64
		o       aip.ExportObject
	)
	if err := row.Scan(&st.CursorSeq, &st.NextObject, &pending, &o.Key, &o.AfterSeq, &o.LastSeq, &o.Events); err != nil {
		return nil, err
	}
	if pending.Valid {
		o.Sequence = pending.Int64
		st.Pending = &o
	}
	return &st, nil
}
