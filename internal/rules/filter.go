package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aipsec/aip"
)

// maxNesting bounds parentheses and "not" nesting so that the recursive
// parser and evaluator stay shallow whatever a client sends.
const maxNesting = 100

// SyntaxError is a filter that does not parse. It unwraps to an *aip.Error
// with code EINVALID, so the API layer answers 400 with its message.
type SyntaxError struct {
	Offset int    // byte offset of the problem in the filter, from 0
	Pos    int    // character (rune) position of the problem, from 1
	Msg    string // what is wrong, for humans
}

// Error renders the message with its position.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.Pos, e.Msg)
}

// Unwrap exposes the client-visible form of the error.
func (e *SyntaxError) Unwrap() error {
	return &aip.Error{Code: aip.EINVALID, Message: e.Error()}
}

// Filter is a compiled filter expression. It is immutable and safe for
// concurrent use.
type Filter struct {
	src  string
	root node
}

// String returns the source text the filter was compiled from.
func (f *Filter) String() string { return f.src }

// Match reports whether ev satisfies the filter.
func (f *Filter) Match(ev *Event) bool { return f.root.eval(ev) }

// Compile parses a filter expression (DECISIONS.md, "Rules, rulesets,
// filter language"). An empty or blank filter is an error: callers decide
// what an absent filter means. Errors are *SyntaxError.
func Compile(src string) (*Filter, error) {
	p := parser{lx: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, p.errAt(p.tok.off, "the filter is empty")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tEOF:
	case tRParen:
		return nil, p.errAt(p.tok.off, "unexpected ) without a matching (")
	default:
		return nil, p.errAt(p.tok.off, fmt.Sprintf("unexpected %s after a complete condition; expected and, or, or the end of the filter", p.describe()))
	}
	return &Filter{src: src, root: root}, nil
}

// ---- lexer

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tLParen
	tRParen
	tComma
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
)

type token struct {
	kind     tokKind
	text     string // identifier, unescaped string content, or number text
	off, end int    // byte span in the source
}

type lexer struct {
	src string
	pos int
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// isSmartQuote reports typographic quotes, which word processors and web
// pages substitute for straight ones; the F5 lab warns that pasted filters
// fail on them, and an explicit message beats "unexpected character".
func isSmartQuote(r rune) bool {
	switch r {
	case '\u2018', '\u2019', '\u201A', '\u201B', '\u201C', '\u201D', '\u201E', '\u201F',
		'\u2032', '\u2033', '\u00AB', '\u00BB', '\u2039', '\u203A', '\uFF02', '\uFF07':
		return true
	}
	return false
}

func (l *lexer) next() (token, *SyntaxError) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			l.pos++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) { // e.g. no-break spaces pasted from HTML
			break
		}
		l.pos += size
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, off: start, end: start}, nil
	}
	c := l.src[l.pos]
	single := func(k tokKind) (token, *SyntaxError) {
		l.pos++
		return token{kind: k, off: start, end: l.pos}, nil
	}
	switch {
	case c == '(':
		return single(tLParen)
	case c == ')':
		return single(tRParen)
	case c == ',':
		return single(tComma)
	case c == '=':
		return single(tEq)
	case c == '!':
		if l.pos+1 < len(l.src) && l.src[l.pos+1] == '=' {
			l.pos += 2
			return token{kind: tNe, off: start, end: l.pos}, nil
		}
		return token{}, l.err(start, "unexpected '!'; did you mean '!='?")
	case c == '<' || c == '>':
		k := tLt
		if c == '>' {
			k = tGt
		}
		l.pos++
		if l.pos < len(l.src) && l.src[l.pos] == '=' {
			l.pos++
			k++ // tLe follows tLt, tGe follows tGt
		}
		return token{kind: k, off: start, end: l.pos}, nil
	case c == '"' || c == '\'':
		return l.str(c)
	case isDigit(c) || c == '-' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
		return l.number()
	case isIdentStart(c):
		return l.ident()
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	if isSmartQuote(r) {
		return token{}, l.err(start, fmt.Sprintf("smart quote %c is not allowed; use straight quotes \" or '", r))
	}
	return token{}, l.err(start, fmt.Sprintf("unexpected character %q", r))
}

func (l *lexer) err(off int, msg string) *SyntaxError {
	return &SyntaxError{Offset: off, Pos: utf8.RuneCountInString(l.src[:off]) + 1, Msg: msg}
}

// ident lexes a field name or keyword: identifiers joined by dots.
func (l *lexer) ident() (token, *SyntaxError) {
	start := l.pos
	for {
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		if l.pos >= len(l.src) || l.src[l.pos] != '.' {
			break
		}
		l.pos++
		if l.pos >= len(l.src) || !isIdentChar(l.src[l.pos]) {
			return token{}, l.err(l.pos, fmt.Sprintf("field name %q ends with a dot", l.src[start:l.pos]))
		}
	}
	return token{kind: tIdent, text: l.src[start:l.pos], off: start, end: l.pos}, nil
}

// hex4 reads four hex digits at p.
func (l *lexer) hex4(p int) (rune, bool) {
	if p+4 > len(l.src) {
		return 0, false
	}
	return hex4([]byte(l.src[p:p+4]), 0)
}

func (l *lexer) number() (token, *SyntaxError) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	for l.pos < len(l.src) && (isIdentChar(l.src[l.pos]) || l.src[l.pos] == '.' ||
		(l.src[l.pos] == '+' || l.src[l.pos] == '-') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E')) {
		l.pos++
	}
	text := l.src[start:l.pos]
	if _, ok := numericSyntax(text); !ok {
		return token{}, l.err(start, fmt.Sprintf("invalid number %q", text))
	}
	return token{kind: tNumber, text: text, off: start, end: l.pos}, nil
}

// str lexes a quoted string with backslash escapes: \\ \" \' \/ \n \r \t
// and \uXXXX. Other escapes are errors rather than guesses, so that a
// Windows path written with single backslashes fails loudly.
func (l *lexer) str(q byte) (token, *SyntaxError) {
	start := l.pos
	l.pos++
	var b []byte // only allocated when the string has escapes
	seg := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == q {
			var text string
			if b == nil {
				text = l.src[seg:l.pos]
			} else {
				text = string(append(b, l.src[seg:l.pos]...))
			}
			l.pos++
			return token{kind: tString, text: text, off: start, end: l.pos}, nil
		}
		if c != '\\' {
			l.pos++
			continue
		}
		b = append(b, l.src[seg:l.pos]...)
		if l.pos+1 >= len(l.src) {
			break
		}
		e := l.src[l.pos+1]
		switch e {
		case '\\', '"', '\'', '/':
			b = append(b, e)
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := l.hex4(l.pos + 2)
			if !ok {
				return token{}, l.err(l.pos, "invalid \\u escape; expected four hex digits")
			}
			l.pos += 4
			// A surrogate pair spells one character, as in JSON.
			if r >= 0xD800 && r < 0xDC00 && l.pos+8 <= len(l.src) && l.src[l.pos+2] == '\\' && l.src[l.pos+3] == 'u' {
				if r2, ok := l.hex4(l.pos + 4); ok && r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					l.pos += 6
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			r, _ := utf8.DecodeRuneInString(l.src[l.pos+1:])
			return token{}, l.err(l.pos, fmt.Sprintf("unknown escape \\%c in a string; write \\\\ for a backslash", r))
		}
		l.pos += 2
		seg = l.pos
	}
	return token{}, l.err(start, "unterminated string")
}

// ---- parser

type parser struct {
	lx    lexer
	tok   token
	depth int
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errAt(off int, msg string) *SyntaxError { return p.lx.err(off, msg) }

// describe names the current token for error messages.
func (p *parser) describe() string {
	if p.tok.kind == tEOF {
		return "the end of the filter"
	}
	s := p.lx.src[p.tok.off:p.tok.end]
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) parseOr() (node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if !p.isKeyword("or") {
		return first, nil
	}
	kids := []node{first}
	for p.isKeyword("or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return newOr(kids), nil
}

func (p *parser) parseAnd() (node, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if !p.isKeyword("and") {
		return first, nil
	}
	kids := []node{first}
	for p.isKeyword("and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return newAnd(kids), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.errAt(p.tok.off, fmt.Sprintf("the filter nests deeper than %d levels", maxNesting))
	}
	return nil
}

func (p *parser) parseUnary() (node, error) {
	if !p.isKeyword("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.depth--
	return newNot(n), nil
}

func (p *parser) parsePrimary() (node, error) {
	switch {
	case p.tok.kind == tLParen:
		open := p.tok.off
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tRParen:
		case tEOF:
			return nil, p.errAt(open, "this ( is never closed")
		default:
			return nil, p.errAt(p.tok.off, fmt.Sprintf("expected ), and or or, found %s", p.describe()))
		}
		p.depth--
		if err := p.advance(); err != nil {
			return nil, err
		}
		return n, nil
	case p.tok.kind == tIdent && !p.isKeyword("and") && !p.isKeyword("or"):
		return p.parseComparison()
	case p.tok.kind == tRParen:
		return nil, p.errAt(p.tok.off, "expected a condition, found )")
	}
	return nil, p.errAt(p.tok.off, fmt.Sprintf("expected a condition (a field name, not or a parenthesis), found %s", p.describe()))
}

func (p *parser) parseComparison() (node, error) {
	field := p.tok.text
	if err := p.advance(); err != nil {
		return nil, err
	}
	var o op
	neg := false
	opTok := p.tok
	switch {
	case p.tok.kind == tEq:
		o = opEq
	case p.tok.kind == tNe:
		o, neg = opEq, true
	case p.tok.kind == tLt:
		o = opLt
	case p.tok.kind == tLe:
		o = opLe
	case p.tok.kind == tGt:
		o = opGt
	case p.tok.kind == tGe:
		o = opGe
	case p.isKeyword("starts_with"):
		o = opPrefix
	case p.isKeyword("ends_with"):
		o = opSuffix
	case p.isKeyword("like"), p.isKeyword("contains"):
		o = opContains
	case p.isKeyword("in"):
		return p.parseIn(field)
	default:
		return nil, p.errAt(p.tok.off, fmt.Sprintf("expected an operator (=, !=, starts_with, ends_with, like, contains, in, <, <=, >, >=) after %s, found %s", field, p.describe()))
	}
	opText := p.lx.src[opTok.off:opTok.end]
	if err := p.advance(); err != nil {
		return nil, err
	}
	l, err := p.parseLiteral(opText)
	if err != nil {
		return nil, err
	}
	switch {
	case l.null && o != opEq:
		return nil, p.errAt(opTok.off, fmt.Sprintf("%s cannot compare with null; use = null or != null", opText))
	case o >= opLt && !l.isNum:
		return nil, p.errAt(opTok.off, fmt.Sprintf("%s compares numbers, and %q is not a number", opText, l.s))
	}
	return &cmpNode{ref: newFieldRef(field), op: o, neg: neg, lits: []lit{l}, hasNull: l.null}, nil
}

func (p *parser) parseIn(field string) (node, error) {
	inOff := p.tok.off
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tLParen {
		return nil, p.errAt(p.tok.off, fmt.Sprintf("expected ( after in, found %s", p.describe()))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	c := &cmpNode{ref: newFieldRef(field), op: opEq}
	for {
		l, err := p.parseLiteral("in")
		if err != nil {
			return nil, err
		}
		c.lits = append(c.lits, l)
		c.hasNull = c.hasNull || l.null
		switch p.tok.kind {
		case tComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		case tRParen:
			if err := p.advance(); err != nil {
				return nil, err
			}
			return c, nil
		case tEOF:
			return nil, p.errAt(inOff, "the list after in is never closed")
		}
		return nil, p.errAt(p.tok.off, fmt.Sprintf("expected , or ) in the list after in, found %s", p.describe()))
	}
}

// parseLiteral reads a quoted string, a number or null after operator opText.
func (p *parser) parseLiteral(opText string) (lit, error) {
	var l lit
	switch {
	case p.tok.kind == tString, p.tok.kind == tNumber:
		l.s = p.tok.text
		if n, ok := parseNum(l.s); ok {
			l.isNum, l.n = true, n
		}
	case p.isKeyword("null"):
		l.null = true
	case p.tok.kind == tIdent:
		return l, p.errAt(p.tok.off, fmt.Sprintf("expected a quoted string, a number or null after %s, found %s; values need quotes", opText, p.describe()))
	default:
		return l, p.errAt(p.tok.off, fmt.Sprintf("expected a quoted string, a number or null after %s, found %s", opText, p.describe()))
	}
	return l, p.advance()
}

// ---- compiled form

// node is a compiled expression. Evaluation reads the event's index and
// never allocates.
type node interface {
	eval(ev *Event) bool
}

type op uint8

const (
	opEq op = iota
	opPrefix
	opSuffix
	opContains
	opLt // the numeric operators come last: o >= opLt tests for them
	opLe
	opGt
	opGe
)

// lit is a literal of a comparison, with its numeric form when it has one.
type lit struct {
	s     string
	null  bool
	isNum bool
	n     num
}

// cmpNode compares a field with one or more literals; several literals
// mean "any of them" (an in-list, or or-ed comparisons merged at compile
// time). neg turns = into !=, the plain negation.
type cmpNode struct {
	ref     fieldRef
	op      op
	neg     bool
	lits    []lit
	hasNull bool // some literal is null: a missing field matches
}

func (c *cmpNode) eval(ev *Event) bool { return c.match(ev) != c.neg }

func (c *cmpNode) match(ev *Event) bool {
	present := false
	for i := range c.ref.cands {
		cd := &c.ref.cands[i]
		if cd.misc && !ev.hasMisc {
			continue
		}
		k := ev.lookup(cd.hash, cd.path)
		if k < 0 {
			continue
		}
		present = true
		for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
			if c.test(ev, &ev.vals[vi]) {
				return true
			}
		}
	}
	return !present && c.hasNull
}

// test compares one value with the literals.
func (c *cmpNode) test(ev *Event, v *value) bool {
	if v.kind == kindNull {
		return c.hasNull && c.op == opEq
	}
	if v.kind == kindObject {
		return false
	}
	t := ev.text(v)
	switch c.op {
	case opEq:
		var vn num
		parsed, isNum := false, false
		for i := range c.lits {
			l := &c.lits[i]
			if l.null {
				continue
			}
			if t == l.s {
				return true
			}
			if !l.isNum {
				continue
			}
			if !parsed {
				vn, isNum = ev.number(v)
				parsed = true
			}
			if isNum && cmpNum(vn, l.n) == 0 {
				return true
			}
		}
	case opPrefix:
		for i := range c.lits {
			if strings.HasPrefix(t, c.lits[i].s) {
				return true
			}
		}
	case opSuffix:
		for i := range c.lits {
			if strings.HasSuffix(t, c.lits[i].s) {
				return true
			}
		}
	case opContains:
		for i := range c.lits {
			if strings.Contains(t, c.lits[i].s) {
				return true
			}
		}
	default:
		vn, ok := ev.number(v)
		if !ok {
			return false
		}
		r := cmpNum(vn, c.lits[0].n)
		switch c.op {
		case opLt:
			return r < 0
		case opLe:
			return r <= 0
		case opGt:
			return r > 0
		case opGe:
			return r >= 0
		}
	}
	return false
}

type andNode []node

func (a andNode) eval(ev *Event) bool {
	for _, n := range a {
		if !n.eval(ev) {
			return false
		}
	}
	return true
}

type orNode []node

func (o orNode) eval(ev *Event) bool {
	for _, n := range o {
		if n.eval(ev) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(ev *Event) bool { return !n.n.eval(ev) }

func newNot(n node) node {
	if inner, ok := n.(notNode); ok {
		return inner.n
	}
	return notNode{n}
}

func newAnd(kids []node) node {
	var out andNode
	for _, k := range kids {
		if a, ok := k.(andNode); ok {
			out = append(out, a...)
		} else {
			out = append(out, k)
		}
	}
	return out
}

// newOr flattens nested ors and merges positive comparisons of one field
// with one string operator into a single node with several literals: the
// 38-way "ip starts_with" suppression of rules-events.md R1 then resolves
// the field once instead of 38 times.
func newOr(kids []node) node {
	var out orNode
	var flat []node
	for _, k := range kids {
		if o, ok := k.(orNode); ok {
			flat = append(flat, o...)
		} else {
			flat = append(flat, k)
		}
	}
	merged := make(map[[2]string]*cmpNode)
	for _, k := range flat {
		c, ok := k.(*cmpNode)
		if !ok || c.neg || c.op >= opLt {
			out = append(out, k)
			continue
		}
		id := [2]string{c.ref.name, string(rune('0' + c.op))}
		if m, ok := merged[id]; ok {
			m.lits = append(m.lits, c.lits...)
			m.hasNull = m.hasNull || c.hasNull
			continue
		}
		cp := *c
		cp.lits = append([]lit(nil), c.lits...)
		merged[id] = &cp
		out = append(out, &cp)
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}
