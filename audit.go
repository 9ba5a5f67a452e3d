package aip

import (
	"context"
	"encoding/json"
	"time"
)

// AuditRecord is one entry of the audit log, in its v2 wire shape.
type AuditRecord struct {
	ID             string `json:"id"`
	UserEmail      string `json:"userEmail"`
	UserID         string `json:"userId"`
	OrganizationID string `json:"organizationId"`
	Result         string `json:"result"` // "success" or "failure"
	CRUD           string `json:"crud"`   // create, read, update, delete
	Action         string `json:"action"`
	Source         string `json:"source"` // "api"
	Description    string `json:"description"`
	EventTime      Time   `json:"eventTime"`
	// Context holds details of the event as one JSON object, kept as
	// encoded bytes so that recording and listing never decode it. Stores
	// reject anything but an object; empty (nil) means no details, and the
	// API then answers {} (a nil RawMessage alone would encode as null).
	Context json.RawMessage `json:"context"`
}

// AuditFilter selects audit records of one organization, newest first.
type AuditFilter struct {
	OrgID string
	// Range bounds EventTime: From inclusive, Until exclusive.
	Range TimeRange
	// Operation matches the record's crud value (e.g. "delete").
	Operation string
	UserEmail string
	UserID    string
	// After continues a listing after this keyset position (exclusive).
	After *Cursor
	Limit int
}

// AuditStore persists the audit log.
type AuditStore interface {
	// CreateAuditRecords appends records in one transaction; IDs and
	// EventTime must be set by the caller.
	CreateAuditRecords(ctx context.Context, recs []*AuditRecord) error
	// ListAuditRecords returns at most f.Limit records ordered by
	// (EventTime, ID) descending.
	ListAuditRecords(ctx context.Context, f AuditFilter) ([]*AuditRecord, error)
}

// Store is everything the API server persists. The SQLite and PostgreSQL
// backends implement it and pass the same conformance suite.
type Store interface {
	OrgStore
	UserStore
	MemberStore
	InviteStore
	AuditStore
	AgentStore
	RuleStore
	EventStore
	EvaluationStore
	AlertStore
	WebhookStore
	VulnStore
	EC2Store
	S3ExportStore
	WebStore
	// Close releases the database.
	Close() error
}

// Cursor is a keyset position: the (time, id) of the last item of a page.
type Cursor struct {
	Time time.Time
	ID   string
}
