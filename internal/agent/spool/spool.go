// Package spool is the agent's durable on-disk event queue (issue 7).
//
// Collectors append events (one JSON document each, already carrying its
// `_id`); the sender reads the oldest unacknowledged batch with Next, posts it
// and calls Ack once the server answered 202. Events therefore survive agent
// restarts and server outages, and because a batch that was not acknowledged is
// returned again (after a crash, or on the next Next call) with the same bytes,
// the server sees the same `_id` and never counts an event twice: delivery is
// at-least-once, de-duplication is the server's job.
//
// # On-disk layout
//
// A spool directory holds numbered segment files (`00000000000000000001.seg`,
// …) and a small `meta.json`. Each segment is a sequence of records:
//
//	uint32 little-endian payload length | uint32 little-endian CRC-32C of payload | payload
//
// Only the newest segment is appended to; it is sealed (fsynced and closed)
// and a new one started once it reaches Options.SegmentBytes. meta.json holds
// the read position (segment + byte offset of the first unacknowledged record)
// and the persistent drop counter; it is replaced atomically (temp file,
// fsync, rename, directory fsync), so an acknowledgement is either fully
// durable or not at all.
//
// # Crash recovery
//
// Open scans every segment. A record whose header or payload runs past the end
// of the file, or whose length is zero or absurd, is a torn write: the segment
// is truncated there (logged), so a crash never leaves a half record visible
// and later appends start on a clean boundary. A record that is complete but
// whose CRC does not match (bit rot, a write torn inside the payload) is kept
// on disk but never returned: Next skips it and Ack counts it in Dropped, so the
// heartbeat reports it as a lost event exactly once even across restarts.
//
// # Bound
//
// The spool never holds more than Options.MaxBytes of segment files. When an
// Append would exceed it, whole oldest segments are deleted first, acknowledged
// or not, including records that the sender currently holds in an
// unacknowledged Batch: dropping simply moves the read position past the
// deleted segment. Dropped grows by the number of unacknowledged records that
// were deleted, and is persisted in meta.json so drops are reported across
// restarts. If a Batch whose records were partly dropped is later acknowledged,
// Ack only advances the position; the dropped records stay counted as dropped
// even though the server may have received them.
//
// A Spool is safe for concurrent use by any number of appenders and one
// reader (Next/Ack). A directory must be opened by one Spool at a time; the
// package does not lock it against other processes.
package spool

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultMaxBytes bounds the spool when Options.MaxBytes is zero: at
	// ~300 bytes an event it is close to a million events, hours of outage for
	// a busy host.
	DefaultMaxBytes int64 = 256 << 20
	// DefaultSegmentBytes is the segment size when Options.SegmentBytes is
	// zero: small enough that dropping one segment loses little, large enough
	// that the directory stays short (64 files at the default bound).
	DefaultSegmentBytes int64 = 4 << 20
	// DefaultSyncInterval is the group-commit period when the SyncPolicy does
	// not say otherwise.
	DefaultSyncInterval = 200 * time.Millisecond

	headerSize = 8
	// maxRecordBytes rejects absurd lengths while scanning, so a corrupted
	// header is treated as a torn tail instead of a 4 GiB allocation.
	maxRecordBytes = 64 << 20
	segmentSuffix  = ".seg"
	metaName       = "meta.json"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is returned by Append for a record that could never fit in
	// the spool (larger than MaxBytes or than the internal 64 MiB limit), and
	// ErrEmptyRecord for a zero-length one (a zero length marks a torn tail
	// on disk). Neither record is written; the others of the call are not
	// written either.
	ErrTooLarge    = errors.New("spool: record too large")
	ErrEmptyRecord = errors.New("spool: empty record")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SyncPolicy says how much an Append may lose in a power failure or kernel
// crash. A crash of the agent process alone never loses an Append that
// returned: records are written to the kernel before Append returns.
type SyncPolicy struct {
	// Always fsyncs the segment before every Append returns: nothing
	// acknowledged to a collector is ever lost, at the cost of one fsync per
	// Append call (pass many records to one call to amortise it).
	Always bool
	// Interval is the group-commit period used when Always is false: at most
	// this much of recent appends can be lost to a power failure. Zero means
	// DefaultSyncInterval. Close always syncs.
	Interval time.Duration
}

// Options tune a Spool; the zero value gives the documented defaults.
type Options struct {
	// MaxBytes bounds the total size of segment files (DefaultMaxBytes when
	// zero). Oldest segments are dropped to stay under it.
	MaxBytes int64
	// SegmentBytes is the size at which the active segment is sealed and a
	// new one started (DefaultSegmentBytes when zero). It is also the unit of
	// dropping, so it should be well below MaxBytes.
	SegmentBytes int64
	// Sync is the fsync policy of Append.
	Sync SyncPolicy
	// Logger receives recovery and drop warnings; nil discards them.
	Logger *slog.Logger
}

// Stats is a snapshot of the spool for heartbeats and metrics.
type Stats struct {
	// PendingRecords is the number of unacknowledged, readable records.
	PendingRecords int64
	// PendingBytes is the on-disk size (headers included) of everything
	// after the read position.
	PendingBytes int64
	// Dropped counts records lost since the spool directory was created:
	// unacknowledged records deleted to respect MaxBytes, and corrupt
	// records skipped by Next once acknowledged past. It survives restarts.
	Dropped int64
	// Segments is the number of segment files, the active one included.
	Segments int
}

// position is the byte offset of a record boundary in a segment.
type position struct {
	Seg uint64 `json:"readSegment"`
	Off int64  `json:"readOffset"`
}

func (p position) less(q position) bool {
	return p.Seg < q.Seg || (p.Seg == q.Seg && p.Off < q.Off)
}

// Batch is a run of the oldest unacknowledged records returned by Next. Pass
// it back to Ack once the server accepted it.
type Batch struct {
	// Records are the payloads in append order. They are fresh copies owned
	// by the caller.
	Records [][]byte

	start, end position
	// consumed is how many valid records of each segment the batch covers,
	// so Ack can keep per-segment pending counts exact.
	consumed map[uint64]int64
	// corrupt counts CRC-failed records skipped inside the batch's range;
	// Ack adds them to Dropped so they are counted once.
	corrupt int64
}

// Len is the number of records in the batch.
func (b Batch) Len() int { return len(b.Records) }

type segment struct {
	seq      uint64
	size     int64 // bytes of valid (complete) records on disk
	records  int64 // complete records with a valid CRC
	consumed int64 // valid records before the read position
}

type meta struct {
	position
	Dropped int64 `json:"dropped"`
}

// Spool is an open spool directory. Create it with Open.
type Spool struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	segs    []*segment // oldest first; the last one is active
	active  *os.File
	read    position
	dropped int64
	dirty   bool // appended since the last fsync

	notify chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

// Open opens (creating if needed) the spool in dir, recovers it from a crash
// (see the package comment) and starts the group-commit loop.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.SegmentBytes > opts.MaxBytes {
		opts.SegmentBytes = opts.MaxBytes
	}
	if opts.Sync.Interval <= 0 {
		opts.Sync.Interval = DefaultSyncInterval
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &Spool{
		dir:    dir,
		opts:   opts,
		log:    logger.With("spool", dir),
		notify: make(chan struct{}, 1),
	}
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	if !opts.Sync.Always {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.syncLoop()
	}
	if s.pendingRecordsLocked() > 0 {
		s.signal()
	}
	return s, nil
}

func (s *Spool) recover() error {
	m, err := s.readMeta()
	if err != nil {
		return err
	}
	s.dropped = m.Dropped
	s.read = m.position

	seqs, err := s.listSegments()
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		if seq < s.read.Seg {
			// Acknowledged or dropped, but the crash came between meta.json
			// and the delete.
			if err := os.Remove(s.segPath(seq)); err != nil {
				return fmt.Errorf("remove acknowledged segment: %w", err)
			}
			continue
		}
		seg, err := s.scan(seq)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, seg)
	}

	switch {
	case len(s.segs) == 0:
		// Fresh directory, or everything deleted: continue the numbering so
		// a stale meta.json position never points into a new segment.
		seq := max(s.read.Seg, 1)
		if err := s.createSegment(seq); err != nil {
			return err
		}
		s.read = position{Seg: seq}
	case s.segs[0].seq > s.read.Seg:
		// The read segment was deleted (dropped) before meta.json caught up.
		s.read = position{Seg: s.segs[0].seq}
	}
	if s.segs[0].seq == s.read.Seg && s.read.Off > 0 {
		if err := s.countConsumed(s.segs[0]); err != nil {
			return err
		}
	}
	if s.active == nil {
		last := s.segs[len(s.segs)-1]
		f, err := os.OpenFile(s.segPath(last.seq), os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open active segment: %w", err)
		}
		s.active = f
	}
	return s.writeMeta()
}

// scan validates one segment, truncating a torn tail.
func (s *Spool) scan(seq uint64) (*segment, error) {
	path := s.segPath(seq)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("scan segment: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("scan segment: %w", err)
	}
	seg := &segment{seq: seq}
	var corrupt int64
	err = walk(f, info.Size(), func(off int64, payload []byte, ok bool) bool {
		if ok {
			seg.records++
		} else {
			corrupt++
		}
		return true
	}, func(off int64) { seg.size = off })
	if err != nil {
		return nil, fmt.Errorf("scan segment %s: %w", path, err)
	}
	if seg.size < info.Size() {
		s.log.Warn("truncating torn spool segment tail",
			"segment", filepath.Base(path), "validBytes", seg.size, "fileBytes", info.Size())
		if err := f.Truncate(seg.size); err != nil {
			return nil, fmt.Errorf("truncate torn segment: %w", err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("sync truncated segment: %w", err)
		}
	}
	if corrupt > 0 {
		s.log.Warn("spool segment has records with a bad checksum; they will be skipped and counted as dropped",
			"segment", filepath.Base(path), "corrupt", corrupt)
	}
	return seg, nil
}

// walk reads the records of f from offset 0 up to size, calling fn for each
// complete record (ok=false when its CRC does not match) until fn returns
// false, and end with the offset just past the last complete record (the
// torn-tail boundary) when it stops.
func walk(f *os.File, size int64, fn func(off int64, payload []byte, ok bool) bool, end func(off int64)) error {
	return walkFrom(f, 0, size, fn, end)
}

func walkFrom(f *os.File, from, size int64, fn func(off int64, payload []byte, ok bool) bool, end func(off int64)) error {
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, size-from), 64<<10)
	off := from
	var hdr [headerSize]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				end(off)
				return nil
			}
			return err
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		if n == 0 || n > maxRecordBytes || off+headerSize+n > size {
			end(off)
			return nil
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if !fn(off, buf, crc32.Checksum(buf, castagnoli) == sum) {
			end(off)
			return nil
		}
		off += headerSize + n
	}
}

// countConsumed sets seg.consumed to the valid records before the read
// offset, moving the offset to a record boundary if meta.json disagrees with
// the (possibly truncated) segment.
func (s *Spool) countConsumed(seg *segment) error {
	f, err := os.Open(s.segPath(seg.seq))
	if err != nil {
		return fmt.Errorf("open read segment: %w", err)
	}
	defer f.Close()
	var consumed int64
	boundary := int64(0)
	err = walk(f, seg.size, func(off int64, _ []byte, ok bool) bool {
		if off >= s.read.Off {
			return false
		}
		if ok {
			consumed++
		}
		return true
	}, func(off int64) { boundary = off })
	if err != nil {
		return fmt.Errorf("count acknowledged records: %w", err)
	}
	if boundary != s.read.Off {
		s.log.Warn("spool read position was not on a record boundary; moved",
			"from", s.read.Off, "to", boundary)
		s.read.Off = boundary
	}
	seg.consumed = consumed
	return nil
}

// Append writes records to the spool, each atomically (see the package
// comment), dropping oldest segments first if MaxBytes would be exceeded.
// With SyncPolicy.Always the records are on stable storage when it returns;
// otherwise they are in the kernel and reach the disk at the next group
// commit. Records are copied; the caller may reuse them.
func (s *Spool) Append(records ...[]byte) error {
	for _, r := range records {
		if len(r) == 0 {
			return ErrEmptyRecord
		}
		if n := int64(len(r)) + headerSize; n > s.opts.MaxBytes || len(r) > maxRecordBytes {
			return fmt.Errorf("append %d-byte record: %w", len(r), ErrTooLarge)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	buf := make([]byte, 0, 4096)
	for len(records) > 0 {
		// Take as many records as fit in the active segment (at least one:
		// an oversized record gets a segment of its own).
		act := s.segs[len(s.segs)-1]
		room := s.opts.SegmentBytes - act.size
		n, size := 0, int64(0)
		for _, r := range records {
			rs := int64(len(r)) + headerSize
			if n > 0 && (size+rs > room || size+rs > s.opts.MaxBytes) {
				break
			}
			n++
			size += rs
		}
		if act.size > 0 && size > room {
			if err := s.rotate(); err != nil {
				return err
			}
			continue
		}
		if err := s.makeRoom(size); err != nil {
			return err
		}
		act = s.segs[len(s.segs)-1]
		buf = buf[:0]
		for _, r := range records[:n] {
			var hdr [headerSize]byte
			binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(r)))
			binary.LittleEndian.PutUint32(hdr[4:8], crc32.Checksum(r, castagnoli))
			buf = append(buf, hdr[:]...)
			buf = append(buf, r...)
		}
		if _, err := s.active.Write(buf); err != nil {
			// A partial write leaves a torn tail that the file now ends
			// with; cut it so later appends stay readable.
			if terr := s.active.Truncate(act.size); terr != nil {
				s.log.Error("cannot truncate failed spool append", "err", terr)
			}
			return fmt.Errorf("append to spool: %w", err)
		}
		act.size += size
		act.records += int64(n)
		s.dirty = true
		records = records[n:]
	}
	if s.opts.Sync.Always {
		if err := s.active.Sync(); err != nil {
			return fmt.Errorf("sync spool: %w", err)
		}
		s.dirty = false
	}
	s.signal()
	return nil
}

// makeRoom drops oldest segments until size more bytes fit under MaxBytes.
func (s *Spool) makeRoom(size int64) error {
	for s.totalBytesLocked()+size > s.opts.MaxBytes {
		if len(s.segs) == 1 {
			// Only the active segment is left: seal it so it can go.
			if err := s.rotate(); err != nil {
				return err
			}
		}
		old := s.segs[0]
		lost := old.records - old.consumed
		s.dropped += lost
		s.segs = s.segs[1:]
		if s.read.less(position{Seg: s.segs[0].seq}) {
			s.read = position{Seg: s.segs[0].seq}
		}
		// meta.json first: a crash before the delete only leaves a file that
		// Open removes, never a drop counted twice.
		if err := s.writeMeta(); err != nil {
			return err
		}
		if err := os.Remove(s.segPath(old.seq)); err != nil {
			return fmt.Errorf("drop spool segment: %w", err)
		}
		s.log.Warn("spool full; dropped oldest segment",
			"segment", old.seq, "droppedRecords", lost, "droppedTotal", s.dropped)
	}
	return nil
}

// rotate seals the active segment and starts the next one.
func (s *Spool) rotate() error {
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("seal spool segment: %w", err)
	}
	if err := s.active.Close(); err != nil {
		return fmt.Errorf("seal spool segment: %w", err)
	}
	s.active = nil
	s.dirty = false
	return s.createSegment(s.segs[len(s.segs)-1].seq + 1)
}

func (s *Spool) createSegment(seq uint64) error {
	f, err := os.OpenFile(s.segPath(seq), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.active = f
	s.segs = append(s.segs, &segment{seq: seq})
	return nil
}

// Notify returns a channel that receives a value when records were appended
// (or, right after Open, when records are pending). It is buffered with one
// slot, so a wake-up is never lost but several appends may collapse into one:
// the sender should call Next until it returns an empty Batch.
func (s *Spool) Notify() <-chan struct{} { return s.notify }

func (s *Spool) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next returns the oldest unacknowledged records, at most max of them and at
// most maxBytes of payload (maxBytes <= 0: no byte limit; a single record
// larger than maxBytes is still returned alone, so the sender never stalls).
// It does not remove them: until Ack, every call returns the same batch (plus
// any records appended since, if the limits allow), and after a restart they
// are returned again. An empty Batch means nothing is pending. Records whose
// CRC does not match are skipped (see the package comment).
func (s *Spool) Next(max int, maxBytes int) (Batch, error) {
	if max < 1 {
		return Batch{}, fmt.Errorf("spool next: max %d must be at least 1", max)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Batch{}, ErrClosed
	}
	b := Batch{start: s.read, end: s.read, consumed: map[uint64]int64{}}
	var payload int64
	full := false
	for _, seg := range s.segs {
		if full || seg.seq < s.read.Seg {
			continue
		}
		from := int64(0)
		if seg.seq == s.read.Seg {
			from = s.read.Off
		}
		if from >= seg.size {
			continue
		}
		f, err := os.Open(s.segPath(seg.seq))
		if err != nil {
			return Batch{}, fmt.Errorf("spool next: %w", err)
		}
		err = walkFrom(f, from, seg.size, func(off int64, rec []byte, ok bool) bool {
			if ok {
				if len(b.Records) >= max ||
					(maxBytes > 0 && len(b.Records) > 0 && payload+int64(len(rec)) > int64(maxBytes)) {
					full = true
					return false
				}
				b.Records = append(b.Records, append([]byte(nil), rec...))
				payload += int64(len(rec))
				b.consumed[seg.seq]++
			} else {
				b.corrupt++
			}
			b.end = position{Seg: seg.seq, Off: off + headerSize + int64(len(rec))}
			return true
		}, func(int64) {})
		f.Close()
		if err != nil {
			return Batch{}, fmt.Errorf("spool next: read segment %d: %w", seg.seq, err)
		}
	}
	if len(b.Records) == 0 {
		// Only corrupt records pending: they are counted when a later batch
		// moves past them.
		return Batch{}, nil
	}
	return b, nil
}

// Ack marks b as delivered: the read position moves past it durably
// (meta.json is replaced atomically before Ack returns) and segments that are
// now fully acknowledged are deleted. Acknowledging an empty, already
// acknowledged or partly dropped batch is safe: the position never moves
// backwards and records are never counted twice.
func (s *Spool) Ack(b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.read.less(b.end) {
		return nil
	}
	if b.start == s.read {
		// The usual case: the batch starts at the read position, so its
		// per-segment counts apply as they are.
		for _, seg := range s.segs {
			seg.consumed = min(seg.consumed+b.consumed[seg.seq], seg.records)
		}
		if b.corrupt > 0 {
			s.dropped += b.corrupt
			s.log.Warn("skipped corrupt spool records", "count", b.corrupt, "droppedTotal", s.dropped)
		}
		s.read = b.end
	} else {
		// Out of order (an older, shorter batch was acknowledged first) or
		// partly dropped: recount from disk instead of trusting the counts.
		s.read = b.end
		for _, seg := range s.segs {
			switch {
			case seg.seq < s.read.Seg:
				seg.consumed = seg.records
			case seg.seq == s.read.Seg:
				if err := s.countConsumed(seg); err != nil {
					return fmt.Errorf("spool ack: %w", err)
				}
			}
		}
	}
	// Move to the start of the next segment when a sealed one is done, so it
	// can be deleted.
	var done []uint64
	for len(s.segs) > 1 && s.segs[0].seq <= s.read.Seg {
		first := s.segs[0]
		if first.seq == s.read.Seg && s.read.Off < first.size {
			break
		}
		done = append(done, first.seq)
		s.segs = s.segs[1:]
		if s.read.less(position{Seg: s.segs[0].seq}) {
			s.read = position{Seg: s.segs[0].seq}
		}
	}
	if err := s.writeMeta(); err != nil {
		return err
	}
	for _, seq := range done {
		if err := os.Remove(s.segPath(seq)); err != nil {
			return fmt.Errorf("delete acknowledged segment: %w", err)
		}
	}
	return nil
}

// Dropped is the persistent count of lost records (see Stats.Dropped).
func (s *Spool) Dropped() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Stats returns a snapshot for heartbeats.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	pendingBytes := s.totalBytesLocked()
	if len(s.segs) > 0 && s.segs[0].seq == s.read.Seg {
		pendingBytes -= s.read.Off
	}
	return Stats{
		PendingRecords: s.pendingRecordsLocked(),
		PendingBytes:   pendingBytes,
		Dropped:        s.dropped,
		Segments:       len(s.segs),
	}
}

func (s *Spool) pendingRecordsLocked() int64 {
	var n int64
	for _, seg := range s.segs {
		n += seg.records - seg.consumed
	}
	return n
}

func (s *Spool) totalBytesLocked() int64 {
	var n int64
	for _, seg := range s.segs {
		n += seg.size
	}
	return n
}

// Close syncs and closes the active segment and stops the group-commit loop.
// Pending records stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.active.Sync()
	if cerr := s.active.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}

// syncLoop is the group commit: one fsync per interval covers every append
// made during it.
func (s *Spool) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.Sync.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		if s.closed || !s.dirty {
			s.mu.Unlock()
			continue
		}
		// fsync outside the lock so appenders are not held up; a rotation
		// meanwhile syncs and closes the file itself.
		f := s.active
		s.dirty = false
		s.mu.Unlock()
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			s.log.Error("spool group commit failed", "err", err)
			s.mu.Lock()
			s.dirty = true
			s.mu.Unlock()
		}
	}
}

func (s *Spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segmentSuffix))
}

func (s *Spool) listSegments() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list spool: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

func (s *Spool) readMeta() (meta, error) {
	var m meta
	data, err := os.ReadFile(filepath.Join(s.dir, metaName))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read spool meta: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("parse spool meta: %w", err)
	}
	return m, nil
}

// writeMeta replaces meta.json atomically and durably.
func (s *Spool) writeMeta() error {
	data, err := json.Marshal(meta{position: s.read, Dropped: s.dropped})
	if err != nil {
		return fmt.Errorf("encode spool meta: %w", err)
	}
	tmp := filepath.Join(s.dir, metaName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write spool meta: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write spool meta: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, metaName)); err != nil {
		return fmt.Errorf("write spool meta: %w", err)
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	return nil
}
