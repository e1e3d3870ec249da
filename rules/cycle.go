package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lockorder/lockorder/callgraph"
)

// LockOrderCycle flags lock classes taken in opposite orders on different
// paths.
var LockOrderCycle = register(&Rule{
	ID:    "lock-order-cycle",
	Name:  "LockOrderCycle",
	Short: "Lock classes acquired in opposite orders (ABBA deadlock)",
	Full: "Two or more lock classes are taken in inconsistent orders: one path takes B while holding A, " +
		"another takes A while holding B. Two CPUs running them at once deadlock. Each edge of the cycle " +
		"is reported with the path that proves it, one thread flow per CPU. Classes are resolved through " +
		"types; a lock that cannot be typed never proves a cycle. Nested acquisitions of one class " +
		"(`_nested`, double_rq_lock, lg_double_lock) are not edges; a cycle with an annotated order, one whose " +
		"rwlock is only read-locked, or one whose orders are all taken under a common outer lock is a note. Also reported: the IRQ inversion, a " +
		"spinning lock class taken by a hard-IRQ handler (registered with request_irq() & co.) and, elsewhere, " +
		"with IRQs enabled by code proven to run in process context (it also blocks).",
	Help: "**Pattern**: `lock(A); lock(B);` on one path and `lock(B); lock(A);` on another, possibly " +
		"through calls.\n\n**Fix**: pick one order and document it, or drop one lock before taking the " +
		"other; for two locks of one class, order them by address or CPU number.",
	Severity: Error,
	Tags:     []string{"concurrency", "deadlock"},
	Run:      runLockOrderCycle,
})

// maxCycleDepth is the longest call chain an edge of an error-level cycle
// may rest on.
const maxCycleDepth = 6

func runLockOrderCycle(c *Context) []Finding {
	lo := c.LockOrder()
	var out []Finding
	for _, cyc := range c.P.Cycles(lo) {
		out = append(out, cycleFinding(c, cyc))
	}
	return append(out, irqInversions(c)...)
}

func cycleFinding(c *Context, cy callgraph.Cycle) Finding {
	cyc := cy.Classes()
	names := make([]string, len(cyc))
	for i, id := range cyc {
		names[i] = c.ClassName(id)
	}
	var flows []ThreadFlow
	for i := range cyc {
		e := cy.Edges[i]
		to := c.ClassName(e.To) // the next order's lock, or one that may be it
		holder := c.P.Funcs[e.Holder]
		tf := ThreadFlow{Name: fmt.Sprintf("CPU%d: %s then %s", i, names[i], to)}
		tf.Steps = append(tf.Steps, Step{
			Loc:     Location{Path: c.P.Path(holder), Line: int(e.HeldLine), Col: int(e.HeldCol), Func: holder.Src.Name},
			Message: fmt.Sprintf("%s acquired", names[i])})
		steps := c.CallSteps(e.Path)
		if n := len(steps); n > 0 {
			steps[n-1].Message = fmt.Sprintf("%s acquired while %s is held", to, names[i])
		}
		tf.Steps = append(tf.Steps, steps...)
		flows = append(flows, tf)
	}
	first := flows[0].Steps[len(flows[0].Steps)-1]
	sev := Error
	why, dropped := "", ""
	var gates []int32
	for i := range cyc {
		e, in := cy.Edges[i], cy.Edges[(i+len(cyc)-1)%len(cyc)]
		if dropped == "" && len(e.Path) <= maxCycleDepth {
			if why := c.P.Contradiction(e.Path); why != "" {
				dropped = "one order's call chain cannot run: " + why
			}
		}
		switch {
		case len(e.Path) > maxCycleDepth:
			// a long may-chain is weak evidence: shown with --strict
			why = "one order rests on a long call chain"
		case e.Nested:
			why = "one order carries a nesting annotation"
		case e.ProbeOnly && perObject(c, cyc):
			why = "one order runs only while " + c.P.Funcs[e.Holder].Src.Name + "() probes a device, whose locks no other path reaches yet"
		case c.P.LastRefHop(e.Path) != "":
			why = "one order runs only when " + c.P.LastRefHop(e.Path) + "() drops the last reference"
		case in.ToRead && e.FromRead && c.P.K.Kind(c.P.Classes[cyc[i]].Kind).ReadRecursive:
			why = c.ClassName(cyc[i]) + " is only read-locked on the cycle, and readers do not exclude each other"
		}
		if i == 0 {
			gates = append(gates, e.Gates...)
		} else {
			gates = slices.DeleteFunc(gates, func(g int32) bool { return !slices.Contains(e.Gates, g) })
		}
	}
	if why == "" && cy.Unknown != "" {
		why = cy.Unknown
	}
	if dropped == "" {
		dropped = oneKernel(c, cy)
	}
	if len(gates) > 0 && why == "" {
		why = "every order is taken under " + c.ClassName(gates[0]) + ", which serialises them"
	}
	if why != "" {
		sev = Note
	}
	order := append(append([]string(nil), names...), names[0])
	return Finding{
		Severity: sev,
		Loc:      first.Loc,
		Message: fmt.Sprintf("lock-order cycle %s: taken in opposite orders on %d paths%s",
			strings.Join(order, " -> "), len(cyc), noteWhy(why)),
		Flows:   flows,
		Key:     append([]string{"cycle"}, names...),
		Fix:     "take these locks in one order everywhere, or release one before taking the other",
		Dropped: dropped,
	}
}

func noteWhy(why string) string {
	if why == "" {
		return ""
	}
	return " (not an error: " + why + ")"
}

// oneKernel tells why a cycle's orders cannot deadlock in one kernel (""
// when they can): they run on different architectures, or on a
// uniprocessor architecture without preemption (UML), where a spinning
// lock never waits.
func oneKernel(c *Context, cy callgraph.Cycle) string {
	p := c.P
	var arches []string
	up := false
	for _, e := range cy.Edges {
		fns := []int32{e.Holder}
		for _, st := range e.Path {
			fns = append(fns, st.Func)
		}
		for _, id := range fns {
			f := p.Funcs[id]
			if a := p.ArchOf(f); a != "" && a != "userspace" && !slices.Contains(arches, a) {
				arches = append(arches, a)
			}
			up = up || p.Uniprocessor(f)
		}
	}
	if len(arches) > 1 {
		return "the orders run on different architectures (" + strings.Join(arches, ", ") + ")"
	}
	if up {
		for _, e := range cy.Edges {
			if p.K.Spinning(p.Classes[e.From].Kind) {
				return "on " + arches[0] + ", which has no SMP and no preemption, " + c.ClassName(e.From) + " never waits"
			}
		}
	}
	return ""
}

// perObject reports whether a cycle has a lock of a struct field (one per
// object), not only global locks.
func perObject(c *Context, cyc []int32) bool {
	for _, id := range cyc {
		if n := c.P.Classes[id].Name; strings.Contains(n, ".") && !strings.Contains(n, ":") {
			return true
		}
	}
	return false
}
