package rules

import (
	"bytes"
	"fmt"
	"math/bits"
	"strings"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// Limits on a decoded event. The ingest layer caps the byte size of a batch;
// these protect the decoder itself from pathological shapes.
const (
	// MaxEventBytes is the largest event Decode accepts.
	MaxEventBytes = 64 << 20
	// MaxEventDepth is the deepest nesting of objects and arrays Decode
	// accepts. Real events (CloudTrail request parameters, Kubernetes audit
	// objects) stay well below it, and a bound keeps the recursion shallow.
	MaxEventDepth = 32
)

// Value kinds of a decoded leaf.
const (
	kindString uint8 = iota + 1
	kindNumber
	kindBool
	kindNull
	kindObject
)

// value is one JSON value stored under a path. Its text lives in Event.s:
// unescaped content for strings, the literal text for numbers and booleans,
// and the raw JSON for objects (so an object renders as itself).
type value struct {
	off, n int32
	next   int32 // next value under the same path, -1 at the end
	kind   uint8
	intOK  bool  // a number whose text is an integer that fits in int64
	i      int64 // its value when intOK
}

// fieldKey is one distinct dotted path of the event with its values, linked
// in document order: a name (the last path segment) under a parent key. A
// real key with no values is a present empty array; a key that is not real
// only exists as the parent of a JSON key spelled with dots ("a.b").
type fieldKey struct {
	hash        uint64
	off, n      int32 // the name, in Event.s
	parent      int32 // -1 at the top level
	first, last int32
	real        bool
}

// Event is a decoded agent or CloudTrail event: a flat index from dotted
// path ("user", "host_metadata.hostname", "miscellaneous.userIdentity.arn")
// to the path's values, built once so that every rule's field lookups are a
// hash probe. Array elements are stored as several values under the same
// path, and fields of objects inside arrays under the array's path, which
// gives the filter language its "any element matches" semantics for free.
//
// The zero Event is empty and valid. An Event is safe for concurrent reads
// (Evaluate, Filter.Match, Field) once Decode has returned.
type Event struct {
	s       string // source JSON followed by unescaped strings
	srcLen  int
	buf     []byte // unescaped strings while decoding, reused across Decode calls
	vals    []value
	keys    []fieldKey
	table   []int32 // open addressing: index+1 into keys, 0 for an empty slot
	hasMisc bool    // a top-level "miscellaneous" key (CloudTrail records)
}

// DecodeEvent decodes one JSON object into a new Event. Errors are
// *aip.Error with code EINVALID and a message naming the byte offset.
func DecodeEvent(data []byte) (*Event, error) {
	ev := new(Event)
	if err := ev.Decode(data); err != nil {
		return nil, err
	}
	return ev, nil
}

// Decode replaces ev's content with the JSON object in data, reusing ev's
// storage so that a loop decoding into one Event allocates only the event's
// text. data is copied; the caller may reuse it. On error ev is left empty.
func (ev *Event) Decode(data []byte) error {
	ev.reset()
	if len(data) > MaxEventBytes {
		return aip.Errorf(aip.EINVALID, "event is larger than %d bytes", MaxEventBytes)
	}
	// The decoder works on its own copies of the slice headers so that the
	// hot appends write to the stack, not through ev (no write barriers).
	d := decoder{data: data, extra: ev.buf[:0], vals: ev.vals, keys: ev.keys, table: ev.table}
	err := d.run()
	ev.buf, ev.vals, ev.keys, ev.table = d.extra, d.vals, d.keys, d.table
	if err != nil {
		ev.reset()
		return err
	}
	ev.hasMisc = d.hasMisc
	var sb strings.Builder
	sb.Grow(len(data) + len(d.extra))
	sb.Write(data)
	sb.Write(d.extra)
	ev.s = sb.String()
	ev.srcLen = len(data)
	return nil
}

// JSON returns the event's source text as it was decoded.
func (ev *Event) JSON() string { return ev.s[:ev.srcLen] }

func (ev *Event) reset() {
	ev.s = ""
	ev.srcLen = 0
	ev.vals = ev.vals[:0]
	ev.keys = ev.keys[:0]
	ev.hasMisc = false
	switch {
	case len(ev.table) == 0 || len(ev.table) > 4096:
		// A huge event should not make every later decode clear a huge table.
		ev.table = make([]int32, 64)
	default:
		clear(ev.table)
	}
}

// Path hashing. A dotted path hashes segment by segment, so that a nested
// key's hash continues its parent's and a top-level key spelled "a.b" hashes
// like the nested a → b. Segments are read eight bytes at a time.
const (
	hashRoot = 0x9E3779B97F4A7C15
	hashM1   = 0xBF58476D1CE4E5B9
	hashM2   = 0x94D049BB133111EB
)

func segHash[T string | []byte](s T) uint64 {
	h := uint64(hashRoot)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		h = (h ^ w) * hashM1
		h ^= h >> 31
	}
	if i < len(s) {
		var w uint64
		for j := len(s) - 1; j >= i; j-- {
			w = w<<8 | uint64(s[j])
		}
		h = (h ^ w) * hashM2
		h ^= h >> 29
	}
	return segFinish(h, len(s))
}

// segFinish mixes a segment's length into its hash last, so that the
// decoder can hash a key while it scans for the key's end.
func segFinish(h uint64, n int) uint64 {
	h = (h ^ uint64(n)) * hashM1
	return h ^ h>>32
}

// segHashDot is segHash of a JSON key that also reports whether the key
// has a dot, found in the same pass over its words.
func segHashDot(s []byte) (h uint64, dot bool) {
	h = hashRoot
	var found uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		found |= swarZero(w ^ swarLo*'.')
		h = (h ^ w) * hashM1
		h ^= h >> 31
	}
	if i < len(s) {
		var w uint64
		for j := len(s) - 1; j >= i; j-- {
			w = w<<8 | uint64(s[j])
		}
		// The unused high bytes are zero, never '.', so they flag nothing.
		found |= swarZero(w ^ swarLo*'.')
		h = (h ^ w) * hashM2
		h ^= h >> 29
	}
	return segFinish(h, len(s)), found != 0
}

// hashStep extends the hash of a parent path (hashRoot for the top level)
// with one more segment.
func hashStep(parent, seg uint64) uint64 {
	h := (parent ^ seg) * hashM1
	return h ^ h>>32
}

// hashPath hashes a dotted path from the top level.
func hashPath[T string | []byte](parent uint64, p T) uint64 {
	h := parent
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			h = hashStep(h, segHash(p[start:i]))
			start = i + 1
		}
	}
	return hashStep(h, segHash(p[start:]))
}

func hashString(s string) uint64 { return hashPath(hashRoot, s) }

// slot picks a table slot from the hash's high bits, which the multiply
// mixed best.
func slot(h uint64, mask int) int { return int(h>>40) & mask }

// lookup returns the index of the key whose dotted path is name, or -1.
func (ev *Event) lookup(h uint64, name string) int32 {
	mask := len(ev.table) - 1
	if mask < 0 {
		return -1
	}
	for i := slot(h, mask); ; i = (i + 1) & mask {
		e := ev.table[i]
		if e == 0 {
			return -1
		}
		if k := &ev.keys[e-1]; k.hash == h && ev.pathIs(e-1, name) {
			if !k.real {
				return -1
			}
			return e - 1
		}
	}
}

// pathIs reports whether key k's dotted path is p, walking up its parents.
func (ev *Event) pathIs(k int32, p string) bool {
	for {
		key := &ev.keys[k]
		name := ev.s[key.off : key.off+key.n]
		if key.parent < 0 {
			return p == name
		}
		cut := len(p) - len(name) - 1
		if cut < 0 || p[cut] != '.' || p[cut+1:] != name {
			return false
		}
		p, k = p[:cut], key.parent
	}
}

// text returns the rendered text of v (see value).
func (ev *Event) text(v *value) string { return ev.s[v.off : v.off+v.n] }

// number returns v as a number: integers exactly, everything else as
// float64. Strings holding a number count, which is what lets a quoted
// number in a filter equal a JSON number and the other way round.
func (ev *Event) number(v *value) (n num, ok bool) {
	switch v.kind {
	case kindNumber:
		if v.intOK {
			return num{isInt: true, i: v.i, f: float64(v.i)}, true
		}
		return parseNum(ev.text(v))
	case kindString:
		return parseNum(ev.text(v))
	}
	return num{}, false
}

// decoder is a single-pass JSON parser that builds an Event's index.
// Offsets below len(data) are in the source; the others in extra, which
// Decode appends to the source to form the event text.
type decoder struct {
	data    []byte
	pos     int
	extra   []byte // unescaped strings
	vals    []value
	keys    []fieldKey
	table   []int32
	hasMisc bool
}

func (d *decoder) run() error {
	d.skipWS()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return aip.Errorf(aip.EINVALID, "event is not a JSON object")
	}
	if err := d.object(-1, 1); err != nil {
		return err
	}
	d.skipWS()
	if d.pos != len(d.data) {
		return d.errorf("unexpected data after the event object")
	}
	return nil
}

// bytesAt returns the text at an event offset.
func (d *decoder) bytesAt(off, n int32) []byte {
	if int(off) < len(d.data) {
		return d.data[off : off+n]
	}
	o := int(off) - len(d.data)
	return d.extra[o : o+int(n)]
}

func (d *decoder) errorf(format string, args ...any) error {
	return aip.Errorf(aip.EINVALID, "invalid event JSON at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// object parses an object whose '{' is at d.pos; its fields become children
// of key parent (-1 for the top level).
func (d *decoder) object(parent int32, depth int) error {
	d.pos++
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.errorf("expected a quoted object key")
		}
		off, n, sh, dot, err := d.key()
		if err != nil {
			return err
		}
		if d.pos < len(d.data) && d.data[d.pos] == ':' {
			d.pos++
		} else {
			d.skipWS()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return d.errorf("expected ':' after an object key")
			}
			d.pos++
		}
		d.skipWS()
		ki := d.intern(parent, off, n, sh, dot)
		if err := d.value(ki, depth); err != nil {
			return err
		}
		d.skipWS()
		if d.pos >= len(d.data) {
			return d.errorf("unexpected end of input inside an object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipWS()
		case '}':
			d.pos++
			return nil
		default:
			return d.errorf("expected ',' or '}' in an object")
		}
	}
}

// value parses any JSON value at d.pos and stores it under key ki.
func (d *decoder) value(ki int32, depth int) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input, expected a value")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		off, n, err := d.str()
		if err != nil {
			return err
		}
		d.add(ki, kindString, off, n)
	case c == '{':
		if depth >= MaxEventDepth {
			return d.errorf("nesting deeper than %d levels", MaxEventDepth)
		}
		start := d.pos
		vi := d.add(ki, kindObject, int32(start), 0)
		if err := d.object(ki, depth+1); err != nil {
			return err
		}
		d.vals[vi].n = int32(d.pos - start)
	case c == '[':
		if depth >= MaxEventDepth {
			return d.errorf("nesting deeper than %d levels", MaxEventDepth)
		}
		d.pos++
		d.skipWS()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.value(ki, depth+1); err != nil {
				return err
			}
			d.skipWS()
			if d.pos >= len(d.data) {
				return d.errorf("unexpected end of input inside an array")
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
				d.skipWS()
			case ']':
				d.pos++
				return nil
			default:
				return d.errorf("expected ',' or ']' in an array")
			}
		}
	case c == 't':
		return d.literal(ki, "true", kindBool)
	case c == 'f':
		return d.literal(ki, "false", kindBool)
	case c == 'n':
		return d.literal(ki, "null", kindNull)
	case c == '-' || c >= '0' && c <= '9':
		return d.number(ki)
	default:
		return d.errorf("unexpected character %q", rune(c))
	}
	return nil
}

func (d *decoder) literal(ki int32, word string, kind uint8) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.errorf("invalid literal, expected %s", word)
	}
	n := int32(len(word))
	if kind == kindNull {
		n = 0 // null renders as the empty string
	}
	d.add(ki, kind, int32(d.pos), n)
	d.pos += len(word)
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number validates a JSON number and parses integers up to 18 digits on the
// spot; other numbers are parsed when a comparison needs them.
func (d *decoder) number(ki int32) error {
	start := d.pos
	p := d.pos
	if d.data[p] == '-' {
		p++
	}
	intStart := p
	switch {
	case p < len(d.data) && d.data[p] == '0':
		p++
	case p < len(d.data) && d.data[p] >= '1' && d.data[p] <= '9':
		for p < len(d.data) && isDigit(d.data[p]) {
			p++
		}
	default:
		d.pos = p
		return d.errorf("invalid number")
	}
	intEnd := p
	isInt := true
	if p < len(d.data) && d.data[p] == '.' {
		isInt = false
		p++
		if p >= len(d.data) || !isDigit(d.data[p]) {
			d.pos = p
			return d.errorf("invalid number: digits expected after '.'")
		}
		for p < len(d.data) && isDigit(d.data[p]) {
			p++
		}
	}
	if p < len(d.data) && (d.data[p] == 'e' || d.data[p] == 'E') {
		isInt = false
		p++
		if p < len(d.data) && (d.data[p] == '+' || d.data[p] == '-') {
			p++
		}
		if p >= len(d.data) || !isDigit(d.data[p]) {
			d.pos = p
			return d.errorf("invalid number: digits expected in the exponent")
		}
		for p < len(d.data) && isDigit(d.data[p]) {
			p++
		}
	}
	vi := d.add(ki, kindNumber, int32(start), int32(p-start))
	if isInt && intEnd-intStart <= 18 {
		var i int64
		for _, c := range d.data[intStart:intEnd] {
			i = i*10 + int64(c-'0')
		}
		if d.data[start] == '-' {
			i = -i
		}
		d.vals[vi].intOK, d.vals[vi].i = true, i
	}
	d.pos = p
	return nil
}

// SWAR helpers: flag bytes of a little-endian word. The lowest flagged
// byte is always exact, which is all str needs.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

func swarZero(w uint64) uint64 { return (w - swarLo) &^ w & swarHi }

// str parses a string at d.pos (the opening quote) and returns where its
// unescaped content lives in the event text: in place when it has no
// escapes, else in extra.
func (d *decoder) str() (off, n int32, err error) {
	d.pos++
	start := d.pos
	p := start
	data := d.data
	for ; p+8 <= len(data); p += 8 {
		w := uint64(data[p]) | uint64(data[p+1])<<8 | uint64(data[p+2])<<16 | uint64(data[p+3])<<24 |
			uint64(data[p+4])<<32 | uint64(data[p+5])<<40 | uint64(data[p+6])<<48 | uint64(data[p+7])<<56
		// A quote, a backslash or a control character (< 0x20).
		m := swarZero(w^(swarLo*'"')) | swarZero(w^(swarLo*'\\')) | (w-swarLo*0x20)&^w&swarHi
		if m != 0 {
			p += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; p < len(data); p++ {
		switch c := data[p]; {
		case c == '"':
			d.pos = p + 1
			return int32(start), int32(p - start), nil
		case c == '\\':
			return d.strSlow(start, p)
		case c < 0x20:
			d.pos = p
			return 0, 0, d.errorf("control character in a string")
		}
	}
	d.pos = len(data)
	return 0, 0, d.errorf("unterminated string")
}

// key parses an object key at d.pos (the opening quote) like str, and
// hashes it (segHash) and looks for dots in the same pass over its words.
// Keys with escapes, and keys near the end of the input, take the plain
// path.
func (d *decoder) key() (off, n int32, sh uint64, dot bool, err error) {
	data := d.data
	start := d.pos + 1
	h := uint64(hashRoot)
	var dots uint64
	for p := start; p+8 <= len(data); p += 8 {
		w := uint64(data[p]) | uint64(data[p+1])<<8 | uint64(data[p+2])<<16 | uint64(data[p+3])<<24 |
			uint64(data[p+4])<<32 | uint64(data[p+5])<<40 | uint64(data[p+6])<<48 | uint64(data[p+7])<<56
		m := swarZero(w^(swarLo*'"')) | swarZero(w^(swarLo*'\\')) | (w-swarLo*0x20)&^w&swarHi
		if m == 0 {
			dots |= swarZero(w ^ swarLo*'.')
			h = (h ^ w) * hashM1
			h ^= h >> 31
			continue
		}
		j := bits.TrailingZeros64(m) / 8
		if data[p+j] != '"' {
			break
		}
		if j > 0 {
			// The bytes before the quote are segHash's tail; the zeroed high
			// bytes are never '.', so they flag nothing.
			w &= 1<<(8*j) - 1
			dots |= swarZero(w ^ swarLo*'.')
			h = (h ^ w) * hashM2
			h ^= h >> 29
		}
		n := p + j - start
		d.pos = p + j + 1
		return int32(start), int32(n), segFinish(h, n), dots != 0, nil
	}
	off, n, err = d.str()
	if err != nil {
		return 0, 0, 0, false, err
	}
	sh, dot = segHashDot(d.bytesAt(off, n))
	return off, n, sh, dot, nil
}

// strSlow unescapes a string whose first backslash is at p.
func (d *decoder) strSlow(start, p int) (off, n int32, err error) {
	o := len(d.extra)
	d.extra = append(d.extra, d.data[start:p]...)
	for p < len(d.data) {
		c := d.data[p]
		switch {
		case c == '"':
			d.pos = p + 1
			return int32(len(d.data) + o), int32(len(d.extra) - o), nil
		case c < 0x20:
			d.pos = p
			return 0, 0, d.errorf("control character in a string")
		case c != '\\':
			d.extra = append(d.extra, c)
			p++
			continue
		}
		if p+1 >= len(d.data) {
			break
		}
		e := d.data[p+1]
		p += 2
		switch e {
		case '"', '\\', '/':
			d.extra = append(d.extra, e)
		case 'b':
			d.extra = append(d.extra, '\b')
		case 'f':
			d.extra = append(d.extra, '\f')
		case 'n':
			d.extra = append(d.extra, '\n')
		case 'r':
			d.extra = append(d.extra, '\r')
		case 't':
			d.extra = append(d.extra, '\t')
		case 'u':
			r, ok := hex4(d.data, p)
			if !ok {
				d.pos = p
				return 0, 0, d.errorf("invalid \\u escape")
			}
			p += 4
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate pairs with a following \uDC00-\uDFFF.
				if p+6 <= len(d.data) && d.data[p] == '\\' && d.data[p+1] == 'u' {
					if r2, ok := hex4(d.data, p+2); ok && r2 >= 0xDC00 && r2 < 0xE000 {
						r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
						p += 6
					} else {
						r = 0xFFFD
					}
				} else {
					r = 0xFFFD
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = 0xFFFD
			}
			d.extra = utf8.AppendRune(d.extra, r)
		default:
			d.pos = p - 1
			return 0, 0, d.errorf("invalid escape \\%c", rune(e))
		}
	}
	d.pos = len(d.data)
	return 0, 0, d.errorf("unterminated string")
}

func hex4(b []byte, p int) (rune, bool) {
	if p+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[p : p+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// add appends a value under key ki, filled in place (see intern), and
// returns its index.
func (d *decoder) add(ki int32, kind uint8, off, n int32) int32 {
	if len(d.vals) < cap(d.vals) {
		d.vals = d.vals[:len(d.vals)+1]
	} else {
		d.vals = append(d.vals, value{})
	}
	idx := int32(len(d.vals) - 1)
	v := &d.vals[idx]
	v.off, v.n, v.next, v.kind, v.intOK, v.i = off, n, -1, kind, false, 0
	k := &d.keys[ki]
	if k.last >= 0 {
		d.vals[k.last].next = idx
	} else {
		k.first = idx
	}
	k.last = idx
	return idx
}

// intern finds or creates the key for the child name (at event offset off,
// with segHash sh) of key parent. A name with dots is split into segments,
// so that {"a.b":1} and {"a":{"b":1}} both give the path a.b.
func (d *decoder) intern(parent int32, off, n int32, sh uint64, dot bool) int32 {
	if !dot {
		return d.internSeg(parent, off, n, sh, true)
	}
	name := d.bytesAt(off, n)
	for {
		i := bytes.IndexByte(name, '.')
		if i < 0 {
			break
		}
		parent = d.internSeg(parent, off, int32(i), segHash(name[:i]), false)
		off += int32(i) + 1
		n -= int32(i) + 1
		name = name[i+1:]
	}
	return d.internSeg(parent, off, n, segHash(name), true)
}

// internSeg finds or creates the key for one name segment, whose segHash
// is sh, under parent.
func (d *decoder) internSeg(parent int32, off, n int32, sh uint64, real bool) int32 {
	name := d.bytesAt(off, n)
	var h uint64 = hashRoot
	if parent >= 0 {
		h = d.keys[parent].hash
	}
	h = hashStep(h, sh)
	mask := len(d.table) - 1
	i := slot(h, mask)
	for ; ; i = (i + 1) & mask {
		e := d.table[i]
		if e == 0 {
			break
		}
		k := &d.keys[e-1]
		if k.hash == h && k.parent == parent && string(d.bytesAt(k.off, k.n)) == string(name) {
			k.real = k.real || real
			return e - 1
		}
	}
	// Filling the new element in place avoids building the struct on the
	// stack and copying it, which stalls on store forwarding.
	if len(d.keys) < cap(d.keys) {
		d.keys = d.keys[:len(d.keys)+1]
	} else {
		d.keys = append(d.keys, fieldKey{})
	}
	idx := int32(len(d.keys) - 1)
	key := &d.keys[idx]
	key.hash, key.off, key.n, key.parent, key.first, key.last, key.real = h, off, n, parent, -1, -1, real
	if parent < 0 && string(name) == "miscellaneous" {
		d.hasMisc = true
	}
	d.table[i] = idx + 1
	if len(d.keys)*2 > len(d.table) {
		d.grow()
	}
	return idx
}

// grow doubles the table and reinserts every key.
func (d *decoder) grow() {
	d.table = make([]int32, len(d.table)*2)
	mask := len(d.table) - 1
	for ki := range d.keys {
		i := slot(d.keys[ki].hash, mask)
		for d.table[i] != 0 {
			i = (i + 1) & mask
		}
		d.table[i] = int32(ki) + 1
	}
}
