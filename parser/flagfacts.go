package parser

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// Flag words: what a function does to a local's bits (`flags |= X`,
// `__set_bit(RAMROD_RX, &ramrod_flags)`) and to the members of a local
// struct (`p.ramrod_flags = flags`, `__set_bit(X, &p.ramrod_flags)`), so
// the path check can tell which bits a value may carry into a callee that
// tests them (`if (test_bit(RAMROD_COMP_WAIT, &p->ramrod_flags))`).

// bitopKind is what a bit operation does to the word it is given.
type bitopKind uint8

const (
	bitRead   bitopKind = iota + 1 // test_bit(): the word is unchanged
	bitMaySet                      // set_bit(), change_bit(), assign_bit(): the bit may be set
	bitClear                       // clear_bit(): the bit may be cleared
)

var bitops = map[string]bitopKind{
	"test_bit": bitRead, "constant_test_bit": bitRead, "variable_test_bit": bitRead, "test_bit_acquire": bitRead,
	"set_bit": bitMaySet, "__set_bit": bitMaySet, "test_and_set_bit": bitMaySet, "__test_and_set_bit": bitMaySet,
	"test_and_set_bit_lock": bitMaySet, "set_bit_lock": bitMaySet,
	"change_bit": bitMaySet, "__change_bit": bitMaySet, "test_and_change_bit": bitMaySet, "__test_and_change_bit": bitMaySet,
	"assign_bit": bitMaySet, "__assign_bit": bitMaySet,
	"clear_bit": bitClear, "__clear_bit": bitClear, "test_and_clear_bit": bitClear, "__test_and_clear_bit": bitClear,
	"clear_bit_unlock": bitClear, "__clear_bit_unlock": bitClear,
}

// IsBitop reports whether name is a bit operation whose effect on a flag
// word the facts record (set_bit(), __clear_bit(), test_bit(), ...).
func IsBitop(name string) bool { return bitops[name] != 0 }

// bitopAt reads the bit operation whose address argument is the `&...`
// expression at text[amp:end]: `__set_bit(NR, &x)` gives its kind and NR.
// ok is false when the expression is not the second argument of a known
// bit operation with a named-constant bit.
func bitopAt(text []byte, amp, end int) (kind bitopKind, nr string, ok bool) {
	j := end
	for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n') {
		j++
	}
	if j >= len(text) || text[j] != ')' && text[j] != ',' {
		return 0, "", false
	}
	k := amp - 1
	for k >= 0 && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n') {
		k--
	}
	if k < 0 || text[k] != ',' {
		return 0, "", false
	}
	open := bytes.LastIndexByte(text[:k], '(')
	if open < 0 {
		return 0, "", false
	}
	nr = strings.TrimSpace(string(text[open+1 : k]))
	if !constFlags(nr) || strings.Contains(nr, "|") {
		return 0, "", false
	}
	c := open
	for c > 0 && (text[c-1] == ' ' || text[c-1] == '\t') {
		c--
	}
	st := c
	for st > 0 && isWordByte(text[st-1]) {
		st--
	}
	kind = bitops[string(text[st:c])]
	return kind, nr, kind != 0
}

// memsetInits gives a struct local declared without an initializer the
// zeroed initializer "{}" when its first use is `memset(&name, 0, ...)`:
// from there on every member is zero until set, as with `= {}`.
func (b *builder) memsetInits(body *sitter.Node) {
	text := b.x.src[body.StartByte():body.EndByte()]
	row0 := int(body.StartPoint().Row) + 1
	for li := range b.f.Locals {
		v := &b.f.Locals[li]
		if v.Name == "" || v.Init != "" || v.Ptr != 0 {
			continue
		}
		eachUse(text, v.Name, func(u varUse) bool {
			if row0+bytes.Count(text[:u.at], []byte("\n")) == int(v.Line) {
				return true // the declaration
			}
			if u.kind != useAddr {
				return false
			}
			k := u.at - 1
			for k >= 0 && (text[k] == ' ' || text[k] == '\t') {
				k--
			}
			if k < 0 || text[k] != '(' || !bytes.HasSuffix(bytes.TrimRight(text[:k], " \t"), []byte("memset")) {
				return false
			}
			rest := bytes.TrimLeft(text[u.end:], " \t")
			if bytes.HasPrefix(rest, []byte(",")) {
				rest = bytes.TrimLeft(rest[1:], " \t")
				if bytes.HasPrefix(rest, []byte("0,")) || bytes.HasPrefix(rest, []byte("0 ,")) {
					v.Init = "{}"
				}
			}
			return false
		})
	}
}

// grownFlags lists, for each local that is given a constant and later
// only gains or loses named bits (`flags |= X | Y`, `__set_bit(X,
// &flags)`, `clear_bit(X, &flags)`), the bits that may change: entries
// "name=X|Y". A test of such a local's initial value alone would be wrong
// (the bits may have been added); a test of a bit nobody sets is not.
// When the local's address is given to another call, "@LINE" gives the
// line of the first: after that call the value is unknown.
func (b *builder) grownFlags(body *sitter.Node) []string {
	text := b.x.src[body.StartByte():body.EndByte()]
	row0 := int(body.StartPoint().Row) + 1
	var out []string
	for _, v := range b.f.Locals {
		if v.Name == "" || v.Ptr != 0 || !slices.Contains(b.f.MultiAssigned, v.Name) {
			continue
		}
		if v.Init != "0" && !constFlags(v.Init) && !hasCallInit(b.f.CallInits, v.Name) {
			continue
		}
		var bits []string
		assigns, escape := 0, 0
		ok := true
		eachUse(text, v.Name, func(u varUse) bool {
			switch u.kind {
			case useRead:
			case useAssign:
				assigns++
				ok = assigns == 1 // the initial value
			case useOrAssign:
				end := bytes.IndexByte(text[u.rhs:], ';')
				if end < 0 {
					ok = false
					break
				}
				rhs := strings.TrimSpace(normSpace(text[u.rhs : u.rhs+end]))
				if ok = constFlags(rhs); ok {
					for _, part := range strings.Split(rhs, "|") {
						bits = appendOnce(bits, strings.TrimSpace(part))
					}
				}
			case useAddr:
				kind, nr, isBitop := bitopAt(text, u.at, u.end)
				switch {
				case isBitop && kind != bitRead:
					bits = appendOnce(bits, nr)
				case isBitop:
				case escape == 0 && callArg(text, u.at):
					// given to a call: known up to that call only
					escape = row0 + bytes.Count(text[:u.at], []byte("\n"))
				case escape == 0:
					ok = false
				}
			default:
				ok = false
			}
			return ok
		})
		if ok {
			e := v.Name + "=" + strings.Join(bits, "|")
			if escape > 0 {
				e += "@" + strconv.Itoa(escape)
			}
			out = append(out, e)
		}
	}
	return out
}

// memberFacts summarises, for each struct local with a zeroed start (an
// initializer, or memset), the members whose value the body fixes: at
// most one plain assignment of a short value (`p.flags = ramrod_flags;`)
// and otherwise only named bits gained or lost (`p.flags |= X`,
// `__set_bit(X, &p.flags)`). Entries are "name.member\x00value\x00line\x00bits":
// the value assigned ("" when none, so the member stays zero), the line
// of that assignment (before it the member is still zero) and the bits
// that may change. A member the body changes any other way has no entry
// (MemberSets still names it).
//
// sets lists, in the same scan, the members of those locals the body may
// set at all (Func.MemberSets): an assignment, a compound assignment, or
// a nested member or element behind it.
func (b *builder) memberFacts(body *sitter.Node) (sets, out []string) {
	text := b.x.src[body.StartByte():body.EndByte()]
	row0 := int(body.StartPoint().Row) + 1
	type mv struct {
		val  string
		line int
		bits []string
		bad  bool
		n    int
	}
	for _, v := range b.f.Locals {
		if !strings.HasPrefix(v.Init, "{") {
			continue
		}
		mems := map[string]*mv{}
		var order []string
		eachUse(text, v.Name, func(u varUse) bool {
			j := u.end
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j >= len(text) || text[j] != '.' {
				return true
			}
			j++
			k := j
			for k < len(text) && isWordByte(text[k]) {
				k++
			}
			if k == j {
				return true
			}
			name := string(text[j:k])
			m := mems[name]
			if m == nil {
				m = &mv{}
				mems[name] = m
				order = append(order, name)
			}
			e := k
			for e < len(text) && (text[e] == ' ' || text[e] == '\t') {
				e++
			}
			if e < len(text) && (text[e] == '=' && (e+1 >= len(text) || text[e+1] != '=') ||
				e+1 < len(text) && text[e+1] == '=' && strings.IndexByte("+-|&^*/%", text[e]) >= 0 ||
				text[e] == '.' || text[e] == '[') {
				// (a nested member or an element counts as set too)
				if s := v.Name + "." + name; !slices.Contains(sets, s) {
					sets = append(sets, s)
				}
			}
			switch {
			case u.kind == useAddr:
				kind, nr, ok := bitopAt(text, u.at, k)
				switch {
				case !ok:
					m.bad = true
				case kind != bitRead:
					m.bits = appendOnce(m.bits, nr)
				}
			case e < len(text) && text[e] == '=' && (e+1 >= len(text) || text[e+1] != '='):
				m.n++
				end := bytes.IndexByte(text[e+1:], ';')
				if end < 0 || end > 80 || m.n > 1 {
					m.bad = true
					break
				}
				m.val = strings.TrimSpace(normSpace(text[e+1 : e+1+end]))
				m.line = row0 + bytes.Count(text[:e], []byte("\n"))
				if !constExpr(m.val) && !isIdent(m.val) {
					m.bad = true
				}
			case e+1 < len(text) && text[e] == '|' && text[e+1] == '=':
				end := bytes.IndexByte(text[e+2:], ';')
				rhs := ""
				if end >= 0 {
					rhs = strings.TrimSpace(normSpace(text[e+2 : e+2+end]))
				}
				if !constFlags(rhs) {
					m.bad = true
					break
				}
				for _, part := range strings.Split(rhs, "|") {
					m.bits = appendOnce(m.bits, strings.TrimSpace(part))
				}
			case e < len(text) && (text[e] == '.' || text[e] == '[' || text[e] == '-' && e+1 < len(text) && text[e+1] == '>'):
				// a nested member or an element: not a value of this one
				if bytes.Contains(text[e:min(len(text), e+80)], []byte("=")) {
					m.bad = true
				}
			case e+1 < len(text) && text[e+1] == '=' && strings.IndexByte("+-&^*/%<>", text[e]) >= 0,
				e+1 < len(text) && (text[e] == '+' && text[e+1] == '+' || text[e] == '-' && text[e+1] == '-'):
				m.bad = true
			}
			return true
		})
		if v.Ptr != 0 {
			continue // an array of pointers: no member values
		}
		for _, name := range order {
			m := mems[name]
			if m.bad || m.n == 0 && len(m.bits) == 0 {
				continue
			}
			out = append(out, v.Name+"."+name+"\x00"+m.val+"\x00"+strconv.Itoa(m.line)+"\x00"+strings.Join(m.bits, "|"))
		}
	}
	return sets, out
}

// callArg reports whether the `&` at text[amp] starts an argument of a
// call (after `(` or `,`), not an address stored somewhere.
func callArg(text []byte, amp int) bool {
	k := amp - 1
	for k >= 0 && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n') {
		k--
	}
	return k >= 0 && (text[k] == '(' || text[k] == ',')
}

func appendOnce(xs []string, x string) []string {
	if x == "" || slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

// retExpr returns the expression of a body that is one `return EXPR;`
// ("" otherwise): `return noblock ? 0 : sk->sk_sndtimeo;`.
func (b *builder) retExpr(body *sitter.Node) string {
	text := strings.TrimSpace(string(b.x.src[body.StartByte():body.EndByte()]))
	if !strings.HasPrefix(text, "{") || !strings.HasSuffix(text, "}") {
		return ""
	}
	inner := strings.TrimSpace(text[1 : len(text)-1])
	if !strings.HasPrefix(inner, "return") || len(inner) < 8 || isWordByte(inner[6]) || !strings.HasSuffix(inner, ";") {
		return ""
	}
	e := strings.TrimSpace(normSpace([]byte(inner[6 : len(inner)-1])))
	if e == "" || len(e) > 160 || strings.ContainsAny(e, ";{}\"'") {
		return ""
	}
	return e
}

// callInits lists the locals whose one assignment stores a call's result
// (`timeo = sock_sndtimeo(ssk, nonblock);`, or the declaration's
// initializer), as "name=call(args)"; the local may also be read or given
// by address to calls (see grownFlags for where its value stops being
// known).
func (b *builder) callInits(body *sitter.Node) (calls, addrs []string) {
	text := b.x.src[body.StartByte():body.EndByte()]
	var out []string
	for _, v := range b.f.Locals {
		if v.Name == "" || v.Init != "" {
			continue
		}
		call := ""
		ok := true
		eachUse(text, v.Name, func(u varUse) bool {
			switch u.kind {
			case useRead:
			case useAddr:
				// &p->m takes a member's address, not the local's
				rest := bytes.TrimLeft(text[u.end:], " \t")
				ok = callArg(text, u.at) || v.Ptr > 0 && bytes.HasPrefix(rest, []byte("->"))
			case useAssign:
				end := bytes.IndexByte(text[u.rhs:], ';')
				if call != "" || end < 0 || end > 120 {
					ok = false
					break
				}
				call = strings.TrimSpace(normSpace(text[u.rhs : u.rhs+end]))
				ok = (isCallText(call) || v.Ptr > 0 && isMemberAddr(call)) && !strings.ContainsAny(call, "\"'{")
			default:
				ok = false
			}
			return ok
		})
		switch {
		case !ok || call == "":
		case strings.HasPrefix(call, "&"):
			addrs = append(addrs, v.Name+"="+call)
		default:
			out = append(out, v.Name+"="+call)
		}
	}
	return out, addrs
}

// isMemberAddr reports whether an expression is the address of a member
// of a named object: `&priv->free_queue`, `&dev->q[2].wait`.
func isMemberAddr(e string) bool {
	if !strings.HasPrefix(e, "&") || strings.HasPrefix(e, "&&") {
		return false
	}
	e = strings.TrimSpace(e[1:])
	if !strings.Contains(e, "->") && !strings.Contains(e, ".") {
		return false
	}
	for i := 0; i < len(e); i++ {
		c := e[i]
		if !(c == '_' || c == '-' || c == '>' || c == '.' || c == '[' || c == ']' || c == ' ' ||
			c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// derefWrites gives, for each pointer parameter, the first line where
// what it points at may change: `*p = ...`, `*p |= ...`, or p given to a
// call (which may write through it), as "p=LINE". A test of `*p` before
// that line reads the caller's value.
func (b *builder) derefWrites(body *sitter.Node) []string {
	text := b.x.src[body.StartByte():body.EndByte()]
	row0 := int(body.StartPoint().Row) + 1
	var out []string
	for _, v := range b.f.Params {
		if v.Name == "" || v.Ptr == 0 {
			continue
		}
		first := 0
		eachUse(text, v.Name, func(u varUse) bool {
			k := u.at - 1
			for k >= 0 && (text[k] == ' ' || text[k] == '\t') {
				k--
			}
			j := u.end
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			write := false
			switch {
			case derefAt(text, u.at):
				// *p = x, *p |= x, (*p)++ ... and ++*p
				write = memberWritten(text, u.end) ||
					k >= 2 && (text[k-1] == '+' && text[k-2] == '+' || text[k-1] == '-' && text[k-2] == '-')
			case u.kind == useRead && k >= 0 && (text[k] == '(' || text[k] == ',') && j < len(text) && (text[j] == ',' || text[j] == ')'):
				// given to a call (or a cast, or a macro): it may write,
				// unless it only tests a bit
				kind, _, ok := bitopAt(text, u.at, u.end)
				write = !ok || kind != bitRead
			case u.kind == useAssign, u.kind == useAddr:
				write = true // the pointer itself changes, or escapes
			}
			if write {
				first = row0 + bytes.Count(text[:u.at], []byte("\n"))
				return false
			}
			return true
		})
		if first > 0 {
			out = append(out, v.Name+"="+strconv.Itoa(first))
		}
	}
	return out
}

func hasCallInit(inits []string, name string) bool {
	for _, c := range inits {
		if strings.HasPrefix(c, name+"=") {
			return true
		}
	}
	return false
}

// paramWrites lists, for each pointer parameter (and each pointer local
// set from one call), the members of what it points at that the body may
// change itself: `p->m = x`, `p->m |= x`,
// `p->m++`, `&p->m` given anywhere but to a bit test, a bit operation
// on `p->m`; "p=*" when the whole object may change or the pointer is
// stored or changed (`*p = x`, `q = p`, `p = q`, `(void *)p` given to a
// call). Giving p itself to a call is not listed: the linker follows the
// call (see callgraph's member writes).
func (b *builder) paramWrites(body *sitter.Node) []string {
	text := b.x.src[body.StartByte():body.EndByte()]
	var out []string
	// the pointer parameters, and the pointer locals that store one
	// call's result (whose one assignment is that call, not a change)
	vars := append([]Var(nil), b.f.Params...)
	nparams := len(vars)
	for _, l := range b.f.Locals {
		if l.Ptr > 0 && hasCallInit(b.f.CallInits, l.Name) {
			vars = append(vars, l)
		}
	}
	for vi, v := range vars {
		if v.Name == "" || v.Ptr == 0 {
			continue
		}
		isLocal := vi >= nparams
		var mems []string
		all := false
		eachUse(text, v.Name, func(u varUse) bool {
			k := u.at - 1
			if u.kind == useAddr {
				k-- // before the '&'
			}
			for k >= 0 && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n') {
				k--
			}
			j := u.end
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j+1 < len(text) && text[j] == '-' && text[j+1] == '>' {
				// p->m...: a member access
				m := j + 2
				for m < len(text) && (text[m] == ' ' || text[m] == '\t') {
					m++
				}
				e := m
				for e < len(text) && isWordByte(text[e]) {
					e++
				}
				if e == m {
					all = true
					return false
				}
				mem := string(text[m:e])
				if u.kind == useAddr {
					// &p->m: a bit test reads it; anything else may write it
					if kind, _, ok := bitopAt(text, u.at, e); !(ok && kind == bitRead) {
						mems = appendOnce(mems, mem)
					}
					return true
				}
				if memberWritten(text, e) {
					mems = appendOnce(mems, mem)
				} else if kind, _, ok := bitopAt(text, u.at, e); ok && kind != bitRead {
					mems = appendOnce(mems, mem) // set_bit(X, p->bitmap)
				}
				return true
			}
			if isLocal && u.kind == useAssign && !derefAt(text, u.at) {
				return true // the local's one assignment: its call
			}
			if derefAt(text, u.at) || u.kind != useRead {
				all = true // *p = x, p = q, &p
				return false
			}
			prev := byte(0)
			if k >= 0 {
				prev = text[k]
			}
			next := byte(0)
			if j < len(text) {
				next = text[j]
			}
			switch {
			case prev == '=' && (k == 0 || strings.IndexByte("=!<>", text[k-1]) < 0):
				all = true // stored: q = p
			case prev == '{':
				all = true // in an initializer
			case next == ',' || next == ')' || next == ';' || next == '?' || next == ':' || next == ']':
			case next == '=' && j+1 < len(text) && text[j+1] == '=', next == '!' && j+1 < len(text) && text[j+1] == '=':
			case next == '&' && j+1 < len(text) && text[j+1] == '&', next == '|' && j+1 < len(text) && text[j+1] == '|':
			default:
				all = true // p + 1, p[i], ...
			}
			return !all
		})
		switch {
		case all:
			out = append(out, v.Name+"=*")
		case len(mems) > 0:
			out = append(out, v.Name+"="+strings.Join(mems, "|"))
		}
	}
	return out
}

// memberWritten reports whether the member access ending at text[e]
// (`p->m`, then possibly `.x`, `->y`, `[i]`) is assigned, compound-
// assigned or incremented.
func memberWritten(text []byte, e int) bool {
	for e < len(text) {
		for e < len(text) && (text[e] == ' ' || text[e] == '\t') {
			e++
		}
		switch {
		case e < len(text) && text[e] == '.':
			e++
		case e+1 < len(text) && text[e] == '-' && text[e+1] == '>':
			e += 2
		case e < len(text) && text[e] == '[':
			depth := 0
			for ; e < len(text); e++ {
				if text[e] == '[' {
					depth++
				} else if text[e] == ']' {
					depth--
					if depth == 0 {
						e++
						break
					}
				}
			}
			continue
		default:
			if e >= len(text) {
				return false
			}
			c := text[e]
			if c == '=' {
				return e+1 >= len(text) || text[e+1] != '='
			}
			if e+1 < len(text) && text[e+1] == '=' && strings.IndexByte("+-|&^*/%", c) >= 0 {
				return true
			}
			if e+2 < len(text) && text[e+2] == '=' && (c == '<' && text[e+1] == '<' || c == '>' && text[e+1] == '>') {
				return true
			}
			return e+1 < len(text) && (c == '+' && text[e+1] == '+' || c == '-' && text[e+1] == '-')
		}
		for e < len(text) && (text[e] == ' ' || text[e] == '\t') {
			e++
		}
		for e < len(text) && isWordByte(text[e]) {
			e++
		}
	}
	return false
}

var returnRe = regexp.MustCompile(`\breturn\s+([A-Za-z_]\w*)\s*;`)

// retStores finds, for a function that returns one local pointer R (or
// NULL), the members of *R it sets from a parameter on the way out at
// the body's top level: `cqp_request->waiting = wait;` before `return
// cqp_request;`, as "waiting=1" (the parameter's index). A caller's
// `r = f(..., false)` then has r->waiting false.
func (b *builder) retStores(body *sitter.Node) []string {
	if len(b.f.Params) == 0 || b.f.ReturnType == "" {
		return nil
	}
	text := b.x.src[body.StartByte():body.EndByte()]
	ret := ""
	for _, m := range returnRe.FindAllSubmatch(text, -1) {
		name := string(m[1])
		switch {
		case name == "NULL":
		case ret == "" || ret == name:
			ret = name
		default:
			return nil
		}
	}
	if ret == "" || !strings.Contains(string(text), "return") {
		return nil
	}
	local := false
	for _, v := range b.f.Locals {
		local = local || v.Name == ret && v.Ptr > 0
	}
	if !local {
		return nil
	}
	// returns of anything else (`return ERR_PTR(...)`, `return p->x`)
	if strings.Count(string(text), "return") != len(returnRe.FindAll(text, -1)) {
		return nil
	}
	count := map[string]int{}
	vals := map[string]int{}
	var order []string
	eachUse(text, ret, func(u varUse) bool {
		j := u.end
		if u.kind != useRead || j+1 >= len(text) || text[j] != '-' || text[j+1] != '>' {
			return true
		}
		m := j + 2
		e := m
		for e < len(text) && isWordByte(text[e]) {
			e++
		}
		mem := string(text[m:e])
		k := e
		for k < len(text) && (text[k] == ' ' || text[k] == '\t') {
			k++
		}
		if k >= len(text) || text[k] != '=' || k+1 < len(text) && text[k+1] == '=' {
			if memberWritten(text, e) {
				count[mem] += 2 // changed another way
			}
			return true
		}
		count[mem]++
		if _, seen := vals[mem]; !seen {
			order = append(order, mem)
		}
		vals[mem] = -1
		end := bytes.IndexByte(text[k+1:], ';')
		if end < 0 || !topLevelStmt(text, u.at) {
			return true
		}
		rhs := strings.TrimSpace(string(text[k+1 : k+1+end]))
		for i, p := range b.f.Params {
			if p.Name == rhs && !slices.Contains(b.f.AssignedParams, rhs) {
				vals[mem] = i
			}
		}
		return true
	})
	var out []string
	for _, mem := range order {
		if count[mem] == 1 && vals[mem] >= 0 {
			out = append(out, mem+"="+strconv.Itoa(vals[mem]))
		}
	}
	return out
}

// topLevelStmt reports whether the statement starting at text[at] is at
// the body's top level (brace depth 1) and not the branch of an if or
// else without braces.
func topLevelStmt(text []byte, at int) bool {
	depth := 0
	for i := 0; i < at; i++ {
		switch text[i] {
		case '{':
			depth++
		case '}':
			depth--
		}
	}
	if depth != 1 {
		return false
	}
	k := at - 1
	for k >= 0 && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r') {
		k--
	}
	return k >= 0 && (text[k] == ';' || text[k] == '{' || text[k] == '}')
}
