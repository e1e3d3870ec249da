package callgraph

import (
	"maps"
	"slices"
	"sort"

	"github.com/dominikbraun/graph"

	"github.com/lockorder/lockorder/parser"
)

// Reach is the set of functions reachable from some entry points, each
// with the call that first reached it (a breadth-first tree, so paths are
// shortest).
type Reach struct {
	Entries []int32
	parent  map[int32]SiteRef // callee -> (caller, site); entries map to Site -1
}

// Reached reports whether f is reachable.
func (r *Reach) Reached(f int32) bool { _, ok := r.parent[f]; return ok }

// PathTo returns the call chain from an entry point to f: each step is a
// call site whose callee is the next step's function. The last step is
// SiteRef{f, -1}.
func (r *Reach) PathTo(f int32) []SiteRef {
	var rev []SiteRef
	cur := SiteRef{f, -1}
	for i := 0; i < 256; i++ {
		rev = append(rev, cur)
		par, ok := r.parent[cur.Func]
		if !ok || par.Site < 0 {
			break
		}
		cur = par
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// ReachFrom computes what the entries reach through calls (direct only,
// or through function pointers too). A call the dataflow found
// unreachable is not followed.
func (p *Program) ReachFrom(entries []int32, direct bool) *Reach {
	r := &Reach{Entries: entries, parent: map[int32]SiteRef{}}
	queue := append([]int32(nil), entries...)
	for _, e := range entries {
		r.parent[e] = SiteRef{-1, -1}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		f := p.Funcs[id]
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || (direct && s.Indirect) {
				continue
			}
			for _, t := range s.Targets {
				if p.Funcs[t].Barrier {
					// die(), panic(): nothing after them is reached (in
					// interrupt context die() panics before do_exit())
					continue
				}
				if _, ok := r.parent[t]; !ok {
					r.parent[t] = SiteRef{id, int32(si)}
					queue = append(queue, t)
				}
			}
		}
	}
	return r
}

// FuncIDs returns the ids of functions with the given names.
func (p *Program) FuncIDs(names []string) []int32 {
	var out []int32
	for _, n := range names {
		out = append(out, p.byName[n]...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// OrderEdge is "To is acquired while From is held", with its witness: the
// holding function, where From was taken, and the call chain to the
// acquisition of To.
type OrderEdge struct {
	From, To  int32
	Holder    int32
	HeldLine  int32
	HeldCol   int32
	Path      []SiteRef
	Witnesses int
	// Gates are the other classes held at the witness: locks that
	// serialise this order with any other path holding them too.
	Gates []int32
	// FromRead/ToRead: From is held, To taken, for read only.
	FromRead, ToRead bool
	// Nested: either side carries a nesting annotation (_nested,
	// SINGLE_DEPTH_NESTING): the developer declared the order.
	Nested bool
	// ProbeOnly: every witness's holder runs only inside a driver's
	// probe (see Program.ProbeOnly)
	ProbeOnly bool
	// the excuses of the witness shown (Holder, Path): read sides, a
	// nesting annotation, other locks held
	wFromRead, wToRead, wNested, wGated bool
}

// excuses counts what makes a witness of an order weaker: a read-held or
// read-taken side, a nesting annotation, other locks held that may
// serialise it.
func excuses(fromRead, toRead, nested, gated bool) int {
	n := 0
	for _, b := range []bool{fromRead, toRead, nested, gated} {
		if b {
			n++
		}
	}
	return n
}

// LockOrder is the lock-order graph over typed lock classes.
type LockOrder struct {
	Edges map[[2]int32]*OrderEdge
	// G is over canonical classes (Program.Canon); byCanon lists the
	// edges between each pair of canonical classes
	G       graph.Graph[string, string]
	byCanon map[[2]int32][]*OrderEdge
	// ids maps the graph's vertex names back to classes
	ids map[string]int32
}

// Cycle is a lock-order cycle: its edges, each taking the next edge's
// From (or a lock that may be it) while holding its own From.
type Cycle struct {
	Edges []*OrderEdge
	// Unknown says why the locks the orders meet on may be different
	// instances ("" when they are the same class or one names the
	// embedding): both reach the lock through a pointer to the struct
	// that many others embed.
	Unknown string
}

// Classes returns the classes the cycle's orders hold, in order.
func (c Cycle) Classes() []int32 {
	out := make([]int32, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.From
	}
	return out
}

// LockOrder computes the lock-order graph: an edge A->B for every
// acquisition of B (directly or through direct calls) while A is held.
// Nested acquisitions of one class are not edges.
func (p *Program) LockOrder() *LockOrder {
	lo := &LockOrder{Edges: map[[2]int32]*OrderEdge{}, ids: map[string]int32{}}
	add := func(f *Func, h Held, to int32, si int32) {
		if h.Class == to || !p.Classes[h.Class].Typed || !p.Classes[to].Typed {
			return
		}
		// what this witness says about the order
		s := &f.Sites[si]
		nested, toRead := h.Nested, false
		for _, a := range s.Acq {
			if a.Class == to {
				toRead, nested = a.Read, nested || a.Nested
			}
		}
		var gates []int32
		for _, g := range s.Held {
			if g.Class != h.Class && g.Class != to && !g.Trylock && !slices.Contains(gates, g.Class) {
				gates = append(gates, g.Class)
			}
		}
		for _, g := range p.EntryHeld(f.ID) {
			// an outer lock every caller holds (zfcp's erp_lock two
			// calls up)
			if g != h.Class && g != to && !slices.Contains(gates, g) {
				gates = append(gates, g)
			}
		}
		k := [2]int32{h.Class, to}
		if e, ok := lo.Edges[k]; ok {
			// an excuse holds only if every witness has it; the witness
			// shown is one without the excuses the others have (a
			// write_lock() where the first witness read-locked)
			if excuses(h.Read, toRead, nested, len(gates) > 0) < excuses(e.wFromRead, e.wToRead, e.wNested, e.wGated) {
				if path := p.AcquirePath(f, si, to); p.Feasible(path) {
					e.Holder, e.HeldLine, e.HeldCol = f.ID, h.Line, h.Col
					e.Path = path
					e.wFromRead, e.wToRead, e.wNested, e.wGated = h.Read, toRead, nested, len(gates) > 0
				}
			}
			e.Witnesses++
			e.ProbeOnly = e.ProbeOnly && p.ProbeOnly(f.ID)
			e.Nested = e.Nested && nested
			e.FromRead = e.FromRead && h.Read
			e.ToRead = e.ToRead && toRead
			e.Gates = slices.DeleteFunc(e.Gates, func(g int32) bool { return !slices.Contains(gates, g) })
			return
		}
		lo.Edges[k] = &OrderEdge{From: h.Class, To: to, Holder: f.ID, HeldLine: h.Line, HeldCol: h.Col,
			Path: p.AcquirePath(f, si, to), Witnesses: 1, FromRead: h.Read, ToRead: toRead, Nested: nested, Gates: gates,
			wFromRead: h.Read, wToRead: toRead, wNested: nested, wGated: len(gates) > 0, ProbeOnly: p.ProbeOnly(f.ID)}
	}
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || len(s.Held) == 0 {
				continue
			}
			// what this call acquires, in a deterministic order
			taken := make([]int32, 0, len(s.Acq))
			for _, a := range s.Acq {
				taken = append(taken, a.Class)
			}
			if s.Prim == nil && !s.Indirect {
				for _, t := range s.Targets {
					if !p.Funcs[t].Barrier {
						for _, c := range slices.Sorted(maps.Keys(p.Funcs[t].Acquires)) {
							taken = append(taken, p.PartClass(f, int32(si), c))
						}
					}
				}
			}
			for _, h := range s.Held {
				if h.Trylock {
					continue
				}
				for _, c := range taken {
					add(f, h, c, int32(si))
				}
			}
		}
	}
	g := graph.New(graph.StringHash, graph.Directed())
	lo.byCanon = map[[2]int32][]*OrderEdge{}
	for _, k := range lo.Keys() {
		ca, cb := p.Canon(k[0]), p.Canon(k[1])
		if ca == cb {
			// two embeddings' locks, or one and the pointer class: no
			// order between classes
			continue
		}
		lo.byCanon[[2]int32{ca, cb}] = append(lo.byCanon[[2]int32{ca, cb}], lo.Edges[k])
		a, b := p.VertexName(ca), p.VertexName(cb)
		_ = g.AddVertex(a)
		_ = g.AddVertex(b)
		_ = g.AddEdge(a, b)
		lo.ids[a], lo.ids[b] = ca, cb
	}
	lo.G = g
	return lo
}

// maxCycleChoices bounds the combinations of edges tried for one cycle.
const maxCycleChoices = 256

// pickEdges chooses, for a cycle of canonical classes, one edge per step
// such that each edge's acquired lock may be the next edge's held one
// (MayAlias), preferring choices where no meeting point is known only as
// the pointer class of an embedded struct. ok is false when no choice
// fits: the orders never meet on one lock.
func (p *Program) pickEdges(lo *LockOrder, canon []int32) (best Cycle, ok bool) {
	n := len(canon)
	lists := make([][]*OrderEdge, n)
	for i := range canon {
		lists[i] = lo.byCanon[[2]int32{canon[i], canon[(i+1)%n]}]
		if len(lists[i]) == 0 {
			return Cycle{}, false
		}
	}
	bestScore := n + 1
	var bestEdges []*OrderEdge
	cur := make([]*OrderEdge, n)
	tries := 0
	var walk func(i int)
	walk = func(i int) {
		if tries >= maxCycleChoices || bestScore == 0 {
			return
		}
		if i == n {
			tries++
			score := 0
			for j := range cur {
				a, b := cur[j].To, cur[(j+1)%n].From
				if !p.MayAlias(a, b) {
					return
				}
				if a == b && p.Classes[a].Shared {
					score++
				}
			}
			if score < bestScore {
				bestScore, bestEdges = score, append([]*OrderEdge(nil), cur...)
			}
			return
		}
		for _, e := range lists[i] {
			if i > 0 && !p.MayAlias(cur[i-1].To, e.From) {
				continue
			}
			cur[i] = e
			walk(i + 1)
		}
	}
	walk(0)
	if bestEdges == nil {
		return Cycle{}, false
	}
	best = Cycle{Edges: bestEdges}
	if bestScore > 0 {
		for j, e := range bestEdges {
			if b := bestEdges[(j+1)%n].From; e.To == b && p.Classes[b].Shared {
				best.Unknown = "both orders reach " + p.Classes[b].Name + " through a pointer to a struct that many others embed, so they may take different instances"
				break
			}
		}
	}
	return best, true
}

// VertexName names a class in the lock-order graph: its name, marked when
// a spinning class has the same name.
func (p *Program) VertexName(id int32) string {
	ci := p.Classes[id]
	if p.K.Sleeping(ci.Kind) {
		if _, clash := p.classIdx[ci.Name]; clash {
			return ci.Name + " [" + ci.Kind + "]"
		}
	}
	return ci.Name
}

// Cycles returns lock-order cycles: every ABBA pair, and for strongly
// connected components without one, a shortest cycle, over canonical
// classes; each with edges whose locks may be the same instances.
func (p *Program) Cycles(lo *LockOrder) []Cycle {
	comps, err := graph.StronglyConnectedComponents(lo.G)
	if err != nil {
		return nil
	}
	skip := p.NoValidate()
	has := func(a, b int32) bool { return len(lo.byCanon[[2]int32{a, b}]) > 0 }
	var out []Cycle
	for _, comp := range comps {
		if len(comp) < 2 {
			continue
		}
		ids := make([]int32, 0, len(comp))
		for _, n := range comp {
			if id := lo.ids[n]; !skip[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) < 2 {
			continue
		}
		slices.Sort(ids)
		found := false
		for i, a := range ids {
			for _, b := range ids[i+1:] {
				if has(a, b) && has(b, a) {
					if c, ok := p.pickEdges(lo, []int32{a, b}); ok {
						out = append(out, c)
						found = true
					}
				}
			}
		}
		if found {
			continue
		}
		// shortest cycle through the smallest class
		start := ids[0]
		prev := map[int32]int32{start: -1}
		queue := []int32{start}
		var last int32 = -1
		for len(queue) > 0 && last < 0 {
			u := queue[0]
			queue = queue[1:]
			for _, v := range ids {
				if !has(u, v) {
					continue
				}
				if v == start {
					last = u
					break
				}
				if _, ok := prev[v]; !ok {
					prev[v] = u
					queue = append(queue, v)
				}
			}
		}
		if last >= 0 {
			var cyc []int32
			for c := last; c != -1; c = prev[c] {
				cyc = append([]int32{c}, cyc...)
			}
			if c, ok := p.pickEdges(lo, cyc); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// Keys returns the edges' (from, to) class pairs in a deterministic order.
func (lo *LockOrder) Keys() [][2]int32 {
	keys := make([][2]int32, 0, len(lo.Edges))
	for k := range lo.Edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int32) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	return keys
}

// NoValidate returns the lock classes the tree exempts from lockdep's
// order checks (lockdep_set_novalidate_class(&dev->mutex) in
// device_initialize(): every device's mutex, parents and children alike,
// shares one class that lockdep does not validate): no cycle is reported
// through them.
func (p *Program) NoValidate() map[int32]bool {
	if p.noValidate != nil {
		return p.noValidate
	}
	out := map[int32]bool{}
	names := map[string]bool{}
	for _, n := range p.K.Table.Contexts.NoValidate {
		names[n] = true
	}
	p.eachCall(func(f *Func, si int32, n *parser.Node) {
		if !names[n.Callee] || len(n.Args) == 0 {
			return
		}
		name, typed := p.LockClass(f, n.Args[0])
		if !typed {
			return
		}
		for _, key := range []string{name, name + "\x00sleeping"} {
			if id, ok := p.classIdx[key]; ok {
				out[id] = true
			}
		}
	})
	p.noValidate = out
	return out
}

// ProbeOnly reports whether function id runs only inside a driver's
// probe: it is stored into a `probe` field, or every direct call of it is
// made by such functions and nothing stores its address. What a probe
// takes belongs to a device no other path can reach yet (the driver core
// runs probe and remove of one device under its device lock).
func (p *Program) ProbeOnly(id int32) bool {
	if p.probeOnly == nil {
		p.probeOnly = p.probeOnlySet()
	}
	return p.probeOnly[id]
}

func (p *Program) probeOnlySet() map[int32]bool {
	only := map[int32]bool{}
	for _, id := range p.storeIx.byField["probe"] {
		only[id] = true
	}
	if len(only) == 0 {
		return only
	}
	callers := p.Callers(false)
	for changed, round := true, 0; changed && round < 8; round++ {
		changed = false
		for _, f := range p.Funcs {
			if only[f.ID] || len(callers[f.ID]) == 0 || len(p.storedComps[f.ID]) > 0 {
				continue
			}
			all := true
			for _, c := range callers[f.ID] {
				if !only[c.Caller] {
					all = false
					break
				}
			}
			if all {
				only[f.ID] = true
				changed = true
			}
		}
	}
	return only
}

// EntryHeld returns the typed locks held on every call of function id
// (through its callers, transitively): the outer locks its own
// acquisitions are taken under. A function with no callers, or one whose
// address is stored (it may be called from anywhere), has none.
func (p *Program) EntryHeld(id int32) []int32 {
	if p.entryHeld == nil {
		p.entryHeld = p.computeEntryHeld()
	}
	return p.entryHeld[id]
}

func (p *Program) computeEntryHeld() [][]int32 {
	n := len(p.Funcs)
	out := make([][]int32, n)
	done := make([]bool, n)
	callers := p.Callers(false)
	comps := p.comps // callees first (see analyze): walk them backwards, callers first
	for ci := len(comps) - 1; ci >= 0; ci-- {
		for _, id := range comps[ci] {
			done[id] = true // a caller inside the component is unknown: none
			f := p.Funcs[id]
			if len(callers[id]) == 0 || len(p.storedComps[id]) > 0 {
				continue // a root: nothing is known to be held
			}
			var acc []int32
			for k, e := range callers[id] {
				c := p.Funcs[e.Caller]
				s := &c.Sites[e.Site]
				if _, cb := p.IsCallback(c, e.Site, f.ID); s.Indirect || s.Dropped || cb || e.Caller == id {
					acc = nil // called through a pointer, by a helper, or itself
					break
				}
				var here []int32
				for _, h := range s.Held {
					if p.Classes[h.Class].Typed && !h.Trylock {
						here = append(here, h.Class)
					}
				}
				if done[e.Caller] {
					here = append(here, out[e.Caller]...)
				}
				if k == 0 {
					acc = here
				} else {
					acc = slices.DeleteFunc(acc, func(x int32) bool { return !slices.Contains(here, x) })
				}
				if len(acc) == 0 {
					break
				}
			}
			out[id] = acc
		}
	}
	return out
}
