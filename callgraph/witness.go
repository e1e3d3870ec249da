package callgraph

import "slices"

// SiteRef is one step of a witness path: a call site in a function.
type SiteRef struct {
	Func int32
	Site int32
}

// EffectPath returns the chain of call sites from f's site si to the
// source of effect e (the last step is the primitive call).
func (p *Program) EffectPath(f *Func, si int32, e Effect, direct bool) []SiteRef {
	out := []SiteRef{{f.ID, si}}
	s := &f.Sites[si]
	if p.siteEffect(f, s, e) {
		return out
	}
	// the first callee: any target of this site with the effect; from
	// there the propagation's own parents, which end at a source
	var next *Func
	for _, t := range s.Targets {
		tf := p.Funcs[t]
		v := tf.ViaAny[e]
		if direct {
			v = tf.ViaDirect[e]
		}
		if v >= 0 && !tf.Barrier {
			next = tf
			break
		}
	}
	for next != nil && len(out) < 64 {
		f = next
		si = f.ViaAny[e]
		to := f.viaAnyTo[e]
		if direct {
			si, to = f.ViaDirect[e], f.viaDirectTo[e]
		}
		if si < 0 {
			break
		}
		out = append(out, SiteRef{f.ID, si})
		if to < 0 {
			break // a source: the site's primitive has the effect
		}
		next = p.Funcs[to]
	}
	return out
}

// EndsInEffect reports whether a witness path's last site has the effect
// itself (a primitive of the table), as every reported path must.
func (p *Program) EndsInEffect(path []SiteRef, e Effect) bool {
	if len(path) == 0 {
		return false
	}
	last := path[len(path)-1]
	f := p.Funcs[last.Func]
	return p.siteEffect(f, &f.Sites[last.Site], e)
}

// HasEffect reports whether calling site s of f may have effect e.
func (p *Program) HasEffect(f *Func, s *Site, e Effect, direct bool) bool {
	if p.siteEffect(f, s, e) {
		return true
	}
	if e == EffSleepIdle && s.BootCPU {
		return false
	}
	if direct && s.Indirect {
		return false
	}
	for _, t := range s.Targets {
		v := p.Funcs[t].ViaAny[e]
		if direct {
			v = p.Funcs[t].ViaDirect[e]
		}
		if v >= 0 && !p.Funcs[t].Barrier {
			return true
		}
	}
	return false
}

// AcquirePath returns the chain of sites from f's site si to the
// acquisition of class c.
func (p *Program) AcquirePath(f *Func, si int32, c int32) []SiteRef {
	var out []SiteRef
	seen := map[int32]bool{f.ID: true}
	for len(out) < 64 {
		out = append(out, SiteRef{f.ID, si})
		s := &f.Sites[si]
		for _, a := range s.Acq {
			if a.Class == c {
				return out
			}
		}
		var next *Func
		cc := p.calleeClass(f, si, c) // what the callee calls the lock
		for _, t := range s.Targets {
			tf := p.Funcs[t]
			if v, ok := tf.Acquires[cc]; ok && !seen[t] {
				next, si = tf, v
				break
			}
		}
		if next == nil {
			return out
		}
		c = cc
		seen[next.ID] = true
		f = next
	}
	return out
}

// ByNameOnly reports whether a witness path goes through an indirect call
// resolved by field name and arity alone (its receiver could not be
// typed): weaker evidence than a typed edge.
func (p *Program) ByNameOnly(path []SiteRef) bool {
	for _, st := range path {
		if st.Site < 0 {
			continue
		}
		if s := &p.Funcs[st.Func].Sites[st.Site]; s.Indirect && s.Resolved == ResolvedName {
			return true
		}
	}
	return false
}

// maxAltVisit bounds the chain steps one AltEffectPath search explores,
// maxAltEntries how often it enters one function.
const (
	maxAltVisit   = 4000
	maxAltEntries = 3
)

// AltEffectPath looks for another chain from f's site si to the same
// source of the effect (the sink: one primitive call) when the first one
// cannot run with the values it carries (see Contradiction): a
// breadth-first walk like BoundEffectPath's that tests each complete
// chain to the sink it meets, up to tries of them, and returns the first
// the path check accepts (nil when none). Chains to other sinks are not
// taken: that the check cannot rule a chain out is no evidence that it
// runs, and a different sink is a different claim. direct keeps to
// direct calls; bound, to function-pointer hops BoundEffectPath would
// accept.
func (p *Program) AltEffectPath(f *Func, si int32, e Effect, direct, bound bool, tries int, sink SiteRef) []SiteRef {
	s := &f.Sites[si]
	if p.siteEffect(f, s, e) {
		return nil // the site itself: there is no other chain
	}
	origin := p.fileComp[f.File]
	canEnter := func(t int32) bool {
		tf := p.Funcs[t]
		v := tf.ViaAny[e]
		if direct {
			v = tf.ViaDirect[e]
		}
		return v >= 0 && !tf.Barrier
	}
	allowed := func(g *Func, j int32, s *Site) bool {
		return !s.Indirect || !direct && (!bound || p.boundHop(origin, g, j, s))
	}
	// a walk over chains, not functions: a function may be entered again
	// through another caller (up to maxAltEntries times), so the same sink
	// is reached along other prefixes, whose values differ
	type node struct {
		fn     int32
		parent int32 // index into nodes; -1 for the first callee
		via    SiteRef
	}
	var nodes []node
	entries := map[int32]int{}
	onChain := func(ni int32, fn int32) bool {
		for k := ni; k >= 0; k = nodes[k].parent {
			if nodes[k].fn == fn {
				return true
			}
		}
		return false
	}
	if allowed(f, si, s) {
		for _, t := range s.Targets {
			if t != f.ID && canEnter(t) && entries[t] == 0 {
				entries[t]++
				nodes = append(nodes, node{t, -1, SiteRef{f.ID, si}})
			}
		}
	}
	for qi := 0; qi < len(nodes) && len(nodes) < maxAltVisit && tries > 0; qi++ {
		nd := nodes[qi]
		g := p.Funcs[nd.fn]
		for j := range g.Sites {
			sj := &g.Sites[j]
			if e <= EffSleepIdle && sj.Guarded || sj.Dropped {
				continue
			}
			if p.siteEffect(g, sj, e) {
				if (SiteRef{nd.fn, int32(j)}) != sink {
					continue
				}
				path := []SiteRef{{nd.fn, int32(j)}}
				for k := int32(qi); k >= 0; k = nodes[k].parent {
					path = append(path, nodes[k].via)
				}
				slices.Reverse(path)
				if p.Contradiction(path) == "" {
					return path
				}
				if tries--; tries == 0 {
					return nil
				}
				continue
			}
			if !allowed(g, int32(j), sj) {
				continue
			}
			for _, t := range sj.Targets {
				if t == f.ID || !canEnter(t) || entries[t] >= maxAltEntries || onChain(int32(qi), t) {
					continue
				}
				entries[t]++
				nodes = append(nodes, node{t, int32(qi), SiteRef{nd.fn, int32(j)}})
			}
		}
	}
	return nil
}
