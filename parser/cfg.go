package parser

import (
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// builder constructs a CFG backwards: each statement is built with its
// continuation known and returns its entry node.
type builder struct {
	x      *extractor
	f      *Func
	breakT []int32
	contT  []int32
	labels map[string]int32
	guards []guardScope // guards active at the statement being built
	depth  int
	// staticLocals are the function's `static` local variables
	staticLocals map[string]bool
}

func (x *extractor) buildCFG(f *Func, body *sitter.Node) {
	b := &builder{x: x, f: f, labels: map[string]int32{}}
	f.Nodes = append(f.Nodes, Node{Kind: NEntry}, Node{Kind: NExit})
	f.Nodes[0].Line, f.Nodes[0].Col = f.Line, f.Col
	f.Nodes[1].Line = f.EndLine
	first := b.stmt(body, 1)
	f.Nodes[0].Succ = []int32{first}
	// Labels that were jumped to but never defined (they sit in a
	// preprocessor branch the parser lost) lead to the exit.
	for _, id := range b.labels {
		if f.Nodes[id].Succ == nil {
			f.Nodes[id].Succ = []int32{1}
		}
	}
	f.OnceFlags = b.onceFlags(body)
	f.AssignedParams, f.ParamSets = b.assignedParams(body)
	f.MultiAssigned = b.multiAssigned(body)
	b.firstAssignedInits(body)
	f.CallInits, f.AddrInits = b.callInits(body)
	f.Grown = b.grownFlags(body)
	b.memsetInits(body)
	f.MemberSets, f.MemberVals = b.memberFacts(body)
	f.Ret = b.retExpr(body)
	f.DerefWrites = b.derefWrites(body)
	f.ParamWrites = b.paramWrites(body)
	f.RetStores = b.retStores(body)
}

func (b *builder) add(n Node) int32 {
	if len(b.f.Nodes) >= maxNodes {
		return -1
	}
	b.f.Nodes = append(b.f.Nodes, n)
	return int32(len(b.f.Nodes) - 1)
}

// chain links the call events in [s,e) (not yet consumed) in evaluation
// order in front of next, returning the entry.
func (b *builder) chain(s, e uint32, next int32) int32 {
	calls := b.x.calls
	i := sort.Search(len(calls), func(i int) bool { return calls[i].start >= s })
	var idx []int
	for ; i < len(calls) && calls[i].start < e; i++ {
		if !calls[i].used && calls[i].end <= e {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return next
	}
	// inner calls complete first: evaluation order is by end byte.
	sort.SliceStable(idx, func(a, c int) bool { return calls[idx[a]].end < calls[idx[c]].end })
	for k := len(idx) - 1; k >= 0; k-- {
		ci := &calls[idx[k]]
		ci.used = true
		id := b.add(Node{Kind: NCall, Line: ci.line, Col: ci.col, Callee: ci.callee, Indirect: ci.indirect,
			Text: ci.recv, Args: ci.args, Succ: []int32{next}})
		if id < 0 {
			return next
		}
		next = id
	}
	return next
}

func (b *builder) chainNode(n *sitter.Node, next int32) int32 {
	if n == nil {
		return next
	}
	return b.chain(n.StartByte(), n.EndByte(), next)
}

func (b *builder) label(name string) int32 {
	if id, ok := b.labels[name]; ok {
		return id
	}
	id := b.add(Node{Kind: NNop})
	if id < 0 {
		return 1
	}
	b.labels[name] = id
	return id
}

// seq builds a statement list. Loop-shaped macro calls take the following
// statement as their body; guard() scopes end with the list.
func (b *builder) seq(items []*sitter.Node, next int32) int32 {
	// Guards declared in this list stay active to its end.
	saved := b.guards
	defer func() { b.guards = saved }()
	active := make([][]guardScope, len(items))
	var scopes []guardScope
	for i, it := range items {
		active[i] = append(append([]guardScope(nil), saved...), scopes...)
		if g, ok := b.guardStmt(it); ok {
			scopes = append(scopes, g)
		}
	}
	// release guards at the end of the list, innermost first
	b.guards = saved
	for _, g := range scopes {
		next = b.scopeEnd(g, next)
	}
	return b.seqFrom(items, 0, active, next)
}

func (b *builder) seqFrom(items []*sitter.Node, i int, active [][]guardScope, next int32) int32 {
	if i >= len(items) {
		return next
	}
	if body := b.bodyIndex(items, i); body > i {
		rest := b.seqFrom(items, body+1, active, next)
		b.guards = active[i]
		return b.loopAt(items, i, body, rest)
	}
	if l, inner := b.labeledIter(items[i]); inner != nil {
		// `again: hlist_for_each_entry(...) { ... }`: the label heads a
		// loop whose body is the next statement
		alt := append(append(append([]*sitter.Node(nil), items[:i]...), inner), items[i+1:]...)
		if body := b.bodyIndex(alt, i); body > i {
			rest := b.seqFrom(items, body+1, active, next)
			b.guards = active[i]
			entry := b.loopAt(alt, i, body, rest)
			id := b.label(b.x.text(l))
			b.f.Nodes[id].Succ = []int32{entry}
			b.f.Nodes[id].Line, b.f.Nodes[id].Col = pos(items[i])
			return id
		}
	}
	rest := b.seqFrom(items, i+1, active, next)
	b.guards = active[i]
	return b.stmt(items[i], rest)
}

func (b *builder) namedChildren(n *sitter.Node) []*sitter.Node {
	cnt := int(n.NamedChildCount())
	out := make([]*sitter.Node, 0, cnt)
	for i := 0; i < cnt; i++ {
		ch := n.NamedChild(i)
		if sym.has("comment", ch) {
			continue
		}
		out = append(out, ch)
	}
	return out
}

func (b *builder) stmt(n *sitter.Node, next int32) int32 {
	if n == nil {
		return next
	}
	b.depth++
	defer func() { b.depth-- }()
	if b.depth > maxDepth || len(b.f.Nodes) >= maxNodes {
		return b.chainNode(n, next)
	}
	switch {
	case sym.has("compound_statement", n):
		return b.seq(b.namedChildren(n), next)

	case sym.has("if_statement", n):
		cond := n.ChildByFieldName("condition")
		cons := n.ChildByFieldName("consequence")
		alt := n.ChildByFieldName("alternative")
		thenE := b.stmt(cons, next)
		elseE := next
		if alt != nil {
			if sym.has("else_clause", alt) && alt.NamedChildCount() > 0 {
				alt = alt.NamedChild(int(alt.NamedChildCount()) - 1)
			}
			elseE = b.stmt(alt, next)
		}
		br := Node{Kind: NBranch, Succ: []int32{thenE, elseE}}
		if cond != nil {
			br.Text = normSpace([]byte(b.x.text(cond)))
			br.Line, br.Col = pos(cond)
		}
		id := b.add(br)
		if id < 0 {
			return next
		}
		return b.chainNode(cond, id)

	case sym.has("while_statement", n):
		cond := n.ChildByFieldName("condition")
		head := b.add(Node{Kind: NLoop, Text: "while"})
		if head < 0 {
			return next
		}
		b.f.Nodes[head].Line, b.f.Nodes[head].Col = pos(n)
		if cond != nil {
			b.f.Nodes[head].Args = []string{normSpace([]byte(b.x.text(cond)))}
		}
		entry := b.chainNode(cond, head)
		b.breakT = append(b.breakT, next)
		b.contT = append(b.contT, entry)
		body := b.stmt(n.ChildByFieldName("body"), entry)
		b.breakT, b.contT = b.breakT[:len(b.breakT)-1], b.contT[:len(b.contT)-1]
		b.f.Nodes[head].Succ = []int32{body, next}
		return entry

	case sym.has("for_statement", n):
		init := n.ChildByFieldName("initializer")
		cond := n.ChildByFieldName("condition")
		upd := n.ChildByFieldName("update")
		head := b.add(Node{Kind: NLoop, Text: "for"})
		if head < 0 {
			return next
		}
		b.f.Nodes[head].Line, b.f.Nodes[head].Col = pos(n)
		var args [3]string
		for k, p := range []*sitter.Node{init, cond, upd} {
			if p != nil {
				args[k] = normSpace([]byte(b.x.text(p)))
			}
		}
		b.f.Nodes[head].Args = args[:]
		condE := b.chainNode(cond, head)
		updE := b.chainNode(upd, condE)
		b.breakT = append(b.breakT, next)
		b.contT = append(b.contT, updE)
		body := b.stmt(n.ChildByFieldName("body"), updE)
		b.breakT, b.contT = b.breakT[:len(b.breakT)-1], b.contT[:len(b.contT)-1]
		b.f.Nodes[head].Succ = []int32{body, next}
		if init != nil && sym.has("declaration", init) {
			b.locals(init)
		}
		return b.chainNode(init, condE)

	case sym.has("do_statement", n):
		cond := n.ChildByFieldName("condition")
		ctext := ""
		if cond != nil {
			ctext = normSpace([]byte(b.x.text(cond)))
		}
		head := b.add(Node{Kind: NLoop, Text: "do", Args: []string{ctext}})
		if head < 0 {
			return next
		}
		b.f.Nodes[head].Line, b.f.Nodes[head].Col = pos(n)
		condE := b.chainNode(cond, head)
		b.breakT = append(b.breakT, next)
		b.contT = append(b.contT, condE)
		body := b.stmt(n.ChildByFieldName("body"), condE)
		b.breakT, b.contT = b.breakT[:len(b.breakT)-1], b.contT[:len(b.contT)-1]
		if ctext == "(0)" {
			// do { } while (0): runs once
			b.f.Nodes[head].Kind = NNop
			b.f.Nodes[head].Succ = []int32{next}
		} else {
			b.f.Nodes[head].Succ = []int32{body, next}
		}
		return body

	case sym.has("switch_statement", n):
		cond := n.ChildByFieldName("condition")
		body := n.ChildByFieldName("body")
		head := b.add(Node{Kind: NNop})
		if head < 0 {
			return next
		}
		b.f.Nodes[head].Line, b.f.Nodes[head].Col = pos(n)
		var succ []int32
		var labels []string // per successor: its case value, "" for default and the way out
		hasDefault := false
		if body != nil {
			b.breakT = append(b.breakT, next)
			items := b.namedChildren(body)
			cont := next
			for k := len(items) - 1; k >= 0; k-- {
				it := items[k]
				if sym.has("case_statement", it) {
					val := it.ChildByFieldName("value")
					var stmts []*sitter.Node
					for _, ch := range b.namedChildren(it) {
						if val != nil && ch.Equal(val) {
							continue
						}
						stmts = append(stmts, ch)
					}
					label := ""
					if val == nil {
						hasDefault = true
					} else {
						label = normSpace([]byte(b.x.text(val)))
					}
					cont = b.seq(stmts, cont)
					succ = append(succ, cont)
					labels = append(labels, label)
				} else {
					cont = b.stmt(it, cont)
				}
			}
			b.breakT = b.breakT[:len(b.breakT)-1]
		}
		if !hasDefault || len(succ) == 0 {
			succ = append(succ, next)
			labels = append(labels, "")
		}
		b.f.Nodes[head].Succ = succ
		if cond != nil {
			// a switch head: a join node that names its condition and, per
			// successor, the case value leading there (see Node.Cases)
			b.f.Nodes[head].Text = strings.TrimSpace(normSpace([]byte(b.x.text(cond))))
			b.f.Nodes[head].Args = labels
		}
		return b.chainNode(cond, head)

	case sym.has("break_statement", n):
		if len(b.breakT) > 0 {
			return b.breakT[len(b.breakT)-1]
		}
		return next
	case sym.has("continue_statement", n):
		if len(b.contT) > 0 {
			return b.contT[len(b.contT)-1]
		}
		return next

	case sym.has("return_statement", n):
		r := b.add(Node{Kind: NReturn, Succ: []int32{1}})
		if r < 0 {
			return next
		}
		b.f.Nodes[r].Line, b.f.Nodes[r].Col = pos(n)
		e := r
		for k := len(b.guards) - 1; k >= 0; k-- {
			e = b.scopeEnd(b.guards[k], e)
		}
		return b.chainNode(n, e)

	case sym.has("goto_statement", n):
		if l := n.ChildByFieldName("label"); l != nil {
			return b.label(b.x.text(l))
		}
		return next

	case sym.has("labeled_statement", n):
		l := n.ChildByFieldName("label")
		var inner int32 = next
		for _, ch := range b.namedChildren(n) {
			if l != nil && ch.Equal(l) {
				continue
			}
			inner = b.stmt(ch, next)
		}
		if l == nil {
			return inner
		}
		id := b.label(b.x.text(l))
		b.f.Nodes[id].Succ = []int32{inner}
		b.f.Nodes[id].Line, b.f.Nodes[id].Col = pos(n)
		return id

	case sym.has("declaration", n):
		b.locals(n)
		if t := n.ChildByFieldName("type"); t != nil && sym.has("macro_type_specifier", t) {
			// brace-less one-argument iterator: `for_each_cpu(cpu) stmt;`
			if nm := t.ChildByFieldName("name"); nm != nil && isIterName(b.x.text(nm)) {
				head := b.add(Node{Kind: NLoop, Text: b.x.text(nm)})
				if head < 0 {
					return next
				}
				b.f.Nodes[head].Line, b.f.Nodes[head].Col = pos(n)
				bodyE := b.chainNode(n, head)
				b.f.Nodes[head].Succ = []int32{bodyE, next}
				return head
			}
		}
		return b.chainNode(n, next)

	case sym.has("function_definition", n):
		if d := n.ChildByFieldName("declarator"); d != nil && !sym.has("parenthesized_declarator", d) {
			if _, params, _, real := b.x.funcDeclarator(d); real && b.x.realParams(params) {
				// a real function that error recovery nested in this body:
				// it is extracted on its own
				return next
			}
		}
		// one-argument iterator macro with a braced body
		t := n.ChildByFieldName("type")
		body := n.ChildByFieldName("body")
		it := "for_each"
		if t != nil {
			it = b.x.text(t)
		}
		var args []string
		if d := n.ChildByFieldName("declarator"); d != nil {
			args = []string{strings.Trim(b.x.text(d), "() ")}
		}
		head := b.add(Node{Kind: NLoop, Text: it, Args: args})
		if head < 0 {
			return next
		}
		b.f.Nodes[head].Line, b.f.Nodes[head].Col = pos(n)
		b.breakT = append(b.breakT, next)
		b.contT = append(b.contT, head)
		bodyE := b.stmt(body, head)
		b.breakT, b.contT = b.breakT[:len(b.breakT)-1], b.contT[:len(b.contT)-1]
		b.f.Nodes[head].Succ = []int32{bodyE, next}
		return head

	case sym.has("preproc_ifdef", n), sym.has("preproc_if", n), sym.has("preproc_elif", n),
		sym.has("preproc_elifdef", n):
		// Both sides of #ifdef are visible without a preprocessor: a branch.
		alt := n.ChildByFieldName("alternative")
		var stmts []*sitter.Node
		for _, ch := range b.namedChildren(n) {
			if alt != nil && ch.Equal(alt) {
				continue
			}
			if isStatement(ch) {
				stmts = append(stmts, ch)
			}
		}
		thenE := b.seq(stmts, next)
		elseE := next
		if alt != nil {
			elseE = b.stmt(alt, next)
		}
		id := b.add(Node{Kind: NBranch, Text: b.ppCond(n), Succ: []int32{thenE, elseE}})
		if id < 0 {
			return next
		}
		b.f.Nodes[id].Line, b.f.Nodes[id].Col = pos(n)
		return id
	case sym.has("preproc_else", n):
		var stmts []*sitter.Node
		for _, ch := range b.namedChildren(n) {
			if isStatement(ch) {
				stmts = append(stmts, ch)
			}
		}
		return b.seq(stmts, next)

	case n.IsError():
		// Recover: statements inside an ERROR are built as statements; the
		// rest keeps its calls in source order.
		items := b.namedChildren(n)
		return b.seq(items, next)

	case sym.has("expression_statement", n) || sym.has("attributed_statement", n):
		return b.chainNode(n, next)
	}
	return b.chainNode(n, next)
}

func isStatement(n *sitter.Node) bool {
	for _, k := range []string{"compound_statement", "expression_statement", "if_statement", "for_statement",
		"while_statement", "do_statement", "switch_statement", "return_statement", "goto_statement",
		"labeled_statement", "declaration", "break_statement", "continue_statement", "preproc_ifdef",
		"preproc_if", "preproc_else", "preproc_elif", "function_definition", "ERROR", "case_statement"} {
		if sym.has(k, n) {
			return true
		}
	}
	return n.IsError()
}

// ppCond renders a preprocessor branch's condition as "#if COND":
// `#ifdef X` is "#if defined(X)", `#ifndef X` "#if !defined(X)"; "#if"
// alone when it cannot be read.
func (b *builder) ppCond(n *sitter.Node) string {
	if sym.has("preproc_ifdef", n) || sym.has("preproc_elifdef", n) {
		name := n.ChildByFieldName("name")
		if name == nil || n.ChildCount() == 0 {
			return "#if"
		}
		neg := strings.HasSuffix(b.x.text(n.Child(0)), "ndef")
		c := "defined(" + b.x.text(name) + ")"
		if neg {
			c = "!" + c
		}
		return "#if " + c
	}
	c := n.ChildByFieldName("condition")
	if c == nil {
		return "#if"
	}
	t := strings.Join(strings.Fields(b.x.text(c)), " ")
	if len(t) > 120 {
		return "#if"
	}
	return "#if " + t
}
