package callgraph

import (
	"slices"
)

// state is the abstract state at a program point: the locks that are held
// on every path to it (must-hold), IRQ state, preemption and RCU depth.
type state struct {
	held []Held
	may  []int32 // classes held on some path
	rel  []int32 // caller's classes released on some path and not taken again
	pg   []ParamGuard

	irq     int8
	irqLine int32
	prevIRQ int8
	preempt int8
	rcu     int8
	guarded bool
	boot    bool // on the boot CPU only (`if (smp_processor_id() == 0)`)
	nofault int8
	dropped bool
	reached bool
}

func (s state) clone() state {
	s.held = append([]Held(nil), s.held...)
	s.may = append([]int32(nil), s.may...)
	s.rel = append([]int32(nil), s.rel...)
	s.pg = append([]ParamGuard(nil), s.pg...)
	return s
}

// join merges b into a; it reports whether a changed.
func join(a *state, b state) bool {
	if !b.reached {
		return false
	}
	if !a.reached {
		*a = b.clone()
		return true
	}
	changed := false
	// must-hold: keep the locks held on both paths
	out := a.held[:0:0]
	for _, h := range a.held {
		if containsClass(b.held, h.Class) {
			if !h.IRQOff || heldIRQOff(b.held, h.Class) {
				out = append(out, h)
			} else {
				h.IRQOff = false
				out = append(out, h)
				changed = true
			}
		} else {
			changed = true
		}
	}
	a.held = out
	for _, c := range b.may {
		if !slices.Contains(a.may, c) {
			a.may = append(a.may, c)
			changed = true
		}
	}
	if pg := intersectPG(a.pg, b.pg); len(pg) != len(a.pg) {
		a.pg = pg
		changed = true
	}
	for _, c := range b.rel {
		if !slices.Contains(a.rel, c) {
			a.rel = append(a.rel, c)
			changed = true
		}
	}
	if a.irq != b.irq {
		var n int8
		switch {
		case a.irq == irqOn || b.irq == irqOn:
			n = irqOn
		default:
			n = irqCaller
		}
		if n != a.irq {
			a.irq = n
			changed = true
		}
	}
	if b.preempt < a.preempt {
		a.preempt = b.preempt
		changed = true
	}
	if b.dropped && !a.dropped {
		a.dropped = true
		changed = true
	}
	if b.nofault < a.nofault {
		a.nofault = b.nofault
		changed = true
	}
	if b.rcu < a.rcu {
		a.rcu = b.rcu
		changed = true
	}
	if a.boot && !b.boot {
		a.boot = false
		changed = true
	}
	if a.guarded && !b.guarded {
		a.guarded = false
		changed = true
	}
	return changed
}

func containsClass(hs []Held, c int32) bool {
	for _, h := range hs {
		if h.Class == c {
			return true
		}
	}
	return false
}

func heldIRQOff(hs []Held, c int32) bool {
	for _, h := range hs {
		if h.Class == c && h.IRQOff {
			return true
		}
	}
	return false
}

// lastHeld is the index of the innermost held lock of class c, or -1.
func lastHeld(st *state, c int32) int {
	for i := len(st.held) - 1; i >= 0; i-- {
		if st.held[i].Class == c {
			return i
		}
	}
	return -1
}

// addRel records that the caller's lock class c was released.
func addRel(st *state, c int32) {
	if !slices.Contains(st.rel, c) {
		st.rel = append(st.rel, c)
	}
}

func addMay(st *state, c int32) {
	if !slices.Contains(st.may, c) {
		st.may = append(st.may, c)
	}
}

// releaseHeld drops the innermost held lock of class c; it reports
// whether one was held.
func releaseHeld(st *state, c int32) bool {
	if j := slices.Index(st.may, c); j >= 0 {
		st.may = append(st.may[:j], st.may[j+1:]...)
	}
	i := lastHeld(st, c)
	if i < 0 {
		return false
	}
	st.held = append(st.held[:i], st.held[i+1:]...)
	return true
}
