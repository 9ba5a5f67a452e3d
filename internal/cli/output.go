package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/itchyny/gojq"
)

// column is one column of a command's output: its table header and how to
// render an item's cell. A command describes its columns once; the output
// format (--format, --json, --jq) decides whether they or the item's JSON
// are printed.
type column[T any] struct {
	header string
	value  func(T) string
}

// Output formats of --format.
const (
	formatTable = "table"
	formatTSV   = "tsv"
	formatCSV   = "csv"
	formatJSON  = "json"
	formatJSONL = "jsonl"
)

// output is how one command prints: the chosen format and the compiled
// --jq expression (nil without one).
type output struct {
	w      io.Writer
	format string
	jq     *gojq.Code
}

// output resolves --format, --json and --jq. Invalid values are usage
// errors, found before any request is sent.
func (a *app) output() (*output, error) {
	o := &output{w: a.env.Stdout, format: a.flags.format}
	if a.flags.json {
		if o.format != "" && o.format != formatJSON {
			return nil, usageErrorf("--json conflicts with --format %s", o.format)
		}
		o.format = formatJSON
	}
	if o.format == "" {
		o.format = formatTSV
		if a.env.IsTerminal(a.env.Stdout) {
			o.format = formatTable
		}
	}
	if !slices.Contains([]string{formatTable, formatTSV, formatCSV, formatJSON, formatJSONL}, o.format) {
		return nil, usageErrorf("unknown --format %q (want table, tsv, csv, json or jsonl)", o.format)
	}
	if a.flags.jq != "" {
		q, err := gojq.Parse(a.flags.jq)
		if err != nil {
			return nil, usageErrorf("--jq: %w", err)
		}
		if o.jq, err = gojq.Compile(q); err != nil {
			return nil, usageErrorf("--jq: %w", err)
		}
		if o.format != formatJSONL {
			// jq sees the whole value; only jsonl streams item by item.
			o.format = formatJSON
		}
	}
	return o, nil
}

// writeSlice prints a list of items; see writeList.
func writeSlice[T any](a *app, items []T, cols []column[T]) error {
	return writeList(a, func(yield func(T, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}, cols)
}

// writeList prints the items of seq in the chosen format: an aligned table
// with a header, TSV without a header, CSV with a header, a JSON array, or
// one JSON object per line; --jq applies to the array (to each item for
// jsonl). TSV, CSV and JSONL stream as items arrive; an error from seq
// stops the output and is returned after what was printed.
func writeList[T any](a *app, seq iter.Seq2[T, error], cols []column[T]) error {
	o, err := a.output()
	if err != nil {
		return err
	}
	switch o.format {
	case formatTable:
		tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
		var rows int
		for it, err := range seq {
			if err != nil {
				tw.Flush()
				return err
			}
			if rows == 0 {
				writeCells(tw, headers(cols))
			}
			rows++
			writeCells(tw, cells(it, cols))
		}
		return tw.Flush()
	case formatTSV:
		for it, err := range seq {
			if err != nil {
				return err
			}
			if err := writeCells(o.w, cells(it, cols)); err != nil {
				return err
			}
		}
		return nil
	case formatCSV:
		cw := csv.NewWriter(o.w)
		if err := cw.Write(headers(cols)); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		for it, err := range seq {
			if err != nil {
				cw.Flush()
				return err
			}
			cw.Write(cells(it, cols))
		}
		cw.Flush()
		return cw.Error()
	case formatJSONL:
		for it, err := range seq {
			if err != nil {
				return err
			}
			if err := o.writeJSON(it, false); err != nil {
				return err
			}
		}
		return nil
	default: // formatJSON
		items := []T{}
		for it, err := range seq {
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		return o.writeJSON(items, true)
	}
}

// writeItem prints one object (show commands): as "HEADER  value" lines
// for a table, as a header and one row for TSV (no header) and CSV, and as
// a JSON object for json and jsonl, --jq applying to it.
func writeItem[T any](a *app, item T, cols []column[T]) error {
	o, err := a.output()
	if err != nil {
		return err
	}
	if o.format == formatTable {
		tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
		for _, c := range cols {
			writeCells(tw, []string{c.header, cleanCell(c.value(item))})
		}
		return tw.Flush()
	}
	if o.format == formatJSON || o.format == formatJSONL {
		return o.writeJSON(item, o.format == formatJSON)
	}
	return writeSlice(a, []T{item}, cols)
}

// writeJSON prints v as JSON (indented or compact), or the results of --jq
// on it one per line, strings raw like jq -r.
func (o *output) writeJSON(v any, indent bool) error {
	if o.jq == nil {
		return encodeJSON(o.w, v, indent)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	var in any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("decode output: %w", err)
	}
	return o.runJQ(in)
}

// runJQ runs the compiled --jq expression on in and prints the results.
func (o *output) runJQ(in any) error {
	iter := o.jq.Run(in)
	for {
		v, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, ok := v.(error); ok {
			if he, ok := err.(*gojq.HaltError); ok && he.Value() == nil {
				return nil
			}
			return fmt.Errorf("--jq: %w", err)
		}
		if s, ok := v.(string); ok {
			if _, err := fmt.Fprintln(o.w, s); err != nil {
				return err
			}
			continue
		}
		if err := encodeJSON(o.w, v, false); err != nil {
			return err
		}
	}
}

// encodeJSON writes v as one JSON document and a newline, without HTML
// escaping (command lines keep their '&' and '>').
func encodeJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return nil
}

func headers[T any](cols []column[T]) []string {
	hs := make([]string, len(cols))
	for i, c := range cols {
		hs[i] = c.header
	}
	return hs
}

func cells[T any](it T, cols []column[T]) []string {
	cs := make([]string, len(cols))
	for i, c := range cols {
		cs[i] = c.value(it)
	}
	return cs
}

// cleanCell keeps a value on its line and in its column: tabs and line
// breaks become spaces.
func cleanCell(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// writeCells writes one tab-separated line.
func writeCells(w io.Writer, cs []string) error {
	for i := range cs {
		cs[i] = cleanCell(cs[i])
	}
	_, err := io.WriteString(w, strings.Join(cs, "\t")+"\n")
	return err
}
