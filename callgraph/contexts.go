package callgraph

import (
	"sort"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// Registration is a function handed to a registration call: an IRQ
// handler given to request_irq(), a CPU-hotplug callback given to
// cpuhp_setup_state(), or a notifier_block's notifier_call given to
// register_cpu_notifier().
type Registration struct {
	Handler int32  // the registered function
	Caller  int32  // the function making the registration call
	Site    int32  // the registration call site in Caller
	Via     string // the registration call
	Var     string // the notifier_block variable, for notifier registrations
}

// Registered returns the functions passed to the registration calls in
// calls (name -> argument indexes of the callbacks), in a deterministic
// order. An argument that is not a plain function name (`NULL`, a
// variable) registers nothing.
func (p *Program) Registered(calls map[string][]int) []Registration {
	var out []Registration
	p.eachCall(func(f *Func, si int32, n *parser.Node) {
		idx, ok := calls[n.Callee]
		if !ok {
			return
		}
		for _, i := range idx {
			if i >= len(n.Args) {
				continue
			}
			name := argName(n.Args[i])
			for _, t := range p.Resolve(name, f.File) {
				out = append(out, Registration{Handler: t, Caller: f.ID, Site: si, Via: n.Callee})
			}
		}
	})
	return sortRegs(out)
}

// Notifiers returns the callbacks of notifier blocks passed to the calls
// in calls (name -> index of the `&nb` argument): the function stored in
// the block's `field` (notifier_call) by a designated initializer or an
// assignment, looked up in the registering file first.
func (p *Program) Notifiers(calls map[string]int, field string) []Registration {
	var out []Registration
	p.eachCall(func(f *Func, si int32, n *parser.Node) {
		i, ok := calls[n.Callee]
		if !ok || i >= len(n.Args) {
			return
		}
		v := argName(n.Args[i])
		if v == "" {
			return
		}
		for _, fn := range p.storedIn(f.File, v, field) {
			for _, t := range p.Resolve(fn, f.File) {
				out = append(out, Registration{Handler: t, Caller: f.ID, Site: si, Via: n.Callee, Var: v})
			}
		}
	})
	return sortRegs(out)
}

// storedIn finds the function names stored into field of variable v,
// preferring stores in file fi.
func (p *Program) storedIn(fi int32, v, field string) []string {
	var local, other []string
	for i, file := range p.Files {
		for _, st := range file.Stores {
			if st.Var != v || st.Field != field {
				continue
			}
			if int32(i) == fi {
				local = append(local, st.Func)
			} else {
				other = append(other, st.Func)
			}
		}
	}
	if len(local) > 0 {
		return local
	}
	return other
}

func (p *Program) eachCall(fn func(f *Func, si int32, n *parser.Node)) {
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached {
				continue
			}
			fn(f, int32(si), &f.Src.Nodes[s.Node])
		}
	}
}

func sortRegs(rs []Registration) []Registration {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Handler != rs[j].Handler {
			return rs[i].Handler < rs[j].Handler
		}
		if rs[i].Caller != rs[j].Caller {
			return rs[i].Caller < rs[j].Caller
		}
		return rs[i].Site < rs[j].Site
	})
	return rs
}

// argName reduces an argument to the identifier it names: `&nb`,
// `(void *)fn`, ` fn ` give nb and fn; anything else gives "".
func argName(a string) string {
	a = strings.TrimSpace(a)
	for {
		switch {
		case strings.HasPrefix(a, "&"):
			a = strings.TrimSpace(a[1:])
			continue
		case strings.HasPrefix(a, "("):
			if j := strings.IndexByte(a, ')'); j > 0 && j < len(a)-1 {
				a = strings.TrimSpace(a[j+1:])
				continue
			}
		}
		break
	}
	for _, r := range a {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	if a == "NULL" {
		return ""
	}
	return a
}

// ProcessContext reports whether f runs with IRQs enabled: at a point where
// it holds nothing and has not changed the IRQ state its caller left, it
// calls a primitive that blocks. Sleeping with IRQs off is a bug of its own,
// so every caller that is not buggy calls f with IRQs on. It returns the
// blocking site, or -1.
func (p *Program) ProcessContext(f *Func) int32 {
	for si := range f.Sites {
		s := &f.Sites[si]
		if !s.Reached || s.Dropped || s.Prim == nil || len(s.Held) > 0 || s.IRQ != irqCaller ||
			s.Preempt != 0 || s.RCU != 0 {
			continue
		}
		if p.siteEffect(f, s, EffSleepIdle) {
			return int32(si)
		}
	}
	return -1
}

// IRQsOnAt reports whether IRQs are on at site s of a function that runs
// with IRQs enabled: the function has not disabled them on the way.
func (s *Site) IRQsOnAt() bool { return s.IRQ == irqOn || s.IRQ == irqCaller }

// CallEdge is a call of a function: the calling function and site.
type CallEdge struct{ Caller, Site int32 }

// Callers indexes, for every function, the reached calls of it (through
// direct calls only, or function pointers too), skipping calls past a
// dropped caller context and calls of barrier functions.
//
// Once the dataflow has settled every site (Reached, Dropped), the two
// indexes are built once and shared: read them, never change them.
func (p *Program) Callers(direct bool) [][]CallEdge {
	k := 0
	if direct {
		k = 1
	}
	if p.settled && p.callersMemo[k] != nil {
		return p.callersMemo[k]
	}
	out := p.buildCallers(direct)
	if p.settled {
		p.callersMemo[k] = out
	}
	return out
}

func (p *Program) buildCallers(direct bool) [][]CallEdge {
	out := make([][]CallEdge, len(p.Funcs))
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || s.Dropped || (direct && s.Indirect) {
				continue
			}
			for _, tg := range s.Targets {
				if !p.Funcs[tg].Barrier {
					out[tg] = append(out[tg], CallEdge{f.ID, int32(si)})
				}
			}
		}
	}
	return out
}

// UpFrom searches callers breadth-first from function src, at most
// maxDepth calls up and maxVisit functions, and calls found for every
// call site reached: its function, site and (built on demand) the chain of
// sites from it down to the call of src. found returns false to stop following callers
// past that function.
func (p *Program) UpFrom(callers [][]CallEdge, src int32, maxDepth, maxVisit int, found func(f *Func, si int32, chain func() []SiteRef) bool) {
	type down struct{ site, next int32 }
	// down[f]: the site of f on the way to src, and the function it calls
	downs := map[int32]down{src: {-1, -1}}
	depth := map[int32]int{src: 0}
	queue := []int32{src}
	for len(queue) > 0 && len(downs) < maxVisit {
		g := queue[0]
		queue = queue[1:]
		if depth[g] >= maxDepth {
			continue
		}
		for _, e := range callers[g] {
			if _, seen := downs[e.Caller]; seen {
				continue
			}
			downs[e.Caller] = down{e.Site, g}
			depth[e.Caller] = depth[g] + 1
			from := e.Caller
			chain := func() []SiteRef {
				var out []SiteRef
				for x := from; x != src; x = downs[x].next {
					out = append(out, SiteRef{x, downs[x].site})
				}
				return out
			}
			if found(p.Funcs[e.Caller], e.Site, chain) {
				queue = append(queue, e.Caller)
			}
		}
	}
}

// OnOnePath reports whether two call sites of f can run in one call of
// f: one is reachable from the other in the control-flow graph (they are
// not on the two arms of one branch).
func (p *Program) OnOnePath(f *Func, a, b int32) bool {
	na, nb := f.Sites[a].Node, f.Sites[b].Node
	return reaches(f.Src.Nodes, na, nb) || reaches(f.Src.Nodes, nb, na)
}

func reaches(nodes []parser.Node, from, to int32) bool {
	seen := make([]bool, len(nodes))
	stack := []int32{from}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x == to {
			return true
		}
		if x < 0 || int(x) >= len(nodes) || seen[x] {
			continue
		}
		seen[x] = true
		stack = append(stack, nodes[x].Succ...)
	}
	return false
}
