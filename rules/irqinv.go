package rules

import (
	"fmt"
	"strings"

	"github.com/lockorder/lockorder/callgraph"
)

// irqAcq is where a hard-IRQ handler's call chain takes a lock class.
type irqAcq struct {
	reg      callgraph.Registration
	fn, site int32
	reach    *callgraph.Reach
	read     bool // a read_lock() of an rwlock
}

// irqSide knows where hard-IRQ handlers take lock classes: every
// acquisition reached from some handler (one walk from all of them), and,
// asked for a module, the acquisitions its own handlers reach (one walk
// per module asked, cached).
type irqSide struct {
	p        *callgraph.Program
	regOf    map[int32]callgraph.Registration
	byComp   map[string][]int32 // module -> its handlers
	all      *callgraph.Reach
	acqs     map[int32][]irqAcq // class -> acquisitions reached from any handler
	compWalk map[string]*callgraph.Reach
}

// reachable returns, for an acquisition at site of fn reached from a
// handler, the registration of the handler the walk came from; ok is false
// when the chain is too long, or does not survive the constant arguments it
// carries (mt76x02_mac_poll_tx_status(dev, true) from the handler never
// reaches the `if (!irq)` branch that takes the lock).
func (x *irqSide) reachable(r *callgraph.Reach, chain []callgraph.SiteRef, site int32) (callgraph.Registration, bool) {
	n := len(chain)
	if n == 0 || n > maxCycleDepth {
		return callgraph.Registration{}, false
	}
	path := append([]callgraph.SiteRef(nil), chain...)
	path[n-1].Site = site
	if !x.p.Feasible(path) {
		return callgraph.Registration{}, false
	}
	return x.regOf[chain[0].Func], true
}

// sameInstance picks the handler acquisition of a lock class that can be
// the instance the process-context function fn takes: a global lock is one
// instance; a lock of a struct field (one object per device) only when the
// handler reaches the lock through fn's module's own code, or the handler
// belongs to fn's module. mtk-hsdma's channel lock and pl08x's share the
// class virt_dma_chan.lock, but pl08x's handler never sees mtk-hsdma's
// channels.
func (x *irqSide) sameInstance(fn, class int32, read bool) (irqAcq, bool) {
	p := x.p
	var as []irqAcq
	for _, a := range x.acqs[class] {
		// a reader in interrupt context takes an rwlock even while
		// another reader holds it (and writers wait): two read sides
		// never deadlock
		if !(read && a.read) {
			as = append(as, a)
		}
	}
	if len(as) == 0 {
		return irqAcq{}, false
	}
	if !strings.Contains(p.Classes[class].Name, ".") {
		return as[0], true
	}
	for _, a := range as {
		if p.SameComponent(a.fn, fn) {
			return a, true
		}
	}
	comp := p.Component(p.Funcs[fn])
	hs := x.byComp[comp]
	if len(hs) == 0 {
		return irqAcq{}, false
	}
	r, ok := x.compWalk[comp]
	if !ok {
		r = p.ReachFrom(hs, true)
		x.compWalk[comp] = r
	}
	for _, a := range as {
		if !r.Reached(a.fn) {
			continue
		}
		if reg, ok := x.reachable(r, r.PathTo(a.fn), a.site); ok {
			return irqAcq{reg: reg, fn: a.fn, site: a.site, reach: r, read: a.read}, true
		}
	}
	return irqAcq{}, false
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
	x := &irqSide{p: p, regOf: regOf, byComp: map[string][]int32{}, acqs: map[int32][]irqAcq{},
		compWalk: map[string]*callgraph.Reach{}}
	for _, h := range handlers {
		c := p.Component(p.Funcs[h])
		x.byComp[c] = append(x.byComp[c], h)
	}
	x.all = p.ReachFrom(handlers, true)
	for _, id := range reachOrder(p, x.all) {
		chain := x.all.PathTo(id)
		if len(chain) > maxCycleDepth {
			continue
		}
		f := p.Funcs[id]
		for si := range f.Sites {
			for _, a := range f.Sites[si].Acq {
				if !p.Classes[a.Class].Typed || a.Trylock || !p.K.Spinning(p.Classes[a.Class].Kind) {
					continue
				}
				if reg, ok := x.reachable(x.all, chain, int32(si)); ok {
					x.acqs[a.Class] = append(x.acqs[a.Class], irqAcq{reg: reg, fn: id, site: int32(si), reach: x.all, read: a.Read})
				}
			}
		}
	}
	var out []Finding
	done := map[int32]bool{}
	for _, f := range p.Funcs {
		if x.all.Reached(f.ID) {
			continue
		}
		var sleep int32 = -2
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || !s.IRQsOnAt() {
				continue
			}
			for _, a := range s.Acq {
				if done[a.Class] || a.IRQOff || a.Trylock {
					continue
				}
				if len(x.acqs[a.Class]) == 0 {
					continue
				}
				if sleep == -2 {
					sleep = p.ProcessContext(f)
				}
				if sleep < 0 || !p.OnOnePath(f, sleep, int32(si)) {
					// `if (irq) spin_lock(); else mutex_lock();` proves nothing
					continue
				}
				ia, ok := x.sameInstance(f.ID, a.Class, a.Read)
				if !ok {
					continue
				}
				done[a.Class] = true
				out = append(out, irqFinding(c, f, int32(si), a, sleep, ia, ia.reach))
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
