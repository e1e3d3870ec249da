package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
)

// ListWalkUnderSem flags an unbounded list walk with real per-element work
// reached while a caller holds a sleeping lock.
var ListWalkUnderSem = &Rule{
	ID:    "list-walk-under-sem",
	Name:  "ListWalkUnderSem",
	Short: "Unbounded list walk with per-element work under a held semaphore or mutex",
	Full: "A list or hlist kept in a struct field is walked while a caller holds a sleeping lock " +
		"(rw_semaphore, mutex, mmap_lock, i_mmap_rwsem, anon_vma lock), each element does real work (a " +
		"synchronous IPI or TLB flush, a nested walk, a lock round trip, an indirect call), and nothing " +
		"bounds the list: no function inserting into that field compares a counter field of the same " +
		"struct (in a condition or an assertion such as WARN_ON(n->len > max)). When the list grows (KSM merged 2.3 million pages into one stable_node), the lock stays " +
		"held for the whole walk and every other waiter hangs. cond_resched() in the loop does not help: " +
		"the lock is still held. A walk whose only work is a lock round trip or a nested walk is a note.",
	Help: "**Pattern**: `down_read(&mm->mmap_sem)` ... -> `rmap_walk_ksm()`: " +
		"`hlist_for_each_entry(rmap_item, &stable_node->hlist, hlist) { ... rwc->rmap_one(...) }`.\n\n" +
		"**Fix**: bound the list where it grows: keep a counter in the struct and refuse or split " +
		"insertions beyond a limit (v4.13 \"ksm: introduce ksm_max_page_sharing per page deduplication " +
		"limit\"), or drop the lock between batches.",
	Severity: Warning,
	Tags:     []string{"concurrency", "latency", "lists"},
	Run:      runListWalkUnderSem,
}

// walk is an unbounded list walk with per-element work.
type walk struct {
	fn    int32
	node  int32
	list  string // owner.field
	work  []string
	heavy bool // the work includes an IPI or an indirect call
	body  map[int32]bool
}

func runListWalkUnderSem(c *Context) []Finding {
	p := c.P
	bounded := boundedLists(p)
	walks := map[int32][]*walk{}
	var srcs []int32
	for _, f := range p.Funcs {
		for ni := range f.Src.Nodes {
			if w := unboundedWalk(p, f, int32(ni), bounded); w != nil {
				if len(walks[f.ID]) == 0 {
					srcs = append(srcs, f.ID)
				}
				walks[f.ID] = append(walks[f.ID], w)
			}
		}
	}
	if len(srcs) == 0 {
		return nil
	}
	callers := p.Callers(true)
	var out []Finding
	for _, src := range srcs {
		f := p.Funcs[src]
		for _, w := range walks[src] {
			// a lock taken in this very function before the walk
			for si := range f.Sites {
				s := &f.Sites[si]
				if h, ok := heldSleeping(p, s); ok && h.Site >= 0 && w.body[s.Node] && !w.body[f.Sites[h.Site].Node] {
					out = append(out, walkFinding(c, w, f, int32(si), h, nil, true))
					break
				}
			}
		}
		// callers holding a sleeping lock across the call: the nearest
		// holder of each class, at most maxWalkHolders classes; the
		// finding names the nearest of the locks every fault or mapping
		// change of a process waits for (the table's hot_locks: mmap_lock,
		// i_mmap_rwsem, anon_vma), else the nearest rw_semaphore (a
		// read-held one stalls every writer and, behind it, every reader),
		// else the nearest
		type holder struct {
			f     *callgraph.Func
			si    int32
			h     callgraph.Held
			chain []callgraph.Step
		}
		var holders []holder
		classes := map[int32]bool{}
		p.UpFrom(callers, src, maxWalkDepth, maxWalkVisit, func(hf *callgraph.Func, si int32, chain func() []callgraph.Step) bool {
			if h, ok := heldSleeping(p, &hf.Sites[si]); ok && !classes[h.Class] {
				classes[h.Class] = true
				holders = append(holders, holder{hf, si, h, chain()})
			}
			return len(holders) < maxWalkHolders
		})
		if len(holders) == 0 {
			continue
		}
		primary := 0
		rank := func(hd holder) int {
			ci := p.Classes[hd.h.Class]
			for _, hot := range p.K.Table.Lists.HotLocks {
				if strings.HasSuffix(ci.Name, hot) {
					return 2
				}
			}
			if ci.Kind == "rwsem" {
				return 1
			}
			return 0
		}
		for i, hd := range holders {
			if rank(hd) > rank(holders[primary]) {
				primary = i
			}
		}
		for _, w := range walks[src] {
			hd := holders[primary]
			fd := walkFinding(c, w, hd.f, hd.si, hd.h, hd.chain, false)
			for i, o := range holders {
				if i != primary {
					fd.Related = append(fd.Related, Step{Loc: Location{Path: p.Path(o.f), Line: int(o.h.Line),
						Col: int(o.h.Col), Func: o.f.Src.Name}, Message: c.ClassName(o.h.Class) + " also held above this walk, taken here"})
				}
			}
			out = append(out, fd)
		}
	}
	return out
}

// Search limits for the lock holder above a walk: the seed's chain
// (do_migrate_pages -> ... -> rmap_walk_ksm) is 8 calls.
const (
	maxWalkDepth   = 12
	maxWalkVisit   = 20000
	maxWalkHolders = 4
)

// heldSleeping returns a sleeping lock held at s (the outermost).
func heldSleeping(p *callgraph.Program, s *callgraph.Site) (callgraph.Held, bool) {
	if !s.Reached || s.Dropped {
		return callgraph.Held{}, false
	}
	for _, h := range s.Held {
		ci := p.Classes[h.Class]
		if callgraph.SleepingKind(ci.Kind) && !h.Trylock {
			return h, true
		}
	}
	return callgraph.Held{}, false
}

// boundedLists finds the list fields with an insertion in a function that
// compares a counter field of the same struct (stable_tree_append():
// `WARN_ON_ONCE(stable_node->rmap_hlist_len > ksm_max_page_sharing)`):
// the list's length is kept in check where it grows. One such insertion
// is enough (KSM's chain of duplicates is inserted elsewhere, and is short
// because each duplicate's own list is bounded). The map holds every list
// with a seen insertion: true when bounded.
func boundedLists(p *callgraph.Program) map[string]bool {
	inserters := map[string][]*callgraph.Func{}
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || !p.K.IsListInsert(s.Callee) {
				continue
			}
			n := &f.Src.Nodes[s.Node]
			if len(n.Args) < 2 {
				continue
			}
			if owner, field, ok := p.FieldOf(f, n.Args[1]); ok {
				k := owner + "." + field
				inserters[k] = append(inserters[k], f)
			}
		}
	}
	out := map[string]bool{}
	for k, fs := range inserters {
		owner := k[:strings.LastIndexByte(k, '.')]
		counters := counterFields(p, owner)
		limited := false
		for _, f := range fs {
			if comparesAny(f, counters) {
				limited = true
				break
			}
		}
		out[k] = limited
	}
	return out
}

// counterFields lists a struct's scalar fields: not pointers, not structs.
func counterFields(p *callgraph.Program, owner string) []string {
	var out []string
	for name, v := range p.StructFields(owner) {
		if v.Ptr == 0 && p.StructFields(v.Type) == nil && !strings.Contains(v.Type, "list") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// comparesAny reports whether f compares one of the fields against
// something in a branch condition or an assertion's argument
// (`if (n->count >= max)`, `WARN_ON(n->len > limit)`).
func comparesAny(f *callgraph.Func, fields []string) bool {
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
		if end < len(text) && isIdent(text[end]) {
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

func isIdent(c byte) bool {
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
		case isIdent(s[i-1]):
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

// unboundedWalk returns the walk at node ni of f when it is a list
// iterator over a struct field that is not bounded and whose body does
// real work.
func unboundedWalk(p *callgraph.Program, f *callgraph.Func, ni int32, bounded map[string]bool) *walk {
	n := &f.Src.Nodes[ni]
	if n.Kind != parser.NLoop || !p.K.IsListIterator(n.Iter()) || len(n.Args) < 2 || len(n.Succ) < 2 {
		return nil
	}
	owner, field, ok := p.FieldOf(f, n.Args[1])
	if !ok {
		return nil
	}
	list := owner + "." + field
	if b, seen := bounded[list]; !seen || b {
		// bounded, or nothing in the scanned code inserts into it
		return nil
	}
	body := loopBody(f.Src.Nodes, ni)
	w := &walk{fn: f.ID, node: ni, list: list, body: body}
	siteOf := map[int32]int32{}
	for si := range f.Sites {
		siteOf[f.Sites[si].Node] = int32(si)
	}
	kinds := map[string]bool{}
	add := func(k string, heavy bool) {
		if !kinds[k] {
			kinds[k] = true
			w.work = append(w.work, k)
		}
		w.heavy = w.heavy || heavy
	}
	for _, bi := range sortedNodes(body) {
		bn := &f.Src.Nodes[bi]
		switch bn.Kind {
		case parser.NLoop:
			if bn.Iter() != "for" && bn.Iter() != "while" && bn.Iter() != "do" {
				add("a nested walk ("+bn.Iter()+")", false)
			}
		case parser.NCall:
			si, ok := siteOf[bi]
			if !ok {
				continue
			}
			s := &f.Sites[si]
			switch {
			case !s.Indirect && p.HasEffect(f, s, callgraph.EffIPI, true) &&
				len(p.EffectPath(f, si, callgraph.EffIPI, true)) <= maxWorkDepth:
				add(fmt.Sprintf("a synchronous IPI or TLB flush (%s())", s.Callee), true)
			case s.Indirect && indirectIPI(p, s):
				add(fmt.Sprintf("an indirect call that sends IPIs (%s->%s())", n2(bn.Recv()), s.Callee), true)
			case len(s.Acq) > 0 && s.Prim != nil && s.Prim.Op == callgraph.OpAcquire:
				add(fmt.Sprintf("a lock round trip (%s())", s.Callee), false)
			}
		}
	}
	if len(w.work) == 0 {
		return nil
	}
	return w
}

// indirectIPI reports whether some target of an indirect call sends a
// synchronous IPI through direct calls.
func indirectIPI(p *callgraph.Program, s *callgraph.Site) bool {
	for _, t := range s.Targets {
		tf := p.Funcs[t]
		if v := tf.ViaDirect[callgraph.EffIPI]; !tf.Barrier && v >= 0 &&
			len(p.EffectPath(tf, v, callgraph.EffIPI, true)) < maxWorkDepth {
			return true
		}
	}
	return false
}

// maxWorkDepth is the longest call chain from the loop body to an IPI that
// counts as per-element work (try_to_unmap_one -> flush_tlb_page ->
// flush_tlb_mm_range is 3).
const maxWorkDepth = 4

func n2(recv string) string {
	if recv == "" {
		return "?"
	}
	return recv
}

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

func sortedNodes(m map[int32]bool) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func walkFinding(c *Context, w *walk, hf *callgraph.Func, hsi int32, h callgraph.Held, path []callgraph.Step, local bool) Finding {
	p := c.P
	wf := p.Funcs[w.fn]
	wn := &wf.Src.Nodes[w.node]
	class := c.ClassName(h.Class)
	loopLoc := Location{Path: p.Path(wf), Line: int(wn.Line), Col: int(wn.Col), Func: wf.Src.Name}
	heldLoc := Location{Path: p.Path(hf), Line: int(h.Line), Col: int(h.Col), Func: hf.Src.Name}
	tf := ThreadFlow{Name: "lock holder"}
	tf.Steps = append(tf.Steps, Step{Loc: heldLoc, Message: class + " acquired"})
	if !local {
		tf.Steps = append(tf.Steps, c.CallSteps(path)...)
	}
	tf.Steps = append(tf.Steps, Step{Loc: loopLoc, Message: fmt.Sprintf("%s() walks %s (%s); per element: %s",
		wf.Src.Name, w.list, wn.Iter(), strings.Join(w.work, ", "))})
	sev := Warning
	if !w.heavy {
		sev = Note
	}
	where := fmt.Sprintf("held by %s()", hf.Src.Name)
	if local {
		where = "held here"
	}
	return Finding{
		Severity: sev,
		Loc:      loopLoc,
		Message: fmt.Sprintf("unbounded walk of %s with %s %s: %s() does %s per element and nothing limits the list's length",
			w.list, class, where, wf.Src.Name, strings.Join(w.work, ", ")),
		Flows: []ThreadFlow{tf},
		Related: []Step{{Loc: heldLoc, Message: class + " acquired here"},
			{Loc: c.SiteLoc(hf.ID, hsi), Message: "call made with the lock held"}},
		Key: []string{wf.Src.Name, w.list, class},
		Fix: "bound the list (a counter in the struct checked at insertion), or drop the lock between batches",
	}
}
