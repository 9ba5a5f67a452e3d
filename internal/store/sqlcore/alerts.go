package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/store/storeutil"
)

// FindAlert returns one alert.
func (co *Core) FindAlert(ctx context.Context, orgID, id string) (*aip.Alert, error) {
	a, err := storeutil.ScanAlert(co.read().QueryRowContext(ctx, `SELECT `+storeutil.AlertColumns+` FROM alerts WHERE org_id = ? AND id = ?`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aip.Errorf(aip.ENOTFOUND, "Alert %s not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find alert %s: %w", id, err)
	}
	return a, nil
}
