package storeutil

import (
	"github.com/aipsec/aip"
)

// S3Columns is what ScanS3Enrollment reads, for enrollments aliased s; a
// store appends its own backlog expression when the scan wants it.
const S3Columns = `s.org_id, s.bucket, s.role_arn, s.external_id, s.region, s.prefix, s.enrolled_at, s.enabled,
	s.endpoint, s.access_key_id, s.secret_sealed, s.path_style, s.last_exported_at, s.last_error`

// S3NotFound is the error of an absent enrollment.
func S3NotFound(orgID, bucket string) error {
	return aip.Errorf(aip.ENOTFOUND, "S3 enrollment %s of organization %s not found.", bucket, orgID)
}

// CheckExportObject rejects an object no exporter could have built.
func CheckExportObject(o *aip.ExportObject) error {
	switch {
	case o.Key == "":
		return aip.Errorf(aip.EINVALID, "An export object needs a key.")
	case o.LastSeq <= o.AfterSeq || o.Events <= 0:
		return aip.Errorf(aip.EINVALID, "An export object needs events after %d.", o.AfterSeq)
	}
	return nil
}

// PlanConflict explains why o could not be planned in state st.
func PlanConflict(st *aip.ExportState, o *aip.ExportObject) error {
	switch {
	case st.Pending != nil:
		return aip.Errorf(aip.ECONFLICT, "Export object %d is pending.", st.Pending.Sequence)
	case o.Sequence != st.NextObject:
		return aip.Errorf(aip.ECONFLICT, "The next export object is %d, not %d.", st.NextObject, o.Sequence)
	default:
		return aip.Errorf(aip.ECONFLICT, "The export cursor is at %d, not %d.", st.CursorSeq, o.AfterSeq)
	}
}

// CompleteConflict is CompleteExportObject's answer when sequence is not
// pending in st: nil when it was completed already.
func CompleteConflict(st *aip.ExportState, sequence int64) error {
	// A pending object always has the sequence NextObject: a lower one
	// was completed.
	if sequence < st.NextObject {
		return nil
	}
	return aip.Errorf(aip.ECONFLICT, "Export object %d is not pending.", sequence)
}

// ExportStateSelect is what ScanExportState reads, for one enrollment.
const ExportStateSelect = `SELECT cursor_seq, next_object, pending_sequence, pending_key, pending_after, pending_last, pending_events
	FROM s3_enrollments WHERE org_id = ? AND bucket = ?`
