package sqlcore

import (
	"context"
	"fmt"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// DeleteExpiredAlertWindows deletes at most limit windows that ended
// before cutoff.
func (co *Core) DeleteExpiredAlertWindows(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, aip.Errorf(aip.EINVALID, "Invalid limit %d: must be positive.", limit)
	}
	res, err := co.write().ExecContext(ctx, `
		DELETE FROM alert_windows WHERE (org_id, agg_key) IN (
			SELECT org_id, agg_key FROM alert_windows WHERE window_end < ? ORDER BY window_end LIMIT ?)`,
		storeutil.CeilMillis(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("delete windows ended before %v: %w", cutoff, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete windows ended before %v: %w", cutoff, err)
	}
	return int(n), nil
}
