package callgraph

import (
	"slices"
	"strings"
)

// Functions passed as arguments. A helper that calls through one of its
// parameters (list_sort(priv, head, cmp) -> merge() -> cmp(priv, a, b);
// bus_for_each_dev(bus, start, data, fn) -> fn(dev, data)) calls exactly
// the function its caller hands it, while the caller waits. Binding the
// helper's call to every function ever passed would make every comparator
// a callee of every sort; instead the function passed is a target of the
// caller's own call of the helper, made in the caller's context (the locks
// it holds, its IRQ state), as if the caller called it there. Its
// arguments are the helper's, not the caller's: the path check binds
// nothing through that step.

// maxParamBits is how many parameters a callback summary can name.
const maxParamBits = 64

// Callback is how a function reached through a helper's parameter was
// passed: the helper called and the parameter it calls through.
type Callback struct {
	Helper string
	Param  string
	// LastRef: the helper calls it only when it drops the object's last
	// reference ([effects] last_reference)
	LastRef bool
}

// paramCalls returns, per function, the parameters it calls through
// (bit i: parameter i), directly or by passing the parameter unchanged to
// a helper that does.
func (p *Program) paramCalls() map[int32]uint64 {
	calls := map[int32]uint64{}
	var work []int32
	for _, f := range p.Funcs {
		var bits uint64
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Indirect || f.Src.Nodes[s.Node].Indirect {
				continue // not a call by a variable's name
			}
			if i := paramNamed(f, s.Callee); i >= 0 {
				bits |= 1 << uint(i)
			}
		}
		if bits != 0 {
			calls[f.ID] = bits
			work = append(work, f.ID)
		}
	}
	if len(work) == 0 {
		return calls
	}
	// callers over direct calls (the dataflow has not run yet: every
	// site counts), to pass the summary up
	callers := make([][]CallEdge, len(p.Funcs))
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if s.Indirect || s.Prim != nil {
				continue
			}
			for _, t := range s.Targets {
				callers[t] = append(callers[t], CallEdge{f.ID, int32(si)})
			}
		}
	}
	p.passParamsUp(callers, work, func(g int32, k int) bool {
		return k < maxParamBits && calls[g]&(1<<uint(k)) != 0
	}, func(f int32, i int, g int32, k int) bool {
		if calls[f]&(1<<uint(i)) != 0 {
			return false
		}
		calls[f] |= 1 << uint(i)
		return true
	})
	return calls
}

// paramNamed returns the index of f's parameter named name (-1: none).
func paramNamed(f *Func, name string) int {
	for i, v := range f.Src.Params {
		if i >= maxParamBits {
			break
		}
		if v.Name == name && name != "" {
			return i
		}
	}
	return -1
}

// linkCallbacks makes each function passed to a helper that calls
// through that parameter a target of the call of the helper (see the top
// of this file). The callbacks follow the site's own targets (Site.CB).
func (p *Program) linkCallbacks() {
	calls := p.paramCalls()
	if len(calls) == 0 {
		return
	}
	p.callbacks = map[SiteRef][]Callback{}
	lastRef := map[string]bool{}
	for _, n := range p.K.Table.Effects.LastReference {
		lastRef[n] = true
	}
	for _, f := range p.Funcs {
		vars := p.varsOf(f)
		for si := range f.Sites {
			s := &f.Sites[si]
			if s.Indirect || s.Prim != nil || len(s.Targets) == 0 {
				continue
			}
			var mask uint64
			for _, t := range s.Targets {
				mask |= calls[t]
			}
			if mask == 0 {
				continue
			}
			n := &f.Src.Nodes[s.Node]
			var cbs []int32
			var how []Callback
			for j, a := range n.Args {
				if j >= maxParamBits || mask&(1<<uint(j)) == 0 {
					continue
				}
				name := funcArg(a)
				if name == "" {
					continue
				}
				if _, isVar := vars[name]; isVar {
					continue
				}
				if _, isGlobal := p.fileGlob[f.File][name]; isGlobal {
					continue
				}
				for _, id := range p.Resolve(name, f.File) {
					if !slices.Contains(s.Targets, id) && !slices.Contains(cbs, id) {
						cbs = append(cbs, id)
						how = append(how, Callback{Helper: s.Callee, Param: p.helperParam(s.Targets, calls, j), LastRef: lastRef[s.Callee]})
					}
				}
			}
			if len(cbs) == 0 || len(cbs) > 255 {
				continue
			}
			s.Targets = append(s.Targets[:len(s.Targets):len(s.Targets)], cbs...)
			s.CB = uint8(len(cbs))
			p.callbacks[SiteRef{f.ID, int32(si)}] = how
			p.CallbackEdges += len(cbs)
		}
	}
}

// helperParam names the parameter j of the first target that calls
// through it.
func (p *Program) helperParam(targets []int32, calls map[int32]uint64, j int) string {
	for _, t := range targets {
		if calls[t]&(1<<uint(j)) != 0 && j < len(p.Funcs[t].Src.Params) {
			return p.Funcs[t].Src.Params[j].Name
		}
	}
	return ""
}

// FuncArg returns the function an argument names (see funcArg).
func FuncArg(a string) string { return funcArg(a) }

// funcArg returns the function an argument names (`fn`, `&fn`, a cast
// `(void *)fn`), or "".
func funcArg(a string) string {
	a = strings.TrimSpace(a)
	for strings.HasPrefix(a, "(") {
		end := strings.IndexByte(a, ')')
		if end < 0 {
			return ""
		}
		if end == len(a)-1 {
			a = strings.TrimSpace(a[1:end]) // (fn)
			continue
		}
		a = strings.TrimSpace(a[end+1:]) // a cast
	}
	a = strings.TrimSpace(strings.TrimPrefix(a, "&"))
	if !isIdentText(a) {
		return ""
	}
	return a
}

// ArgTargets are the targets of a site that take its arguments: the
// functions it calls, not the callbacks it hands a helper.
func (s *Site) ArgTargets() []int32 { return s.Targets[:len(s.Targets)-int(s.CB)] }

// IsCallback reports whether target t of site s is a function passed to
// the helper it calls, and how.
func (p *Program) IsCallback(f *Func, si int32, t int32) (Callback, bool) {
	s := &f.Sites[si]
	if s.CB == 0 {
		return Callback{}, false
	}
	cbs := s.Targets[len(s.Targets)-int(s.CB):]
	for i, id := range cbs {
		if id == t {
			how := p.callbacks[SiteRef{f.ID, si}]
			if i < len(how) {
				return how[i], true
			}
			return Callback{}, true
		}
	}
	return Callback{}, false
}

// LastRefHop returns the helper through which a chain goes only when it
// drops an object's last reference ("" when none does): a kref_put()
// whose release sleeps sleeps only if this put is the last.
func (p *Program) LastRefHop(path []SiteRef) string {
	for k := 0; k+1 < len(path); k++ {
		if path[k].Site < 0 {
			continue
		}
		if cb, ok := p.IsCallback(p.Funcs[path[k].Func], path[k].Site, path[k+1].Func); ok && cb.LastRef {
			return cb.Helper
		}
	}
	return ""
}

// AtomicCall is where a helper calls the function it is given in atomic
// context: the site of the call through the parameter (in the helper or a
// helper it hands the parameter to) and why it is atomic there.
type AtomicCall struct {
	At  SiteRef
	Why string
}

// AtomicParams returns, per function, the parameters it calls through
// in atomic context (directly, or by handing them to a helper that does),
// with where: smp_call_function_many_cond() calls func(info) with IRQs
// disabled, on_each_cpu() hands func to it. Computed once, after the
// dataflow.
func (p *Program) AtomicParams() map[int32]map[int]AtomicCall {
	if p.atomicParams != nil {
		return p.atomicParams
	}
	out := map[int32]map[int]AtomicCall{}
	add := func(f int32, i int, a AtomicCall) bool {
		m := out[f]
		if m == nil {
			m = map[int]AtomicCall{}
			out[f] = m
		}
		if _, ok := m[i]; ok {
			return false
		}
		m[i] = a
		return true
	}
	var work []int32
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Indirect || f.Src.Nodes[s.Node].Indirect || !s.Reached {
				continue
			}
			i := paramNamed(f, s.Callee)
			if i < 0 {
				continue
			}
			why := ""
			for _, h := range s.Held {
				if p.K.Atomic(p.Classes[h.Class].Kind) && p.Classes[h.Class].Typed && !h.Trylock {
					why = p.Classes[h.Class].Name + " held"
					break
				}
			}
			if why == "" && s.IRQsOff() {
				why = "IRQs disabled"
			}
			if why == "" {
				continue
			}
			if add(f.ID, i, AtomicCall{SiteRef{f.ID, int32(si)}, why}) {
				work = append(work, f.ID)
			}
		}
	}
	p.passParamsUp(p.Callers(true), work, func(g int32, k int) bool {
		_, ok := out[g][k]
		return ok
	}, func(f int32, i int, g int32, k int) bool {
		return add(f, i, out[g][k])
	})
	p.atomicParams = out
	return out
}

// passParamsUp hands a fact about functions' parameters up the call
// graph: for each function g in work and each call of it that passes its
// caller f's own parameter i unchanged as argument k where has(g, k),
// mark(f, i, g, k); a caller newly marked is handed up in turn.
func (p *Program) passParamsUp(callers [][]CallEdge, work []int32, has func(g int32, k int) bool, mark func(f int32, i int, g int32, k int) bool) {
	for len(work) > 0 {
		g := work[0]
		work = work[1:]
		for _, e := range callers[g] {
			f := p.Funcs[e.Caller]
			n := &f.Src.Nodes[f.Sites[e.Site].Node]
			for k, a := range n.Args {
				if !has(g, k) {
					continue
				}
				if i := paramNamed(f, strings.TrimSpace(a)); i >= 0 && mark(f.ID, i, g, k) {
					work = append(work, f.ID)
				}
			}
		}
	}
}
