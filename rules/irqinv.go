package rules

import (
	"fmt"

	"github.com/lockorder/lockorder/callgraph"
)

// irqAcq is where a hard-IRQ handler's call chain takes a lock class.
type irqAcq struct {
	reg      callgraph.Registration
	fn, site int32
}

// irqInversions finds lock classes taken in a hard-IRQ handler and, on the
// same CPU, in process context with IRQs enabled: the IRQ arrives while
// the lock is held and its handler spins on it forever (lockdep's
// "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage"). Process context
// is proven, not assumed: the function holding the lock also calls a
// blocking primitive with nothing held and the caller's IRQ state.
func irqInversions(c *Context) []Finding {
	p := c.P
	regs := p.Registered(p.K.Table.Contexts.IRQRegister)
	if len(regs) == 0 {
		return nil
	}
	var handlers []int32
	regOf := map[int32]callgraph.Registration{}
	for _, r := range regs {
		if _, ok := regOf[r.Handler]; !ok {
			regOf[r.Handler] = r
			handlers = append(handlers, r.Handler)
		}
	}
	reach := p.ReachFrom(handlers, true)
	inIRQ := map[int32]irqAcq{}
	for _, id := range reachOrder(p, reach) {
		chain := reach.PathTo(id)
		if len(chain) > maxCycleDepth {
			continue
		}
		f := p.Funcs[id]
		for si := range f.Sites {
			for _, a := range f.Sites[si].Acq {
				if _, ok := inIRQ[a.Class]; ok || !p.Classes[a.Class].Typed || a.Trylock || !p.K.Spinning(p.Classes[a.Class].Kind) {
					continue
				}
				entry := id
				if len(chain) > 0 {
					entry = chain[0].Func
				}
				inIRQ[a.Class] = irqAcq{reg: regOf[entry], fn: id, site: int32(si)}
			}
		}
	}
	var out []Finding
	done := map[int32]bool{}
	for _, f := range p.Funcs {
		if reach.Reached(f.ID) {
			continue
		}
		var sleep int32 = -2
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || !s.IRQsOnAt() {
				continue
			}
			for _, a := range s.Acq {
				ia, ok := inIRQ[a.Class]
				if !ok || done[a.Class] || a.IRQOff || a.Trylock {
					continue
				}
				if sleep == -2 {
					sleep = p.ProcessContext(f)
				}
				if sleep < 0 || !p.OnOnePath(f, sleep, int32(si)) {
					// `if (irq) spin_lock(); else mutex_lock();` proves nothing
					continue
				}
				done[a.Class] = true
				out = append(out, irqFinding(c, f, int32(si), a, sleep, ia, reach))
			}
		}
	}
	return out
}

func irqFinding(c *Context, f *callgraph.Func, si int32, a callgraph.Held, sleep int32, ia irqAcq, reach *callgraph.Reach) Finding {
	p := c.P
	class := c.ClassName(a.Class)
	proc := ThreadFlow{Name: "CPU0 (process context, IRQs on)"}
	proc.Steps = append(proc.Steps,
		Step{Loc: c.SiteLoc(f.ID, sleep), Message: fmt.Sprintf("%s() calls %s(), so it runs with IRQs enabled",
			f.Src.Name, f.Sites[sleep].Callee)},
		Step{Loc: c.SiteLoc(f.ID, si), Message: fmt.Sprintf("%s taken with IRQs still enabled", class)})
	irq := ThreadFlow{Name: "CPU0 (hard IRQ on the same CPU)"}
	handler := p.Funcs[ia.reg.Handler]
	irq.Steps = append(irq.Steps, Step{Loc: c.SiteLoc(ia.reg.Caller, ia.reg.Site),
		Message: fmt.Sprintf("%s() registered as a hard-IRQ handler by %s()", handler.Src.Name, ia.reg.Via)})
	chain := reach.PathTo(ia.fn)
	if n := len(chain); n > 0 && chain[n-1].Site < 0 {
		chain = chain[:n-1]
	}
	irq.Steps = append(irq.Steps, c.CallSteps(chain)...)
	irq.Steps = append(irq.Steps, Step{Loc: c.SiteLoc(ia.fn, ia.site),
		Message: fmt.Sprintf("spins on %s, held by the code it interrupted", class)})
	return Finding{
		Severity: Error,
		Loc:      c.SiteLoc(f.ID, si),
		Message: fmt.Sprintf("IRQ inversion: %s() takes %s with IRQs enabled, and the hard-IRQ handler %s() "+
			"takes it too: an interrupt on this CPU deadlocks", f.Src.Name, class, handler.Src.Name),
		Flows: []ThreadFlow{proc, irq},
		Related: []Step{{Loc: c.SiteLoc(ia.reg.Caller, ia.reg.Site), Message: "handler registered here"},
			{Loc: c.SiteLoc(ia.fn, ia.site), Message: class + " taken in hard-IRQ context here"}},
		Key: []string{"irq-inversion", class, f.Src.Name, handler.Src.Name},
		Fix: fmt.Sprintf("take %s with spin_lock_irqsave()/spin_lock_irq() outside the handler", class),
	}
}
