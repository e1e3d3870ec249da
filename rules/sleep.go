package rules

import (
	"fmt"

	"github.com/lockorder/lockorder/callgraph"
)

// SleepInIdle flags a blocking call reachable from the idle task.
var SleepInIdle = register(&Rule{
	ID:    "sleep-in-idle",
	Name:  "SleepInIdle",
	Short: "A call that may block is reachable from the idle task",
	Full: "The idle task of a CPU (cpu_startup_entry, do_idle, cpuhp_online_idle, the arch start_secondary " +
		"functions) must never sleep: there is nothing to switch to, and it runs with preemption disabled " +
		"(\"BUG: scheduling while atomic: swapper/N\"). schedule_idle() and schedule_preempt_disabled() in " +
		"the idle loop are how idle yields and are not reported. A chain longer than 8 calls is a note.",
	Help: "**Pattern**: the idle task calls a function that can reach `schedule()`, e.g. " +
		"`cpuhp_online_idle()` -> `kthread_unpark()` -> `__kthread_bind()` -> `wait_task_inactive()`.\n\n" +
		"**Fix**: do the blocking work from another task: complete() a completion the control CPU waits " +
		"for, and let it do the work (v4.13 \"smp/hotplug: Move unparking of percpu threads to the control CPU\").",
	Severity: Error,
	Tags:     []string{"concurrency", "scheduler", "idle"},
	Run:      runSleepInIdle,
})

// SleepInAtomic flags a blocking call made in atomic context.
var SleepInAtomic = register(&Rule{
	ID:    "sleep-in-atomic",
	Name:  "SleepInAtomic",
	Short: "A call that may block is made with a spinlock held, IRQs off, preemption off or under RCU",
	Full: "A call that can reach schedule() (mutex_lock, msleep, GFP_KERNEL allocations, " +
		"wait_for_completion, copy_from_user, ...) is made while a spinning lock is held, IRQs or preemption " +
		"are disabled, or inside rcu_read_lock(), or in a function that runs in atomic context by construction: a " +
		"hard-IRQ handler (request_irq() & co., the primary handler of request_threaded_irq()) or a softirq " +
		"callback (timer_setup(), tasklets, NAPI poll, call_rcu()). Calls under guards a kernel developer writes " +
		"(gfpflags_allow_blocking(), preemptible(), !in_atomic()) are not reported; might_sleep() alone is an " +
		"annotation, not a block. A function passed to a helper that calls it (list_sort()'s comparator, " +
		"bus_for_each_dev()'s visitor) is called in the context of the helper's caller; one that kref_put() calls " +
		"runs only when that put drops the last reference, and such a chain is a note. Only chains of direct " +
		"calls give an error; a chain through a function pointer is a warning when the module holding the context " +
		"makes that call through a struct type it defines itself (its own interface), and a note otherwise (which " +
		"implementation an object carries is decided where it is built). A chain longer than " +
		"8 calls, or one that a constant argument rules out (a callee sleeping only `if (may_block)` called with " +
		"false), is a note.",
	Help: "**Pattern**: `spin_lock(&l); p = kmalloc(n, GFP_KERNEL);`\n\n**Fix**: move the blocking call " +
		"out of the atomic section, or use a non-blocking variant (GFP_ATOMIC/GFP_NOWAIT, mutex_trylock).",
	Severity: Error,
	Tags:     []string{"concurrency", "atomic-context"},
	Run:      runSleepInAtomic,
})

// maxAtomicDepth is the longest call chain a sleep-in-atomic error or
// warning may rest on; longer chains are notes.
const maxAtomicDepth = 8

// maxIdleDepth is the longest call chain an error-level sleep-in-idle may
// rest on (the seed's is 5).
const maxIdleDepth = 8

func runSleepInIdle(c *Context) []Finding {
	p := c.P
	var out []Finding
	entries := p.FuncIDs(p.K.Table.Contexts.Idle)
	isEntry := map[int32]bool{}
	for _, id := range entries {
		isEntry[id] = true
	}
	for _, id := range entries {
		f := p.Funcs[id]
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || !p.HasEffect(f, s, callgraph.EffSleepIdle, true) {
				continue
			}
			// a call into another idle entry point is reported there
			if callsEntry(s.Targets, isEntry) {
				continue
			}
			path := p.EffectPath(f, int32(si), callgraph.EffSleepIdle, true)
			if !p.EndsInEffect(path, callgraph.EffSleepIdle) {
				continue // every reported chain ends at a blocking primitive
			}
			last := path[len(path)-1]
			sleeper := p.Funcs[last.Func].Sites[last.Site].Callee
			sev := Error
			isWeak, dropped := weak(p, path, maxIdleDepth)
			if isWeak {
				// a long may-chain is weak evidence: shown with --strict
				sev = Note
			}
			tf := ThreadFlow{Name: "idle task"}
			tf.Steps = append(tf.Steps, Step{Loc: c.FuncLoc(id), Message: f.Src.Name + "() runs in the idle task"})
			tf.Steps = append(tf.Steps, c.CallSteps(path)...)
			tf.Steps[len(tf.Steps)-1].Message = fmt.Sprintf("%s() may block", sleeper)
			out = append(out, Finding{
				Severity: sev,
				Loc:      c.SiteLoc(id, int32(si)),
				Message: fmt.Sprintf("the idle task may sleep: %s() calls %s(), which can reach %s()",
					f.Src.Name, s.Callee, sleeper),
				Flows:   []ThreadFlow{tf},
				Key:     []string{f.Src.Name, s.Callee, sleeper},
				Fix:     "move the blocking work to a task that may sleep (e.g. the CPU-hotplug control task)",
				Dropped: dropped,
			})
		}
	}
	return out
}

// sleepWitness is the evidence that a call may block: the chain to the
// blocking primitive and how strong it is.
type sleepWitness struct {
	path    []callgraph.SiteRef
	sleeper string // the blocking primitive the chain ends at
	direct  bool   // through direct calls only
	unbound bool   // through a function pointer no module binds (see BoundEffectPath)
	dropped string // why the values rule the chain out ("" when they do not)
}

// witnessSleep finds the chain from site si of f to a blocking primitive:
// through direct calls if there is one, else the shortest chain whose
// function-pointer hops are bound (or the unbound one, marked). ok is
// false when the site cannot block or the chain does not end at a
// primitive of the table.
func witnessSleep(p *callgraph.Program, f *callgraph.Func, si int32) (w sleepWitness, ok bool) {
	s := &f.Sites[si]
	if !p.HasEffect(f, s, callgraph.EffSleep, false) {
		return w, false
	}
	w.direct = p.HasEffect(f, s, callgraph.EffSleep, true)
	w.path = p.EffectPath(f, si, callgraph.EffSleep, w.direct)
	if !w.direct {
		// a chain through function pointers is evidence only where each
		// hop's target can be what this code's objects carry
		if bp := p.BoundEffectPath(f, si, callgraph.EffSleep); bp != nil {
			w.path = bp
		} else {
			w.unbound = true
		}
	}
	if w.dropped = p.Contradiction(w.path); w.dropped != "" {
		// the values this chain carries rule it out: another chain to
		// the same blocking call may not
		if alt := p.AltEffectPath(f, si, callgraph.EffSleep, w.direct, !w.direct && !w.unbound, 6, w.path[len(w.path)-1]); alt != nil {
			w.path, w.dropped = alt, ""
		}
	}
	if !p.EndsInEffect(w.path, callgraph.EffSleep) {
		return w, false // every reported chain ends at a blocking primitive
	}
	last := w.path[len(w.path)-1]
	w.sleeper = p.Funcs[last.Func].Sites[last.Site].Callee
	return w, true
}

// severity grades a witness: direct calls give an error, a chain through
// function pointers a warning, and weak evidence a note (a long may-chain;
// a chain the values it carries rule out; a call resolved by field name
// alone; a function pointer no module binds: shown with --strict).
func (w sleepWitness) severity(p *callgraph.Program, extraWeak bool) (sev Severity, how, dropped string) {
	sev = Error
	if !w.direct {
		sev, how = Warning, " through a function pointer"
	}
	isWeak, dropped := len(w.path) > maxAtomicDepth, w.dropped
	if dropped == "" && len(w.path) > 0 {
		dropped = p.IRQThreadWait(p.Funcs[w.path[0].Func], w.path)
	}
	if extraWeak || isWeak || !w.direct && p.ByNameOnly(w.path) || w.unbound || p.LastRefHop(w.path) != "" {
		// a release function called by kref_put() runs only when this
		// put drops the last reference
		sev = Note
	}
	return sev, how, dropped
}

// sleepFinding renders a sleep-in-atomic finding at site si of f, its
// context ctx (described at ctxLoc) first in the flow.
func sleepFinding(c *Context, f *callgraph.Func, si int32, w sleepWitness, sev Severity, msg, ctx string, ctxLoc Location, key, fix string) Finding {
	tf := ThreadFlow{Name: "atomic context"}
	tf.Steps = append(tf.Steps, Step{Loc: ctxLoc, Message: ctx})
	tf.Steps = append(tf.Steps, c.CallSteps(w.path)...)
	tf.Steps[len(tf.Steps)-1].Message = fmt.Sprintf("%s() may block", w.sleeper)
	return Finding{
		Severity: sev,
		Loc:      c.SiteLoc(f.ID, si),
		Message:  msg,
		Flows:    []ThreadFlow{tf},
		Related:  []Step{{Loc: ctxLoc, Message: ctx}},
		Key:      []string{f.Src.Name, key, f.Sites[si].Callee, w.sleeper},
		Fix:      fix,
	}
}

func runSleepInAtomic(c *Context) []Finding {
	p := c.P
	var out []Finding
	irqRegs := p.Registered(p.K.Table.Contexts.IRQRegister)
	softRegs := p.Registered(p.K.Table.Contexts.SoftIRQRegister)
	// functions registered as hard-IRQ handlers or softirq callbacks run
	// with in_interrupt() true
	inInterrupt := map[int32]bool{}
	for _, regs := range [][]callgraph.Registration{irqRegs, softRegs} {
		for _, r := range regs {
			inInterrupt[r.Handler] = true
		}
	}
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || s.Guarded {
				continue
			}
			ctx, ctxLoc, key, irqCtx := atomicContext(c, f, s)
			if ctx == "" {
				continue
			}
			w, ok := witnessSleep(p, f, int32(si))
			if !ok {
				continue
			}
			if sp := p.K.Prim(w.sleeper); sp != nil && (key == "preempt-off" && sp.SleepsPreemptDisabled ||
				(inInterrupt[f.ID] || bhHeld(f, s)) && sp.SleepsOutsideInterrupt) {
				// made to be called with preemption disabled; vfree()
				// from a timer callback, or under a spin_lock_bh() (the
				// softirq count makes in_interrupt() true), defers the
				// unmap
				continue
			}
			if s.Prim != nil && s.Prim.SleepsUnlocked && onlyLockPassed(c, f, s) {
				// cond_resched_lock(l) drops l, the only lock held, to sleep
				continue
			}
			if droppedAtEnd(c, f, s, w.path) {
				// a callee's cond_resched_lock(&ctl->tree_lock) drops the
				// lock its caller holds, the only one held
				continue
			}
			sev, how, dropped := w.severity(p, irqCtx && !p.KeepsIRQsOff(w.path))
			msg := fmt.Sprintf("%s() may sleep in atomic context (%s)%s: %s() can reach %s()",
				f.Src.Name, ctx, how, s.Callee, w.sleeper)
			if s.Callee == w.sleeper {
				msg = fmt.Sprintf("%s() calls %s(), which may sleep, in atomic context (%s)", f.Src.Name, w.sleeper, ctx)
			}
			fd := sleepFinding(c, f, int32(si), w, sev, msg, ctx, ctxLoc, key,
				"move the call out of the atomic section or use a non-blocking variant")
			fd.Dropped = dropped
			out = append(out, fd)
		}
	}
	out = append(out, sleepInCallbacks(c, irqRegs, softRegs)...)
	return append(out, sleepInHelperCalls(c)...)
}

// sleepInHelperCalls flags a function that may sleep passed to a helper
// that calls it in atomic context: on_each_cpu(fn, ...) reaches
// smp_call_function_many_cond(), which calls fn(info) with IRQs disabled;
// a walker that calls its visitor under its spinlock. The finding is at
// the call that passes the function.
func sleepInHelperCalls(c *Context) []Finding {
	p := c.P
	atomic := p.AtomicParams()
	if len(atomic) == 0 {
		return nil
	}
	var out []Finding
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if s.CB == 0 || !s.Reached || s.Guarded || s.Dropped {
				continue
			}
			if d, _, _, _ := atomicContext(c, f, s); d != "" {
				continue // the main pass reports it in that context
			}
			args := p.CallArgs(f, s)
			for _, t := range s.Targets[len(s.Targets)-int(s.CB):] {
				tf := p.Funcs[t]
				if tf.Barrier || tf.ViaDirect[callgraph.EffSleep] < 0 {
					continue
				}
				var at callgraph.AtomicCall
				found := false
				for _, h := range s.ArgTargets() {
					for j, a := range args {
						if ac, ok := atomic[h][j]; ok && callgraph.FuncArg(a) == tf.Src.Name {
							at, found = ac, true
						}
					}
				}
				if !found {
					continue
				}
				path := append([]callgraph.SiteRef{{Func: f.ID, Site: int32(si)}},
					p.EffectPath(tf, tf.ViaDirect[callgraph.EffSleep], callgraph.EffSleep, true)...)
				if !p.EndsInEffect(path, callgraph.EffSleep) {
					continue
				}
				last := path[len(path)-1]
				sleeper := p.Funcs[last.Func].Sites[last.Site].Callee
				hf := p.Funcs[at.At.Func]
				ctx := fmt.Sprintf("%s() calls the function it is given with %s", hf.Src.Name, at.Why)
				w := sleepWitness{path: path, sleeper: sleeper, direct: true, dropped: p.Contradiction(path)}
				_, _, dropped := w.severity(p, false)
				// a new form, read at 1 of 4 true on the whole 6.1 tree
				// (the helpers' contexts held; the chains past them did
				// not): a note, shown with --strict
				sev := Note
				msg := fmt.Sprintf("%s() passes %s(), which may sleep, to %s(): %s() calls it with %s; %s() can reach %s()",
					f.Src.Name, tf.Src.Name, s.Callee, hf.Src.Name, at.Why, tf.Src.Name, sleeper)
				fd := sleepFinding(c, f, int32(si), w, sev, msg, ctx, c.SiteLoc(at.At.Func, at.At.Site), "helper-"+at.Why,
					"pass a function that does not sleep, or call the blocking work outside the helper")
				fd.Dropped = dropped
				out = append(out, fd)
			}
		}
	}
	return out
}

// sleepInCallbacks flags blocking calls made by functions that run in an
// atomic context by construction: hard-IRQ handlers (request_irq() & co.)
// and softirq callbacks (timers, tasklets, NAPI poll, RCU callbacks).
// Sites already atomic for another reason (a lock held, IRQs off) are
// reported by the main pass.
func sleepInCallbacks(c *Context, irqRegs, softRegs []callgraph.Registration) []Finding {
	p := c.P
	var out []Finding
	done := map[int32]bool{}
	for _, kind := range []struct {
		regs []callgraph.Registration
		ctx  string
	}{{irqRegs, "hard-IRQ handler"}, {softRegs, "softirq callback"}} {
		for _, r := range kind.regs {
			if done[r.Handler] {
				continue
			}
			done[r.Handler] = true
			f := p.Funcs[r.Handler]
			if f.Barrier || callgraph.IsUserspace(p.Path(f)) {
				continue
			}
			regLoc := c.SiteLoc(r.Caller, r.Site)
			ctx := fmt.Sprintf("%s() runs as a %s (registered by %s() in %s())", f.Src.Name, kind.ctx, r.Via, p.Funcs[r.Caller].Src.Name)
			for si := range f.Sites {
				s := &f.Sites[si]
				if !s.Reached || s.Guarded || s.Dropped {
					continue
				}
				if d, _, _, _ := atomicContext(c, f, s); d != "" {
					continue // reported with that context
				}
				w, ok := witnessSleep(p, f, int32(si))
				if !ok {
					continue
				}
				if sp := p.K.Prim(w.sleeper); sp != nil && (sp.SleepsPreemptDisabled || sp.SleepsOutsideInterrupt) {
					continue // in interrupt context it does not block
				}
				sev, how, dropped := w.severity(p, false)
				msg := fmt.Sprintf("%s() may sleep in a %s%s: %s() can reach %s()", f.Src.Name, kind.ctx, how, s.Callee, w.sleeper)
				if s.Callee == w.sleeper {
					msg = fmt.Sprintf("%s() calls %s(), which may sleep, in a %s", f.Src.Name, w.sleeper, kind.ctx)
				}
				fd := sleepFinding(c, f, int32(si), w, sev, msg, ctx, regLoc, kind.ctx,
					"defer the blocking work to process context (a threaded handler or a work item), or use a non-blocking variant")
				fd.Dropped = dropped
				out = append(out, fd)
			}
		}
	}
	return out
}

// bhHeld reports whether bottom halves are disabled at site s by f
// itself: a lock taken with spin_lock_bh() & co. is held, or an earlier
// local_bh_disable() (or rcu_read_lock_bh()) has no local_bh_enable()
// after it before s.
func bhHeld(f *callgraph.Func, s *callgraph.Site) bool {
	for _, h := range s.Held {
		if h.Site >= 0 && int(h.Site) < len(f.Sites) {
			if pr := f.Sites[h.Site].Prim; pr != nil && pr.BH {
				return true
			}
		}
	}
	if s.Preempt == 0 && s.RCU == 0 {
		return false
	}
	off := false
	for i := range f.Sites {
		t := &f.Sites[i]
		if t == s || t.Line > s.Line || t.Line == s.Line && t.Col >= s.Col {
			break
		}
		switch t.Callee {
		case "local_bh_disable", "rcu_read_lock_bh":
			off = true
		case "local_bh_enable", "rcu_read_unlock_bh":
			off = false
		}
	}
	return off
}

// atomicContext describes why a site is atomic ("" when it is not), and
// whether only disabled IRQs make it so.
func atomicContext(c *Context, f *callgraph.Func, s *callgraph.Site) (desc string, loc Location, key string, irqOnly bool) {
	p := c.P
	// on a uniprocessor architecture with no preemption count a spinning
	// lock and preempt_disable() compile to nothing
	up := p.Uniprocessor(f)
	for _, h := range s.Held {
		if up || !p.K.Atomic(p.Classes[h.Class].Kind) || !p.Classes[h.Class].Typed && h.Trylock {
			continue
		}
		name := c.ClassName(h.Class)
		return fmt.Sprintf("%s held", name),
			Location{Path: p.Path(f), Line: int(h.Line), Col: int(h.Col), Func: f.Src.Name}, name, false
	}
	loc = Location{Path: p.Path(f), Line: int(s.IRQLine), Col: 1, Func: f.Src.Name}
	if s.IRQsOff() {
		return "IRQs disabled", loc, "irqs-off", true
	}
	if s.Preempt > 0 && !up {
		return "preemption disabled", c.FuncLoc(f.ID), "preempt-off", false
	}
	if s.RCU > 0 {
		return "inside rcu_read_lock()", c.FuncLoc(f.ID), "rcu", false
	}
	return "", Location{}, "", false
}

func callsEntry(targets []int32, isEntry map[int32]bool) bool {
	for _, t := range targets {
		if isEntry[t] {
			return true
		}
	}
	return false
}

// droppedAtEnd reports whether a chain ends at a cond_resched_lock()-style
// call down the path given the lock that alone makes site s of f atomic.
func droppedAtEnd(c *Context, f *callgraph.Func, s *callgraph.Site, path []callgraph.SiteRef) bool {
	if len(path) < 2 || s.Preempt > 0 || s.RCU > 0 || s.IRQsOff() {
		return false
	}
	last := path[len(path)-1]
	lf := c.P.Funcs[last.Func]
	ls := &lf.Sites[last.Site]
	if ls.Prim == nil || !ls.Prim.SleepsUnlocked {
		return false
	}
	args := c.P.CallArgs(lf, ls)
	if len(args) == 0 {
		return false
	}
	name, typed := c.P.LockClass(lf, args[0])
	return typed && onlyAtomicLock(c, s, name)
}

// onlyAtomicLock reports whether the one lock making site s atomic is of
// class name, taken without disabling IRQs (a mutex held around it does
// not make the site atomic).
func onlyAtomicLock(c *Context, s *callgraph.Site, name string) bool {
	n := 0
	for _, h := range s.Held {
		if !c.P.K.Atomic(c.P.Classes[h.Class].Kind) {
			continue
		}
		n++
		if c.P.Classes[h.Class].Name != name || h.IRQOff {
			return false
		}
	}
	return n == 1
}

// onlyLockPassed reports whether the lock a cond_resched_lock()-style call
// is given is the only thing making the site atomic.
func onlyLockPassed(c *Context, f *callgraph.Func, s *callgraph.Site) bool {
	args := c.P.CallArgs(f, s)
	if len(args) == 0 || s.Preempt > 0 || s.RCU > 0 || s.IRQsOff() {
		return false
	}
	name, _ := c.P.LockClass(f, args[0])
	return onlyAtomicLock(c, s, name)
}
