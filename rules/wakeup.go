package rules

import (
	"fmt"

	"github.com/lockorder/lockorder/callgraph"
)

// WakeupUnderLock flags a task wakeup made while a spinning lock is held
// with IRQs off, where the scheduler core takes the same lock class.
var WakeupUnderLock = register(&Rule{
	ID:    "wakeup-under-lock",
	Name:  "WakeupUnderLock",
	Short: "Task wakeup under an IRQ-off spinlock that the scheduler core also takes",
	Full: "try_to_wake_up() spins while the wakee's p->on_cpu is set. If the waker holds a spinning lock " +
		"with IRQs off, and the wakee's CPU is inside schedule() with that task as prev and tries to take " +
		"the same lock (idle/newidle balance -> load_balance -> stop_one_cpu_nowait -> cpu_stop_queue_work), " +
		"neither CPU can move: a hard lockup (lock -> on_cpu -> lock). Without the scheduler-side evidence " +
		"the finding is a note, shown with --strict; so is a wakeup of whoever waits on a wait queue or completion " +
		"(complete(), wake_up()), whose wakee the waker does not name. Waking this CPU's own per-CPU task " +
		"(`wake_up_process(__this_cpu_read(ksoftirqd))`) never spins: that task cannot be in schedule() elsewhere.",
	Help: "**Pattern**: `raw_spin_lock_irq(&l); ... wake_up_process(t); ... raw_spin_unlock_irq(&l);` where " +
		"`l`'s class is also acquired by code running inside `schedule()` (e.g. newidle balancing).\n\n" +
		"**Fix**: defer the wakeup: `DEFINE_WAKE_Q(wakeq); wake_q_add(&wakeq, t);` under the lock, and " +
		"`wake_up_q(&wakeq);` after the unlock (as v4.17's \"stop_machine, sched: Fix migrate_swap() vs. " +
		"active_balance() deadlock\").",
	Severity: Error,
	Tags:     []string{"concurrency", "deadlock", "scheduler"},
	Run:      runWakeupUnderLock,
})

// Evidence limits: the seed's chains are 2 calls on the waker's side and
// 4 on the scheduler's. Longer may-chains are too weak to be an error.
const (
	maxWakeDepth  = 4
	maxSchedDepth = 6
)

type schedAcq struct {
	fn, site int32
}

func runWakeupUnderLock(c *Context) []Finding {
	p := c.P
	entries := p.FuncIDs(p.K.Table.Contexts.SchedCore)
	reach := p.ReachFrom(entries, true)
	// class -> where the scheduler core acquires it (first in BFS order)
	sched := map[int32]schedAcq{}
	order := reachOrder(p, reach)
	for _, id := range order {
		if len(reach.PathTo(id)) > maxSchedDepth {
			continue
		}
		f := p.Funcs[id]
		for si := range f.Sites {
			for _, a := range f.Sites[si].Acq {
				if _, ok := sched[a.Class]; !ok && p.Classes[a.Class].Typed {
					sched[a.Class] = schedAcq{id, int32(si)}
				}
			}
		}
	}
	var out []Finding
	for _, f := range p.Funcs {
		if f.WakeQueue {
			// complete(), __wake_up(): the wait-queue lock is held by design
			continue
		}
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || len(s.Held) == 0 {
				continue
			}
			if !p.HasEffect(f, s, callgraph.EffWake, true) {
				continue
			}
			for _, h := range s.Held {
				if k := p.K.Kind(p.Classes[h.Class].Kind); !k.Spinning || !k.Exclusive {
					continue
				}
				if !h.IRQOff && !s.IRQsOff() {
					continue
				}
				out = append(out, wakeFinding(c, f, int32(si), h, sched, reach,
					p.HasEffect(f, s, callgraph.EffWakeTask, true)))
			}
		}
	}
	return out
}

// reachOrder lists reached functions in id order (deterministic).
func reachOrder(p *callgraph.Program, r *callgraph.Reach) []int32 {
	var out []int32
	for id := range p.Funcs {
		if r.Reached(int32(id)) {
			out = append(out, int32(id))
		}
	}
	return out
}

func wakeFinding(c *Context, f *callgraph.Func, si int32, h callgraph.Held, sched map[int32]schedAcq, reach *callgraph.Reach, named bool) Finding {
	p := c.P
	class := c.ClassName(h.Class)
	eff := callgraph.EffWakeTask
	if !named {
		eff = callgraph.EffWake
	}
	path := p.EffectPath(f, si, eff, true)
	last := path[len(path)-1]
	wakeCall := p.Funcs[last.Func].Sites[last.Site].Callee
	waker := ThreadFlow{Name: "CPU0 (waker)"}
	waker.Steps = append(waker.Steps, Step{
		Loc:     Location{Path: p.Path(f), Line: int(h.Line), Col: int(h.Col), Func: f.Src.Name},
		Message: fmt.Sprintf("%s taken with IRQs off", class)})
	waker.Steps = append(waker.Steps, c.CallSteps(path)...)
	waker.Steps = append(waker.Steps, Step{Loc: c.SiteLoc(last.Func, last.Site),
		Message: fmt.Sprintf("%s() -> try_to_wake_up() spins while the wakee's on_cpu is set", wakeCall)})
	fd := Finding{
		Loc: c.SiteLoc(f.ID, si),
		Key: []string{f.Src.Name, class, f.Sites[si].Callee, wakeCall},
		Fix: "queue the wakeup with wake_q_add() under the lock and call wake_up_q() after the unlock",
	}
	fd.Related = append(fd.Related, Step{Loc: waker.Steps[0].Loc, Message: class + " acquired here"})
	sa, ok := sched[h.Class]
	if !named {
		queue := wakeQueueStep(p, path)
		fd.Severity = Note
		fd.Message = fmt.Sprintf("%s() wakes whoever waits in %s() while holding %s with IRQs off; "+
			"the waker does not name the task, so lockorder cannot tell whether it can be inside schedule()",
			f.Src.Name, queue, class)
		fd.Flows = []ThreadFlow{waker}
		return fd
	}
	isWeak, dropped := false, ""
	if ok {
		isWeak, dropped = weak(p, path, maxWakeDepth)
		fd.Dropped = dropped
	}
	if !ok || isWeak {
		fd.Severity = Note
		fd.Message = fmt.Sprintf("%s() wakes a task (%s) while holding %s with IRQs off; "+
			"no short scheduler-core path taking %s was found", f.Src.Name, wakeCall, class, class)
		if ok {
			fd.Message = fmt.Sprintf("%s() may wake a task (%s, %d calls deep) while holding %s with IRQs off; "+
				"the scheduler core takes %s", f.Src.Name, wakeCall, len(path), class, class)
		}
		fd.Flows = []ThreadFlow{waker}
		return fd
	}
	fd.Severity = Error
	fd.Message = fmt.Sprintf("%s() wakes a task (%s) while holding %s with IRQs off; the scheduler core "+
		"takes %s with the wakee's on_cpu set: deadlock (%s -> on_cpu -> %s)",
		f.Src.Name, wakeCall, class, class, class, class)
	other := ThreadFlow{Name: "CPU1 (inside schedule(), prev->on_cpu set)"}
	chain := reachChain(reach, sa)
	other.Steps = append(other.Steps, c.CallSteps(chain)...)
	other.Steps = append(other.Steps, Step{Loc: c.SiteLoc(sa.fn, sa.site),
		Message: fmt.Sprintf("spins on %s held by CPU0", class)})
	fd.Flows = []ThreadFlow{waker, other}
	fd.Related = append(fd.Related, Step{Loc: c.SiteLoc(sa.fn, sa.site), Message: class + " taken by the scheduler core here"})
	return fd
}

// wakeQueueStep names the first wait-queue wakeup on a wakeup path.
func wakeQueueStep(p *callgraph.Program, path []callgraph.SiteRef) string {
	for _, st := range path {
		for _, t := range p.Funcs[st.Func].Sites[st.Site].Targets {
			if p.Funcs[t].WakeQueue {
				return p.Funcs[t].Src.Name
			}
		}
	}
	return "a wait queue"
}

// reachChain returns the call chain from a scheduler-core entry to the
// call that leads into the function taking the lock.
func reachChain(r *callgraph.Reach, sa schedAcq) []callgraph.SiteRef {
	steps := r.PathTo(sa.fn)
	// the last step is the acquiring function itself; the acquisition step
	// the caller appends describes it
	if len(steps) > 0 && steps[len(steps)-1].Site < 0 {
		steps = steps[:len(steps)-1]
	}
	return steps
}
