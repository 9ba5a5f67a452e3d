package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// EnabledS3Enrollments lists every enabled enrollment of every
// organization by organization and bucket. Backlog is left zero: the
// exporter reads its position from ExportState, and counting every
// organization's events on each pass would cost a scan per enrollment.
func (co *Core) EnabledS3Enrollments(ctx context.Context) ([]*aip.S3Enrollment, error) {
	out, err := co.QueryS3Enrollments(ctx, `SELECT `+storeutil.S3Columns+`
		FROM s3_enrollments s WHERE s.enabled ORDER BY s.org_id, s.bucket`, false)
	if err != nil {
		return nil, fmt.Errorf("list enabled S3 enrollments: %w", err)
	}
	return out, nil
}

// QueryS3Enrollments runs q, a SELECT of storeutil.S3Columns (and the
// store's backlog column when withBacklog), and scans its rows.
func (co *Core) QueryS3Enrollments(ctx context.Context, q string, withBacklog bool, args ...any) ([]*aip.S3Enrollment, error) {
	rows, err := co.read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*aip.S3Enrollment
	for rows.Next() {
		e, err := storeutil.ScanS3Enrollment(rows, withBacklog)
		if err != nil {
			return nil, fmt.Errorf("scan S3 enrollment: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExportState reads an enrollment's export state; ENOTFOUND when absent.
func (co *Core) ExportState(ctx context.Context, orgID, bucket string) (*aip.ExportState, error) {
	st, err := storeutil.ScanExportState(co.read().QueryRowContext(ctx, storeutil.ExportStateSelect, orgID, bucket))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storeutil.S3NotFound(orgID, bucket)
	} else if err != nil {
		return nil, fmt.Errorf("read export state of %s of %s: %w", bucket, orgID, err)
	}
	return st, nil
}

// RecordExportError stores the latest failure of an enrollment.
func (co *Core) RecordExportError(ctx context.Context, orgID, bucket, msg string) error {
	res, err := co.write().ExecContext(ctx, `UPDATE s3_enrollments SET last_error = ? WHERE org_id = ? AND bucket = ?`, msg, orgID, bucket)
	if err != nil {
		return fmt.Errorf("record export error of %s of %s: %w", bucket, orgID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("record export error of %s of %s: %w", bucket, orgID, err)
	}
	if n == 0 {
		return storeutil.S3NotFound(orgID, bucket)
	}
	return nil
}
