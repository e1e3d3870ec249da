package rules

import (
	"fmt"

	"github.com/lockorder/lockorder/callgraph"
)

// IPIInHotplug flags synchronous cross-CPU calls made from CPU-hotplug
// callbacks or with IRQs disabled.
var IPIInHotplug = register(&Rule{
	ID:    "ipi-in-hotplug",
	Name:  "IPIInHotplug",
	Short: "Synchronous cross-CPU call from a CPU-hotplug callback or with IRQs disabled",
	Full: "smp_call_function_single(..., wait=1), smp_call_function_many/on_each_cpu with wait, and " +
		"stop_machine spin in csd_lock_wait() until the target CPU answers. From a CPU-hotplug notifier " +
		"(register_cpu_notifier & co., cpu_notifier()) the target may be the CPU coming or going, whose IPI " +
		"can be lost across offline/online: the caller spins forever (a warning). From a STARTING/DYING " +
		"hotplug state, which runs on the hotplugged CPU with IRQs off, or anywhere with IRQs disabled, the " +
		"wait can deadlock against a CPU waiting for us (an error). Callbacks of ONLINE states run in the " +
		"per-CPU hotplug thread and are notes (--strict); PREPARE/DEAD states run on the control CPU while " +
		"the target is offline and are not reported. A chain longer than 8 calls is a note.",
	Help: "**Pattern**: a hotplug callback calls `smp_call_function_single(cpu, fn, info, 1)` (seed: " +
		"`iucv_cpu_notify()`).\n\n**Fix**: do the per-CPU work on the CPU itself from a STARTING/ONLINE " +
		"callback (it runs there), or send the call with wait=0 and synchronize otherwise.",
	Severity: Warning,
	Tags:     []string{"concurrency", "hotplug", "ipi"},
	Run:      runIPIInHotplug,
})

// hotplugKind classifies where a hotplug callback runs from the state it
// is registered for.
func hotplugKind(k *callgraph.Knowledge, state string) (Severity, string, bool) {
	switch k.HotplugRuns(state) {
	case callgraph.HotplugDyingCPU:
		return Error, "runs on the hotplugged CPU with IRQs disabled", true
	case callgraph.HotplugControl:
		return 0, "", false
	default:
		return Note, "runs in the per-CPU hotplug thread", true
	}
}

func runIPIInHotplug(c *Context) []Finding {
	p := c.P
	t := &p.K.Table.Contexts
	var out []Finding
	seen := map[[2]int32]bool{}
	report := func(r callgraph.Registration, sev Severity, why string) {
		fn := p.Funcs[r.Handler]
		for si := range fn.Sites {
			s := &fn.Sites[si]
			if !s.Reached || seen[[2]int32{fn.ID, int32(si)}] || !p.HasEffect(fn, s, callgraph.EffIPI, true) {
				continue
			}
			seen[[2]int32{fn.ID, int32(si)}] = true
			out = append(out, ipiFinding(c, fn, int32(si), sev, &r, why))
		}
	}
	for _, r := range p.Notifiers(t.HotplugNotifier, t.NotifierField) {
		report(r, Warning, fmt.Sprintf("is a CPU-hotplug notifier (%s registered by %s())", r.Var, r.Via))
	}
	for _, r := range p.Registered(t.HotplugRegister) {
		rf := p.Funcs[r.Caller]
		if p.K.TakesHotplugState(r.Via) {
			state := p.CallArg(rf, &rf.Sites[r.Site], 0)
			sev, how, ok := hotplugKind(p.K, state)
			if ok {
				report(r, sev, fmt.Sprintf("is a CPU-hotplug callback for %s (%s() registers it; it %s)", state, r.Via, how))
			}
			continue
		}
		report(r, Warning, fmt.Sprintf("is a CPU-hotplug notifier (registered by %s())", r.Via))
	}
	// anywhere with IRQs disabled
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || seen[[2]int32{f.ID, int32(si)}] || !irqsOffAt(p, s) || !p.HasEffect(f, s, callgraph.EffIPI, true) {
				continue
			}
			seen[[2]int32{f.ID, int32(si)}] = true
			out = append(out, ipiFinding(c, f, int32(si), Error, nil, ""))
		}
	}
	return out
}

// irqsOffAt reports whether IRQs are off at s: disabled in the function or
// by a lock taken with _irq/_irqsave that is still held.
func irqsOffAt(p *callgraph.Program, s *callgraph.Site) bool {
	if s.IRQsOff() {
		return true
	}
	for _, h := range s.Held {
		if h.IRQOff {
			return true
		}
	}
	return false
}

func ipiFinding(c *Context, f *callgraph.Func, si int32, sev Severity, r *callgraph.Registration, why string) Finding {
	p := c.P
	s := &f.Sites[si]
	path := p.EffectPath(f, si, callgraph.EffIPI, true)
	last := path[len(path)-1]
	ipi := p.Funcs[last.Func].Sites[last.Site].Callee
	tf := ThreadFlow{Name: "CPU0 (waits for the IPI)"}
	fd := Finding{Severity: sev, Loc: c.SiteLoc(f.ID, si), Fix: "do not wait: send the call with wait=0, or do the per-CPU work on the CPU itself"}
	if r != nil {
		tf.Steps = append(tf.Steps, Step{Loc: c.SiteLoc(r.Caller, r.Site),
			Message: fmt.Sprintf("%s() registers %s() as a CPU-hotplug callback", r.Via, f.Src.Name)})
		tf.Steps = append(tf.Steps, Step{Loc: c.FuncLoc(f.ID), Message: fmt.Sprintf("%s() %s", f.Src.Name, why)})
		fd.Related = []Step{{Loc: c.SiteLoc(r.Caller, r.Site), Message: "hotplug callback registered here"}}
		fd.Message = fmt.Sprintf("synchronous IPI from a CPU-hotplug callback: %s() calls %s(), which waits in %s() for the target CPU",
			f.Src.Name, s.Callee, ipi)
		if s.Callee == ipi {
			fd.Message = fmt.Sprintf("synchronous IPI from a CPU-hotplug callback: %s() calls %s() with wait set and spins until the target CPU answers",
				f.Src.Name, ipi)
		}
		fd.Key = []string{"hotplug", f.Src.Name, s.Callee, ipi}
	} else {
		loc := Location{Path: p.Path(f), Line: int(s.IRQLine), Col: 1, Func: f.Src.Name}
		for _, h := range s.Held {
			if h.IRQOff {
				loc = Location{Path: p.Path(f), Line: int(h.Line), Col: int(h.Col), Func: f.Src.Name}
				break
			}
		}
		tf.Steps = append(tf.Steps, Step{Loc: loc, Message: "IRQs disabled"})
		fd.Related = []Step{{Loc: loc, Message: "IRQs disabled here"}}
		fd.Message = fmt.Sprintf("synchronous IPI with IRQs disabled: %s() calls %s(), which waits in %s(); a CPU "+
			"sending us an IPI at the same time waits for us forever", f.Src.Name, s.Callee, ipi)
		fd.Key = []string{"irqs-off", f.Src.Name, s.Callee, ipi}
	}
	tf.Steps = append(tf.Steps, c.CallSteps(path)...)
	tf.Steps[len(tf.Steps)-1].Message = fmt.Sprintf("%s() waits until the target CPU runs the call", ipi)
	fd.Flows = []ThreadFlow{tf}
	isWeak, dropped := weak(p, path, maxAtomicDepth)
	fd.Dropped = dropped
	if (isWeak || r == nil && !p.KeepsIRQsOff(path)) && fd.Severity > Note {
		// a long may-chain is weak evidence: shown with --strict
		fd.Severity = Note
	}
	return fd
}
