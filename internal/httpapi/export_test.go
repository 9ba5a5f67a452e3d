package httpapi

import "context"

// FlushAudit lets the external tests wait until the audit records of the
// requests they made are in the store, instead of polling it.
func FlushAudit(ctx context.Context, s *Server) error { return s.audit.Flush(ctx) }
