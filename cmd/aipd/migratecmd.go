package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip/internal/app"
	"github.com/aipsec/aip/internal/store/migrate"
)

// newMigrateDataCommand is `aipd admin migrate-data --from DIR --to URL`:
// the move of a single-node SQLite installation to PostgreSQL, when one
// machine is no longer enough.
func newMigrateDataCommand(stdout, stderr io.Writer) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "migrate-data --from DIR --to postgres://…",
		Short: "Copy an SQLite installation (data dir) into an empty PostgreSQL database, verifying row counts",
		Long: `Copy every table of the SQLite database in the data dir DIR into the PostgreSQL database
at the --to URL, creating its schema. The target must be empty: the command refuses a
database that already holds data rather than merge two installations. The copy runs in one
transaction and the row counts of every table are compared on both sides before it commits,
so a failed migration leaves the target empty.

Stop aipd first: what it writes during the copy is not migrated. The sealed API keys and
webhook secrets stay sealed with the master key: start the PostgreSQL nodes with the same
master key (--master-key-file, default DIR/master.key). The data dir itself is not changed,
except that its schema is brought up to date as aipd would on start.

Prints one TABLE=rows line per table, then MIGRATED=true.`,
		Example: "  aipd admin migrate-data --from ./aip-data --to 'postgres://aip@db.internal/aip?sslmode=verify-full'\n" +
			"  AIP_DATABASE_URL=postgres://… aipd admin migrate-data --from /var/lib/aip",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return errors.New("migrate-data: --from DIR is required (the data dir of the SQLite installation)")
			}
			if to == "" {
				return errors.New("migrate-data: --to postgres://… (or env AIP_DATABASE_URL) is required")
			}
			if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
				return errors.New("migrate-data: --to must be a postgres:// or postgresql:// URL")
			}
			cfg := app.Config{DataDir: filepath.Clean(from)}
			start := time.Now()
			rep, err := migrate.Copy(cmd.Context(), cfg.DatabasePath(), to, func(table string, rows int64) {
				fmt.Fprintf(stderr, "aipd: migrate-data: %s: %d rows copied\n", table, rows)
			})
			if err != nil {
				return fmt.Errorf("migrate-data: %w", err)
			}
			fmt.Fprintf(stderr, "aipd: migrate-data: verified and committed in %.1fs\n", time.Since(start).Seconds())
			for _, tc := range rep.Tables {
				fmt.Fprintf(stdout, "%s=%d\n", tc.Table, tc.Rows)
			}
			fmt.Fprintln(stdout, "MIGRATED=true")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "data dir of the SQLite installation to copy")
	cmd.Flags().StringVar(&to, "to", envOr("AIP_DATABASE_URL", ""), "empty PostgreSQL database to copy into (env AIP_DATABASE_URL)")
	return cmd
}
