package parser

import (
	"bytes"
	"regexp"
	"slices"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// A varUse is one whole-word occurrence of a variable in a body, by what
// it does to the variable.
type varUse struct {
	kind useKind
	rhs  int // for useAssign and useOrAssign: the offset just after its '='
	at   int // the offset of the name; for useAddr, of its '&'
	end  int // the offset just after the name
}

type useKind uint8

const (
	useRead     useKind = iota // anything else
	useAddr                    // &name: the address is taken
	useAssign                  // name = ...
	useOrAssign                // name |= ...
	useCompound                // name op= ... for another op
	usePostInc                 // name++, name--
	usePreInc                  // ++name, --name
)

// eachUse calls fn for every whole-word use of name in text (not as a
// member: `x.name`, `x->name`) until fn returns false.
func eachUse(text []byte, name string, fn func(varUse) bool) {
	for off := 0; ; {
		i := bytes.Index(text[off:], []byte(name))
		if i < 0 {
			return
		}
		i += off
		off = i + len(name)
		if i > 0 && (isWordByte(text[i-1]) || text[i-1] == '.' || text[i-1] == '>') {
			continue
		}
		j := off
		if j < len(text) && isWordByte(text[j]) {
			continue
		}
		k := i - 1
		for k >= 0 && (text[k] == ' ' || text[k] == '\t') {
			k--
		}
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		u := varUse{kind: useRead, at: i, end: off}
		switch {
		case k >= 0 && text[k] == '&' && (k == 0 || text[k-1] != '&'):
			u.kind, u.at = useAddr, k
		case j < len(text) && text[j] == '=' && (j+1 >= len(text) || text[j+1] != '='):
			u.kind, u.rhs = useAssign, j+1
		case j+1 < len(text) && text[j] == '|' && text[j+1] == '=':
			u.kind, u.rhs = useOrAssign, j+2
		case j+1 < len(text) && text[j+1] == '=' && strings.IndexByte("+-&^*/%", text[j]) >= 0:
			u.kind = useCompound
		case j+1 < len(text) && (text[j] == '+' && text[j+1] == '+' || text[j] == '-' && text[j+1] == '-'):
			u.kind = usePostInc
		case k >= 1 && (text[k] == '+' && text[k-1] == '+' || text[k] == '-' && text[k-1] == '-'):
			u.kind = usePreInc
		}
		if !fn(u) {
			return
		}
	}
}

// assignedParams lists the parameters the body assigns to: a test of such
// a parameter says nothing about the value the caller passed. sets gives
// what each assignment stores, "name=value" ("name=?" for a compound
// change or a long value): a parameter only ever set to false still
// tells, when true, what the caller passed.
func (b *builder) assignedParams(body *sitter.Node) (out, sets []string) {
	text := b.x.src[body.StartByte():body.EndByte()]
	for _, v := range b.f.Params {
		if v.Name == "" {
			continue
		}
		eachUse(text, v.Name, func(u varUse) bool {
			if derefAt(text, u.at) {
				return true // `*p = x` writes what p points at, not p
			}
			switch u.kind {
			case useAssign:
				val := "?"
				if end := bytes.IndexByte(text[u.rhs:], ';'); end >= 0 && end <= 40 {
					val = strings.TrimSpace(normSpace(text[u.rhs : u.rhs+end]))
				}
				if !slices.Contains(out, v.Name) {
					out = append(out, v.Name)
				}
				sets = append(sets, v.Name+"="+val)
			case useOrAssign, useCompound, usePostInc, usePreInc:
				if !slices.Contains(out, v.Name) {
					out = append(out, v.Name)
				}
				sets = append(sets, v.Name+"=?")
			}
			return true
		})
	}
	return out, sets
}

// derefAt reports whether the name at text[at] is dereferenced by a
// unary `*` (`*p = x`, not `a * p`).
func derefAt(text []byte, at int) bool {
	k := at - 1
	for k >= 0 && (text[k] == ' ' || text[k] == '\t') {
		k--
	}
	if k < 0 || text[k] != '*' {
		return false
	}
	k--
	for k >= 0 && (text[k] == ' ' || text[k] == '\t') {
		k--
	}
	return k < 0 || !isWordByte(text[k]) && text[k] != ')' && text[k] != ']'
}

// multiAssigned lists the locals a test of which may not hold later:
// assigned more than once (an initializer is one: the declaration's own
// `name = ...` is in the body's text), changed by ++, --, or a compound
// assignment, or with their address taken.
func (b *builder) multiAssigned(body *sitter.Node) []string {
	text := b.x.src[body.StartByte():body.EndByte()]
	var out []string
	for _, v := range b.f.Locals {
		if v.Name == "" || slices.Contains(out, v.Name) {
			continue
		}
		n := 0
		eachUse(text, v.Name, func(u varUse) bool {
			switch u.kind {
			case useAssign:
				n++
			case useAddr, useOrAssign, useCompound, usePostInc, usePreInc:
				n = 2
			}
			return n < 2
		})
		if n >= 2 {
			out = append(out, v.Name)
		}
	}
	return out
}

// firstAssignedInits gives a local declared without an initializer the
// constant its first assignment stores, when every later change only ORs
// more in: `flags = SG_MITER_ATOMIC; if (read) flags |= SG_MITER_TO_SG;`
// reads as an initializer SG_MITER_ATOMIC (the flags a path carries hold
// at least that).
func (b *builder) firstAssignedInits(body *sitter.Node) {
	text := b.x.src[body.StartByte():body.EndByte()]
	for li := range b.f.Locals {
		v := &b.f.Locals[li]
		if v.Name == "" || v.Init != "" {
			continue
		}
		first, ok := "", true
		eachUse(text, v.Name, func(u varUse) bool {
			switch u.kind {
			case useAssign:
				end := bytes.IndexByte(text[u.rhs:], ';')
				if first != "" || end < 0 {
					ok = false // assigned again
					break
				}
				first = strings.TrimSpace(normSpace(text[u.rhs : u.rhs+end]))
				ok = constFlags(first)
			case useOrAssign, useRead:
				// ORs more in: the first value still holds
			default:
				ok = false // its address is taken, or it changes
			}
			return ok
		})
		if ok && first != "" {
			v.Init = first
		}
	}
}

// constFlags reports whether an expression is upper-case constants joined
// by | (SG_MITER_ATOMIC | SG_MITER_TO_SG).
func constFlags(s string) bool {
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c == '_' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// onceFlags finds the variables the function sets to 1 or true that
// outlive the call: static locals, and names that are neither locals nor
// parameters (globals). `if (installed) return; ... installed = 1;` makes
// the rest run on the first call only.
func (b *builder) onceFlags(body *sitter.Node) []string {
	text := b.x.src[body.StartByte():body.EndByte()]
	var out []string
	for _, m := range onceSetRe.FindAllSubmatch(text, -1) {
		name := string(m[1])
		if slices.Contains(out, name) {
			continue
		}
		if b.staticLocals[name] {
			out = append(out, name)
			continue
		}
		local := false
		for _, v := range b.f.Locals {
			local = local || v.Name == name
		}
		for _, v := range b.f.Params {
			local = local || v.Name == name
		}
		if !local {
			out = append(out, name)
		}
	}
	return out
}

var onceSetRe = regexp.MustCompile(`(?m)(?:^|[;{}])\s*([A-Za-z_]\w*)\s*=\s*(?:1|true)\s*;`)

// locals records the variables a declaration introduces.
func (b *builder) locals(n *sitter.Node) {
	t := n.ChildByFieldName("type")
	if t == nil {
		return
	}
	static := false
	for i := 0; i < int(n.NamedChildCount()); i++ {
		if c := n.NamedChild(i); sym.has("storage_class_specifier", c) && b.x.text(c) == "static" {
			static = true
		}
	}
	tname := b.x.typeName(t)
	for i := 0; i < int(n.NamedChildCount()); i++ {
		d := n.NamedChild(i)
		if d.Equal(t) || !isDeclarator(d) {
			continue
		}
		name, ptr := declName(b.x, d)
		if name != "" {
			l, _ := pos(d)
			v := Var{Name: name, Type: tname, Ptr: ptr, Line: l}
			if sym.has("init_declarator", d) {
				if val := d.ChildByFieldName("value"); val != nil && sym.has("initializer_list", val) {
					v.Init = b.designated(val)
				} else if val != nil && val.EndByte()-val.StartByte() < 200 {
					text := b.x.text(val)
					v.ThisCPU = IsThisCPURead(text)
					if len(text) <= 64 && constExpr(text) {
						v.Init = text
					}
				}
			}
			b.f.Locals = append(b.f.Locals, v)
			if static {
				if b.staticLocals == nil {
					b.staticLocals = map[string]bool{}
				}
				b.staticLocals[name] = true
			}
		}
	}
}

// constExpr reports whether an initializer is a constant: a number,
// true/false/NULL, or upper-case constants joined by |.
// designated summarises a struct initializer as the members it sets to
// something other than zero, "{a,b=FLAG}" (with the value when it is a
// constant or a plain name): every other member starts zeroed
// (`struct mmc_command cmd = {};` has no data). "" when a member is set
// by position to anything but zero (which member is not told here).
func (b *builder) designated(list *sitter.Node) string {
	var names []string
	for i := 0; i < int(list.NamedChildCount()); i++ {
		c := list.NamedChild(i)
		if sym.has("comment", c) {
			continue
		}
		if sym.has("initializer_pair", c) {
			d := c.NamedChild(0)
			val := c.ChildByFieldName("value")
			if d == nil || !sym.has("field_designator", d) {
				return ""
			}
			if val != nil && zeroLiteral(b.x.text(val)) {
				continue
			}
			name := strings.TrimPrefix(strings.TrimSpace(b.x.text(d)), ".")
			if val != nil {
				// a constant or a plain name is kept with the member:
				// `.flags = CMD_ASYNC`, `.flags = flags`
				if v := strings.TrimSpace(normSpace([]byte(b.x.text(val)))); len(v) <= 48 && (constExpr(v) || isIdent(v)) {
					name += "=" + v
				}
			}
			names = append(names, name)
			continue
		}
		if !zeroLiteral(b.x.text(c)) {
			return ""
		}
	}
	return "{" + strings.Join(names, ",") + "}"
}

func zeroLiteral(s string) bool {
	switch strings.TrimSpace(s) {
	case "0", "NULL", "false", "{}", "{ }", "{0}", "{ 0 }":
		return true
	}
	return false
}

func constExpr(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	if s == "true" || s == "false" || s == "NULL" || s[0] >= '0' && s[0] <= '9' {
		return !strings.ContainsAny(s, " \t(")
	}
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; !(c == '_' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
