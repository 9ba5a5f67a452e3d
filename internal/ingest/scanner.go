package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

const (
	readBufSize = 32 << 10
	// hardMaxDepth is where nesting stops being an event's problem and
	// becomes the body's: encoding/json's own limit, so that both agree on
	// what is valid JSON. Events deeper than Limits.MaxDepth are rejected
	// long before this.
	hardMaxDepth = 10000
	// maxTimestamp is 9999-12-31T23:59:59.999Z in epoch milliseconds.
	maxTimestamp = 253402300799999
	maxTypeLen   = 64
	uuidLen      = 36
)

// syntaxError is invalid JSON at a byte offset of the decompressed body.
type syntaxError struct {
	off int64
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// topKey names the top-level keys Decode validates.
type topKey uint8

const (
	keyOther topKey = iota
	keyID
	keyType
	keyTimestamp
)

var topKeyNames = [...]string{keyID: "_id", keyType: "event_type", keyTimestamp: "timestamp"}

// strPlain flags the bytes a JSON string holds as they are: printable
// ASCII except the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

var replacementChar = []byte(string(utf8.RuneError))

// SWAR constants: flag bytes of a little-endian word. The lowest flagged
// byte is always exact (borrows only carry upwards), which is all
// plainPrefix needs.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

func swarZero(w uint64) uint64 { return (w - swarLo) &^ w & swarHi }

// plainPrefix returns how many leading bytes of b a string holds as they
// are (strPlain), eight at a time while it can.
func plainPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		m := w&swarHi | (w-swarLo*0x20)&^w&swarHi | swarZero(w^swarLo*'"') | swarZero(w^swarLo*'\\')
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	return i
}

// scanner is a single-pass streaming JSON parser over the decompressed
// body. It validates every record and writes its compact form to out,
// which the batch's arena then keeps for the events that pass.
type scanner struct {
	src      io.Reader
	buf      []byte
	pos, end int
	base     int64 // body offset of buf[0]
	err      error // sticky: io.EOF at the end of the body
	line     bool  // NDJSON: a newline ends the record
	lim      Limits
	maxOut   int // lim.MaxEventBytes
	// hardDepth is hardMaxDepth less the levels around an event: the
	// array of an array body.
	hardDepth int

	// The current record.
	out       []byte
	discard   bool   // stop writing out: the record is rejected already
	reason    string // the first reason to reject it
	seen      [len(topKeyNames)]bool
	idOff     int // offset in out of the lower-cased _id
	typ       string
	ts        int64
	lineStart int64 // NDJSON: body offset of the current line

	ids   map[string]int // kept ids → index
	arena arena
}

func newScanner(src io.Reader, lim Limits) *scanner {
	return &scanner{src: src, buf: make([]byte, readBufSize), lim: lim, maxOut: int(lim.MaxEventBytes), hardDepth: hardMaxDepth}
}

// decode detects the body's shape and decodes it.
func (s *scanner) decode() (*Batch, error) {
	if s.ensure(3) && bytes.Equal(s.buf[s.pos:s.pos+3], []byte("\xef\xbb\xbf")) {
		s.pos += 3
	}
	s.skipWS()
	if !s.more() {
		if err := s.readErr(); err != nil {
			return nil, err
		}
		return nil, aip.Errorf(aip.EINVALID, "the body is empty: send a JSON array of events or NDJSON")
	}
	b := &Batch{}
	var err error
	switch c := s.buf[s.pos]; c {
	case '[':
		s.hardDepth--
		err = s.arrayBody(b)
	case '{':
		s.line = true
		s.lineStart = s.offset()
		err = s.lines(b)
	default:
		hint := ""
		if c == 0x1f {
			hint = " (gzip data sent without Content-Encoding: gzip?)"
		}
		return nil, aip.Errorf(aip.EINVALID, "the body is neither a JSON array nor NDJSON: it starts with %s%s", describe(c), hint)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (s *scanner) tooMany() error {
	return aip.Errorf(aip.ETOOLARGE, "the batch has more than %d events", s.lim.MaxEvents)
}

// arrayBody decodes a JSON array of events; a syntax error anywhere fails
// the whole body, as no element after it can be located reliably.
func (s *scanner) arrayBody(b *Batch) error {
	s.pos++
	s.skipWS()
	if !s.more() {
		return s.unexpected("an event or ']'")
	}
	if s.buf[s.pos] == ']' {
		s.pos++
		return s.trailing()
	}
	for idx := 0; ; idx++ {
		if idx >= s.lim.MaxEvents {
			return s.tooMany()
		}
		if err := s.record(); err != nil {
			return err
		}
		s.finish(idx, b)
		s.skipWS()
		if !s.more() {
			return s.unexpected("',' or ']'")
		}
		switch s.buf[s.pos] {
		case ',':
			s.pos++
			s.skipWS()
		case ']':
			s.pos++
			return s.trailing()
		default:
			return s.unexpected("',' or ']'")
		}
	}
}

// trailing accepts only whitespace after the array. Reading to the end
// also makes gzip verify its checksum.
func (s *scanner) trailing() error {
	s.skipWS()
	if s.more() {
		return s.syntaxf("unexpected %s after the JSON array", describe(s.buf[s.pos]))
	}
	return s.readErr()
}

// lines decodes NDJSON: a syntax error rejects its line only.
func (s *scanner) lines(b *Batch) error {
	for idx := 0; ; idx++ {
		for s.more() {
			c := s.buf[s.pos]
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				break
			}
			s.pos++
			if c == '\n' {
				s.lineStart = s.offset()
			}
		}
		if !s.more() {
			return s.readErr()
		}
		if idx >= s.lim.MaxEvents {
			return s.tooMany()
		}
		err := s.record()
		if err == nil {
			s.skipWS()
			if s.more() && s.buf[s.pos] != '\n' {
				err = s.syntaxf("unexpected %s after the event", describe(s.buf[s.pos]))
			}
		}
		if err == nil {
			s.finish(idx, b)
			continue
		}
		var se *syntaxError
		if !errors.As(err, &se) {
			return err
		}
		b.Rejected = append(b.Rejected, Rejection{Index: idx,
			Error: fmt.Sprintf("invalid JSON at column %d: %s", se.off-s.lineStart+1, se.msg)})
		if err := s.skipLine(); err != nil {
			return err
		}
	}
}

// skipLine discards the rest of the current line and its newline.
func (s *scanner) skipLine() error {
	for s.more() {
		if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
			s.pos += i + 1
			s.lineStart = s.offset()
			return nil
		}
		s.pos = s.end
	}
	return s.readErr()
}

// record parses one event and leaves its verdict in s.reason.
func (s *scanner) record() error {
	s.out = s.out[:0]
	s.discard, s.reason, s.seen = false, "", [len(topKeyNames)]bool{}
	s.idOff, s.typ, s.ts = -1, "", 0
	if !s.more() {
		return s.unexpected("an event")
	}
	if c := s.buf[s.pos]; c != '{' {
		s.reject("event is " + kindOf(c) + ", not a JSON object")
		s.discard = true
		return s.value(0)
	}
	return s.object(1, true)
}

// finish keeps the record just parsed or rejects it.
func (s *scanner) finish(idx int, b *Batch) {
	if s.reason == "" {
		switch {
		case !s.seen[keyID]:
			s.reason = "event has no _id"
		case !s.seen[keyType]:
			s.reason = "event has no event_type"
		}
	}
	if s.reason == "" {
		idb := s.out[s.idOff : s.idOff+uuidLen]
		if first, dup := s.ids[string(idb)]; dup {
			s.reason = fmt.Sprintf("duplicate _id %s: the event at index %d has it already", idb, first)
		}
	}
	if s.reason != "" {
		b.Rejected = append(b.Rejected, Rejection{Index: idx, Error: s.reason})
		return
	}
	id := string(s.out[s.idOff : s.idOff+uuidLen])
	if s.ids == nil {
		s.ids = make(map[string]int)
	}
	s.ids[id] = idx
	b.Events = append(b.Events, Event{Index: idx, ID: id, Type: s.typ, Timestamp: s.ts, Raw: s.arena.add(s.out)})
}

func (s *scanner) reject(reason string) {
	if s.reason == "" {
		s.reason = reason
	}
}

// ---- reading

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// more reports whether a byte is available at s.pos, reading if needed.
func (s *scanner) more() bool {
	if s.pos < s.end {
		return true
	}
	return s.fill()
}

// fill is kept out of line so that more inlines.
//
//go:noinline
func (s *scanner) fill() bool {
	s.base += int64(s.end)
	s.pos, s.end = 0, 0
	return s.read(1)
}

// ensure makes n bytes available from s.pos when the body has them.
func (s *scanner) ensure(n int) bool {
	if s.end-s.pos >= n {
		return true
	}
	if s.pos > 0 {
		copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.end -= s.pos
		s.pos = 0
	}
	return s.read(n)
}

// read reads into the free end of buf until n bytes are buffered, the
// body ends or reading fails.
func (s *scanner) read(n int) bool {
	for empty := 0; s.end-s.pos < n && s.err == nil; {
		m, err := s.src.Read(s.buf[s.end:])
		s.end += m
		if err != nil {
			s.err = err
		} else if m == 0 {
			if empty++; empty == 100 {
				s.err = io.ErrNoProgress
			}
		}
	}
	return s.end-s.pos >= n
}

// readErr is the error that ended the body, nil for its normal end.
func (s *scanner) readErr() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

func (s *scanner) syntaxf(format string, args ...any) error {
	return &syntaxError{off: s.offset(), msg: fmt.Sprintf(format, args...)}
}

// unexpected reports what stands at s.pos where want was expected: a read
// error, the end of the body, the end of an NDJSON line, or a byte.
func (s *scanner) unexpected(want string) error {
	if !s.more() {
		if err := s.readErr(); err != nil {
			return err
		}
		return s.syntaxf("unexpected end of the body, expected %s", want)
	}
	c := s.buf[s.pos]
	if c == '\n' && s.line {
		return s.syntaxf("unexpected end of line, expected %s (NDJSON events must each be on one line)", want)
	}
	return s.syntaxf("unexpected %s, expected %s", describe(c), want)
}

// describe names a byte for an error message.
func describe(c byte) string {
	if c > 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func kindOf(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return "a number"
}

// ---- writing

// emit appends to the record's compact text; the checks are small enough
// for emit and emitByte to inline, the rest is in emitSlow.
func (s *scanner) emit(b []byte) {
	if !s.discard && len(s.out)+len(b) <= s.maxOut {
		s.out = append(s.out, b...)
		return
	}
	s.emitSlow()
}

func (s *scanner) emitByte(c byte) {
	if !s.discard && len(s.out) < s.maxOut {
		s.out = append(s.out, c)
		return
	}
	s.emitSlow()
}

// emitSlow handles a write that does not fit: the record becomes too big.
func (s *scanner) emitSlow() {
	if s.discard {
		return
	}
	s.discard = true
	s.reject(fmt.Sprintf("event is larger than %d bytes", s.lim.MaxEventBytes))
}

// ---- grammar

// skipWS skips JSON whitespace, except an NDJSON line's newline.
func (s *scanner) skipWS() {
	for s.more() {
		switch s.buf[s.pos] {
		case ' ', '\t', '\r':
			s.pos++
		case '\n':
			if s.line {
				return
			}
			s.pos++
		default:
			return
		}
	}
}

// value parses any value inside a container of nesting depth.
func (s *scanner) value(depth int) error {
	if !s.more() {
		return s.unexpected("a value")
	}
	switch c := s.buf[s.pos]; {
	case c == '{':
		return s.object(depth+1, false)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || isDigit(c):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.unexpected("a value")
}

// enter checks the depth of a container about to be parsed.
func (s *scanner) enter(depth int) error {
	if depth > s.hardDepth {
		return s.syntaxf("nesting deeper than %d levels", hardMaxDepth)
	}
	if depth > s.lim.MaxDepth && s.reason == "" {
		s.reject(fmt.Sprintf("event nests deeper than %d levels", s.lim.MaxDepth))
	}
	return nil
}

// object parses the object at s.pos; top marks the event object itself,
// whose _id, event_type and timestamp are validated.
func (s *scanner) object(depth int, top bool) error {
	if err := s.enter(depth); err != nil {
		return err
	}
	s.pos++
	s.emitByte('{')
	s.skipWS()
	if !s.more() {
		return s.unexpected("a quoted key or '}'")
	}
	if s.buf[s.pos] == '}' {
		s.pos++
		s.emitByte('}')
		return nil
	}
	for {
		if !s.more() || s.buf[s.pos] != '"' {
			return s.unexpected("a quoted key")
		}
		start := len(s.out)
		escaped, err := s.str()
		if err != nil {
			return err
		}
		key := keyOther
		if top && !s.discard {
			key = topKeyOf(s.out[start:], escaped)
		}
		s.skipWS()
		if !s.more() || s.buf[s.pos] != ':' {
			return s.unexpected("':'")
		}
		s.pos++
		s.emitByte(':')
		s.skipWS()
		if key != keyOther && s.seen[key] {
			s.reject(fmt.Sprintf("duplicate key %q", topKeyNames[key]))
			key = keyOther
		}
		switch key {
		case keyID:
			err = s.idValue(depth)
		case keyType:
			err = s.typeValue(depth)
		case keyTimestamp:
			err = s.timestampValue(depth)
		default:
			err = s.value(depth)
		}
		if err != nil {
			return err
		}
		s.skipWS()
		if !s.more() {
			return s.unexpected("',' or '}'")
		}
		switch s.buf[s.pos] {
		case ',':
			s.pos++
			s.emitByte(',')
			s.skipWS()
		case '}':
			s.pos++
			s.emitByte('}')
			return nil
		default:
			return s.unexpected("',' or '}'")
		}
	}
}

func (s *scanner) array(depth int) error {
	if err := s.enter(depth); err != nil {
		return err
	}
	s.pos++
	s.emitByte('[')
	s.skipWS()
	if !s.more() {
		return s.unexpected("a value or ']'")
	}
	if s.buf[s.pos] == ']' {
		s.pos++
		s.emitByte(']')
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipWS()
		if !s.more() {
			return s.unexpected("',' or ']'")
		}
		switch s.buf[s.pos] {
		case ',':
			s.pos++
			s.emitByte(',')
			s.skipWS()
		case ']':
			s.pos++
			s.emitByte(']')
			return nil
		default:
			return s.unexpected("',' or ']'")
		}
	}
}

// str parses the string at s.pos (its opening quote) and reports whether
// it had escapes. Escapes are kept as written; invalid UTF-8 becomes
// U+FFFD.
func (s *scanner) str() (escaped bool, err error) {
	s.pos++
	s.emitByte('"')
	for {
		if !s.more() {
			return escaped, s.unexpected("'\"' closing the string")
		}
		chunk := s.buf[s.pos:s.end]
		i := plainPrefix(chunk)
		if i > 0 {
			s.emit(chunk[:i])
			s.pos += i
		}
		if i == len(chunk) {
			continue
		}
		switch c := chunk[i]; {
		case c == '"':
			s.pos++
			s.emitByte('"')
			return escaped, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return escaped, err
			}
		case c < 0x20:
			if c == '\n' && s.line {
				return escaped, s.syntaxf("unexpected end of line inside a string (NDJSON events must each be on one line)")
			}
			return escaped, s.syntaxf("control character %s in a string", describe(c))
		default:
			s.ensure(utf8.UTFMax)
			r, size := utf8.DecodeRune(s.buf[s.pos:s.end])
			if r == utf8.RuneError && size <= 1 {
				s.emit(replacementChar)
				s.pos++
			} else {
				s.emit(s.buf[s.pos : s.pos+size])
				s.pos += size
			}
		}
	}
}

// escape parses the escape sequence whose backslash is at s.pos.
func (s *scanner) escape() error {
	s.pos++
	if !s.more() {
		return s.unexpected("an escape character")
	}
	var seq [6]byte
	seq[0], seq[1] = '\\', s.buf[s.pos]
	switch seq[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		s.emit(seq[:2])
		return nil
	case 'u':
		s.pos++
		for i := 2; i < 6; i++ {
			if !s.more() || !isHex(s.buf[s.pos]) {
				return s.unexpected("a hex digit of a \\u escape")
			}
			seq[i] = s.buf[s.pos]
			s.pos++
		}
		s.emit(seq[:])
		return nil
	}
	return s.syntaxf("invalid escape \\%s in a string", describe(seq[1]))
}

func (s *scanner) number() error {
	if s.buf[s.pos] == '-' {
		s.pos++
		s.emitByte('-')
	}
	if !s.more() || !isDigit(s.buf[s.pos]) {
		return s.unexpected("a digit")
	}
	if s.buf[s.pos] == '0' {
		s.pos++
		s.emitByte('0')
	} else {
		s.digits()
	}
	if s.more() && s.buf[s.pos] == '.' {
		s.pos++
		s.emitByte('.')
		if s.digits() == 0 {
			return s.unexpected("a digit after '.'")
		}
	}
	if s.more() && (s.buf[s.pos] == 'e' || s.buf[s.pos] == 'E') {
		s.emitByte(s.buf[s.pos])
		s.pos++
		if s.more() && (s.buf[s.pos] == '+' || s.buf[s.pos] == '-') {
			s.emitByte(s.buf[s.pos])
			s.pos++
		}
		if s.digits() == 0 {
			return s.unexpected("a digit in the exponent")
		}
	}
	return nil
}

// digits consumes a run of digits and returns its length.
func (s *scanner) digits() int {
	n := 0
	for s.more() {
		chunk := s.buf[s.pos:s.end]
		i := 0
		for i < len(chunk) && isDigit(chunk[i]) {
			i++
		}
		s.emit(chunk[:i])
		s.pos += i
		n += i
		if i < len(chunk) {
			break
		}
	}
	return n
}

func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if !s.more() || s.buf[s.pos] != word[i] {
			return s.unexpected(strconv.Quote(word))
		}
		s.pos++
	}
	for i := 0; i < len(word); i++ {
		s.emitByte(word[i])
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// ---- the validated top-level fields

// topKeyOf identifies a top-level key from its JSON text (quotes
// included), unescaping it first when it has escapes, as every JSON reader
// of the stored event will.
func topKeyOf(quoted []byte, escaped bool) topKey {
	name := quoted[1 : len(quoted)-1]
	if escaped {
		var k string
		if json.Unmarshal(quoted, &k) != nil {
			return keyOther
		}
		name = []byte(k)
	}
	switch string(name) {
	case "_id":
		return keyID
	case "event_type":
		return keyType
	case "timestamp":
		return keyTimestamp
	}
	return keyOther
}

// stringValue parses a string value of a validated key and returns its
// content, unescaped, or ok false when the value is not a string (then
// parsed and rejected with notString) or the record is rejected already.
func (s *scanner) stringValue(depth int, notString string) (content []byte, start int, ok bool, err error) {
	if !s.more() {
		return nil, 0, false, s.unexpected("a value")
	}
	if s.buf[s.pos] != '"' {
		s.reject(notString)
		return nil, 0, false, s.value(depth)
	}
	start = len(s.out)
	escaped, err := s.str()
	if err != nil || s.discard {
		return nil, 0, false, err
	}
	content = s.out[start+1 : len(s.out)-1]
	if escaped {
		var v string
		if json.Unmarshal(s.out[start:], &v) != nil {
			// Cannot happen for a string str accepted; reject rather than
			// keep an event whose field was not validated.
			s.reject(notString)
			return nil, 0, false, nil
		}
		content = []byte(v)
	}
	return content, start, true, nil
}

func (s *scanner) idValue(depth int) error {
	s.seen[keyID] = true
	id, start, ok, err := s.stringValue(depth, "_id must be a string")
	if !ok {
		return err
	}
	var canon [uuidLen]byte
	switch {
	case !parseUUID(id, &canon):
		s.reject(fmt.Sprintf("_id %s is not a UUID", quoteShort(id)))
		return nil
	case string(canon[:]) == "00000000-0000-0000-0000-000000000000":
		s.reject("_id is the nil UUID")
		return nil
	}
	// Rewritten in canonical form; it is never longer than what was sent.
	s.out = append(s.out[:start], '"')
	s.idOff = len(s.out)
	s.out = append(s.out, canon[:]...)
	s.out = append(s.out, '"')
	return nil
}

func (s *scanner) typeValue(depth int) error {
	s.seen[keyType] = true
	t, start, ok, err := s.stringValue(depth, "event_type must be a string")
	if !ok {
		return err
	}
	if !validType(t) {
		s.reject(fmt.Sprintf("event_type %s is invalid: expected 1 to %d lower-case letters, digits or '_', starting with a letter",
			quoteShort(t), maxTypeLen))
		return nil
	}
	s.typ = internType(t)
	s.out = append(s.out[:start], '"')
	s.out = append(s.out, s.typ...)
	s.out = append(s.out, '"')
	return nil
}

func (s *scanner) timestampValue(depth int) error {
	s.seen[keyTimestamp] = true
	if !s.more() {
		return s.unexpected("a value")
	}
	c := s.buf[s.pos]
	if c == 'n' {
		return s.literal("null")
	}
	if c != '-' && !isDigit(c) {
		s.reject("timestamp must be a number (epoch milliseconds)")
		return s.value(depth)
	}
	start := len(s.out)
	if err := s.number(); err != nil || s.discard {
		return err
	}
	text := s.out[start:]
	if bytes.ContainsAny(text, ".eE") {
		s.reject(fmt.Sprintf("timestamp %s is not a whole number of epoch milliseconds", quoteShort(text)))
		return nil
	}
	digits := bytes.TrimPrefix(text, []byte("-"))
	var ts int64
	inRange := len(digits) <= 15
	for _, d := range digits {
		ts = ts*10 + int64(d-'0')
	}
	if !inRange || ts > maxTimestamp || ts != 0 && len(digits) != len(text) {
		s.reject(fmt.Sprintf("timestamp %s is out of range: expected epoch milliseconds from 0 to %d", quoteShort(text), int64(maxTimestamp)))
		return nil
	}
	s.ts = ts
	return nil
}

// parseUUID checks the 8-4-4-4-12 hex form and writes it lower-cased.
func parseUUID(b []byte, canon *[uuidLen]byte) bool {
	if len(b) != uuidLen {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
			if c >= 'A' && c <= 'F' {
				c += 'a' - 'A'
			}
		}
		canon[i] = c
	}
	return true
}

func validType(t []byte) bool {
	if len(t) == 0 || len(t) > maxTypeLen || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// internType returns the event types of rules-events.md §3.1 without
// allocating.
func internType(t []byte) string {
	switch string(t) {
	case "audit":
		return "audit"
	case "host":
		return "host"
	case "login":
		return "login"
	case "network":
		return "network"
	case "file":
		return "file"
	case "threatintel":
		return "threatintel"
	case "cloudtrail":
		return "cloudtrail"
	case "winsec":
		return "winsec"
	case "kubernetes_audit":
		return "kubernetes_audit"
	case "kubernetes_config":
		return "kubernetes_config"
	}
	return string(t)
}

// quoteShort quotes a client value for an error message, cut to 40 bytes.
func quoteShort(b []byte) string {
	if len(b) > 40 {
		return strconv.Quote(string(b[:40])) + "..."
	}
	return strconv.Quote(string(b))
}

// ---- storage

// arena keeps the compact text of a batch's events in a few large blocks
// instead of one allocation per event.
type arena struct {
	block []byte
	next  int // size of the next block
}

const (
	arenaFirst = 16 << 10
	arenaMax   = 256 << 10
)

// add copies b into the arena and returns the copy, capacity-capped so
// that an append to one event never writes over the next.
func (a *arena) add(b []byte) []byte {
	if cap(a.block)-len(a.block) < len(b) {
		size := max(a.next, arenaFirst)
		a.next = min(size*2, arenaMax)
		a.block = make([]byte, 0, max(size, len(b)))
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return a.block[start:len(a.block):len(a.block)]
}
