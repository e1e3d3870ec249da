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
	f.Globals = vars(f.Globals)
	for i := range f.Consts {
		f.Consts[i] = in.get(f.Consts[i])
	}
	for i := range f.Aliases {
		f.Aliases[i] = in.get(f.Aliases[i])
	}
	for i := range f.Macros {
		f.Macros[i] = in.get(f.Macros[i])
	}
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
		for j := range fn.OnceFlags {
			fn.OnceFlags[j] = in.get(fn.OnceFlags[j])
		}
		fn.Ret = in.get(fn.Ret)
		for j := range fn.CallInits {
			fn.CallInits[j] = in.get(fn.CallInits[j])
		}
		for j := range fn.RetStores {
			fn.RetStores[j] = in.get(fn.RetStores[j])
		}
		for j := range fn.ParamSets {
			fn.ParamSets[j] = in.get(fn.ParamSets[j])
		}
		for j := range fn.ParamWrites {
			fn.ParamWrites[j] = in.get(fn.ParamWrites[j])
		}
		for j := range fn.DerefWrites {
			fn.DerefWrites[j] = in.get(fn.DerefWrites[j])
		}
		for j := range fn.Grown {
			fn.Grown[j] = in.get(fn.Grown[j])
		}
		for j := range fn.MemberVals {
			fn.MemberVals[j] = in.get(fn.MemberVals[j])
		}
		for j := range fn.MemberSets {
			fn.MemberSets[j] = in.get(fn.MemberSets[j])
		}
		for j := range fn.MultiAssigned {
			fn.MultiAssigned[j] = in.get(fn.MultiAssigned[j])
		}
		for j := range fn.AssignedParams {
			fn.AssignedParams[j] = in.get(fn.AssignedParams[j])
		}
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
