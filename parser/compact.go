package parser

import "sync"

// interner shares one copy of each repeated string (callee names, types,
// argument texts like GFP_KERNEL or &p->lock) across all files' facts.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

var names = &interner{m: map[string]string{}}

func (in *interner) get(s string) string {
	if s == "" {
		return ""
	}
	in.mu.Lock()
	if v, ok := in.m[s]; ok {
		in.mu.Unlock()
		return v
	}
	in.m[s] = s
	in.mu.Unlock()
	return s
}

// maxInterned is the longest argument or condition text shared; longer
// ones are mostly unique.
const maxInterned = 48

// compact makes the facts small before they are kept for the whole scan:
// slices are copied to their exact length (append doubling leaves up to
// half unused) and repeated strings are shared.
func (f *File) compact() {
	in := names
	vars := func(vs []Var) []Var {
		if len(vs) == 0 {
			return nil
		}
		out := make([]Var, len(vs))
		copy(out, vs)
		for i := range out {
			out[i].Name = in.get(out[i].Name)
			out[i].Type = in.get(out[i].Type)
			out[i].Init = in.get(out[i].Init)
		}
		return out
	}
	short := func(s string) string {
		if len(s) <= maxInterned {
			return in.get(s)
		}
		return s
	}
	// lists of names, interned in place
	list := func(xs ...[]string) {
		for _, l := range xs {
			for i := range l {
				l[i] = in.get(l[i])
			}
		}
	}
	f.Globals = vars(f.Globals)
	list(f.Consts, f.Aliases, f.Macros)
	for i := range f.Structs {
		f.Structs[i].Name = in.get(f.Structs[i].Name)
		f.Structs[i].Fields = vars(f.Structs[i].Fields)
	}
	for i := range f.Stores {
		st := &f.Stores[i]
		st.Field, st.Func, st.Var, st.Recv = in.get(st.Field), in.get(st.Func), in.get(st.Var), in.get(st.Recv)
	}
	for i := range f.Funcs {
		fn := &f.Funcs[i]
		fn.Name = in.get(fn.Name)
		fn.ReturnType = in.get(fn.ReturnType)
		fn.Ret = in.get(fn.Ret)
		list(fn.OnceFlags, fn.CallInits, fn.AddrInits, fn.RetStores, fn.ParamSets, fn.ParamWrites, fn.DerefWrites,
			fn.Grown, fn.MemberVals, fn.MemberSets, fn.MultiAssigned, fn.AssignedParams)
		fn.Params = vars(fn.Params)
		fn.Locals = vars(fn.Locals)
		nodes := make([]Node, len(fn.Nodes))
		copy(nodes, fn.Nodes)
		for j := range nodes {
			n := &nodes[j]
			n.Callee = in.get(n.Callee)
			if n.Kind == NBranch {
				n.Text = short(n.Text)
			} else {
				n.Text = in.get(n.Text)
			}
			if len(n.Args) > 0 {
				args := make([]string, len(n.Args))
				for k, a := range n.Args {
					args[k] = short(a)
				}
				n.Args = args
			} else {
				n.Args = nil
			}
			if len(n.Succ) > 0 {
				n.Succ = append([]int32(nil), n.Succ...)
			} else {
				n.Succ = nil
			}
		}
		fn.Nodes = nodes
	}
}
