package sqlcore

import (
	"context"
	"fmt"
)

// AdvisoryGeneration reads the advisory database's generation.
func (co *Core) AdvisoryGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := co.read().QueryRowContext(ctx, `SELECT generation FROM vulndb_state WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("read advisory generation: %w", err)
	}
	return g, nil
}
