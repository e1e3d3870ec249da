package callgraph

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// Values the path check can compute: numeric macros (parser.File.Consts),
// the result of a call of a one-return function given constants
// (`sock_sndtimeo(ssk, MSG_DONTWAIT)` is `MSG_DONTWAIT ? 0 : ...`, so 0),
// and a local that stores such a result.

// linkConsts collects the numeric macros of all files; a name two files
// give different values (per-architecture, per-configuration) is left
// out.
func (p *Program) linkConsts() {
	p.consts = map[string]string{}
	for _, f := range p.Files {
		for _, c := range f.Consts {
			name, v, _ := strings.Cut(c, "=")
			if old, ok := p.consts[name]; !ok {
				p.consts[name] = v
			} else if old != v {
				p.consts[name] = ""
			}
		}
	}
}

// constNum returns the number a constant argument stands for: a literal,
// true/false/NULL, or a numeric macro.
func (p *Program) constNum(a string) (int64, bool) {
	a = strings.TrimSpace(a)
	switch a {
	case "true":
		return 1, true
	case "false", "NULL":
		return 0, true
	}
	if v, err := strconv.ParseInt(strings.TrimRight(a, "uUlL"), 0, 64); err == nil {
		return v, true
	}
	if v := p.consts[a]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// isConst: an upper-case macro or enum constant (RPM_ASYNC, GFP_ATOMIC),
// or a numeric macro of any case the tree defines (jfs's lbmSYNC).
func (p *Program) isConst(s string) bool {
	return isConstName(s) || p.consts[s] != ""
}

// contradicts is constContradicts, plus truth tests of a named
// constant whose number the tree defines: `if (!nonblock)` with
// MSG_DONTWAIT (0x40) passed.
func (p *Program) contradicts(g ParamGuard, v string) bool {
	if (g.Test == pgEq || g.Test == pgNe) && strings.Contains(g.Flag, "|") {
		// one of several constants: equal to none of them contradicts
		// ==, equal to one contradicts !=
		for _, fl := range strings.Split(g.Flag, "|") {
			one := g
			one.Flag = fl
			c := p.contradicts(one, v)
			if g.Test == pgEq && !c {
				return false
			}
			if g.Test == pgNe && c {
				return true
			}
		}
		return g.Test == pgEq
	}
	if g.Test == pgEq || g.Test == pgNe {
		// numbers the tree gives both (macros, enumerators) decide: two
		// names of one value are equal, 0 is not RTM_DELADDR
		if a, ok := p.constNum(v); ok {
			if b, ok := p.constNum(g.Flag); ok {
				return (a != b) == (g.Test == pgEq)
			}
		}
	}
	if p.constContradicts(g, v) {
		return true
	}
	n, ok := p.constNum(v)
	if !ok {
		return false
	}
	switch g.Test {
	case pgTruthy, pgFalsy:
		return (n != 0) == (g.Test == pgFalsy)
	case pgGtZero:
		return n <= 0
	case pgLeZero:
		return n > 0
	case pgLtZero:
		return n >= 0
	case pgGeZero:
		return n < 0
	}
	return false
}

// evalCall returns the constant a call returns given what env knows of
// its arguments: the callee (one definition) is one `return EXPR;` whose
// EXPR comes out constant with its parameters bound. "" when unknown.
func (p *Program) evalCall(caller *Func, call string, env map[string]string, depth int) string {
	open := strings.IndexByte(call, '(')
	if open <= 0 || depth > 3 {
		return ""
	}
	id := p.retCallee(caller.File, strings.TrimSpace(call[:open]))
	if id < 0 {
		return ""
	}
	callee := p.Funcs[id]
	args := parser.SplitArgs([]byte(call[open:]))
	bind := map[string]string{}
	for i, prm := range callee.Src.Params {
		if i < len(args) {
			if v := substitute(args[i], env); p.isConstArg(v) {
				bind[prm.Name] = v
			}
		}
	}
	return p.evalExpr(callee, callee.Src.Ret, bind, depth)
}

// retCallee returns the one definition a call to name from file fi
// reaches when it is a one-return function (-1 otherwise), cached: the
// path check asks it for every call-initialised local of every caller on
// every witness.
func (p *Program) retCallee(fi int32, name string) int32 {
	key := retKey{fi, name}
	if id, ok := p.retMemo[key]; ok {
		return id
	}
	id := int32(-1)
	if ids := p.Resolve(name, fi); len(ids) == 1 && p.Funcs[ids[0]].Src.Ret != "" {
		id = ids[0]
	}
	if p.retMemo == nil {
		p.retMemo = map[retKey]int32{}
	}
	p.retMemo[key] = id
	return id
}

type retKey struct {
	file int32
	name string
}

// evalExpr evaluates an expression of f with some names bound to
// constants: a constant, a conditional whose condition is known, or a
// call evalCall can compute. "" when unknown.
func (p *Program) evalExpr(f *Func, e string, bind map[string]string, depth int) string {
	e = strings.TrimSpace(e)
	for strings.HasPrefix(e, "(") && matchParen(e, 0) == len(e)-1 {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	if q := topLevel(e, '?'); q > 0 {
		rest := e[q+1:]
		c := topLevel(rest, ':')
		if c < 0 {
			return ""
		}
		t, known := p.evalTruth(f, e[:q], bind, depth)
		if !known {
			return ""
		}
		if t {
			return p.evalExpr(f, rest[:c], bind, depth)
		}
		return p.evalExpr(f, rest[c+1:], bind, depth)
	}
	if v, ok := bind[e]; ok {
		return v
	}
	if p.isConstArg(e) {
		return e
	}
	if i := strings.IndexByte(e, '('); i > 0 && matchParen(e, i) == len(e)-1 && isIdentText(strings.TrimSpace(e[:i])) {
		return p.evalCall(f, replaceWords(e, bind), bind, depth+1)
	}
	return ""
}

// evalTruth evaluates a condition: a constant, !x, x == y, x != y.
func (p *Program) evalTruth(f *Func, c string, bind map[string]string, depth int) (val, known bool) {
	c = strings.TrimSpace(c)
	for strings.HasPrefix(c, "(") && matchParen(c, 0) == len(c)-1 {
		c = strings.TrimSpace(c[1 : len(c)-1])
	}
	if strings.HasPrefix(c, "!") && !strings.HasPrefix(c, "!=") {
		v, ok := p.evalTruth(f, c[1:], bind, depth)
		return !v, ok
	}
	for _, op := range []string{"==", "!="} {
		if a, b, ok := strings.Cut(c, op); ok {
			x, ok1 := p.constNum(p.evalExpr(f, a, bind, depth))
			y, ok2 := p.constNum(p.evalExpr(f, b, bind, depth))
			if !ok1 || !ok2 {
				return false, false
			}
			return (x == y) == (op == "=="), true
		}
	}
	n, ok := p.constNum(p.evalExpr(f, c, bind, depth))
	return n != 0, ok
}

// topLevel returns the index of the first c outside brackets (-1).
func topLevel(s string, c byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		default:
			if depth == 0 && s[i] == c {
				return i
			}
		}
	}
	return -1
}

// derefKnown reports whether a test of `*param` in f before line reads
// what the caller passed: nothing writes through the pointer (or gives it
// to a call) on an earlier line.
func derefKnown(f *Func, param string, line int32) bool {
	for _, w := range f.Src.DerefWrites {
		name, l, _ := strings.Cut(w, "=")
		if name == param {
			n, err := strconv.Atoi(l)
			return err == nil && int32(n) >= line
		}
	}
	return true
}

// mayWrite reports whether a call of function id may change member mem of
// what its parameter pi points at: its body writes it (or the whole
// object, or lets the pointer escape: parser.Func.ParamWrites), or it
// gives the pointer on to a call that may. A call the linker cannot
// follow (no definition, an unresolved function pointer) may; a table
// primitive does not (lock and sleep primitives take the lock's address,
// never a request's flags).
func (p *Program) mayWrite(id int32, pi int, mem string, depth int) bool {
	f := p.Funcs[id]
	if pi < 0 || pi >= len(f.Src.Params) || depth > 6 {
		return true
	}
	name := f.Src.Params[pi].Name
	if name == "" {
		return true
	}
	key := mayWriteKey{id, int32(pi), mem}
	if v, ok := p.mayWriteMemo[key]; ok {
		return v
	}
	res := p.mayWriteUncached(f, name, mem, depth)
	if p.mayWriteMemo == nil {
		p.mayWriteMemo = map[mayWriteKey]bool{}
	}
	p.mayWriteMemo[key] = res
	return res
}

type mayWriteKey struct {
	fn, param int32
	mem       string
}

func (p *Program) mayWriteUncached(f *Func, name, mem string, depth int) bool {
	for _, w := range f.Src.ParamWrites {
		n, mems, _ := strings.Cut(w, "=")
		if n != name {
			continue
		}
		if mems == "*" {
			return true
		}
		for _, m := range strings.Split(mems, "|") {
			if m == mem {
				return true
			}
		}
	}
	for k := range f.Sites {
		s := &f.Sites[k]
		nd := &f.Src.Nodes[s.Node]
		for ai, a := range nd.Args {
			if strings.TrimSpace(a) != name {
				continue
			}
			if s.Prim != nil && len(s.Targets) == 0 {
				continue
			}
			if len(s.ArgTargets()) == 0 {
				return true
			}
			for _, t := range s.ArgTargets() {
				if p.mayWrite(t, ai, mem, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// IRQThreadWait tells why a sleep chain from function f does not block
// ("" when it may): it passes through a function that sleeps only for an
// IRQ with a threaded handler ([effects] sleeps_with_irq_thread), and
// f's module registers no threaded handler (no call of [contexts]
// threaded_irq_register with a thread function), so the IRQs it disables
// or synchronizes have none of its own.
func (p *Program) IRQThreadWait(f *Func, path []SiteRef) string {
	via := ""
	for _, s := range path {
		c := p.Funcs[s.Func].Sites[s.Site].Callee
		if slices.Contains(p.K.Table.Effects.SleepsWithIRQThread, c) {
			via = c
			break
		}
	}
	if via == "" {
		return ""
	}
	comp := p.fileComp[f.File]
	if p.threadedComp == nil {
		p.threadedComp = map[int32]bool{}
	}
	threaded, ok := p.threadedComp[comp]
	if !ok {
		for _, id := range p.compFuncs(comp) {
			g := p.Funcs[id]
			for k := range g.Sites {
				n := &g.Src.Nodes[g.Sites[k].Node]
				if ai, ok := p.K.Table.Contexts.ThreadedIRQRegister[n.Callee]; ok && ai < len(n.Args) && !zeroish(n.Args[ai]) {
					threaded = true
				}
			}
		}
		p.threadedComp[comp] = threaded
	}
	if threaded {
		return ""
	}
	return fmt.Sprintf("%s() sleeps only for an IRQ with a threaded handler, and %s registers none", via, p.compNames[comp])
}
