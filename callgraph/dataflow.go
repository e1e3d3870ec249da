package callgraph

import (
	"slices"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// analyze runs the dataflow of every function, callees first, then
// propagates effects and lock sets.
func (p *Program) analyze() {
	for _, f := range p.Funcs {
		f.Barrier = p.K.IsBarrier(f.Src.Name, p.Path(f))
	}
	p.settle()
	wq := map[string]bool{}
	for _, n := range p.K.Table.Effects.WakeQueue {
		wq[n] = true
	}
	for _, f := range p.Funcs {
		f.WakeQueue = wq[f.Src.Name]
	}
	comps := p.sccs()
	p.comps = comps
	for _, comp := range comps {
		for _, id := range comp {
			p.dataflow(p.Funcs[id])
		}
		for pass := 0; pass < 2; pass++ {
			for _, id := range comp {
				p.acquires(p.Funcs[id])
			}
			if len(comp) == 1 {
				break
			}
		}
	}
	// every site's state is final: caller indexes can be shared
	p.settled = true
	p.writeLocks()
	p.noFaultCalls()
	p.effects()
	// the per-function variable maps served the dataflow; rules that
	// type an expression rebuild the few they need
	for _, f := range p.Funcs {
		f.vars = nil
	}
}

func (p *Program) dataflow(f *Func) {
	nodes := f.Src.Nodes
	siteOf := make(map[int32]int32, len(f.Sites))
	for i := range f.Sites {
		siteOf[f.Sites[i].Node] = int32(i)
	}
	in := make([]state, len(nodes))
	// a restore with no save of its own puts back what the caller saved
	in[0] = state{reached: true, prevIRQ: irqRestored}
	work := []int32{0}
	queued := make([]bool, len(nodes))
	queued[0] = true
	limit := 64 * (len(nodes) + 8)
	releasesUnknown := map[int32]bool{}
	for steps := 0; len(work) > 0 && steps < limit; steps++ {
		ni := work[0]
		work = work[1:]
		queued[ni] = false
		n := &nodes[ni]
		st := in[ni].clone()
		var outs []state
		switch n.Kind {
		case parser.NCall, parser.NScopeEnd:
			if si, ok := siteOf[ni]; ok && n.Kind == parser.NCall {
				s := &f.Sites[si]
				s.Held = append(s.Held[:0], st.held...)
				s.IRQ, s.IRQLine, s.Preempt, s.RCU, s.Guarded, s.Reached =
					st.irq, st.irqLine, st.preempt, st.rcu, st.guarded, true
				s.BootCPU = st.boot
				s.NoFault = st.nofault > 0
				s.Dropped = st.dropped || len(st.rel) > 0
				s.ParamGuards = nil
				if len(st.pg) > 0 {
					s.ParamGuards = append([]ParamGuard(nil), st.pg...)
				}
				p.transfer(f, si, &st, releasesUnknown)
			} else if n.Kind == parser.NScopeEnd {
				p.scopeEnd(f, n, &st)
			}
			outs = []state{st}
		case parser.NBranch:
			t, e := st.clone(), st.clone()
			if c := n.Cond(); strings.HasPrefix(c, "#if") {
				// a preprocessor branch: both sides, unless no build
				// has one (`#ifdef DEBUG` with DEBUG defined nowhere)
				td, ed := p.ppDead(f, c)
				t.reached, e.reached = !td, !ed
				outs = []state{t, e}
				break
			}
			p.branch(f, n, &t, &e)
			switch p.K.bootCPUTest(n.Cond()) + p.K.onceTest(f, n.Cond()) {
			case 1:
				t.boot = true
			case -1:
				e.boot = true
			}
			onT, onF := p.paramGuards(f, n.Cond())
			t.pg = addPG(t.pg, onT)
			e.pg = addPG(e.pg, onF)
			outs = []state{t, e}
		default:
			outs = []state{st}
			if cases := n.Cases(); cases != nil {
				if gs := p.switchGuards(f, n.Cond(), cases); gs != nil {
					outs = make([]state, len(n.Succ))
					for k := range outs {
						outs[k] = st.clone()
						outs[k].pg = addPG(outs[k].pg, gs[k])
					}
				}
			}
		}
		for k, s := range n.Succ {
			if s < 0 || int(s) >= len(nodes) {
				continue
			}
			o := outs[0]
			if k < len(outs) {
				o = outs[k]
			}
			if join(&in[s], o) && !queued[s] {
				queued[s] = true
				work = append(work, s)
			}
		}
	}
	exit := in[1]
	f.ExitHeld = nil
	f.ExitIRQ = irqCaller
	if exit.reached {
		for _, h := range exit.held {
			// a lock the caller held, dropped and taken again is not a
			// lock this function returns holding
			if !h.Trylock && !releasesUnknown[h.Class] {
				f.ExitHeld = append(f.ExitHeld, h)
			}
		}
		f.ExitIRQ = exit.irq
	}
	f.MayExitHeld = nil
	for _, c := range exit.may {
		// (a lock the caller held, dropped and taken again is the
		// caller's, not one this function may return holding)
		if p.Classes[c].Typed && !releasesUnknown[c] {
			f.MayExitHeld = append(f.MayExitHeld, c)
		}
	}
	slices.Sort(f.MayExitHeld)
	// The caller's locks released on some path to the exit and not taken
	// again: an unlock wrapper (task_rq_unlock & co.); a function that
	// drops its caller's lock and takes it back has no net release.
	// A function that also takes an untyped lock of that kind (as in
	// double_lock_irq(&a->lock, &b->lock); ... spin_unlock(&b->lock)) is
	// more likely releasing its own.
	f.Releases, f.ReleasesParam = nil, nil
	if exit.reached {
		for _, c := range exit.rel {
			if p.Classes[c].Typed && !p.takesUntyped(f, p.Classes[c].Kind) {
				f.Releases = append(f.Releases, c)
			} else if i := p.paramIndex(f, c); i >= 0 {
				f.ReleasesParam = append(f.ReleasesParam, int8(i))
			}
		}
	}
	slices.Sort(f.Releases)
}

func (p *Program) lockArgs(f *Func, n *parser.Node, pr *Prim) []int32 {
	var out []int32
	if pr.Class != "" {
		c := p.Class(pr.Class, pr.Kind, true)
		if pr.Double {
			return []int32{c, c}
		}
		return []int32{c}
	}
	for _, ai := range pr.Args {
		if ai < 0 || ai >= len(n.Args) {
			continue
		}
		name, typed := p.LockClass(f, n.Args[ai])
		if pr.Field != "" {
			if fn, ft := p.LockClass(f, "("+strings.TrimSpace(n.Args[ai])+")->"+pr.Field); ft {
				name, typed = fn, ft
			}
		}
		out = append(out, p.Class(name, pr.Kind, typed))
	}
	return out
}

func (p *Program) transfer(f *Func, si int32, st *state, relUnknown map[int32]bool) {
	s := &f.Sites[si]
	n := &f.Src.Nodes[s.Node]
	if pr := s.Prim; pr != nil {
		switch pr.Op {
		case OpAcquire:
			before := st.irq
			if pr.IRQOff {
				st.irq = irqOff
				st.irqLine = n.Line
			}
			s.Acq = s.Acq[:0]
			for _, c := range p.lockArgs(f, n, pr) {
				prev := before
				if !pr.IRQOff {
					prev = irqNotSaved
				}
				h := Held{Class: c, Line: n.Line, Col: n.Col, Site: si, IRQOff: st.irq == irqOff,
					prevIRQ: prev, Nested: pr.Nested || hasNestingArg(n.Args), Double: pr.Double, Read: pr.Read}
				s.Acq = append(s.Acq, h)
				// taking back the caller's lock: releasing it again gives
				// the caller's context up again
				h.callerOwned = slices.Contains(st.rel, c)
				st.held = append(st.held, h)
				addMay(st, c)
				st.rel = slices.DeleteFunc(st.rel, func(x int32) bool { return x == c })
			}
		case OpRelease:
			for _, c := range p.lockArgs(f, n, pr) {
				if i := lastHeld(st, c); i >= 0 && pr.IRQOn {
					st.irq = st.held[i].prevIRQ
					if st.irq == irqNotSaved {
						// spin_lock(); ... spin_unlock_irqrestore(flags):
						// the flags come from local_irq_save()
						st.irq = st.prevIRQ
					}
					if pr.IRQForceOn {
						st.irq = irqOn
					}
				}
				own := p.ownConditional(f, st, c)
				if i := lastHeld(st, c); i >= 0 && st.held[i].callerOwned {
					own = false
					p.release(st, c)
					addRel(st, c)
				} else if released := p.release(st, c); released {
					// this function's own hold, dropped
				} else if own && pr.IRQOn && !pr.IRQForceOn {
					// a lock the function also takes itself, not held here:
					// the caller's, released with the caller's flags on
					// this path (vgic_queue_irq_unlock() retakes it in its
					// retry loop)
					if k := len(n.Args); k > 1 && paramNamed(f, strings.TrimSpace(n.Args[k-1])) >= 0 {
						st.irq = irqRestored
					}
				} else if !own {
					relUnknown[c] = true
					addRel(st, c)
					switch {
					case pr.IRQOn && !pr.IRQForceOn:
						// unlock_task_sighand(): the flags come from
						// the caller's lock helper
						st.irq = st.prevIRQ
						if k := len(n.Args); k > 1 && paramNamed(f, strings.TrimSpace(n.Args[k-1])) >= 0 {
							// the caller's lock released with the
							// caller's flags (vgic_queue_irq_unlock(kvm,
							// irq, flags)): what the caller saved is back
							st.irq = irqRestored
						}
					case pr.IRQOn:
						st.irq = irqOn
					}
				}
			}
		}
		switch {
		case pr.IRQDisable:
			// local_irq_save(flags) records the state for the restore; a
			// plain disable (hard_irq_disable() inside the saved section)
			// does not overwrite it
			if pr.IRQSave || st.irq != irqOff {
				st.prevIRQ = st.irq
			}
			st.irq = irqOff
			st.irqLine = n.Line
		case pr.IRQEnable:
			if st.irq == irqCaller {
				st.dropped = true
			}
			if pr.IRQRestore {
				st.irq = st.prevIRQ
			} else {
				st.irq = irqOn
			}
		}
		if pr.PreemptOff && st.preempt < 100 {
			st.preempt++
		}
		if pr.PreemptOn {
			if st.preempt > 0 {
				st.preempt--
			} else {
				st.dropped = true
			}
		}
		if pr.NoFaultOn && st.nofault < 100 {
			st.nofault++
		}
		if pr.NoFaultOff && st.nofault > 0 {
			st.nofault--
		}
		if pr.RCULock && st.rcu < 100 {
			st.rcu++
		}
		if pr.RCUUnlock {
			if st.rcu > 0 {
				st.rcu--
			} else {
				st.dropped = true
			}
		}
		return
	}
	// A call to a defined function: apply its lock/IRQ effects.
	if s.Indirect || len(s.Targets) == 0 {
		return
	}
	t0 := p.Funcs[s.Targets[0]]
	if t0.Barrier {
		// error reporting and debugging paths: not followed
		return
	}
	for _, i := range t0.ReleasesParam {
		// the callee releases the lock we pass it by pointer
		if int(i) >= len(n.Args) {
			continue
		}
		pc := p.paramClassOf(t0, int(i))
		if pc < 0 {
			continue
		}
		name, typed := p.LockClass(f, n.Args[i])
		c := p.Class(name, p.Classes[pc].Kind, typed)
		own := p.ownConditional(f, st, c)
		if !p.release(st, c) && !own {
			relUnknown[c] = true
			addRel(st, c)
		}
	}
	for _, c := range t0.Releases {
		// a callee that hands a lock out and takes it back on the next
		// call (page_vma_mapped_walk() and its ptl) releases its own
		own := p.ownConditional(f, st, c) || slices.Contains(t0.MayExitHeld, c)
		if !p.release(st, c) && !own {
			// the callee releases a lock our caller holds: so do we
			relUnknown[c] = true
			addRel(st, c)
		}
	}
	for _, h := range t0.ExitHeld {
		if !p.Classes[h.Class].Typed {
			continue
		}
		h.Line, h.Col, h.Site = n.Line, n.Col, si
		// a lock helper given one embedding of a part holds its lock
		h.Class = p.argPart(f, n, t0, h.Class)
		st.held = append(st.held, h)
		addMay(st, h.Class)
		st.rel = slices.DeleteFunc(st.rel, func(c int32) bool { return c == h.Class })
	}
	for _, c := range t0.MayExitHeld {
		addMay(st, c)
	}
	switch t0.ExitIRQ {
	case irqOff:
		// a lock helper that returns with IRQs saved and off
		// (lock_task_sighand()): the matching unlock helper restores
		// what was there before it
		if st.irq != irqOff {
			st.prevIRQ = st.irq
		}
		st.irq = irqOff
		st.irqLine = n.Line
	case irqOn:
		st.irq = irqOn
	case irqRestored:
		st.irq = st.prevIRQ
	}
}

// takesUntyped reports whether f acquires a lock of the kind that cannot
// be typed (double_lock_irq(&a->lock, &b->lock) through pointer
// parameters): a later release of a typed class of that kind may be of
// that very lock.
func (p *Program) takesUntyped(f *Func, kind string) bool {
	for si := range f.Sites {
		for _, a := range f.Sites[si].Acq {
			if ci := p.Classes[a.Class]; ci.Kind == kind && !ci.Typed {
				return true
			}
		}
	}
	return false
}

// ownConditional reports whether releasing class c, not held on every
// path, releases a lock of f's own rather than its caller's: one held on
// some path here (`if (!locked) lock(m); ... if (!locked) unlock(m);`, or
// what a callee may return holding), or a class that cannot be typed and
// so cannot be the caller's. A lock of the same class taken and released
// earlier (a parent's) does not count.
func (p *Program) ownConditional(f *Func, st *state, c int32) bool {
	if slices.Contains(st.may, c) {
		return true
	}
	return !p.Classes[c].Typed && !p.paramLock(f, c) && !p.paramFieldLock(f, c)
}

// paramClassOf finds the class f released through parameter i.
func (p *Program) paramClassOf(f *Func, i int) int32 {
	for si := range f.Sites {
		s := &f.Sites[si]
		if s.Prim == nil || s.Prim.Op != OpRelease {
			continue
		}
		for _, c := range p.lockArgs(f, &f.Src.Nodes[s.Node], s.Prim) {
			if p.paramIndex(f, c) == i {
				return c
			}
		}
	}
	return -1
}

// paramIndex is the index of the parameter an untyped param-lock class
// names, or -1.
func (p *Program) paramIndex(f *Func, c int32) int {
	if !p.paramLock(f, c) {
		return -1
	}
	v := strings.TrimPrefix(p.Classes[c].Name[len(f.Src.Name)+2:], "*")
	for i, pv := range f.Src.Params {
		if pv.Name == v && i < 127 {
			return i
		}
	}
	return -1
}

// paramLock reports whether an untyped class is a lock passed in by
// pointer (`spin_unlock(lock)` with `spinlock_t *lock` a parameter, as in
// xlog_wait()): releasing it releases the caller's lock.
func (p *Program) paramLock(f *Func, c int32) bool {
	name := p.Classes[c].Name
	pre := "~" + f.Src.Name + ":"
	if !strings.HasPrefix(name, pre) {
		return false
	}
	return p.isParam(f, name[len(pre):])
}

// paramFieldLock reports whether an untyped class is a lock reached
// through a parameter (`spin_unlock_irq(&ffs->ev.waitq.lock)` with `ffs` a
// parameter, its struct member untyped): released without being taken,
// it is the caller's lock being given up.
func (p *Program) paramFieldLock(f *Func, c int32) bool {
	ci := p.Classes[c]
	if ci.Typed || !strings.HasPrefix(ci.Name, "~") || strings.HasPrefix(ci.Name, "~"+f.Src.Name+":") {
		return false
	}
	base, rest := splitBase(strings.TrimPrefix(ci.Name[1:], "&"))
	return rest != "" && p.isParam(f, base)
}

func (p *Program) isParam(f *Func, name string) bool {
	v := strings.TrimPrefix(name, "*")
	for _, pv := range f.Src.Params {
		if pv.Name == v {
			return true
		}
	}
	return false
}

func hasNestingArg(args []string) bool {
	for _, a := range args[1:min(len(args), 3)] {
		if strings.Contains(a, "NESTING") || strings.Contains(a, "SUBCLASS") {
			return true
		}
	}
	return false
}

func (p *Program) scopeEnd(f *Func, n *parser.Node, st *state) {
	pr := p.guardPrim(n.Recv())
	if pr == nil {
		return
	}
	switch {
	case pr.Op == OpAcquire:
		for _, c := range p.lockArgs(f, n, pr) {
			if i := lastHeld(st, c); i >= 0 {
				st.irq = st.held[i].prevIRQ
				p.release(st, c)
			}
		}
	case pr.IRQDisable:
		st.irq = st.prevIRQ
	case pr.PreemptOff:
		if st.preempt > 0 {
			st.preempt--
		}
	case pr.RCULock:
		if st.rcu > 0 {
			st.rcu--
		}
	}
}

// branch refines the states of a branch's two edges: a trylock in the
// condition holds the lock on its success edge; a sleep guard marks the
// edge on which blocking is allowed.
func (p *Program) branch(f *Func, n *parser.Node, t, e *state) {
	cond := n.Cond()
	if cond == "" || strings.HasPrefix(cond, "#if") {
		return
	}
	for _, w := range callsInText(cond) {
		if pr := p.K.Prim(w.name); pr != nil && pr.Op == OpTrylock {
			fake := parser.Node{Args: w.args, Line: n.Line, Col: n.Col}
			succ := t
			if w.negated {
				succ = e
			}
			for _, c := range p.lockArgs(f, &fake, pr) {
				succ.held = append(succ.held, Held{Class: c, Line: n.Line, Col: n.Col, Site: -1,
					IRQOff: succ.irq == irqOff || pr.IRQOff, prevIRQ: succ.irq, Trylock: true})
				addMay(succ, c)
			}
			if pr.IRQOff {
				succ.irq = irqOff
			}
		}
		for _, g := range p.K.Table.Effects.SleepGuards {
			neg := strings.HasPrefix(g, "!")
			name := strings.TrimPrefix(g, "!")
			if w.name != name {
				continue
			}
			if neg == w.negated {
				t.guarded = true
			} else {
				e.guarded = true
			}
		}
	}
}

type textCall struct {
	name    string
	args    []string
	negated bool
}

// callsInText finds the calls `name(args)` in a condition's text and
// whether each is negated by a `!` in front of it.
func callsInText(s string) []textCall {
	var out []textCall
	for i := 0; i < len(s); i++ {
		if !isWord(s[i]) || (i > 0 && isWord(s[i-1])) {
			continue
		}
		j := i
		for j < len(s) && isWord(s[j]) {
			j++
		}
		k := j
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k >= len(s) || s[k] != '(' {
			i = j
			continue
		}
		end := matchParen(s, k)
		if end < 0 {
			break
		}
		neg := false
		for b := i - 1; b >= 0; b-- {
			if s[b] == ' ' || s[b] == '(' {
				continue
			}
			neg = s[b] == '!'
			break
		}
		out = append(out, textCall{name: s[i:j], args: parser.SplitArgs([]byte(s[k : end+1])), negated: neg})
		i = j
	}
	return out
}

// bootCPUTest reads a test of running on CPU 0: 1 when the condition is
// true only there (`smp_processor_id() == 0`), -1 when it is false only
// there (`smp_processor_id() != 0`, `smp_processor_id()`), else 0.
func (k *Knowledge) bootCPUTest(cond string) int {
	c := strings.Join(strings.Fields(k.unwrap(cond)), "")
	for _, f := range []string{"smp_processor_id()", "raw_smp_processor_id()"} {
		switch c {
		case f + "==0", "0==" + f, "!" + f:
			return 1
		case f + "!=0", f:
			return -1
		}
	}
	return 0
}

// onceTest reads a test of one of the function's once-flags: -1 when the
// false side runs only on the first call (`if (installed) return;`), 1 for
// `if (!installed) { ... installed = 1; }`, else 0. The first call is the
// boot CPU's: secondary CPUs come up after it.
func (k *Knowledge) onceTest(f *Func, cond string) int {
	c := strings.TrimSpace(k.unwrap(cond))
	neg := strings.HasPrefix(c, "!")
	c = strings.TrimSpace(strings.TrimPrefix(c, "!"))
	if !slices.Contains(f.Src.OnceFlags, c) {
		return 0
	}
	if neg {
		return 1
	}
	return -1
}

// release drops the most recent hold of lock class c; failing that, of a
// lock that may be it (one embedding's lock released through a pointer
// to the part: f2fs_up_write(&sbi->sb_lock) after f2fs_down_write()).
func (p *Program) release(st *state, c int32) bool {
	if releaseHeld(st, c) {
		return true
	}
	for i := len(st.held) - 1; i >= 0; i-- {
		if h := st.held[i].Class; h != c && p.MayAlias(h, c) {
			return releaseHeld(st, h)
		}
	}
	return false
}

// writeLocks records the lock classes some code takes for writing (or
// exclusively): a reader of a class nobody ever write-locks never waits
// (refscale's test_rwsem is only ever down_read()).
func (p *Program) writeLocks() {
	p.writeTaken = map[int32]bool{}
	mark := func(c int32) {
		p.writeTaken[c] = true
		p.writeTaken[p.Canon(c)] = true
	}
	// helpers that write-lock a lock their caller passes (`down_write(sem)`
	// with sem a parameter): parameter indexes
	viaParam := map[int32][]int{}
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			pr := s.Prim
			if pr == nil || pr.Read || pr.Op != OpAcquire && pr.Op != OpTrylock {
				continue
			}
			for _, c := range p.lockArgs(f, &f.Src.Nodes[s.Node], pr) {
				mark(c)
				if i := p.paramIndex(f, c); i >= 0 {
					viaParam[f.ID] = append(viaParam[f.ID], i)
				}
			}
		}
	}
	if len(viaParam) == 0 {
		return
	}
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if s.Indirect || s.Prim != nil {
				continue
			}
			n := &f.Src.Nodes[s.Node]
			for _, t := range s.ArgTargets() {
				for _, i := range viaParam[t] {
					if i < len(n.Args) {
						if name, typed := p.LockClass(f, n.Args[i]); typed {
							for _, kind := range []string{"rwsem"} {
								mark(p.Class(name, kind, true))
							}
						}
					}
				}
			}
		}
	}
}

// readNeverWaits reports whether site s is a read acquisition of typed
// lock classes that nothing ever takes for writing.
func (p *Program) readNeverWaits(s *Site) bool {
	if s.Prim == nil || !s.Prim.Read || len(s.Acq) == 0 || p.writeTaken == nil {
		return false
	}
	for _, a := range s.Acq {
		c := a.Class
		if !p.Classes[c].Typed || p.writeTaken[c] || p.writeTaken[p.Canon(c)] || !p.K.Sleeping(p.Classes[c].Kind) {
			return false
		}
	}
	return true
}

// noFaultCalls marks the functions every direct call of which is made
// with page faults disabled, and (once more down) the functions only
// they call that way.
func (p *Program) noFaultCalls() {
	for round := 0; round < 2; round++ {
		calls := make([]int8, len(p.Funcs)) // 0 none, 1 all nofault, 2 some not
		for _, f := range p.Funcs {
			for si := range f.Sites {
				s := &f.Sites[si]
				if s.Prim != nil {
					continue
				}
				nf := (s.NoFault || f.NoFaultCalls) && s.Reached
				for k, t := range s.Targets {
					switch {
					case !nf || k >= len(s.Targets)-int(s.CB):
						// a callback runs in the helper's context
						calls[t] = 2
					case calls[t] == 0:
						calls[t] = 1
					}
				}
			}
		}
		for i, f := range p.Funcs {
			f.NoFaultCalls = calls[i] == 1
		}
	}
}
