package parser

import (
	"bytes"
	"regexp"
	"slices"
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// functions builds a Func for every real function definition, at any depth
// (definitions are recovered under ERROR nodes too). A function_definition
// inside another function's body is a one-argument iterator macro
// (`for_each_possible_cpu(cpu) { }`) and is handled there as a loop.
func (x *extractor) functions(root *sitter.Node, fns []*sitter.Node) {
	sort.Slice(fns, func(i, j int) bool { return fns[i].StartByte() < fns[j].StartByte() })
	for _, fn := range fns {
		body := fn.ChildByFieldName("body")
		decl := fn.ChildByFieldName("declarator")
		if body == nil || decl == nil {
			continue
		}
		name, params, ptr, ok := x.funcDeclarator(decl)
		if !ok || (sym.has("parenthesized_declarator", decl) && params == nil) {
			continue
		}
		if p := fn.Parent(); p != nil && !sym.has("translation_unit", p) && !x.realParams(params) {
			// `per_cpu(v, cpu) { ... }` recovered inside a body: a macro
			// call, not a function
			continue
		}
		f := Func{Name: name}
		f.Line, f.Col = pos(fn)
		f.EndLine = int32(fn.EndPoint().Row) + 1
		f.BodyError = body.HasError()
		if t := fn.ChildByFieldName("type"); t != nil {
			f.ReturnType = x.typeName(t)
			if ptr == 0 {
				f.ReturnType = ""
			}
		}
		for i := 0; i < int(fn.ChildCount()); i++ {
			ch := fn.Child(i)
			switch {
			case sym.has("storage_class_specifier", ch):
				if x.text(ch) == "static" {
					f.Static = true
				}
			case sym.has("call_expression", ch):
				// __acquires(x) / __releases(x) / __must_hold(x)
				t := x.text(ch)
				if k := strings.IndexByte(t, '('); k > 0 {
					kind := strings.TrimSpace(t[:k])
					if strings.HasPrefix(kind, "__acquires") || strings.HasPrefix(kind, "__releases") || kind == "__must_hold" {
						f.Annots = append(f.Annots, Annot{Kind: kind, Arg: normSpace([]byte(strings.TrimSuffix(t[k+1:], ")")))})
					}
				}
			}
		}
		if params != nil {
			x.params(params, &f)
		}
		x.buildCFG(&f, body)
		x.file.Funcs = append(x.file.Funcs, f)
	}
}

// funcDeclarator finds the name and parameter list of a function
// declarator; ok is false for declarators that declare no function (the
// one-argument iterator macros parse as `type (ident) { }`).
func (x *extractor) funcDeclarator(d *sitter.Node) (name string, params *sitter.Node, ptr int, ok bool) {
	for i := 0; d != nil && i < 16; i++ {
		switch {
		case sym.has("pointer_declarator", d):
			ptr++
			d = d.ChildByFieldName("declarator")
		case sym.has("function_declarator", d):
			inner := d.ChildByFieldName("declarator")
			if inner == nil {
				return "", nil, 0, false
			}
			if sym.has("identifier", inner) {
				return x.text(inner), d.ChildByFieldName("parameters"), ptr, true
			}
			// function returning a function pointer, or a macro-wrapped name
			n, _ := declName(x, inner)
			return n, d.ChildByFieldName("parameters"), ptr, n != ""
		case sym.has("parenthesized_declarator", d):
			if d.NamedChildCount() == 0 {
				return
			}
			d = d.NamedChild(0)
		case sym.has("array_declarator", d) && d.ChildByFieldName("declarator") != nil &&
			sym.has("function_declarator", d.ChildByFieldName("declarator")):
			// `f(args) __acquires(&a[i].lock)`: the annotation's brackets
			// make the grammar see an array of the function
			d = d.ChildByFieldName("declarator")
		default:
			return
		}
	}
	return
}

func (x *extractor) params(pl *sitter.Node, f *Func) {
	for i := 0; i < int(pl.NamedChildCount()); i++ {
		p := pl.NamedChild(i)
		if !sym.has("parameter_declaration", p) {
			continue
		}
		t := p.ChildByFieldName("type")
		d := p.ChildByFieldName("declarator")
		if t == nil || d == nil {
			continue
		}
		name, ptr := declName(x, d)
		if name != "" {
			l, _ := pos(p)
			f.Params = append(f.Params, Var{Name: name, Type: x.typeName(t), Ptr: ptr, Line: l})
		}
	}
}

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

type guardScope struct {
	class, lock string
	line, col   int32
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
	f.AssignedParams = b.assignedParams(body)
}

// assignedParams lists the parameters the body assigns to: a test of such
// a parameter says nothing about the value the caller passed.
func (b *builder) assignedParams(body *sitter.Node) []string {
	text := b.x.src[body.StartByte():body.EndByte()]
	var out []string
	for _, v := range b.f.Params {
		if v.Name == "" {
			continue
		}
		for off := 0; ; {
			i := bytes.Index(text[off:], []byte(v.Name))
			if i < 0 {
				break
			}
			i += off
			off = i + len(v.Name)
			if i > 0 && (isWordByte(text[i-1]) || text[i-1] == '.' || text[i-1] == '>') {
				continue
			}
			j := off
			if j < len(text) && isWordByte(text[j]) {
				continue
			}
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j < len(text) && (text[j] == '=' && (j+1 >= len(text) || text[j+1] != '=') ||
				j+1 < len(text) && text[j+1] == '=' && strings.IndexByte("+-|&^*/%", text[j]) >= 0) ||
				j+1 < len(text) && (text[j] == '+' && text[j+1] == '+' || text[j] == '-' && text[j+1] == '-') {
				out = append(out, v.Name)
				break
			}
		}
	}
	return out
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

// isIterName reports whether a macro name is a loop iterator
// (list_for_each_entry, for_each_cpu, hlist_for_each_entry_rcu, ...).
func isIterName(s string) bool {
	return strings.Contains(s, "for_each") || strings.Contains(s, "foreach") || strings.HasPrefix(s, "while_each")
}

func isScopedGuard(s string) bool {
	return s == "scoped_guard" || s == "scoped_cond_guard"
}

// iterCall returns the iterator call of a loop-shaped expression statement:
// `list_for_each_entry(p, h, m)` followed (as the next sibling) by its body.
func (b *builder) iterCall(n *sitter.Node) *callInfo {
	if !sym.has("expression_statement", n) || n.NamedChildCount() == 0 {
		return nil
	}
	c := n.NamedChild(0)
	if !sym.has("call_expression", c) {
		return nil
	}
	calls := b.x.calls
	s := c.StartByte()
	i := sort.Search(len(calls), func(i int) bool { return calls[i].start >= s })
	for ; i < len(calls) && calls[i].start == s; i++ {
		if calls[i].end == c.EndByte() && !calls[i].indirect && (isIterName(calls[i].callee) || isScopedGuard(calls[i].callee)) {
			return &calls[i]
		}
	}
	return nil
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
	if body := b.loopBody(items, i); body > i {
		rest := b.seqFrom(items, body+1, active, next)
		b.guards = active[i]
		return b.loopAt(items, i, body, rest)
	}
	if l, inner := b.labeledIter(items[i]); inner != nil {
		// `again: hlist_for_each_entry(...) { ... }`: the label heads a
		// loop whose body is the next statement
		alt := append(append(append([]*sitter.Node(nil), items[:i]...), inner), items[i+1:]...)
		if body := b.loopBody(alt, i); body > i {
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

// labeledIter splits `label: ITER(...)` into the label and the iterator
// call statement (nil when n is not one).
func (b *builder) labeledIter(n *sitter.Node) (*sitter.Node, *sitter.Node) {
	if !sym.has("labeled_statement", n) {
		return nil, nil
	}
	l := n.ChildByFieldName("label")
	if l == nil || n.NamedChildCount() < 2 {
		return nil, nil
	}
	inner := n.NamedChild(int(n.NamedChildCount()) - 1)
	if inner.Equal(l) || b.iterCall(inner) == nil {
		return nil, nil
	}
	return l, inner
}

// loopBody returns the index of the statement that is the body of the
// loop-shaped macro call at items[i] (i itself when it is not one). Nested
// brace-less iterators are flattened into consecutive siblings:
// `ITER1(...) ITER2(...) stmt;` has body stmt, inside ITER2, inside ITER1.
func (b *builder) loopBody(items []*sitter.Node, i int) int {
	j := i
	for j+1 < len(items) && b.iterCall(items[j]) != nil {
		j++
	}
	return j
}

// loopAt builds the loop headers items[i..body-1], each nested in the
// previous one, around the statement items[body].
func (b *builder) loopAt(items []*sitter.Node, i, body int, next int32) int32 {
	if i == body {
		return b.stmt(items[i], next)
	}
	return b.loopMacro(b.iterCall(items[i]), items[i], next, func(cont int32) int32 {
		return b.loopAt(items, i+1, body, cont)
	})
}

// loopMacro builds one loop-shaped macro call (or scoped_guard) around a
// body; body builds the body with the given continuation.
func (b *builder) loopMacro(ci *callInfo, header *sitter.Node, next int32, body func(cont int32) int32) int32 {
	ci.used = true
	if isScopedGuard(ci.callee) {
		g := guardScope{class: argAt(ci.args, 0), lock: argAt(ci.args, 1), line: ci.line, col: ci.col}
		end := b.scopeEnd(g, next)
		saved := b.guards
		b.guards = append(append([]guardScope(nil), saved...), g)
		inner := body(end)
		b.guards = saved
		id := b.add(Node{Kind: NCall, Callee: "guard", Text: g.class, Args: []string{g.lock}, Line: g.line, Col: g.col, Succ: []int32{inner}})
		if id < 0 {
			return next
		}
		return b.chainNode(header, id)
	}
	head := b.add(Node{Kind: NLoop, Text: ci.callee, Args: ci.args, Line: ci.line, Col: ci.col})
	if head < 0 {
		return next
	}
	entry := b.chainNode(header, head)
	b.breakT = append(b.breakT, next)
	b.contT = append(b.contT, head)
	bodyEntry := body(head)
	b.breakT = b.breakT[:len(b.breakT)-1]
	b.contT = b.contT[:len(b.contT)-1]
	b.f.Nodes[head].Succ = []int32{bodyEntry, next}
	return entry
}

func argAt(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

// guardStmt recognises `guard(class)(lock);`.
func (b *builder) guardStmt(n *sitter.Node) (guardScope, bool) {
	if !sym.has("expression_statement", n) || n.NamedChildCount() == 0 {
		return guardScope{}, false
	}
	c := n.NamedChild(0)
	if !sym.has("call_expression", c) {
		return guardScope{}, false
	}
	calls := b.x.calls
	s := c.StartByte()
	i := sort.Search(len(calls), func(i int) bool { return calls[i].start >= s })
	for ; i < len(calls) && calls[i].start == s; i++ {
		if calls[i].callee == "guard" && calls[i].end == c.EndByte() {
			ci := calls[i]
			return guardScope{class: ci.recv, lock: argAt(ci.args, 0), line: ci.line, col: ci.col}, true
		}
	}
	return guardScope{}, false
}

func (b *builder) scopeEnd(g guardScope, next int32) int32 {
	id := b.add(Node{Kind: NScopeEnd, Callee: "guard", Text: g.class, Args: []string{g.lock}, Line: g.line, Col: g.col, Succ: []int32{next}})
	if id < 0 {
		return next
	}
	return id
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
					if val == nil {
						hasDefault = true
					}
					cont = b.seq(stmts, cont)
					succ = append(succ, cont)
				} else {
					cont = b.stmt(it, cont)
				}
			}
			b.breakT = b.breakT[:len(b.breakT)-1]
		}
		if !hasDefault || len(succ) == 0 {
			succ = append(succ, next)
		}
		b.f.Nodes[head].Succ = succ
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
		id := b.add(Node{Kind: NBranch, Text: "#if", Succ: []int32{thenE, elseE}})
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
				if val := d.ChildByFieldName("value"); val != nil && val.EndByte()-val.StartByte() < 200 {
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

// realParams reports whether a parameter list declares parameters the way
// a function definition does: `(void)`, `()`, or every parameter with a
// type and a name. Macro calls recovered as definitions (`per_cpu(v, cpu)`)
// have bare identifiers instead.
func (x *extractor) realParams(pl *sitter.Node) bool {
	if pl == nil {
		return false
	}
	n := int(pl.NamedChildCount())
	if n == 0 {
		return true
	}
	for i := 0; i < n; i++ {
		p := pl.NamedChild(i)
		if sym.has("comment", p) || sym.has("variadic_parameter", p) {
			continue
		}
		if !sym.has("parameter_declaration", p) {
			return false
		}
		if p.ChildByFieldName("declarator") == nil {
			if t := p.ChildByFieldName("type"); n == 1 && t != nil && x.text(t) == "void" {
				continue
			}
			return false
		}
	}
	return true
}

// constExpr reports whether an initializer is a constant: a number,
// true/false/NULL, or upper-case constants joined by |.
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
