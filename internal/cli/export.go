package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/client"
)

// exportCheckpoint is the --checkpoint file of `aip alerts export`: how
// far previous runs got. Alerts come newest first, so a run only learns
// that everything up to its newest alert was written when it finishes;
// the file is therefore replaced at the end of a successful run only.
type exportCheckpoint struct {
	// Status is the --status of the runs, which must not change.
	Status string `json:"status"`
	// NewestCreatedAt is the createdAt (epoch ms) of the newest alert
	// exported so far.
	NewestCreatedAt int64 `json:"newestCreatedAt"`
	// IDs are the exported alerts created in that very millisecond; the
	// next run asks from that millisecond and skips them.
	IDs []string `json:"idsAtNewest"`
	// UpdatedAt is when a run last wrote the file, for people.
	UpdatedAt time.Time `json:"updatedAt"`
}

// readCheckpoint loads path; a missing file is a nil checkpoint.
func readCheckpoint(path string) (*exportCheckpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cp := new(exportCheckpoint)
	if err := json.Unmarshal(b, cp); err != nil {
		return nil, &usageError{fmt.Errorf("checkpoint %s is not a checkpoint file: %w", path, err)}
	}
	return cp, nil
}

// writeCheckpoint replaces path atomically (temporary file in the same
// directory, fsync, rename), so that a crash leaves the old or the new
// checkpoint, never a torn one. The file is 0600.
func writeCheckpoint(path string, cp *exportCheckpoint) (err error) {
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// exported reports whether al was already exported by the runs that cp
// records.
func (cp *exportCheckpoint) exported(al *aip.Alert) bool {
	if cp == nil {
		return false
	}
	ms := al.CreatedAt.UnixMilli()
	return ms < cp.NewestCreatedAt || ms == cp.NewestCreatedAt && slices.Contains(cp.IDs, al.ID)
}

// advance returns the checkpoint after a run that wrote the alerts whose
// newest createdAt is newest (ms) with ids at that millisecond; prev is
// the checkpoint before the run (nil when none).
func advance(prev *exportCheckpoint, status string, newest int64, ids []string, now time.Time) *exportCheckpoint {
	next := &exportCheckpoint{Status: status, NewestCreatedAt: newest, IDs: ids, UpdatedAt: now.UTC()}
	if prev == nil {
		return next
	}
	switch {
	case len(ids) == 0 || newest < prev.NewestCreatedAt:
		next.NewestCreatedAt, next.IDs = prev.NewestCreatedAt, prev.IDs
	case newest == prev.NewestCreatedAt:
		next.IDs = append(slices.Clone(prev.IDs), ids...)
	}
	return next
}

// exportCSVHeader and exportCSVRow are the csv format of an export: every
// alert field, times in RFC 3339 with milliseconds, aggregates as JSON.
var exportCSVHeader = []string{"id", "createdAt", "severity", "title", "dataSource", "agentId", "ruleId",
	"rulesetId", "eventCount", "lastEventAt", "expiresAt", "isDismissed", "dismissedAt", "dismissReason",
	"dismissReasonText", "dismissedBy", "aggregates"}

func exportCSVRow(al *aip.Alert) []string {
	ts := func(t aip.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(rfc3339Milli)
	}
	aggs, _ := json.Marshal(al.Aggregates)
	return []string{al.ID, ts(al.CreatedAt), strconv.Itoa(al.Severity), al.Title, al.DataSource, al.AgentID,
		al.RuleID, al.RulesetID, strconv.Itoa(al.EventCount), ts(al.LastEventAt), ts(al.ExpiresAt),
		strconv.FormatBool(al.IsDismissed), ts(al.DismissedAt), al.DismissReason, al.DismissReasonText,
		al.DismissedBy, string(aggs)}
}

// rfc3339Milli is RFC 3339 in UTC with milliseconds, a form the server's
// from/until accept at full stored precision.
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// exportOptions are the flags of `aip alerts export`.
type exportOptions struct {
	from, until, status string
	checkpoint, outPath string
}

func newAlertsExportCommand(a *app) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export --from TIME [--until TIME] [--checkpoint FILE] [-o FILE]",
		Short: "Stream every alert of a time range as JSON lines or CSV",
		Long: `Export the alerts created from --from (until --until, else up to the moment
of the first request) with --status (active by default), newest first, page by
page as they arrive: nothing is held in memory. --format is jsonl (default, one
alert object per line) or csv (with a header row). A progress bar is shown on
stderr when it is a terminal. Rate limits (HTTP 429) are waited out, however
often they come, until the export ends or is interrupted.

-o FILE writes to FILE (created 0600) instead of stdout; it is truncated,
except with --checkpoint, where it is appended to (CSV gets its header only
while the file is empty).

Checkpoint: --checkpoint FILE makes runs incremental. FILE (JSON, 0600,
replaced atomically) records the createdAt of the newest alert exported so
far and the ids of the alerts created in that millisecond. A run with a
checkpoint asks from that millisecond (or --from, if later) and skips the ids
it lists, so each alert is exported once across runs. The checkpoint is
written only after a run succeeds and its output is flushed: an interrupted
or failed run leaves it unchanged, and the next run exports again what the
interrupted one had written (at least once: deduplicate by id downstream).
A checkpoint is tied to its --status. Since createdAt is the time of the
event that fired the alert, an alert raised later for events older than the
checkpoint (an agent delivering late) is not picked up by later runs.`,
		Example: `  aip alerts export --from 2024-05-01 > alerts.jsonl
  aip alerts export --from 2024-05-01 --until 2024-05-31T12 --format csv -o may.csv
  # every 10 minutes, only what is new since the previous run:
  aip alerts export --from 2024-01-01 --checkpoint alerts.ckpt -o alerts.jsonl`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exportAlerts(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "created at or after this time (required)")
	f.StringVar(&o.until, "until", "", "created at or before this time")
	f.StringVar(&o.status, "status", "active", "active or dismissed")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint FILE for incremental runs (see above)")
	f.StringVarP(&o.outPath, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// exportAlerts runs `aip alerts export`.
func (a *app) exportAlerts(ctx context.Context, o exportOptions) error {
	format := a.flags.format
	if format == "" {
		format = formatJSONL
	}
	if format != formatJSONL && format != formatCSV || a.flags.json {
		return usageErrorf("alerts export writes --format jsonl or csv")
	}
	if a.flags.jq != "" {
		return usageErrorf("alerts export does not take --jq (pipe its jsonl output to jq)")
	}
	if o.from == "" {
		return usageErrorf("alerts export needs --from")
	}
	fromStart, _, err := aip.ParseTime(o.from)
	if err != nil {
		return usageErrorf("--from: %s", aip.ErrorMessage(err))
	}
	if err := checkStatus(o.status); err != nil {
		return err
	}
	var prev *exportCheckpoint
	if o.checkpoint != "" {
		if prev, err = readCheckpoint(o.checkpoint); err != nil {
			return err
		}
		if prev != nil && prev.Status != o.status {
			return usageErrorf("checkpoint %s is for --status %s, not %s", o.checkpoint, prev.Status, o.status)
		}
	}
	opts := client.AlertListOptions{Status: o.status, From: o.from, Until: o.until}
	if prev != nil && prev.NewestCreatedAt >= fromStart.UnixMilli() {
		opts.From = time.UnixMilli(prev.NewestCreatedAt).UTC().Format(rfc3339Milli)
	}
	c, err := a.client()
	if err != nil {
		return err
	}

	var w io.Writer = a.env.Stdout
	var file *os.File
	header := format == formatCSV
	if o.outPath != "" {
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if o.checkpoint != "" {
			flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		if file, err = os.OpenFile(o.outPath, flags, 0o600); err != nil {
			return fmt.Errorf("open output: %w", err)
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil && st.Size() > 0 {
			header = false
		}
		w = file
	}
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if header {
		cw.Write(exportCSVHeader)
	}

	// The bar exists only on a terminal: progressbar's spinner goroutine
	// (unknown total) races with Add even when its output is discarded.
	tick, finish := func() {}, func() {}
	if a.env.IsTerminal(a.env.Stderr) {
		total := int64(-1)
		// Best effort: the bar only needs an estimate.
		if counts, _, err := c.Alerts.SeverityCounts(ctx, &client.SeverityCountOptions{From: opts.From, Until: o.until, Status: o.status}); err == nil {
			total = 0
			for _, sc := range counts {
				total += int64(sc.Count)
			}
		}
		bar := a.newProgress(total, "exporting alerts")
		tick, finish = func() { bar.Add(1) }, func() { bar.Finish() }
	}

	var written int
	var newest int64
	var newestIDs []string
	for {
		alerts, resp, err := a.listAlertsWaiting(ctx, c, &opts)
		if err != nil {
			cw.Flush()
			bw.Flush()
			return fmt.Errorf("export alerts after %d written (checkpoint unchanged): %w", written, err)
		}
		for _, al := range alerts {
			if prev.exported(al) {
				continue
			}
			if format == formatCSV {
				cw.Write(exportCSVRow(al))
			} else if err := encodeJSON(bw, al, false); err != nil {
				return err
			}
			written++
			tick()
			switch ms := al.CreatedAt.UnixMilli(); {
			case ms > newest || newestIDs == nil:
				newest, newestIDs = ms, []string{al.ID}
			case ms == newest:
				newestIDs = append(newestIDs, al.ID)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		if resp.NextToken == "" {
			break
		}
		opts.Token = resp.NextToken
	}
	finish()
	if file != nil {
		if err := file.Sync(); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		if err := file.Close(); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
	}
	fmt.Fprintf(a.env.Stderr, "exported %d alerts\n", written)
	if o.checkpoint == "" || written == 0 && prev != nil {
		return nil
	}
	return writeCheckpoint(o.checkpoint, advance(prev, o.status, newest, newestIDs, time.Now()))
}

// listAlertsWaiting fetches one page of alerts, waiting out every 429
// (the client itself retries only once, for a bounded wait) until the
// page comes or ctx ends; a long export must not die on a busy server.
func (a *app) listAlertsWaiting(ctx context.Context, c *client.Client, opts *client.AlertListOptions) ([]*aip.Alert, *client.Response, error) {
	for {
		alerts, resp, err := c.Alerts.List(ctx, opts)
		var rle *client.RateLimitError
		if !errors.As(err, &rle) {
			return alerts, resp, err
		}
		wait := max(rle.Rate.Reset, rle.RetryAfter, 100*time.Millisecond)
		fmt.Fprintf(a.env.Stderr, "aip: rate limited; retrying in %v\n", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, resp, fmt.Errorf("wait out rate limit: %w", ctx.Err())
		case <-t.C:
		}
	}
}
