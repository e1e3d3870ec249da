package callgraph

import (
	"sort"

	"github.com/lockorder/lockorder/parser"
)

// How an indirect call's targets were chosen.
const (
	ResolvedNone uint8 = iota // not resolved
	ResolvedType              // by the receiver's struct type and the field
	ResolvedName              // by the field name and the call's arity (receiver not typed)
)

// storeIndex is what the program knows of the functions stored into
// struct fields: by struct type and field where the store could be typed,
// by field alone where it could not.
type storeIndex struct {
	byField map[string][]int32 // field -> every function stored into a field of that name
	typed   map[string][]int32 // "T.field" -> functions stored into T's field
	untyped map[string][]int32 // field -> functions stored where the type is unknown
	// Counts for --stats: stores typed and not.
	Typed, Untyped int
}

// linkStores resolves every store of a function into a struct field
// (`.f = fn` in an initializer, `p->f = fn`) to the function it names, as
// seen from the storing file, and types the store's struct where it can:
// the initialised variable's type (or the one struct field of it whose
// type has that field, for a nested initializer), or the type of the
// assignment's receiver in the function that makes it.
func (p *Program) linkStores() {
	ix := &storeIndex{byField: map[string][]int32{}, typed: map[string][]int32{}, untyped: map[string][]int32{}}
	for fi, file := range p.Files {
		byLine := p.funcsByLine(int32(fi))
		for i := range file.Stores {
			st := &file.Stores[i]
			in := enclosing(byLine, st.Line)
			if in != nil {
				if _, isVar := p.varsOf(in)[st.Func]; isVar {
					// `vq->callback = callback` stores a parameter: which
					// function that is depends on the caller
					continue
				}
			}
			ids := p.Resolve(st.Func, int32(fi))
			if len(ids) == 0 {
				continue
			}
			owner := p.storeOwner(int32(fi), in, st)
			for _, id := range ids {
				p.storedComps[id] = appendUnique(p.storedComps[id], p.fileComp[fi])
				ix.byField[st.Field] = appendUnique(ix.byField[st.Field], id)
				if owner != "" {
					k := owner + "." + st.Field
					ix.typed[k] = appendUnique(ix.typed[k], id)
				} else {
					ix.untyped[st.Field] = appendUnique(ix.untyped[st.Field], id)
				}
			}
			if owner != "" {
				ix.Typed++
			} else {
				ix.Untyped++
			}
		}
	}
	p.storeIx = ix
}

// funcsByLine lists a file's functions by their first line.
func (p *Program) funcsByLine(fi int32) []*Func {
	var out []*Func
	for _, id := range p.fileFuncs[fi] {
		out = append(out, p.Funcs[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Src.Line < out[j].Src.Line })
	return out
}

// enclosing returns the function whose body holds line, or nil
// (functions do not nest: only the last ones starting before it can).
func enclosing(byLine []*Func, line int32) *Func {
	i := sort.Search(len(byLine), func(i int) bool { return byLine[i].Src.Line > line }) - 1
	for k := 0; i >= 0 && k < 3; i, k = i-1, k+1 {
		if f := byLine[i]; f.Src.Line <= line && line <= f.Src.EndLine {
			return f
		}
	}
	return nil
}

// storeOwner types the struct a store writes into ("" when unknown).
// in is the function holding the store (nil at file scope).
func (p *Program) storeOwner(fi int32, in *Func, st *parser.FieldStore) string {
	if st.Var != "" {
		var v parser.Var
		ok := false
		if in != nil {
			v, ok = p.varsOf(in)[st.Var]
		}
		if !ok {
			v, ok = p.fileGlob[fi][st.Var]
		}
		if !ok {
			v, ok = p.globals[st.Var]
		}
		if !ok || v.Type == "" {
			return ""
		}
		t := p.typeOf(p.defineType(v).Type)
		fields, known := p.structs[t]
		if !known {
			return ""
		}
		if _, ok := fields[st.Field]; ok {
			return t
		}
		// a nested initializer: the one member whose struct has the field
		inner := ""
		for _, fl := range fields {
			u := p.typeOf(fl.Type)
			// (a pointer member too: `.ops = &(struct ops){ .f = fn }`)
			if uf, ok := p.structs[u]; ok {
				if _, has := uf[st.Field]; has {
					if inner != "" && inner != u {
						return ""
					}
					inner = u
				}
			}
		}
		return inner
	}
	if st.Recv != "" && in != nil {
		if owner, _, ok := p.FieldOf(in, st.Recv+"->"+st.Field); ok {
			return owner
		}
	}
	return ""
}

// indirectTargets resolves a call through a struct field. With the
// receiver's struct type known, the targets are the functions stored into
// that type's field; a function stored only into other types' fields is
// never a target. When no store into that type's field could be typed
// (the functions arrive through a registration helper's parameter), the
// untyped stores of the field whose parameter count fits the call stand
// in, as weak evidence. With the receiver untyped, the targets are the
// functions stored into any field of that name whose parameter count fits
// the call: weaker evidence, reported as such.
func (p *Program) indirectTargets(f *Func, n *parser.Node) ([]int32, uint8, string) {
	t, how, owner := p.fieldTargets(f, n)
	// as for direct calls: generic code reaches the scanned architecture's
	// functions, never another's (an irq_chip's bus_lock under
	// arch/mips is not what x86 calls), and user space only user space
	callerArch := archOf(p.Path(f))
	view := p.fileView(f.File)
	out := t[:0]
	for _, id := range t {
		if archVisible(callerArch, view, p.Path(p.Funcs[id])) {
			out = append(out, id)
		}
	}
	return p.coexists(f.File, out), how, owner
}

// fieldTargets also returns the receiver's struct type when the targets
// were chosen by it.
func (p *Program) fieldTargets(f *Func, n *parser.Node) ([]int32, uint8, string) {
	ix := p.storeIx
	if recv := n.Recv(); recv != "" {
		if owner, _, ok := p.FieldOf(f, recv+"->"+n.Callee); ok {
			if t := ix.typed[owner+"."+n.Callee]; len(t) > 0 {
				return append([]int32(nil), t...), ResolvedType, owner
			}
			// nothing is stored into this type's field where the store
			// can be typed (a registration helper stores a parameter):
			// fall back to the untyped stores of the field, as weak
			// evidence
			var t []int32
			for _, id := range ix.untyped[n.Callee] {
				if len(p.Funcs[id].Src.Params) == len(n.Args) {
					t = append(t, id)
				}
			}
			return t, ResolvedName, ""
		}
	}
	var t []int32
	for _, id := range ix.byField[n.Callee] {
		if np := len(p.Funcs[id].Src.Params); np == len(n.Args) {
			t = append(t, id)
		}
	}
	return t, ResolvedName, ""
}

// StoreCounts returns how many function stores into struct fields were
// typed and how many were not.
func (p *Program) StoreCounts() (typed, untyped int) { return p.storeIx.Typed, p.storeIx.Untyped }
