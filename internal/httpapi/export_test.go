package httpapi

import "context"

// FlushAudit lets the external tests wait until the audit records of the
// requests they made are in the store, instead of polling it.
func FlushAudit(ctx context.Context, s *Server) error { return s.audit.Flush(ctx) }

// HoldIngestSlots takes n slots of the ingest semaphore, as n batches in
// flight would, so that a test can saturate it without racing real
// requests; the returned func gives them back.
func HoldIngestSlots(s *Server, n int) (release func()) {
	for range n {
		s.ingestSlots <- struct{}{}
	}
	return func() {
		for range n {
			<-s.ingestSlots
		}
	}
}
