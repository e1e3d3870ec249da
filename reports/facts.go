package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lockorder/lockorder/callgraph"
)

// Facts describes what the engine understood of one function: each call
// site with what it does and the state there (locks held, IRQs,
// preemption, RCU), then its summary. path is the file path to print.
func Facts(b *strings.Builder, p *callgraph.Program, f *callgraph.Func, path string) {
	flags := ""
	if f.Src.Static {
		flags += " static"
	}
	if f.Src.BodyError {
		flags += " body-has-parse-errors"
	}
	fmt.Fprintf(b, "%s:%d: %s()%s\n", path, f.Src.Line, f.Src.Name, flags)
	for si := range f.Sites {
		s := &f.Sites[si]
		if !s.Reached {
			fmt.Fprintf(b, "  %d:%d call %s (unreachable)\n", s.Line, s.Col, s.Callee)
			continue
		}
		var what string
		switch {
		case s.Prim != nil && len(s.Acq) > 0:
			var cls []string
			for _, a := range s.Acq {
				cls = append(cls, p.Classes[a.Class].Name)
			}
			what = "acquire " + strings.Join(cls, ", ")
			if s.Prim.IRQOff {
				what += " (IRQs off)"
			}
		case s.Prim != nil:
			what = "primitive " + s.Callee
		case s.Indirect:
			what = fmt.Sprintf("indirect ->%s (%d targets)", s.Callee, len(s.Targets))
		default:
			what = fmt.Sprintf("call %s (%d definitions)", s.Callee, len(s.ArgTargets()))
			if s.CB > 0 {
				var cbs []string
				for _, t := range s.Targets[len(s.ArgTargets()):] {
					cbs = append(cbs, p.Funcs[t].Src.Name)
				}
				what += ", which calls back " + strings.Join(cbs, ", ")
			}
		}
		fmt.Fprintf(b, "  %d:%d %s", s.Line, s.Col, what)
		var held []string
		for _, h := range s.Held {
			n := p.Classes[h.Class].Name
			if h.IRQOff {
				n += "[irqs-off]"
			}
			held = append(held, n)
		}
		if len(held) > 0 {
			fmt.Fprintf(b, " | held: %s", strings.Join(held, ", "))
		}
		switch {
		case s.IRQsOff():
			fmt.Fprint(b, " | IRQs off")
		case s.IRQsOn():
			fmt.Fprint(b, " | IRQs on")
		}
		if s.Preempt > 0 {
			fmt.Fprint(b, " | preempt off")
		}
		if s.Dropped {
			fmt.Fprint(b, " | caller context dropped")
		}
		if s.RCU > 0 {
			fmt.Fprint(b, " | rcu")
		}
		if s.Guarded {
			fmt.Fprint(b, " | sleep-guarded")
		}
		b.WriteString("\n")
		if n := len(p.ByName(s.Callee)); s.Prim == nil && (s.Indirect || n > 1 || n != len(s.ArgTargets())) {
			// how the targets were chosen, and the candidates left out
			how, notes := p.ExplainTargets(f, int32(si), 12)
			fmt.Fprintf(b, "      targets %s\n", how)
			for _, n := range notes {
				t := p.Funcs[n.Func]
				mark := "->"
				if !n.Chosen {
					mark = "x "
				}
				fmt.Fprintf(b, "      %s %s() %s:%d: %s\n", mark, t.Src.Name, p.Path(t), t.Src.Line, n.Why)
			}
		}
	}
	var eff []string
	for e, name := range []string{"may-sleep", "may-sleep(strict)", "wakes", "wakes-task", "sync-ipi"} {
		if f.ViaDirect[e] >= 0 {
			eff = append(eff, name)
		} else if f.ViaAny[e] >= 0 {
			eff = append(eff, name+"(via fn ptr)")
		}
	}
	if len(eff) > 0 {
		fmt.Fprintf(b, "  summary: %s\n", strings.Join(eff, ", "))
	}
	if len(f.ExitHeld) > 0 {
		var hs []string
		for _, h := range f.ExitHeld {
			hs = append(hs, p.Classes[h.Class].Name)
		}
		fmt.Fprintf(b, "  returns holding: %s\n", strings.Join(hs, ", "))
	}
	if len(f.Releases) > 0 {
		var hs []string
		for _, c := range f.Releases {
			hs = append(hs, p.Classes[c].Name)
		}
		fmt.Fprintf(b, "  releases its caller's: %s\n", strings.Join(hs, ", "))
	}
}

// LockGraphDOT renders the lock-order graph in Graphviz's DOT language,
// each edge labelled with the function that holds the first lock; lock,
// when set, keeps only the edges into and out of that class.
func LockGraphDOT(p *callgraph.Program, lock string) string {
	lo := p.LockOrder()
	var b strings.Builder
	b.WriteString("digraph lockorder {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	for _, k := range lo.Keys() {
		a, bn := p.Classes[k[0]].Name, p.Classes[k[1]].Name
		if lock != "" && a != lock && bn != lock {
			continue
		}
		e := lo.Edges[k]
		holder := p.Funcs[e.Holder]
		fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", a, bn, fmt.Sprintf("%s:%d %s()", p.Path(holder), e.HeldLine, holder.Src.Name))
	}
	b.WriteString("}\n")
	return b.String()
}

// Why explains a function's summary with its witnesses: for each effect
// it may have (may sleep, wakes a task, sends a synchronous IPI), the
// chain of calls from the function to the primitive, direct calls first;
// then the lock classes it takes (with the chain to each, up to max) and
// those it returns holding. rel shortens paths for printing.
func Why(b *strings.Builder, p *callgraph.Program, f *callgraph.Func, rel func(string) string, max int) {
	fmt.Fprintf(b, "%s:%d: %s() [module %s]\n", rel(p.Path(f)), f.Src.Line, f.Src.Name, rel(p.Component(f)))
	chain := func(path []callgraph.SiteRef) {
		for _, st := range path {
			g := p.Funcs[st.Func]
			s := &g.Sites[st.Site]
			fmt.Fprintf(b, "      %s:%d: %s() calls %s()\n", rel(p.Path(g)), s.Line, g.Src.Name, s.Callee)
		}
	}
	for _, e := range []struct {
		eff  callgraph.Effect
		name string
	}{{callgraph.EffSleep, "may sleep"}, {callgraph.EffWake, "wakes a task"}, {callgraph.EffIPI, "sends a synchronous IPI"}} {
		direct := f.ViaDirect[e.eff] >= 0
		if !direct && f.ViaAny[e.eff] < 0 {
			fmt.Fprintf(b, "  %s: no\n", e.name)
			continue
		}
		si := f.ViaAny[e.eff]
		if direct {
			fmt.Fprintf(b, "  %s: yes, through direct calls\n", e.name)
			chain(p.EffectPath(f, f.ViaDirect[e.eff], e.eff, true))
			continue
		}
		if path := p.BoundEffectPath(f, si, e.eff); path != nil {
			fmt.Fprintf(b, "  %s: yes, through a function pointer its module binds\n", e.name)
			chain(path)
			continue
		}
		// the shortest chain, whose pointers no module binds: what the
		// objects really carry may never get there
		fmt.Fprintf(b, "  %s: only through function pointers no module binds (weak)\n", e.name)
		chain(p.EffectPath(f, si, e.eff, false))
	}
	if len(f.Acquires) == 0 {
		b.WriteString("  takes: no locks\n")
	} else {
		var classes []int32
		for c := range f.Acquires {
			classes = append(classes, c)
		}
		sort.Slice(classes, func(i, j int) bool { return p.Classes[classes[i]].Name < p.Classes[classes[j]].Name })
		fmt.Fprintf(b, "  takes %d lock classes:\n", len(classes))
		for i, c := range classes {
			if i == max {
				fmt.Fprintf(b, "    ... and %d more\n", len(classes)-max)
				break
			}
			fmt.Fprintf(b, "    %s (%s)\n", p.Classes[c].Name, p.Classes[c].Kind)
			chain(p.AcquirePath(f, f.Acquires[c], c))
		}
	}
	if len(f.ExitHeld) > 0 {
		var hs []string
		for _, h := range f.ExitHeld {
			hs = append(hs, p.Classes[h.Class].Name)
		}
		fmt.Fprintf(b, "  returns holding: %s\n", strings.Join(hs, ", "))
	}
}
