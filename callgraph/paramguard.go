package callgraph

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// A ParamGuard is a test of one of the function's parameters that holds
// on every path to a call: `if (may_block && ...)`, `if (!(flags &
// RPM_ASYNC))`, `if (delay)`. A caller passing a constant that contradicts
// it (may_block=false, RPM_ASYNC, 0) cannot reach the call that way.
type ParamGuard struct {
	Param int8
	Test  uint8
	// Flag is the constant tested: the bit of pgHas/pgLacks, the value of
	// pgEq/pgNe (`mode == MODE_X`, `case MODE_X:`).
	Flag string
	// Field: the test is of a field of the parameter
	// (`miter->__flags & SG_MITER_ATOMIC`).
	Field string
	// Local, when set, names the local variable tested instead of a
	// parameter (Param is then -1): `if (!skb) break;` makes skb non-NULL
	// at the calls after it. Only locals assigned once are tracked.
	Local string
}

const (
	pgTruthy uint8 = iota + 1
	pgFalsy
	pgHas   // param & Flag
	pgLacks // !(param & Flag)
	pgEq    // param == Flag
	pgNe    // param != Flag
	// the sign against zero: param > 0, param <= 0, param < 0, param >= 0
	pgGtZero
	pgLeZero
	pgLtZero
	pgGeZero
)

// relational splits `a OP 0` for OP one of <, <=, >, >= (not ->, << or
// >>), with 0 on the right; ok false for anything else.
func relational(s string) (a, op, b string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '<' && c != '>' {
			continue
		}
		if c == '>' && i > 0 && s[i-1] == '-' {
			continue // ->
		}
		if i+1 < len(s) && s[i+1] == c || i > 0 && s[i-1] == c {
			return "", "", "", false // << or >>
		}
		op = string(c)
		j := i + 1
		if j < len(s) && s[j] == '=' {
			op += "="
			j++
		}
		a, b = strings.TrimSpace(s[:i]), strings.TrimSpace(s[j:])
		if !zeroish(b) || strings.ContainsAny(a, "<>=!&|?") && !strings.Contains(a, "->") {
			return "", "", "", false
		}
		return a, op, b, true
	}
	return "", "", "", false
}

// isAddrConst: the address of a named object, `&iomem_resource`.
func isAddrConst(s string) bool {
	return strings.HasPrefix(s, "&") && isIdentText(strings.TrimSpace(s[1:]))
}

// negation pairs each test with its opposite.
var negation = [...]uint8{pgTruthy: pgFalsy, pgFalsy: pgTruthy, pgHas: pgLacks, pgLacks: pgHas,
	pgEq: pgNe, pgNe: pgEq, pgGtZero: pgLeZero, pgLeZero: pgGtZero, pgLtZero: pgGeZero, pgGeZero: pgLtZero}

func (g ParamGuard) negate() ParamGuard {
	if int(g.Test) < len(negation) && negation[g.Test] != 0 {
		g.Test = negation[g.Test]
	}
	return g
}

// paramGuards reads the parameter tests of a branch condition: facts for
// the true successor (every conjunct of a top-level &&) and for the false
// one (every disjunct of a top-level ||, negated).
// onlyZeroed reports whether every assignment of f to its parameter name
// stores zero (`sleep_ok = false;` when the timeout says it cannot sleep).
func onlyZeroed(f *Func, name string) bool {
	n := 0
	for _, s := range f.Src.ParamSets {
		if v, ok := strings.CutPrefix(s, name+"="); ok {
			if !zeroish(v) {
				return false
			}
			n++
		}
	}
	return n > 0
}

// keepGuard drops, for a parameter the function may reset to zero, every
// test but "non-zero": that it is non-zero now says the caller passed
// non-zero; that it is zero says nothing.
func keepGuard(f *Func, gs []ParamGuard) []ParamGuard {
	out := gs[:0:0]
	for _, g := range gs {
		if g.Param >= 0 && int(g.Param) < len(f.Src.Params) && g.Field == "" &&
			slices.Contains(f.Src.AssignedParams, f.Src.Params[g.Param].Name) && g.Test != pgTruthy {
			continue
		}
		out = append(out, g)
	}
	return out
}

func (p *Program) paramGuards(f *Func, cond string) (onTrue, onFalse []ParamGuard) {
	onTrue, onFalse = p.paramGuards1(f, cond)
	return keepGuard(f, onTrue), keepGuard(f, onFalse)
}

func (p *Program) paramGuards1(f *Func, cond string) (onTrue, onFalse []ParamGuard) {
	if len(f.Src.Params) == 0 || len(cond) > 200 {
		return nil, nil
	}
	cond = p.K.unwrap(cond)
	if parts := splitTop(cond, "&&"); len(parts) > 1 {
		for _, c := range parts {
			if g, ok := p.atomGuard(f, c); ok {
				onTrue = append(onTrue, g)
			}
		}
		return onTrue, nil
	}
	if parts := splitTop(cond, "||"); len(parts) > 1 {
		if m := sameMask(parts); m != "" {
			// `mask & A || mask & B` is `mask & (A | B)`
			if g, ok := p.atomGuard(f, m); ok {
				return []ParamGuard{g}, []ParamGuard{g.negate()}
			}
		}
		if g, ok := p.anyEqual(f, parts); ok {
			// `code == A || code == B`: code is one of them
			return []ParamGuard{g}, []ParamGuard{g.negate()}
		}
		for _, c := range parts {
			if g, ok := p.atomGuard(f, c); ok {
				onFalse = append(onFalse, g.negate())
			}
		}
		return nil, onFalse
	}
	if g, ok := p.atomGuard(f, cond); ok {
		return []ParamGuard{g}, []ParamGuard{g.negate()}
	}
	return nil, nil
}

// unwrap strips blanks, outer parentheses and the table's branch hints
// (likely()/unlikely()).
func (k *Knowledge) unwrap(s string) string {
	for {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "(") && matchParen(s, 0) == len(s)-1 {
			s = s[1 : len(s)-1]
			continue
		}
		i := strings.IndexByte(s, '(')
		if i > 0 && strings.HasSuffix(s, ")") && k.transparent[s[:i]] && matchParen(s, i) == len(s)-1 {
			s = s[i+1 : len(s)-1]
			continue
		}
		return s
	}
}

// splitTop splits s at top-level (unparenthesised) occurrences of op.
func splitTop(s, op string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		default:
			if depth == 0 && strings.HasPrefix(s[i:], op) {
				out = append(out, s[start:i])
				i += len(op) - 1
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// atomGuard reads one test of a parameter: p, !p, p == 0, p != NULL,
// p & FLAG, !(p & FLAG).
func (p *Program) atomGuard(f *Func, s string) (ParamGuard, bool) {
	s = p.K.unwrap(s)
	if strings.HasPrefix(s, "!") && !strings.HasPrefix(s, "!=") {
		g, ok := p.atomGuard(f, s[1:])
		return g.negate(), ok
	}
	field := ""
	param := func(name string) (int8, bool) {
		name = strings.TrimSpace(name)
		deref := false
		if strings.HasPrefix(name, "*") {
			// `*timeo`: what a pointer parameter points at
			name, deref, field = strings.TrimSpace(name[1:]), true, "*"
		}
		if b, fl, ok := strings.Cut(name, "->"); ok && isFieldPath(fl) && !deref {
			// (a member path too: `ring->funcs->end_use`, an optional
			// operation tested before it is called)
			name, field = strings.TrimSpace(b), strings.ReplaceAll(fl, " ", "")
		}
		if slices.Contains(f.Src.AssignedParams, name) && !(field == "" && onlyZeroed(f, name)) {
			// `if (domain == NULL) domain = default;` tests a new value
			// (one only ever set to false is kept: see keepGuard)
			return 0, false
		}
		for i, v := range f.Src.Params {
			if v.Name == name && i < 127 && (!deref || v.Ptr > 0) {
				return int8(i), true
			}
		}
		return 0, false
	}
	if nr, addr, ok := bitTest(s, p.isConst); ok {
		// test_bit(NR, &p->flags), test_bit(NR, p->bitmap): a bit of a
		// parameter's member; test_bit(NR, word): of the word a pointer
		// parameter points at
		amp := strings.HasPrefix(addr, "&")
		if i, ok := param(strings.TrimPrefix(addr, "&")); ok {
			switch {
			case field != "":
				return ParamGuard{Param: i, Test: pgHas, Flag: nr, Field: field}, true
			case !amp && f.Src.Params[i].Ptr > 0:
				return ParamGuard{Param: i, Test: pgHas, Flag: nr, Field: "*"}, true
			}
		}
		return ParamGuard{}, false
	}
	if i, ok := param(s); ok {
		return ParamGuard{Param: i, Test: pgTruthy, Field: field}, true
	}
	if l := localOnce(f, s); l != "" {
		return ParamGuard{Param: -1, Test: pgTruthy, Local: l}, true
	}
	if a, op, b, ok := relational(s); ok {
		// `len > 0`, `msg->msg_controllen <= 0`: the sign of a
		// parameter against zero
		if i, ok := param(a); ok {
			test := map[string]uint8{">": pgGtZero, "<=": pgLeZero, "<": pgLtZero, ">=": pgGeZero}[op]
			return ParamGuard{Param: i, Test: test, Field: field}, true
		}
		_ = b
		return ParamGuard{}, false
	}
	for _, op := range []string{"==", "!="} {
		if a, b, ok := strings.Cut(s, op); ok {
			i, ok := param(a)
			if !ok {
				if l := localOnce(f, a); l != "" && zeroish(b) {
					g := ParamGuard{Param: -1, Test: pgFalsy, Local: l}
					if op == "!=" {
						g = g.negate()
					}
					return g, true
				}
				return ParamGuard{}, false
			}
			if !zeroish(b) {
				// a comparison with a named constant: `mode == MODE_X`,
				// or with a global's address: `parent == &iomem_resource`
				if c := strings.TrimSpace(b); p.isConst(c) || isAddrConst(c) {
					if op == "==" {
						return ParamGuard{Param: i, Test: pgEq, Flag: c, Field: field}, true
					}
					return ParamGuard{Param: i, Test: pgNe, Flag: c, Field: field}, true
				}
				return ParamGuard{}, false
			}
			if op == "==" {
				return ParamGuard{Param: i, Test: pgFalsy, Field: field}, true
			}
			return ParamGuard{Param: i, Test: pgTruthy, Field: field}, true
		}
	}
	if a, b, ok := strings.Cut(s, "&"); ok && !strings.Contains(b, "&") {
		i, ok := param(a)
		flag := strings.TrimSpace(b)
		if ok && p.isConst(flag) {
			return ParamGuard{Param: i, Test: pgHas, Flag: flag, Field: field}, true
		}
		if fl := p.constUnion(flag); ok && fl != "" {
			// any of several flags: `mask & (A | B)`
			return ParamGuard{Param: i, Test: pgHas, Flag: fl, Field: field}, true
		}
	}
	return ParamGuard{}, false
}

// bitTest reads `test_bit(NR, addr)` (and its variants) with a named
// constant bit.
func bitTest(s string, isConst func(string) bool) (nr, addr string, ok bool) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") || matchParen(s, i) != len(s)-1 {
		return "", "", false
	}
	switch s[:i] {
	case "test_bit", "constant_test_bit", "variable_test_bit", "test_bit_acquire", "_test_bit", "arch_test_bit":
	default:
		return "", "", false
	}
	args := splitTop(s[i+1:len(s)-1], ",")
	if len(args) != 2 {
		return "", "", false
	}
	nr, addr = strings.TrimSpace(args[0]), strings.TrimSpace(args[1])
	return nr, addr, isConst(nr)
}

// localOnce returns the name when s is a local variable of f whose value
// a test pins down (assigned at most once: see parser.Func.MultiAssigned).
func localOnce(f *Func, s string) string {
	s = strings.TrimSpace(s)
	if !isIdentText(s) || slices.Contains(f.Src.MultiAssigned, s) {
		return ""
	}
	for i := range f.Src.Locals {
		if f.Src.Locals[i].Name == s {
			return s
		}
	}
	return ""
}

// switchGuards returns, for a switch head on a parameter (`switch (cmd)`,
// `switch (p->mode)`), the guard each successor adds: `cmd == CASE` on a
// case arm, `cmd != CASE` for every case on the default arm and the way
// past. nil when the switch is not on a parameter or a case is not a named
// constant.
func (p *Program) switchGuards(f *Func, cond string, cases []string) [][]ParamGuard {
	g, ok := p.atomGuard(f, cond)
	if !ok || g.Test != pgTruthy || g.Local != "" || g.Param >= 0 && int(g.Param) < len(f.Src.Params) && slices.Contains(f.Src.AssignedParams, f.Src.Params[g.Param].Name) {
		return nil
	}
	out := make([][]ParamGuard, len(cases))
	var others []ParamGuard
	for i, c := range cases {
		if c == "" {
			continue
		}
		if !p.isConst(c) {
			return nil
		}
		out[i] = []ParamGuard{{Param: g.Param, Test: pgEq, Flag: c, Field: g.Field}}
		others = append(others, ParamGuard{Param: g.Param, Test: pgNe, Flag: c, Field: g.Field})
	}
	for i, c := range cases {
		if c == "" {
			out[i] = others
		}
	}
	return out
}

func zeroish(s string) bool {
	switch strings.TrimSpace(s) {
	case "0", "false", "NULL", "0UL", "0L", "0U", "0x0", "0ULL":
		return true
	}
	return false
}

// isConstName: an upper-case macro/enum constant (RPM_ASYNC, GFP_ATOMIC).
func isConstName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// contradicts reports whether a constant argument makes a guard false.
func (p *Program) constContradicts(g ParamGuard, arg string) bool {
	a := strings.TrimSpace(arg)
	for strings.HasPrefix(a, "(") {
		// a cast such as (void *)0 or (bool)0
		j := matchParen(a, 0)
		if j <= 0 || j == len(a)-1 {
			break
		}
		a = strings.TrimSpace(a[j+1:])
	}
	a = p.K.unwrap(a)
	nonzeroNum := a == "true" || len(a) > 0 && a[0] >= '1' && a[0] <= '9' && strings.Trim(a, "0123456789UuLl") == ""
	switch g.Test {
	case pgEq:
		// two different named constants (enumerators of one enum, in
		// practice) are different values, and so are two objects'
		// addresses
		return p.isConst(a) && a != g.Flag || isAddrConst(a) && isAddrConst(g.Flag) && a != g.Flag
	case pgNe:
		return a == g.Flag
	case pgTruthy:
		return zeroish(a)
	case pgFalsy:
		return nonzeroNum
	case pgHas, pgLacks:
		if zeroish(a) {
			return g.Test == pgHas
		}
		// constants joined by |; a part marked "X?" is a bit the value
		// may carry (set on some path: see flagValue), "0" adds nothing
		known := true // every part is a named constant
		must, may := false, false
		for _, part := range strings.Split(a, "|") {
			part = p.K.unwrap(part)
			maybe := strings.HasSuffix(part, "?")
			part = strings.TrimSpace(strings.TrimSuffix(part, "?"))
			if zeroish(part) {
				continue
			}
			if !p.isConst(part) {
				known = false
			}
			if part == g.Flag || strings.Contains(g.Flag, "|") && slices.Contains(strings.Split(g.Flag, "|"), part) {
				if maybe {
					may = true
				} else {
					must = true
				}
			}
		}
		if g.Test == pgHas {
			return known && !must && !may
		}
		// `gup_flags | FOLL_FAST_ONLY` has the flag whatever gup_flags is
		return must
	}
	return false
}

// Feasible reports whether a witness chain survives the values it
// carries (see Contradiction).
func (p *Program) Feasible(path []SiteRef) bool { return p.Contradiction(path) == "" }

// readableValue renders a value of the path check for a person: maybe
// bits ("0|X?") read "0 (maybe also X)".
func readableValue(v string) string {
	if !strings.Contains(v, "?") {
		return v
	}
	var must, may []string
	for _, part := range strings.Split(v, "|") {
		part = strings.TrimSpace(part)
		if m, ok := strings.CutSuffix(part, "?"); ok {
			may = append(may, m)
		} else {
			must = append(must, part)
		}
	}
	if len(must) == 0 {
		must = []string{"0"}
	}
	return strings.Join(must, "|") + " (maybe also " + strings.Join(may, ", ") + ")"
}

// crossArch tells why a chain cannot run when it passes from one
// architecture's code into another's: arch/ia64 code reaching x86's
// ioremap_prot() through a generic header's inline. Generic code may
// enter the scanned architecture (--arch); architecture code only its own.
func (p *Program) crossArch(path []SiteRef) string {
	if len(path) < 2 {
		return ""
	}
	f0 := p.Funcs[path[0].Func].File
	a0 := archOf(p.Files[f0].Path)
	if a0 == "userspace" {
		return ""
	}
	view := p.fileView(f0)
	for _, s := range path[1:] {
		g := p.Funcs[s.Func]
		a := archOf(p.Files[g.File].Path)
		if a == "" || a == view || a == "userspace" {
			continue
		}
		from := "generic code built for " + view
		if a0 != "" {
			from = "arch/" + a0 + " code"
		}
		return fmt.Sprintf("the chain passes from %s into arch/%s code (%s() in %s)", from, a, g.Src.Name, p.Files[g.File].Path)
	}
	return ""
}

// guardText describes a parameter test of f for a person: "*timeo is
// non-zero", "p->ramrod_flags has RAMROD_COMP_WAIT".
func guardText(f *Func, g ParamGuard) string {
	name := "?"
	if g.Param >= 0 && int(g.Param) < len(f.Src.Params) {
		name = f.Src.Params[g.Param].Name
	}
	switch {
	case g.Field == "*":
		name = "*" + name
	case g.Field != "":
		name += "->" + g.Field
	}
	switch g.Test {
	case pgTruthy:
		return name + " is non-zero"
	case pgFalsy:
		return name + " is zero"
	case pgHas:
		return name + " has " + g.Flag
	case pgLacks:
		return name + " lacks " + g.Flag
	case pgEq:
		return name + " == " + g.Flag
	case pgNe:
		return name + " != " + g.Flag
	case pgGtZero:
		return name + " > 0"
	case pgLeZero:
		return name + " <= 0"
	case pgLtZero:
		return name + " < 0"
	case pgGeZero:
		return name + " >= 0"
	}
	return name
}

// Contradiction returns why a witness chain cannot run with the values it
// carries ("" when nothing rules it out): a call on it is guarded by a
// parameter test that what the caller passes makes false. A constant flows down
// the chain through parameters passed on unchanged
// (find_get_page(m, i) -> pagecache_get_page(m, i, 0, 0) ->
// __filemap_get_folio(m, i, fgp_flags, gfp), where fgp_flags is 0).
func (p *Program) Contradiction(path []SiteRef) string {
	if why := p.crossArch(path); why != "" {
		return why
	}
	env := map[string]string{} // the current function's parameters known constant
	// the current function's parameters that point at a struct local of
	// a caller up the path, passed down unchanged
	zmap := map[string]zref{}
	for k := 0; k+1 < len(path); k++ {
		caller := p.Funcs[path[k].Func]
		// locals initialised with a constant; those that later gain
		// named bits carry them as maybes (`flags = 0; __set_bit(X,
		// &flags)` reads "0|X?")
		n := &caller.Src.Nodes[caller.Sites[path[k].Site].Node]
		for _, l := range caller.Src.Locals {
			if _, ok := env[l.Name]; !ok {
				if l.Init == "" {
					// a local that stores a call's result: the call
					// computed with what is known of the parameters
					l.Init = p.callInit(caller, l.Name, env)
				}
				if v := flagValue(caller, l, n.Line); v != "" {
					env[l.Name] = v
				}
			}
		}
		args := make([]string, len(n.Args))
		for i, a := range n.Args {
			args[i] = substitute(a, env)
		}
		callee := p.Funcs[path[k+1].Func]
		if _, cb := p.IsCallback(caller, path[k].Site, callee.ID); cb {
			// called by the helper with its own arguments: nothing of
			// the caller's values is known there
			env, zmap = map[string]string{}, map[string]zref{}
			continue
		}
		here := caller.Sites[path[k].Site].ParamGuards
		why := func(g ParamGuard, v string) string {
			return fmt.Sprintf("%s() reaches the next call only if %s, and %s() gives %s", callee.Src.Name, guardText(callee, g), caller.Src.Name, readableValue(v))
		}
		for _, g := range callee.Sites[path[k+1].Site].ParamGuards {
			if g.Local != "" || g.Param < 0 || int(g.Param) >= len(args) {
				continue
			}
			if g.Field == "" && (g.Test == pgFalsy || g.Test == pgTruthy) {
				// the callee needs its parameter NULL (or not), and the
				// caller passes what it knows is not (or is): `&x`, a
				// local or parameter tested on every path to the call
				if val, known := p.truth(caller, here, n.Args[g.Param]); known && val == (g.Test == pgFalsy) {
					state := "zero"
					if val {
						state = "non-zero"
					}
					return why(g, n.Args[g.Param]+", "+state+" there")
				}
			}
			if g.Field == "*" {
				// a test of what a pointer parameter points at (`if
				// (!*timeo)`, test_bit(X, word)) made before anything
				// writes through it, given the address of a caller's
				// local whose value is known: `&timeo`, `&flags`
				a := strings.TrimSpace(n.Args[g.Param])
				site := &callee.Src.Nodes[callee.Sites[path[k+1].Site].Node]
				if v, ok := env[strings.TrimPrefix(a, "&")]; ok && strings.HasPrefix(a, "&") &&
					derefKnown(callee, callee.Src.Params[g.Param].Name, site.Line) && p.contradicts(g, v) {
					return why(g, v)
				}
				continue
			}
			if g.Field != "" {
				// a member of a struct local the caller (or a caller up
				// the path) passed by address: `struct mmc_command cmd =
				// {};` has no data; `memset(&p, 0, ...); p.flags =
				// flags;` has the caller's flags
				if v := p.memberAt(caller, path[k].Site, n.Args[g.Param], g.Field, zmap, env); v != "" {
					if p.contradicts(g, v) {
						return why(g, v)
					}
					continue
				}
			}
			v := args[g.Param]
			if g.Field != "" {
				// the field's value: what an earlier call stored there
				sv := p.storedConst(caller, path[k].Site, v, g.Field, env)
				if sv == "" {
					// or what every call of the module stores into that
					// member of its objects: a driver starts its
					// host->sg_miter with SG_MITER_ATOMIC in one function
					// and iterates it in another
					vals := p.moduleStores(caller, v, g.Field)
					if len(vals) == 0 {
						continue
					}
					all := true
					for _, x := range vals {
						all = all && p.contradicts(g, x)
					}
					if all {
						return why(g, strings.Join(vals, " or ")+" (every store of the module)")
					}
					continue
				}
				v = sv
			}
			if p.contradicts(g, v) {
				return why(g, v)
			}
		}
		next := map[string]string{}
		nz := map[string]zref{}
		for i, v := range callee.Src.Params {
			if i < len(args) && p.isConstArg(args[i]) {
				next[v.Name] = args[i]
			}
			if i < len(n.Args) {
				a := strings.TrimSpace(n.Args[i])
				if strings.HasPrefix(a, "&") {
					nz[v.Name] = zref{caller, path[k].Site, a, env}
				} else if z, ok := zmap[a]; ok && !passedBefore(caller, path[k].Site, a) && !slices.Contains(caller.Src.AssignedParams, a) {
					nz[v.Name] = z
				}
			}
		}
		env, zmap = next, nz
	}
	return ""
}

// callInit returns the constant a local of f that stores a call's result
// (parser.Func.CallInits) holds, given the parameters' known values; "".
func (p *Program) callInit(f *Func, name string, params map[string]string) string {
	for _, c := range f.Src.CallInits {
		if n, call, ok := strings.Cut(c, "="); ok && n == name {
			return p.evalCall(f, call, params, 0)
		}
	}
	return ""
}

// flagValue is what the path check knows of a local's value at a call on
// line of f: its constant initializer when nothing changes it later, or
// when it only gains or loses named bits, that initializer with those
// bits as maybes ("0|RAMROD_RX?"), up to the first call given its address;
// "" when unknown.
func flagValue(f *Func, l parser.Var, line int32) string {
	if l.Init == "" || !isConstArg(l.Init) {
		return ""
	}
	if !slices.Contains(f.Src.MultiAssigned, l.Name) {
		return l.Init
	}
	for _, gr := range f.Src.Grown {
		name, bits, _ := strings.Cut(gr, "=")
		if name != l.Name {
			continue
		}
		if b, esc, ok := strings.Cut(bits, "@"); ok {
			if at, err := strconv.Atoi(esc); err != nil || line > int32(at) {
				return ""
			}
			bits = b
		}
		return withMaybe(l.Init, bits)
	}
	return ""
}

// withMaybe joins a value with bits it may also carry (or lose): each of
// bits ("X|Y") becomes "X?" in the result, and a must-part of val that
// may change becomes a maybe too.
func withMaybe(val, bits string) string {
	if bits == "" {
		return val
	}
	may := strings.Split(bits, "|")
	var parts []string
	for _, part := range strings.Split(val, "|") {
		part = strings.TrimSpace(part)
		if slices.Contains(may, strings.TrimSuffix(part, "?")) && !strings.HasSuffix(part, "?") {
			part += "?"
		}
		parts = append(parts, part)
	}
	for _, b := range may {
		if !slices.Contains(parts, b) && !slices.Contains(parts, b+"?") {
			parts = append(parts, b+"?")
		}
	}
	return strings.Join(parts, "|")
}

// truth tells whether an argument is known non-zero (true) or zero
// (false) at a call, from the must-guards holding there: `&x` is never
// NULL; a local or parameter tested on every path to the call has the
// value the test gave.
func (p *Program) truth(f *Func, guards []ParamGuard, arg string) (val, known bool) {
	a := strings.TrimSpace(arg)
	if strings.HasPrefix(a, "&") && !strings.HasPrefix(a, "&&") {
		return true, true
	}
	for _, g := range guards {
		if g.Field != "" || g.Test != pgTruthy && g.Test != pgFalsy {
			continue
		}
		name := g.Local
		if name == "" {
			if int(g.Param) < 0 || int(g.Param) >= len(f.Src.Params) {
				continue
			}
			name = f.Src.Params[g.Param].Name
		}
		if name == a {
			return g.Test == pgTruthy, true
		}
	}
	return false, false
}

// storedConst finds the constant an earlier call of caller (before site
// si) stored into field of the object obj names: sg_miter_start(&miter,
// sg, n, SG_MITER_ATOMIC | ...) stores its flags into miter->__flags.
// "" when unknown.
func (p *Program) storedConst(caller *Func, si int32, obj, field string, env map[string]string) string {
	obj = strings.TrimPrefix(strings.TrimSpace(obj), "&")
	found := ""
	p.fieldStores(caller, si, field, func(dst, src string) {
		if strings.TrimPrefix(strings.TrimSpace(dst), "&") != obj {
			return
		}
		if v := substitute(src, env); p.isConstArg(v) {
			found = v
		} else {
			found = ""
		}
	})
	return found
}

// fieldStores calls fn with the object and the value argument of every
// call of g before site upto that stores a parameter into field of
// another (sg_miter_start(&host->sg_miter, sg, n, flags) for __flags).
func (p *Program) fieldStores(g *Func, upto int32, field string, fn func(dst, src string)) {
	for k := int32(0); k < upto && int(k) < len(g.Sites); k++ {
		s := &g.Sites[k]
		if !s.Reached || s.Indirect {
			continue
		}
		n := &g.Src.Nodes[s.Node]
		for _, t := range s.ArgTargets() {
			for _, ps := range p.paramStores[t] {
				if ps.field == field && int(ps.dst) < len(n.Args) && int(ps.src) < len(n.Args) {
					fn(n.Args[ps.dst], n.Args[ps.src])
				}
			}
		}
	}
}

// zref is where a struct local was passed by address down a path: the
// function owning it, the call site, the `&local` argument and what the
// path knew of that function's values there.
type zref struct {
	fn   *Func
	site int32
	arg  string
	env  map[string]string
}

// memberAt returns what the path check knows of member field of what arg
// points at, at call site si of f: arg is `&local` of f, or a parameter
// of f that a caller up the path gave as `&local` (see memberValue). ""
// when unknown.
func (p *Program) memberAt(f *Func, si int32, arg, field string, zmap map[string]zref, env map[string]string) string {
	a := strings.TrimSpace(arg)
	if strings.HasPrefix(a, "&") {
		return p.memberValue(f, si, a, field, env)
	}
	z, ok := zmap[a]
	if !ok {
		return p.retMember(f, si, a, field, env)
	}
	if p.changedBefore(f, si, a, firstMember(field), true) {
		return ""
	}
	return p.memberValue(z.fn, z.site, z.arg, field, z.env)
}

// retMember returns the value member field of what the local pointer
// name points at holds at site si of f, when the local stores one call's
// result and that callee sets the member from a parameter on its way out
// (parser.Func.RetStores): `r = alloc_and_get_request(cqp, false)` gives
// r->waiting false. Neither f itself nor a call given the pointer before
// si may change the member. "" when unknown.
func (p *Program) retMember(f *Func, si int32, name, field string, env map[string]string) string {
	if !isIdentText(name) || field != firstMember(field) {
		return ""
	}
	call := ""
	for _, c := range f.Src.CallInits {
		if n, v, ok := strings.Cut(c, "="); ok && n == name {
			call = v
		}
	}
	open := strings.IndexByte(call, '(')
	if open <= 0 {
		return ""
	}
	for _, w := range f.Src.ParamWrites {
		if n, mems, _ := strings.Cut(w, "="); n == name && (mems == "*" || slices.Contains(strings.Split(mems, "|"), field)) {
			return ""
		}
	}
	ids := p.Resolve(strings.TrimSpace(call[:open]), f.File)
	if len(ids) != 1 {
		return ""
	}
	j := -1
	for _, rs := range p.Funcs[ids[0]].Src.RetStores {
		if m, idx, ok := strings.Cut(rs, "="); ok && m == field {
			j, _ = strconv.Atoi(idx)
		}
	}
	args := parser.SplitArgs([]byte(call[open:]))
	if j < 0 || j >= len(args) || p.changedBefore(f, si, name, field, true) {
		return ""
	}
	if v := substitute(args[j], env); p.isConstArg(v) {
		return v
	}
	return ""
}

// passedBefore reports whether a call of f before site si is given name
// (which could then change what it points at).
func passedBefore(f *Func, si int32, name string) bool {
	for k := int32(0); k < si; k++ {
		for _, x := range f.Src.Nodes[f.Sites[k].Node].Args {
			x = strings.TrimSpace(x)
			if x == name || strings.Contains(x, "&"+name) {
				return true
			}
		}
	}
	return false
}

// changedBefore reports whether a call of f before site si may change
// member mem of the local struct name (or of what the pointer name
// points at, with ptr): it is given the object and may write that member
// (mayWrite), or is given that member's address. Its zeroing memset and
// the bit operations the facts record (parser.Func.MemberVals) are not
// changes here.
func (p *Program) changedBefore(f *Func, si int32, name, mem string, ptr bool) bool {
	whole := "&" + name
	if ptr {
		whole = name
	}
	for k := int32(0); k < si && int(k) < len(f.Sites); k++ {
		s := &f.Sites[k]
		n := &f.Src.Nodes[s.Node]
		if !ptr && (n.Callee == "memset" || parser.IsBitop(n.Callee)) {
			continue
		}
		for ai, x := range n.Args {
			x = strings.TrimSpace(x)
			switch {
			case x == whole:
				if len(s.ArgTargets()) == 0 {
					return true
				}
				for _, t := range s.ArgTargets() {
					if p.mayWrite(t, ai, mem, 0) {
						return true
					}
				}
			case !ptr && (x == name || strings.HasPrefix(x, whole+"."+mem) || strings.Contains(x, whole) && !strings.HasPrefix(x, whole+".")):
				return true
			case ptr && ptrEscapes(x, name, mem):
				return true
			}
		}
	}
	return false
}

// ptrEscapes reports whether an argument text gives a callee the pointer
// name itself (in a cast or an expression: `(void *)cmd`, `cmd + 1`) or
// the address of its member mem (`&cmd->flags`); reading members
// (`WARN_ON(cmd->flags & X)`, `cmd->id`) gives it nothing to write.
func ptrEscapes(x, name, mem string) bool {
	for off := 0; ; {
		i := strings.Index(x[off:], name)
		if i < 0 {
			return false
		}
		i += off
		off = i + len(name)
		if i > 0 && isWordChar(x[i-1]) || off < len(x) && isWordChar(x[off]) {
			continue
		}
		rest := strings.TrimLeft(x[off:], " ")
		if !strings.HasPrefix(rest, "->") {
			return true // the pointer itself
		}
		m := strings.TrimLeft(rest[2:], " ")
		e := 0
		for e < len(m) && isWordChar(m[e]) {
			e++
		}
		before := strings.TrimRight(x[:i], " ")
		if strings.HasSuffix(before, "&") && !strings.HasSuffix(before, "&&") && (mem == "" || m[:e] == mem) {
			return true // &name->mem
		}
	}
}

// firstMember returns the first member of a member path ("list" of
// "list.next").
func firstMember(field string) string {
	if i := strings.IndexAny(field, ".-"); i >= 0 {
		return field[:i]
	}
	return field
}

// memberValue returns the value of member field (the first of a member
// path) of the local struct a call's argument `&local` points at: zero
// when its initializer (or a zeroing memset) left it so and nothing set
// it, the value the body's one assignment gave it after that assignment,
// with the named bits the body may add as maybes ("0|RAMROD_DRV_CLR_ONLY?").
// No earlier call may be given the local (it could fill it in). "" when
// unknown; a deeper member path than the first is known only when zero.
func (p *Program) memberValue(f *Func, si int32, arg, field string, env map[string]string) string {
	a := strings.TrimSpace(arg)
	if !strings.HasPrefix(a, "&") {
		return ""
	}
	name := strings.TrimSpace(a[1:])
	if !isIdentText(name) {
		return ""
	}
	first := firstMember(field)
	var init string
	for i := range f.Src.Locals {
		if l := &f.Src.Locals[i]; l.Name == name {
			init = l.Init
		}
	}
	if !strings.HasPrefix(init, "{") || !strings.HasSuffix(init, "}") {
		return ""
	}
	for _, m := range strings.Split(init[1:len(init)-1], ",") {
		mem, val, hasVal := strings.Cut(strings.TrimSpace(m), "=")
		if mem != first {
			continue
		}
		// set by the initializer: known when it gives a constant or a
		// name the path knows (`.flags = flags`), and nothing changes it
		// but `|=` of named bits, which it may then carry (`cmd.flags |=
		// CMD_WANT_SKB` on one branch)
		if !hasVal || p.changedBefore(f, si, name, first, false) {
			return ""
		}
		grown, ok := memberGrown(f, name+"."+first)
		if !ok {
			return ""
		}
		v := substitute(val, env)
		if !p.isConstArg(v) || field != first {
			return ""
		}
		return withMaybe(v, grown)
	}
	if p.changedBefore(f, si, name, first, false) {
		return ""
	}
	key := name + "." + first + "\x00"
	for _, mv := range f.Src.MemberVals {
		if !strings.HasPrefix(mv, key) {
			continue
		}
		parts := strings.Split(mv[len(key):], "\x00")
		if len(parts) != 3 {
			return ""
		}
		val := "0"
		line, _ := strconv.Atoi(parts[1])
		if parts[0] != "" && int32(line) <= f.Src.Nodes[f.Sites[si].Node].Line {
			val = substitute(parts[0], env)
			if !p.isConstArg(val) {
				return ""
			}
		}
		val = withMaybe(val, parts[2])
		if field != first && val != "0" {
			return ""
		}
		return val
	}
	if slices.Contains(f.Src.MemberSets, name+"."+first) {
		return ""
	}
	return "0"
}

// moduleStores returns the constants every call in caller's module stores,
// through a parameter-into-field store (sg_miter_start() -> miter->__flags),
// into field of the objects that obj's member names (`&host->sg_miter`:
// any `X->sg_miter` or `X.sg_miter`). nil when obj is not a member, when
// no call stores there, or when one stores a value that is not a constant.
func (p *Program) moduleStores(caller *Func, obj, field string) []string {
	member := lastMember(obj)
	if member == "" {
		return nil
	}
	comp := p.fileComp[caller.File]
	key := p.compNames[comp] + "\x00" + field + "\x00" + member
	if v, ok := p.modStores[key]; ok {
		return v
	}
	var out []string
	ok := true
	for _, id := range p.compFuncs(comp) {
		g := p.Funcs[id]
		var env map[string]string
		p.fieldStores(g, int32(len(g.Sites)), field, func(dst, src string) {
			if lastMember(dst) != member {
				return
			}
			if env == nil {
				env = map[string]string{}
				for _, l := range g.Src.Locals {
					if l.Init != "" {
						env[l.Name] = l.Init
					}
				}
			}
			v := substitute(src, env)
			ok = ok && p.isConstArg(v)
			out = append(out, v)
		})
	}
	if !ok {
		out = nil
	}
	if p.modStores == nil {
		p.modStores = map[string][]string{}
	}
	p.modStores[key] = out
	return out
}

// lastMember returns the member an object expression ends in (`sg_miter`
// of `&host->sg_miter` or `&qh->sg_miter`), "" for a plain variable.
func lastMember(obj string) string {
	o := strings.TrimPrefix(strings.TrimSpace(obj), "&")
	i := strings.LastIndex(o, "->")
	j := strings.LastIndexByte(o, '.')
	switch {
	case i >= 0 && i+2 > j:
		o = o[i+2:]
	case j >= 0:
		o = o[j+1:]
	default:
		return ""
	}
	o = strings.TrimSpace(o)
	if !isIdentText(o) {
		return ""
	}
	return o
}

// substitute replaces, in an argument, parameter names known to hold
// constants: `flags` or `flags | X` with flags = 0 or Y.
func substitute(a string, env map[string]string) string {
	if len(env) == 0 {
		return a
	}
	a = strings.TrimSpace(a)
	if v, ok := env[a]; ok {
		return v
	}
	parts := strings.Split(a, "|")
	if len(parts) < 2 {
		return a
	}
	for i, part := range parts {
		if v, ok := env[strings.TrimSpace(part)]; ok {
			parts[i] = v
		}
	}
	return strings.Join(parts, "|")
}

// isConstArg reports whether an argument is a constant contradicts can
// read: 0/NULL/false/true, a number, or constants joined by |.
func isConstArg(a string) bool { return constArg(a, isConstName) }

// isConstArg is isConstArg with the tree's numeric macros of any case.
func (p *Program) isConstArg(a string) bool { return constArg(a, p.isConst) }

func constArg(a string, isConst func(string) bool) bool {
	a = strings.TrimSpace(a)
	if zeroish(a) || a == "true" || len(a) > 0 && a[0] >= '0' && a[0] <= '9' {
		return true
	}
	for _, part := range strings.Split(a, "|") {
		part = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), "?"))
		if !isConst(part) && !zeroish(part) {
			return false
		}
	}
	return true
}

// intersectPG keeps the guards present in both lists (must-facts).
func intersectPG(a, b []ParamGuard) []ParamGuard {
	out := a[:0:0]
	for _, g := range a {
		for _, h := range b {
			if g == h {
				out = append(out, g)
				break
			}
		}
	}
	// `x != Y` on one side holds on the other too where that side has
	// `x == Z` for another constant Z: a switch's `case Z:` falling into
	// `default:` still excludes every other case
	keepNe := func(from, other []ParamGuard) {
		for _, g := range from {
			if g.Test != pgNe || slices.Contains(out, g) {
				continue
			}
			for _, h := range other {
				if h.Test == pgEq && h.Param == g.Param && h.Field == g.Field && h.Local == g.Local && h.Flag != g.Flag {
					out = append(out, g)
					break
				}
			}
		}
	}
	keepNe(a, b)
	keepNe(b, a)
	return out
}

func addPG(pg []ParamGuard, add []ParamGuard) []ParamGuard {
	for _, g := range add {
		if !slices.Contains(pg, g) {
			pg = append(pg, g)
		}
	}
	return pg
}

// KeepsIRQsOff reports whether a chain that starts with IRQs off keeps
// them off: no callee on it has turned them on before the next call
// (gather_surplus_pages() drops its caller's spin_lock_irq lock around the
// work that flushes TLBs).
func (p *Program) KeepsIRQsOff(path []SiteRef) bool {
	for _, st := range path[1:] {
		if p.Funcs[st.Func].Sites[st.Site].IRQ == irqOn {
			return false
		}
	}
	return true
}

// isFieldPath: identifiers joined by -> or . (`funcs->end_use`).
func isFieldPath(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '>' || r == '-' }) {
		if !isIdentText(part) {
			return false
		}
	}
	return s != "" && !strings.HasSuffix(s, "-") && !strings.Contains(s, "->>") && strings.Count(s, "-") == strings.Count(s, "->")
}

func isIdentText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// paramStore: a function stores its parameter src into the field of its
// parameter dst (`miter->__flags = flags;`).
type paramStore struct {
	dst, src int8
	field    string
}

// linkParamStores finds every function's parameter-into-parameter-field
// stores from the files' assignment facts.
func (p *Program) linkParamStores() {
	p.paramStores = map[int32][]paramStore{}
	byFile := make([][]*Func, len(p.Files))
	for _, f := range p.Funcs {
		byFile[f.File] = append(byFile[f.File], f)
	}
	for fi, file := range p.Files {
		fns := byFile[fi]
		for _, st := range file.Stores {
			if st.Recv == "" {
				continue
			}
			for _, f := range fns {
				if st.Line < f.Src.Line || st.Line > f.Src.EndLine {
					continue
				}
				dst, src := int8(-1), int8(-1)
				for i, v := range f.Src.Params {
					if i >= 127 {
						break
					}
					if v.Name == st.Recv {
						dst = int8(i)
					}
					if v.Name == st.Func {
						src = int8(i)
					}
				}
				if dst >= 0 && src >= 0 {
					p.paramStores[f.ID] = append(p.paramStores[f.ID], paramStore{dst: dst, src: src, field: st.Field})
				}
			}
		}
	}
}

// anyEqual reads disjuncts that each compare one parameter (or member)
// with a named constant as one test: equal to one of them (Flag "A|B").
func (p *Program) anyEqual(f *Func, parts []string) (ParamGuard, bool) {
	var out ParamGuard
	var flags []string
	for i, c := range parts {
		g, ok := p.atomGuard(f, c)
		if !ok || g.Test != pgEq || g.Local != "" || strings.Contains(g.Flag, "|") {
			return ParamGuard{}, false
		}
		if i == 0 {
			out = g
		} else if g.Param != out.Param || g.Field != out.Field {
			return ParamGuard{}, false
		}
		flags = append(flags, g.Flag)
	}
	out.Flag = strings.Join(flags, "|")
	return out, len(flags) > 1
}

// constUnion normalises a union of named constants, `(A | B)`, to
// "A|B"; "" when it is not one.
func (p *Program) constUnion(s string) string {
	s = p.K.unwrap(s)
	parts := strings.Split(s, "|")
	if len(parts) < 2 {
		return ""
	}
	for i, x := range parts {
		x = strings.TrimSpace(x)
		if !p.isConst(x) {
			return ""
		}
		parts[i] = x
	}
	return strings.Join(parts, "|")
}

// sameMask rewrites disjuncts that each test bits of one expression
// (`m & A`, `m & B`) as one test of their union ("m & (A | B)"); "" when
// they are not of that shape.
func sameMask(parts []string) string {
	var base string
	var bits []string
	for _, c := range parts {
		c = strings.TrimSpace(c)
		for strings.HasPrefix(c, "(") && matchParen(c, 0) == len(c)-1 {
			c = strings.TrimSpace(c[1 : len(c)-1])
		}
		sides := splitTop(c, "&")
		if len(sides) != 2 || strings.Contains(c, "&&") {
			return ""
		}
		l, r := strings.TrimSpace(sides[0]), strings.TrimSpace(sides[1])
		if !isIdentText(l) || r == "" {
			return ""
		}
		if base == "" {
			base = l
		} else if base != l {
			return ""
		}
		bits = append(bits, r)
	}
	if base == "" || len(bits) < 2 {
		return ""
	}
	return base + " & (" + strings.Join(bits, " | ") + ")"
}

// memberGrown tells how the body changes member mem ("local.member") of a
// struct local after its initializer: not at all (""), or only by `|=`
// of named bits ("X|Y"); ok is false for any other change.
func memberGrown(f *Func, mem string) (bits string, ok bool) {
	if !slices.Contains(f.Src.MemberSets, mem) {
		return "", true
	}
	for _, mv := range f.Src.MemberVals {
		parts := strings.Split(mv, "\x00")
		if len(parts) == 4 && parts[0] == mem {
			if parts[1] != "" || parts[3] == "" {
				return "", false // assigned a value
			}
			return parts[3], true
		}
	}
	return "", false
}
