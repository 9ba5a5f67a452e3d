package aip

import "time"

// PageToken is what a page token carries: enough to continue a listing with
// nothing but the token, and to refuse it anywhere else.
type PageToken struct {
	OrgID    string
	Endpoint string
	// Filters is the listing's normalized filter string (see the endpoint).
	Filters string
	// Upper is the frozen upper bound (exclusive) of the first page, so that
	// items created while a client pages do not shift the pages.
	Upper time.Time
	// After is the keyset position of the last item of the previous page.
	After Cursor
	// IssuedAt lets tokens expire (24 h).
	IssuedAt time.Time
}
