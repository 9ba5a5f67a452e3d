package osv

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Walk reads OSV records from path and calls fn with each, in a stable
// order: path may be a .json file (one record or a JSON array of
// records), a .zip archive (OSV's per-ecosystem all.zip, one record per
// member, read member by member without extracting), or a directory,
// walked recursively for .json and .zip files.
//
// A malformed record is passed to fn with Err set and never stops the
// walk. Walk returns an error only when path (or a file or archive under
// it) cannot be read, or when fn returns one, which stops the walk.
func Walk(path string, fn func(rec Record) error) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read OSV records: %w", err)
	}
	if !info.IsDir() {
		return walkFile(path, fn)
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isRecordFile(p) && !isZip(p) {
			return nil
		}
		return walkFile(p, fn)
	})
	if err != nil {
		return fmt.Errorf("walk %s: %w", path, err)
	}
	return nil
}

func isRecordFile(p string) bool { return strings.EqualFold(filepath.Ext(p), ".json") }
func isZip(p string) bool        { return strings.EqualFold(filepath.Ext(p), ".zip") }

// stopError marks an error returned by the caller's fn, so that it is
// passed through unwrapped by the readers.
type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }

func walkFile(path string, fn func(Record) error) error {
	var err error
	if isZip(path) {
		err = walkZip(path, fn)
	} else {
		var f *os.File
		f, err = os.Open(path)
		if err != nil {
			return fmt.Errorf("read OSV records: %w", err)
		}
		err = walkReader(path, f, fn)
		f.Close()
	}
	if se, ok := errors.AsType[stopError](err); ok {
		return se.err
	}
	return err
}

func walkZip(path string, fn func(Record) error) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("open zip %s: %w", path, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !isRecordFile(f.Name) {
			continue
		}
		source := path + "!" + f.Name
		if f.UncompressedSize64 > MaxRecordSize {
			if err := emit(fn, Record{Source: source, Err: fmt.Errorf("%s: %w: member of %d bytes exceeds %d",
				source, ErrMalformed, f.UncompressedSize64, MaxRecordSize)}); err != nil {
				return err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			if err := emit(fn, Record{Source: source, Err: fmt.Errorf("%s: %w", source, err)}); err != nil {
				return err
			}
			continue
		}
		err = walkReader(source, rc, fn)
		rc.Close()
		if err != nil {
			if _, stop := errors.AsType[stopError](err); stop {
				return err
			}
			// A broken member (bad compressed data, say) is that record's
			// problem, not the archive's.
			if err := emit(fn, Record{Source: source, Err: fmt.Errorf("%s: %w", source, err)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func emit(fn func(Record) error, rec Record) error {
	if err := fn(rec); err != nil {
		return stopError{err}
	}
	return nil
}

// walkReader reads one record, or streams a JSON array of records element
// by element. Errors it returns are read errors or stopError; content
// problems go to fn.
func walkReader(source string, r io.Reader, fn func(Record) error) error {
	br := bufio.NewReader(r)
	first, err := peekNonSpace(br)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read %s: %w", source, err)
	}
	if first != '[' {
		data, err := io.ReadAll(io.LimitReader(br, MaxRecordSize+1))
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		rec := Decode(data)
		rec.Source = source
		if rec.Err != nil {
			rec.Err = fmt.Errorf("%s: %w", source, rec.Err)
		}
		return emit(fn, rec)
	}
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return emit(fn, Record{Source: source, Err: fmt.Errorf("%s: %w: %w", source, ErrMalformed, err)})
	}
	for i := 0; dec.More(); i++ {
		src := fmt.Sprintf("%s[%d]", source, i)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// The array's syntax is broken: nothing after it can be
			// trusted, so report it once and stop this file.
			return emit(fn, Record{Source: src, Err: fmt.Errorf("%s: %w: %w", src, ErrMalformed, err)})
		}
		rec := Decode(raw)
		rec.Source = src
		if rec.Err != nil {
			rec.Err = fmt.Errorf("%s: %w", src, rec.Err)
		}
		if err := emit(fn, rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return emit(fn, Record{Source: source, Err: fmt.Errorf("%s: %w: %w", source, ErrMalformed, err)})
	}
	return nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
		default:
			return b[0], nil
		}
	}
}
