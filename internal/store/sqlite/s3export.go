package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// s3Backlog is the backlog column of a listing, for enrollments aliased s.
const s3Backlog = `(SELECT count(*) FROM events e WHERE e.org_id = s.org_id AND e.rowid > s.cursor_seq)`

// PutS3Enrollment creates or replaces (by bucket) an enrollment of e.OrgID,
// keeping an existing one's EnrolledAt (set in e on return), export state
// and status, and its sealed secret when e carries none.
func (db *DB) PutS3Enrollment(ctx context.Context, e *aip.S3Enrollment) error {
	if e.S3Bucket == "" {
		return aip.Errorf(aip.EINVALID, "An S3 enrollment needs a bucket.")
	}
	var secret []byte
	if len(e.SecretSealed) > 0 {
		secret = e.SecretSealed
	}
	// Count and upsert in one write transaction: the single writer makes
	// the limit exact.
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		var exists bool
		err := tx.QueryRowContext(ctx,
			`SELECT count(*), coalesce(max(bucket = ?), 0) FROM s3_enrollments WHERE org_id = ?`, e.S3Bucket, e.OrgID).
			Scan(&n, &exists)
		if err != nil {
			return fmt.Errorf("count S3 enrollments of organization %s: %w", e.OrgID, err)
		}
		if !exists && n >= aip.MaxS3Enrollments {
			return aip.Errorf(aip.EINVALID, "An organization can export to at most %d S3 buckets.", aip.MaxS3Enrollments)
		}
		var enrolled int64
		err = tx.QueryRowContext(ctx, `
			INSERT INTO s3_enrollments (org_id, bucket, role_arn, external_id, region, prefix, enrolled_at, enabled,
				endpoint, access_key_id, secret_sealed, path_style)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, bucket) DO UPDATE SET
				role_arn = excluded.role_arn, external_id = excluded.external_id, region = excluded.region,
				prefix = excluded.prefix, enabled = excluded.enabled, endpoint = excluded.endpoint,
				access_key_id = excluded.access_key_id,
				secret_sealed = coalesce(excluded.secret_sealed, s3_enrollments.secret_sealed),
				path_style = excluded.path_style
			RETURNING enrolled_at`,
			e.OrgID, e.S3Bucket, e.IAMRoleArn, e.IAMRoleArnExternalID, e.Region, e.Prefix, toMillis(now()), e.Enabled,
			e.Endpoint, e.AccessKeyID, secret, e.PathStyle).Scan(&enrolled)
		switch {
		case isForeignKey(err):
			return aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", e.OrgID)
		case err != nil:
			return fmt.Errorf("put S3 enrollment %s of organization %s: %w", e.S3Bucket, e.OrgID, err)
		}
		e.EnrolledAt = aip.Time{Time: fromMillis(enrolled)}
		return nil
	})
}

// ListS3Enrollments returns the organization's enrollments by bucket, with
// their status; ENOTFOUND for an unknown organization.
func (db *DB) ListS3Enrollments(ctx context.Context, orgID string) ([]*aip.S3Enrollment, error) {
	out, err := db.QueryS3Enrollments(ctx, `SELECT `+storeutil.S3Columns+`, `+s3Backlog+`
		FROM s3_enrollments s WHERE s.org_id = ? ORDER BY s.bucket`, true, orgID)
	if err != nil {
		return nil, fmt.Errorf("list S3 enrollments of %s: %w", orgID, err)
	}
	if len(out) == 0 {
		var ok bool
		if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = ?)`, orgID).Scan(&ok); err != nil {
			return nil, fmt.Errorf("check organization %s: %w", orgID, err)
		}
		if !ok {
			return nil, aip.Errorf(aip.ENOTFOUND, "Organization %s not found.", orgID)
		}
	}
	return out, nil
}

// DeleteS3Enrollment removes one with its export state and returns it as
// it was (Backlog included).
func (db *DB) DeleteS3Enrollment(ctx context.Context, orgID, bucket string) (*aip.S3Enrollment, error) {
	var out *aip.S3Enrollment
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		e, err := storeutil.ScanS3Enrollment(tx.QueryRowContext(ctx, `SELECT `+storeutil.S3Columns+`, `+s3Backlog+`
			FROM s3_enrollments s WHERE s.org_id = ? AND s.bucket = ?`, orgID, bucket), true)
		if errors.Is(err, sql.ErrNoRows) {
			return storeutil.S3NotFound(orgID, bucket)
		} else if err != nil {
			return fmt.Errorf("read S3 enrollment %s of %s: %w", bucket, orgID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM s3_enrollments WHERE org_id = ? AND bucket = ?`, orgID, bucket); err != nil {
			return fmt.Errorf("delete S3 enrollment %s of %s: %w", bucket, orgID, err)
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EventsAfter returns at most limit events of orgID with a rowid above
// afterSeq, in rowid order. The single writer assigns rowids in commit
// order, so no event can later appear below one returned.
func (db *DB) EventsAfter(ctx context.Context, orgID string, afterSeq int64, limit int) ([]*aip.ExportEvent, error) {
	if limit <= 0 {
		return nil, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", limit)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT e.rowid, `+storeutil.EventSelect+`
		FROM events e WHERE e.org_id = ? AND e.rowid > ? ORDER BY e.rowid LIMIT ?`, orgID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("read events of %s after %d: %w", orgID, afterSeq, err)
	}
	defer rows.Close()
	var out []*aip.ExportEvent
	for rows.Next() {
		var (
			x            aip.ExportEvent
			ev           aip.Event
			at, received int64
		)
		if err := rows.Scan(&x.Seq, &ev.ID, &ev.OrgID, &ev.AgentID, &ev.Type, &at, &received, (*[]byte)(&ev.Raw)); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		ev.Time, ev.ReceivedAt = fromMillis(at), fromMillis(received)
		x.ReceivedAt, x.Event = ev.ReceivedAt, &ev
		out = append(out, &x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events of %s after %d: %w", orgID, afterSeq, err)
	}
	return out, nil
}

// PlanExportObject records o as the enrollment's pending object. The
// UPDATE's conditions are the checks: nothing pending, o.Sequence the
// next one and o starting at the cursor; when it changes nothing, the
// state tells which failed.
func (db *DB) PlanExportObject(ctx context.Context, orgID, bucket string, o *aip.ExportObject) error {
	if err := storeutil.CheckExportObject(o); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE s3_enrollments SET pending_sequence = ?, pending_key = ?, pending_after = ?, pending_last = ?, pending_events = ?
			WHERE org_id = ? AND bucket = ? AND pending_sequence IS NULL AND next_object = ? AND cursor_seq = ?`,
			o.Sequence, o.Key, o.AfterSeq, o.LastSeq, o.Events, orgID, bucket, o.Sequence, o.AfterSeq)
		if err != nil {
			return fmt.Errorf("plan export object %d of %s of %s: %w", o.Sequence, bucket, orgID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		st, err := storeutil.ScanExportState(tx.QueryRowContext(ctx, storeutil.ExportStateSelect, orgID, bucket))
		if errors.Is(err, sql.ErrNoRows) {
			return storeutil.S3NotFound(orgID, bucket)
		} else if err != nil {
			return fmt.Errorf("read export state of %s of %s: %w", bucket, orgID, err)
		}
		return storeutil.PlanConflict(st, o)
	})
}

// CompleteExportObject confirms the pending object uploaded. Completing an
// object the state has already moved past (a retry after a lost reply)
// returns nil and changes nothing; any other sequence that is not pending
// is ECONFLICT.
func (db *DB) CompleteExportObject(ctx context.Context, orgID, bucket string, sequence int64, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE s3_enrollments SET cursor_seq = pending_last, next_object = pending_sequence + 1,
				pending_sequence = NULL, pending_key = '', pending_after = 0, pending_last = 0, pending_events = 0,
				last_exported_at = ?, last_error = ''
			WHERE org_id = ? AND bucket = ? AND pending_sequence = ?`,
			toMillis(at), orgID, bucket, sequence)
		if err != nil {
			return fmt.Errorf("complete export object %d of %s of %s: %w", sequence, bucket, orgID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		st, err := storeutil.ScanExportState(tx.QueryRowContext(ctx, storeutil.ExportStateSelect, orgID, bucket))
		if errors.Is(err, sql.ErrNoRows) {
			return storeutil.S3NotFound(orgID, bucket)
		} else if err != nil {
			return fmt.Errorf("read export state of %s of %s: %w", bucket, orgID, err)
		}
		return storeutil.CompleteConflict(st, sequence)
	})
}
