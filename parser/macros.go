package parser

import (
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

type guardScope struct {
	class, lock string
	line, col   int32
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
	if last := n.Child(int(n.ChildCount()) - 1); last != nil && !last.IsNamed() && !last.IsMissing() && b.x.text(last) == ";" {
		// a call of a function named like an iterator, not a loop:
		// `bus_for_each_dev(bus, NULL, data, fn);`
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

// bodyIndex returns the index of the statement that is the body of the
// loop-shaped macro call at items[i] (i itself when it is not one). Nested
// brace-less iterators are flattened into consecutive siblings:
// `ITER1(...) ITER2(...) stmt;` has body stmt, inside ITER2, inside ITER1.
func (b *builder) bodyIndex(items []*sitter.Node, i int) int {
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
