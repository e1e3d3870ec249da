package callgraph

// SiteRef is one step of a witness path: a call site in a function.
type SiteRef struct {
	Func int32
	Site int32
}

// EffectPath returns the chain of call sites from f's site si to the
// source of effect e (the last step is the primitive call).
func (p *Program) EffectPath(f *Func, si int32, e Effect, direct bool) []SiteRef {
	var out []SiteRef
	seen := map[int32]bool{}
	for len(out) < 64 {
		out = append(out, SiteRef{f.ID, si})
		s := &f.Sites[si]
		if p.siteEffect(f, s, e) {
			return out
		}
		var next *Func
		for _, t := range s.Targets {
			tf := p.Funcs[t]
			v := tf.ViaAny[e]
			if direct {
				v = tf.ViaDirect[e]
			}
			if v >= 0 && !seen[t] && !tf.Barrier {
				next = tf
				si = v
				break
			}
		}
		if next == nil {
			return out
		}
		seen[next.ID] = true
		f = next
	}
	return out
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
		for _, t := range s.Targets {
			tf := p.Funcs[t]
			if v, ok := tf.Acquires[c]; ok && !seen[t] {
				next, si = tf, v
				break
			}
		}
		if next == nil {
			return out
		}
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
