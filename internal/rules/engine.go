package rules

import "math/bits"

// Engine evaluates a fixed set of rules against events. It is immutable
// once built and safe for concurrent use; rule changes build a new Engine.
type Engine struct {
	rules     []*compiledRule
	byType    map[string]*ruleList            // enabled rules by event type
	byRuleset map[string]map[string]*ruleList // ruleset id → event type → enabled rules
}

// NewEngine compiles rules and indexes the enabled ones by the event types
// they see. Disabled rules are compiled too (so that a broken rule is
// reported whatever its state) but never match. The first rule that does
// not compile fails the whole set with a *RuleError.
func NewEngine(rules []Rule) (*Engine, error) {
	e := &Engine{
		byType:    make(map[string]*ruleList),
		byRuleset: make(map[string]map[string]*ruleList),
	}
	byType := make(map[string][]*compiledRule)
	byRuleset := make(map[string]map[string][]*compiledRule)
	for _, r := range rules {
		cr, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		e.rules = append(e.rules, cr)
		if !r.Enabled {
			continue
		}
		rs := byRuleset[r.RulesetID]
		if rs == nil {
			rs = make(map[string][]*compiledRule)
			byRuleset[r.RulesetID] = rs
		}
		for _, t := range r.Type.EventTypes() {
			byType[t] = append(byType[t], cr)
			rs[t] = append(rs[t], cr)
		}
	}
	for t, list := range byType {
		e.byType[t] = newRuleList(list)
	}
	for id, m := range byRuleset {
		e.byRuleset[id] = make(map[string]*ruleList, len(m))
		for t, list := range m {
			e.byRuleset[id][t] = newRuleList(list)
		}
	}
	return e, nil
}

// Len returns the number of rules, enabled or not.
func (e *Engine) Len() int { return len(e.rules) }

// Match is one rule matching one event: its filter matched, no suppression
// did, and for File rules the path, kind and ignore globs allowed it. The
// Rule and Event pointers are shared: treat them as read-only, and do not
// keep the Event pointer past a reuse of the Event. Strings the methods
// return stay valid, as every Decode gives the event a fresh text.
type Match struct {
	Rule  *Rule  // the engine's copy, AggregateFields made effective
	Event *Event // the event that matched
	cr    *compiledRule
}

// Aggregate is one aggregate field of an alert with its value, in the wire
// shape of DECISIONS.md ("aggregates": [{"fieldName":…,"value":…}]).
type Aggregate struct {
	FieldName string `json:"fieldName"`
	Value     string `json:"value"`
}

// Evaluate calls fn for each enabled rule that matches ev, in rule order,
// and returns how many matched. It allocates nothing itself while no event
// type has more than maxStackRules rules.
func (e *Engine) Evaluate(ev *Event, fn func(Match)) int {
	if ev == nil || ev.s == "" {
		return 0
	}
	return e.byType[ev.Type()].eval(ev, fn)
}

// EvaluateRulesets is Evaluate restricted to the rules of the given
// rulesets, typically those assigned to the event's agent. A ruleset
// listed twice is evaluated once.
func (e *Engine) EvaluateRulesets(ev *Event, rulesetIDs []string, fn func(Match)) int {
	if ev == nil || ev.s == "" {
		return 0
	}
	typ := ev.Type()
	n := 0
	for i, id := range rulesetIDs {
		dup := false
		for _, prev := range rulesetIDs[:i] {
			if prev == id {
				dup = true
				break
			}
		}
		if !dup {
			n += e.byRuleset[id][typ].eval(ev, fn)
		}
	}
	return n
}

// ruleList is the rules one event type sees, with a prefilter. Most rules
// require some field to equal one of a few strings (command = "sudo",
// syscall in (...)): such an "anchor" conjunct indexes the rule under those
// strings, so an event only evaluates the rules its own values name plus
// the rules without an anchor.
type ruleList struct {
	rules   []*compiledRule
	always  []uint64 // bitset of rules without an anchor
	anchors []anchor
}

type anchor struct {
	ref    fieldRef
	byText map[string][]int32 // literal → rules anchored on it
}

// maxStackRules is how many rules of one event type Evaluate handles with
// its bitset on the stack.
const maxStackRules = 1024

func newRuleList(rules []*compiledRule) *ruleList {
	l := &ruleList{rules: rules, always: make([]uint64, (len(rules)+63)/64)}
	byField := make(map[string]int)
	for i, cr := range rules {
		c := anchorOf(cr.filter)
		if c == nil {
			l.always[i/64] |= 1 << (i % 64)
			continue
		}
		ai, ok := byField[c.ref.name]
		if !ok {
			ai = len(l.anchors)
			byField[c.ref.name] = ai
			l.anchors = append(l.anchors, anchor{ref: c.ref, byText: make(map[string][]int32)})
		}
		for _, lt := range c.lits {
			list := l.anchors[ai].byText[lt.s]
			if len(list) == 0 || list[len(list)-1] != int32(i) {
				l.anchors[ai].byText[lt.s] = append(list, int32(i))
			}
		}
	}
	return l
}

// anchorOf returns a conjunct of the filter that can only be true when the
// field has a value whose text is one of the literals: a positive = or in
// with string literals only. Numeric literals also equal other spellings of
// the number and null equals a missing field, so they do not qualify.
// event_type is the last choice, as routing already narrowed it.
func anchorOf(n node) *cmpNode {
	var conj []node
	switch r := n.(type) {
	case andNode:
		conj = r
	case nil:
		return nil
	default:
		conj = []node{n}
	}
	var fallback *cmpNode
	for _, k := range conj {
		c, ok := k.(*cmpNode)
		if !ok || c.neg || c.op != opEq || len(c.lits) == 0 {
			continue
		}
		usable := true
		for _, lt := range c.lits {
			if lt.null || lt.isNum {
				usable = false
				break
			}
		}
		if !usable {
			continue
		}
		if c.ref.name != "event_type" {
			return c
		}
		if fallback == nil {
			fallback = c
		}
	}
	return fallback
}

func (l *ruleList) eval(ev *Event, fn func(Match)) int {
	if l == nil {
		return 0
	}
	if len(l.anchors) == 0 {
		n := 0
		var fc fileCtx
		for _, cr := range l.rules {
			if cr.matches(ev, &fc) {
				n++
				fn(Match{Rule: &cr.rule, Event: ev, cr: cr})
			}
		}
		return n
	}
	var stack [maxStackRules / 64]uint64
	var set []uint64
	if len(l.always) <= len(stack) {
		set = stack[:len(l.always)]
	} else {
		set = make([]uint64, len(l.always))
	}
	copy(set, l.always)
	for ai := range l.anchors {
		a := &l.anchors[ai]
		for ci := range a.ref.cands {
			cd := &a.ref.cands[ci]
			if cd.misc && !ev.hasMisc {
				continue
			}
			k := ev.lookup(cd.hash, cd.path)
			if k < 0 {
				continue
			}
			for vi := ev.keys[k].first; vi >= 0; vi = ev.vals[vi].next {
				v := &ev.vals[vi]
				if v.kind == kindNull || v.kind == kindObject {
					continue
				}
				for _, ri := range a.byText[ev.text(v)] {
					set[ri/64] |= 1 << (ri % 64)
				}
			}
		}
	}
	n := 0
	var fc fileCtx
	for w, bitsW := range set {
		for bitsW != 0 {
			i := w*64 + bits.TrailingZeros64(bitsW)
			bitsW &= bitsW - 1
			cr := l.rules[i]
			if cr.matches(ev, &fc) {
				n++
				fn(Match{Rule: &cr.rule, Event: ev, cr: cr})
			}
		}
	}
	return n
}

// Title renders the rule's title template with the event's values; a
// missing field renders empty. A title without references is returned as
// is, without allocating.
func (m Match) Title() string { return m.cr.title.render(m.Event) }

// AppendTitle appends the rendered title to dst.
func (m Match) AppendTitle(dst []byte) []byte { return m.cr.title.appendTo(dst, m.Event) }

// Aggregates returns the aggregate fields with the event's values, in the
// rule's order; a missing field's value is "".
func (m Match) Aggregates() []Aggregate {
	return m.AppendAggregates(make([]Aggregate, 0, len(m.cr.aggs)))
}

// AppendAggregates appends the aggregates to dst. Values are substrings of
// the event's text except for array fields, so with a dst of enough
// capacity this allocates nothing in the common case.
func (m Match) AppendAggregates(dst []Aggregate) []Aggregate {
	for i := range m.cr.aggs {
		ref := &m.cr.aggs[i]
		dst = append(dst, Aggregate{FieldName: ref.name, Value: m.Event.render(ref)})
	}
	return dst
}
