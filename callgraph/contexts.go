package callgraph

import (
	"sort"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// Registration is a function handed to a registration call: an IRQ
// handler given to request_irq(), a CPU-hotplug callback given to
// cpuhp_setup_state(), or a notifier_block's notifier_call given to
// register_cpu_notifier(). Func/Site is the registration call.
type Registration struct {
	Fn   int32
	Func int32
	Site int32
	Via  string // the registration call
	Var  string // the notifier_block variable, for notifier registrations
}

// Registered returns the functions passed to the registration calls in
// calls (name -> argument indexes of the callbacks), in a deterministic
// order. An argument that is not a plain function name (`NULL`, a
// variable) registers nothing.
func (p *Program) Registered(calls map[string][]int) []Registration {
	var out []Registration
	p.eachCall(func(f *Func, si int32, n *parser.Node) {
		idx, ok := calls[n.Callee]
		if !ok {
			return
		}
		for _, i := range idx {
			if i >= len(n.Args) {
				continue
			}
			name := argName(n.Args[i])
			for _, t := range p.Resolve(name, f.File) {
				out = append(out, Registration{Fn: t, Func: f.ID, Site: si, Via: n.Callee})
			}
		}
	})
	return sortRegs(out)
}

// Notifiers returns the callbacks of notifier blocks passed to the calls
// in calls (name -> index of the `&nb` argument): the function stored in
// the block's `field` (notifier_call) by a designated initializer or an
// assignment, looked up in the registering file first.
func (p *Program) Notifiers(calls map[string]int, field string) []Registration {
	var out []Registration
	p.eachCall(func(f *Func, si int32, n *parser.Node) {
		i, ok := calls[n.Callee]
		if !ok || i >= len(n.Args) {
			return
		}
		v := argName(n.Args[i])
		if v == "" {
			return
		}
		for _, fn := range p.storedIn(f.File, v, field) {
			for _, t := range p.Resolve(fn, f.File) {
				out = append(out, Registration{Fn: t, Func: f.ID, Site: si, Via: n.Callee, Var: v})
			}
		}
	})
	return sortRegs(out)
}

// storedIn finds the function names stored into field of variable v,
// preferring stores in file fi.
func (p *Program) storedIn(fi int32, v, field string) []string {
	var local, other []string
	for i, file := range p.Files {
		for _, st := range file.Stores {
			if st.Var != v || st.Field != field {
				continue
			}
			if int32(i) == fi {
				local = append(local, st.Func)
			} else {
				other = append(other, st.Func)
			}
		}
	}
	if len(local) > 0 {
		return local
	}
	return other
}

func (p *Program) eachCall(fn func(f *Func, si int32, n *parser.Node)) {
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached {
				continue
			}
			fn(f, int32(si), &f.Src.Nodes[s.Node])
		}
	}
}

func sortRegs(rs []Registration) []Registration {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Fn != rs[j].Fn {
			return rs[i].Fn < rs[j].Fn
		}
		if rs[i].Func != rs[j].Func {
			return rs[i].Func < rs[j].Func
		}
		return rs[i].Site < rs[j].Site
	})
	return rs
}

// argName reduces an argument to the identifier it names: `&nb`,
// `(void *)fn`, ` fn ` give nb and fn; anything else gives "".
func argName(a string) string {
	a = strings.TrimSpace(a)
	for {
		switch {
		case strings.HasPrefix(a, "&"):
			a = strings.TrimSpace(a[1:])
			continue
		case strings.HasPrefix(a, "("):
			if j := strings.IndexByte(a, ')'); j > 0 && j < len(a)-1 {
				a = strings.TrimSpace(a[j+1:])
				continue
			}
		}
		break
	}
	for _, r := range a {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	if a == "NULL" {
		return ""
	}
	return a
}

// ProcessContext reports whether f runs with IRQs enabled: at a point where
// it holds nothing and has not changed the IRQ state its caller left, it
// calls a primitive that blocks. Sleeping with IRQs off is a bug of its own,
// so every caller that is not buggy calls f with IRQs on. It returns the
// blocking site, or -1.
func (p *Program) ProcessContext(f *Func) int32 {
	for si := range f.Sites {
		s := &f.Sites[si]
		if !s.Reached || s.Dropped || s.Prim == nil || len(s.Held) > 0 || s.IRQ != irqCaller ||
			s.Preempt != 0 || s.RCU != 0 {
			continue
		}
		if p.siteEffect(f, s, EffSleepStrict) {
			return int32(si)
		}
	}
	return -1
}

// IRQsOnAt reports whether IRQs are on at site s of a function that runs
// with IRQs enabled: the function has not disabled them on the way.
func (s *Site) IRQsOnAt() bool { return s.IRQ != irqOff }
