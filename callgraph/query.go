package callgraph

import (
	"sort"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// The queries below are what rules ask of a function's syntax: rules see
// call sites, loops and conditions through them, never the parser's CFG.

// IRQsOn reports whether IRQs are known to be on at the site.
func (s *Site) IRQsOn() bool { return s.IRQ == irqOn }

// CallArgs returns the argument texts of call site s of f, as written
// (white space normalised).
func (p *Program) CallArgs(f *Func, s *Site) []string { return f.Src.Nodes[s.Node].Args }

// CallArg returns argument i of call site s of f, "" when it has fewer.
func (p *Program) CallArg(f *Func, s *Site, i int) string {
	a := f.Src.Nodes[s.Node].Args
	if i < 0 || i >= len(a) {
		return ""
	}
	return strings.TrimSpace(a[i])
}

// ListWalk is a list iterator loop (a table iterator such as
// list_for_each_entry) in a function's body.
type ListWalk struct {
	Iter      string // the iterator macro
	List      string // its list argument, as written (&node->hlist)
	Line, Col int32
	f         *Func
	node      int32
	body      map[int32]bool
}

// WalkItem is one piece of a walk's body, in body order: a call site, or a
// nested walk by an iterator macro.
type WalkItem struct {
	Site   int32  // index in the function's sites, -1 for a nested walk
	Nested string // the nested walk's iterator macro
}

// ListWalks returns the list walks of f, in body order.
func (p *Program) ListWalks(f *Func) []*ListWalk {
	var out []*ListWalk
	for ni := range f.Src.Nodes {
		n := &f.Src.Nodes[ni]
		if n.Kind != parser.NLoop || !p.K.IsListIterator(n.Iter()) || len(n.Args) < 2 || len(n.Succ) < 2 {
			continue
		}
		out = append(out, &ListWalk{Iter: n.Iter(), List: n.Args[1], Line: n.Line, Col: n.Col, f: f, node: int32(ni)})
	}
	return out
}

func (w *ListWalk) ensureBody() {
	if w.body == nil {
		w.body = loopBody(w.f.Src.Nodes, w.node)
	}
}

// Encloses reports whether call site s of the walk's function is in the
// walk's body.
func (w *ListWalk) Encloses(s *Site) bool {
	w.ensureBody()
	return w.body[s.Node]
}

// Body returns the call sites and nested iterator-macro loops of the
// walk's body, in body order.
func (w *ListWalk) Body() []WalkItem {
	w.ensureBody()
	siteOf := map[int32]int32{}
	for si := range w.f.Sites {
		siteOf[w.f.Sites[si].Node] = int32(si)
	}
	nodes := make([]int32, 0, len(w.body))
	for k := range w.body {
		nodes = append(nodes, k)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	var out []WalkItem
	for _, bi := range nodes {
		bn := &w.f.Src.Nodes[bi]
		switch bn.Kind {
		case parser.NLoop:
			if it := bn.Iter(); it != "for" && it != "while" && it != "do" {
				out = append(out, WalkItem{Site: -1, Nested: it})
			}
		case parser.NCall:
			if si, ok := siteOf[bi]; ok {
				out = append(out, WalkItem{Site: si})
			}
		}
	}
	return out
}

// CallRecv returns the receiver text of an indirect call site (`rwc` of
// rwc->rmap_one()), "" for a direct one.
func (p *Program) CallRecv(f *Func, s *Site) string { return f.Src.Nodes[s.Node].Recv() }

// loopBody returns the nodes of the loop at head: reachable from the body
// entry without passing the head or the exit, and able to come back to the
// head.
func loopBody(nodes []parser.Node, head int32) map[int32]bool {
	entry, exit := nodes[head].Succ[0], nodes[head].Succ[1]
	fwd := map[int32]bool{}
	stack := []int32{entry}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x < 0 || x == head || x == exit || fwd[x] || int(x) >= len(nodes) {
			continue
		}
		fwd[x] = true
		stack = append(stack, nodes[x].Succ...)
	}
	// keep what can get back to the head
	back := map[int32]bool{}
	changed := true
	for changed {
		changed = false
		for x := range fwd {
			if back[x] {
				continue
			}
			for _, s := range nodes[x].Succ {
				if s == head || back[s] {
					back[x] = true
					changed = true
					break
				}
			}
		}
	}
	return back
}

// ComparesField reports whether f compares one of the fields against
// something in a branch condition or a call's argument (an assertion:
// `if (n->count >= max)`, `WARN_ON(n->len > limit)`).
func (p *Program) ComparesField(f *Func, fields []string) bool {
	for i := range f.Src.Nodes {
		n := &f.Src.Nodes[i]
		texts := n.Args
		if n.Kind == parser.NBranch {
			texts = []string{n.Cond()}
		}
		for _, t := range texts {
			for _, fl := range fields {
				if comparesField(t, fl) {
					return true
				}
			}
		}
	}
	return false
}

// comparesField reports whether text compares `->field` or `.field` with
// <, <=, > or >=.
func comparesField(text, field string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], field)
		if j < 0 {
			return false
		}
		at := i + j
		end := at + len(field)
		i = end
		if end < len(text) && isWordChar(text[end]) {
			continue
		}
		member := at >= 2 && text[at-2:at] == "->" || at >= 1 && text[at-1] == '.'
		if !member {
			continue
		}
		if relAfter(text[end:]) || relBefore(text[:exprStart(text, at)]) {
			return true
		}
	}
}

func isWordChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// relAfter: the text after an operand starts with a relational operator.
func relAfter(s string) bool {
	s = strings.TrimLeft(s, " \t\n)")
	if s == "" {
		return false
	}
	switch s[0] {
	case '<', '>':
		return len(s) == 1 || s[1] != s[0]
	}
	return false
}

// relBefore: the text before an operand ends with a relational operator.
func relBefore(s string) bool {
	s = strings.TrimRight(s, " \t\n(")
	n := len(s)
	if n == 0 {
		return false
	}
	if s[n-1] == '=' && n >= 2 && (s[n-2] == '<' || s[n-2] == '>') {
		s, n = s[:n-1], n-1
	}
	switch s[n-1] {
	case '<', '>':
		if n >= 2 && (s[n-2] == s[n-1] || s[n-1] == '>' && s[n-2] == '-') {
			return false
		}
		return true
	}
	return false
}

// exprStart walks back from a member name over `a->b.c[i]` to where the
// operand starts.
func exprStart(s string, i int) int {
	for i > 0 {
		switch {
		case isWordChar(s[i-1]):
			i--
		case s[i-1] == '.':
			i--
		case i >= 2 && s[i-2:i] == "->":
			i -= 2
		case s[i-1] == ']' || s[i-1] == ')':
			depth := 0
			for i > 0 {
				i--
				if s[i] == ']' || s[i] == ')' {
					depth++
				} else if s[i] == '[' || s[i] == '(' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
		default:
			return i
		}
	}
	return i
}
