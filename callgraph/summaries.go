package callgraph

import (
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// maxAcquires bounds the transitive lock-class set kept per function.
const maxAcquires = 256

// acquires computes the transitive lock set of f over direct calls.
func (p *Program) acquires(f *Func) {
	if f.Acquires == nil {
		f.Acquires = map[int32]int32{}
	}
	for si := range f.Sites {
		s := &f.Sites[si]
		if s.Dropped {
			// the caller's locks were released on the way here: what is
			// taken now is not taken under them
			continue
		}
		for _, a := range s.Acq {
			if _, ok := f.Acquires[a.Class]; !ok && len(f.Acquires) < maxAcquires {
				f.Acquires[a.Class] = int32(si)
			}
		}
		p.ownParamAcqs(f, int32(si))
		if s.Indirect || s.Prim != nil {
			continue
		}
		p.partSubst(f, int32(si))
		for _, t := range s.Targets {
			if p.Funcs[t].Barrier {
				continue
			}
			for c := range p.Funcs[t].Acquires {
				if len(f.Acquires) >= maxAcquires {
					return
				}
				c = p.PartClass(f, int32(si), c)
				if _, ok := f.Acquires[c]; !ok {
					f.Acquires[c] = int32(si)
				}
			}
		}
	}
}

// siteEffect reports whether a site is itself a source of an effect.
func (p *Program) siteEffect(f *Func, s *Site, e Effect) bool {
	pr := s.Prim
	if pr == nil || !s.Reached || s.Dropped {
		return false
	}
	switch e {
	case EffSleep, EffSleepIdle:
		if s.Guarded || e == EffSleepIdle && s.BootCPU {
			// a secondary CPU's idle task never runs the boot CPU's share
			return false
		}
		if e == EffSleepIdle && pr.IdleYield {
			return false
		}
		if pr.UserAccess && (s.NoFault || f.NoFaultCalls) {
			return false
		}
		if p.readNeverWaits(s) {
			return false
		}
		if pr.Sleep {
			return true
		}
		if pr.GFPArg >= 0 {
			n := &f.Src.Nodes[s.Node]
			return pr.GFPArg < len(n.Args) && p.K.BlockingGFP(n.Args[pr.GFPArg])
		}
	case EffWake, EffWakeTask:
		return pr.Wake && !p.thisCPUTask(f, &f.Src.Nodes[s.Node])
	case EffIPI:
		if !pr.IPI {
			return false
		}
		if pr.IPIWaitArg < 0 {
			return true // always waits
		}
		{
			n := &f.Src.Nodes[s.Node]
			i := pr.IPIWaitArg
			if i < len(n.Args) {
				a := strings.TrimSpace(n.Args[i])
				return a != "0" && a != "false"
			}
		}
	}
	return false
}

// settle marks the functions whose sleep the program itself settles
// beforehand: From does not sleep when a definition of Settler calls Via.
func (p *Program) settle() {
	for _, st := range p.K.Table.Effects.Settled {
		holds := false
		for _, id := range p.byName[st.Settler] {
			f := p.Funcs[id]
			for i := range f.Src.Nodes {
				if n := &f.Src.Nodes[i]; n.Kind == parser.NCall && n.Callee == st.Via {
					holds = true
				}
			}
		}
		if holds {
			for _, id := range p.byName[st.From] {
				p.Funcs[id].Settled = true
			}
		}
	}
}

// thisCPUTask reports whether a wakeup call wakes this CPU's own per-CPU
// task (`wake_up_process(__this_cpu_read(ksoftirqd))`): that task cannot be
// inside schedule() on another CPU, so try_to_wake_up() does not spin on it.
func (p *Program) thisCPUTask(f *Func, n *parser.Node) bool {
	if len(n.Args) == 0 {
		return false
	}
	a := strings.TrimSpace(n.Args[0])
	if parser.IsThisCPURead(a) {
		return true
	}
	for i := range f.Src.Locals {
		if l := &f.Src.Locals[i]; l.Name == a {
			return l.ThisCPU
		}
	}
	return false
}

// effects propagates may-effects from their source sites to every caller
// by a reverse breadth-first search, which also gives shortest witnesses.
func (p *Program) effects() {
	callers := p.Callers(false)
	for _, f := range p.Funcs {
		for e := range f.ViaDirect {
			f.ViaDirect[e], f.ViaAny[e] = -1, -1
			f.viaDirectTo[e], f.viaAnyTo[e] = -1, -1
		}
	}
	type source struct{ fn, site int32 }
	for e := Effect(0); e < numEffects; e++ {
		// the source sites are the same whichever calls are followed
		var sources []source
		for _, f := range p.Funcs {
			for si := range f.Sites {
				if p.siteEffect(f, &f.Sites[si], e) {
					sources = append(sources, source{f.ID, int32(si)})
					break
				}
			}
		}
		for _, direct := range []bool{true, false} {
			via := func(f *Func) *int32 {
				if direct {
					return &f.ViaDirect[e]
				}
				return &f.ViaAny[e]
			}
			to := func(f *Func) *int32 {
				if direct {
					return &f.viaDirectTo[e]
				}
				return &f.viaAnyTo[e]
			}
			queue := make([]int32, 0, len(sources))
			for _, src := range sources {
				*via(p.Funcs[src.fn]) = src.site
				queue = append(queue, src.fn)
			}
			for len(queue) > 0 {
				g := queue[0]
				queue = queue[1:]
				if e <= EffSleepIdle && p.Funcs[g].Settled || e == EffWakeTask && p.Funcs[g].WakeQueue {
					*via(p.Funcs[g]) = -1
					continue
				}
				if p.Funcs[g].Barrier {
					// effects are not followed into a barrier: its callers
					// do not have them through it
					continue
				}
				for _, c := range callers[g] {
					cf := p.Funcs[c.Caller]
					s := &cf.Sites[c.Site]
					if direct && s.Indirect {
						continue
					}
					if e <= EffSleepIdle && s.Guarded || e == EffSleepIdle && s.BootCPU {
						continue
					}
					if v := via(cf); *v < 0 {
						*v = c.Site
						*to(cf) = g
						queue = append(queue, cf.ID)
					}
				}
			}
		}
	}
}
