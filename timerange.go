package aip

import "time"

// TimeRange bounds a listing in time. From is inclusive, Until exclusive;
// a zero value means unbounded on that side.
type TimeRange struct {
	From  time.Time
	Until time.Time
}
