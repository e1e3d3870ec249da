package parser

import (
	"encoding/binary"
	"errors"
	"math"
)

// The facts cache stores a File in a compact binary form: every string
// once, in a per-file table, referenced by index; integers as varints.
// gob spent most of a warm scan's time rebuilding its type descriptions
// for each of 55,000 small streams, and handed every string occurrence to
// the interner; this codec decodes each distinct string once.
// TestCodecCoversFacts fails when a facts type gains a field this codec
// does not carry.

const codecMagic = "LOF1"

type encoder struct {
	buf  []byte
	strs map[string]uint64
	tab  []string
}

func (e *encoder) u(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) i(v int64)  { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) b(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}
func (e *encoder) s(v string) {
	id, ok := e.strs[v]
	if !ok {
		id = uint64(len(e.tab))
		e.strs[v] = id
		e.tab = append(e.tab, v)
	}
	e.u(id)
}

func (e *encoder) strList(ss []string) {
	e.u(uint64(len(ss)))
	for _, v := range ss {
		e.s(v)
	}
}

func (e *encoder) vars(vs []Var) {
	e.u(uint64(len(vs)))
	for _, v := range vs {
		e.s(v.Name)
		e.s(v.Type)
		e.i(int64(v.Ptr))
		e.b(v.PerCPU)
		e.b(v.ThisCPU)
		e.s(v.Init)
		e.i(int64(v.Line))
	}
}

// encodeFile renders f (its Path is not stored).
func encodeFile(f *File) []byte {
	e := &encoder{strs: map[string]uint64{}}
	e.i(int64(f.Bytes))
	e.i(int64(f.ErrorNodes))
	e.strList(f.Macros)
	e.strList(f.Aliases)
	e.strList(f.Consts)
	e.strList(f.Protos)
	e.u(uint64(len(f.Ignores)))
	for _, l := range f.Ignores {
		e.i(int64(l))
	}
	e.vars(f.Globals)
	e.u(uint64(len(f.Structs)))
	for _, st := range f.Structs {
		e.s(st.Name)
		e.vars(st.Fields)
	}
	e.u(uint64(len(f.Typedefs)))
	for _, t := range f.Typedefs {
		e.s(t.Name)
		e.s(t.Type)
		e.i(int64(t.Ptr))
	}
	e.u(uint64(len(f.Stores)))
	for _, st := range f.Stores {
		e.s(st.Field)
		e.s(st.Func)
		e.s(st.Var)
		e.s(st.Recv)
		e.i(int64(st.Line))
		e.i(int64(st.Col))
	}
	e.u(uint64(len(f.Funcs)))
	for i := range f.Funcs {
		fn := &f.Funcs[i]
		e.s(fn.Name)
		e.b(fn.Static)
		e.i(int64(fn.Line))
		e.i(int64(fn.Col))
		e.i(int64(fn.EndLine))
		e.vars(fn.Params)
		e.vars(fn.Locals)
		e.u(uint64(len(fn.Annots)))
		for _, a := range fn.Annots {
			e.s(a.Kind)
			e.s(a.Arg)
		}
		e.b(fn.BodyError)
		e.s(fn.ReturnType)
		e.strList(fn.OnceFlags)
		e.strList(fn.AssignedParams)
		e.strList(fn.MultiAssigned)
		e.strList(fn.MemberSets)
		e.strList(fn.Grown)
		e.strList(fn.MemberVals)
		e.s(fn.Ret)
		e.strList(fn.CallInits)
		e.strList(fn.DerefWrites)
		e.strList(fn.ParamWrites)
		e.strList(fn.ParamSets)
		e.strList(fn.RetStores)
		e.strList(fn.AddrInits)
		e.u(uint64(len(fn.Nodes)))
		for j := range fn.Nodes {
			n := &fn.Nodes[j]
			e.i(int64(n.Line))
			e.i(int64(n.Col))
			e.u(uint64(n.Kind))
			e.b(n.Indirect)
			e.s(n.Callee)
			e.s(n.Text)
			e.strList(n.Args)
			e.u(uint64(len(n.Succ)))
			for _, x := range n.Succ {
				e.i(int64(x))
			}
		}
	}
	// the string table goes first in the output
	head := []byte(codecMagic)
	head = binary.AppendUvarint(head, uint64(len(e.tab)))
	for _, s := range e.tab {
		head = binary.AppendUvarint(head, uint64(len(s)))
		head = append(head, s...)
	}
	return append(head, e.buf...)
}

var errCodec = errors.New("corrupt facts entry")

type decoder struct {
	buf []byte
	tab []string
	err error
}

func (d *decoder) u() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err, d.buf = errCodec, nil
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) i() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err, d.buf = errCodec, nil
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) i32() int32 {
	v := d.i()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.err = errCodec
	}
	return int32(v)
}

func (d *decoder) b() bool {
	if len(d.buf) == 0 {
		d.err = errCodec
		return false
	}
	v := d.buf[0] != 0
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) s() string {
	id := d.u()
	if id >= uint64(len(d.tab)) {
		d.err = errCodec
		return ""
	}
	return d.tab[id]
}

// n reads a length, bounded by what is left to read.
func (d *decoder) n() int {
	v := d.u()
	if v > uint64(len(d.buf))+1 {
		d.err, d.buf = errCodec, nil
		return 0
	}
	return int(v)
}

// strList reads a list of strings (nil when empty).
func (d *decoder) strList() []string {
	k := d.n()
	if k == 0 {
		return nil
	}
	out := make([]string, k)
	for i := range out {
		out[i] = d.s()
	}
	return out
}

func (d *decoder) vars() []Var {
	k := d.n()
	if k == 0 {
		return nil
	}
	out := make([]Var, k)
	for i := range out {
		out[i] = Var{Name: d.s(), Type: d.s(), Ptr: int8(d.i()), PerCPU: d.b(), ThisCPU: d.b(), Init: d.s(), Line: d.i32()}
	}
	return out
}

// decodeFile reads what encodeFile wrote; strings are interned.
func decodeFile(data []byte) (*File, error) {
	if len(data) < len(codecMagic) || string(data[:len(codecMagic)]) != codecMagic {
		return nil, errCodec
	}
	d := &decoder{buf: data[len(codecMagic):]}
	nt := d.n()
	d.tab = make([]string, nt)
	for i := range d.tab {
		l := d.n()
		if l > len(d.buf) {
			return nil, errCodec
		}
		if l <= maxInterned {
			d.tab[i] = names.get(string(d.buf[:l]))
		} else {
			d.tab[i] = string(d.buf[:l])
		}
		d.buf = d.buf[l:]
	}
	f := &File{Bytes: int(d.i()), ErrorNodes: int(d.i())}
	f.Macros = d.strList()
	f.Aliases = d.strList()
	f.Consts = d.strList()
	f.Protos = d.strList()
	if k := d.n(); k > 0 {
		f.Ignores = make([]int32, k)
		for i := range f.Ignores {
			f.Ignores[i] = int32(d.i())
		}
	}
	f.Globals = d.vars()
	if k := d.n(); k > 0 {
		f.Structs = make([]Struct, k)
		for i := range f.Structs {
			f.Structs[i] = Struct{Name: d.s(), Fields: d.vars()}
		}
	}
	if k := d.n(); k > 0 {
		f.Typedefs = make([]Typedef, k)
		for i := range f.Typedefs {
			f.Typedefs[i] = Typedef{Name: d.s(), Type: d.s(), Ptr: int8(d.i())}
		}
	}
	if k := d.n(); k > 0 {
		f.Stores = make([]FieldStore, k)
		for i := range f.Stores {
			f.Stores[i] = FieldStore{Field: d.s(), Func: d.s(), Var: d.s(), Recv: d.s(), Line: d.i32(), Col: d.i32()}
		}
	}
	if k := d.n(); k > 0 {
		f.Funcs = make([]Func, k)
		for i := range f.Funcs {
			fn := &f.Funcs[i]
			fn.Name, fn.Static = d.s(), d.b()
			fn.Line, fn.Col, fn.EndLine = d.i32(), d.i32(), d.i32()
			fn.Params, fn.Locals = d.vars(), d.vars()
			if a := d.n(); a > 0 {
				fn.Annots = make([]Annot, a)
				for j := range fn.Annots {
					fn.Annots[j] = Annot{Kind: d.s(), Arg: d.s()}
				}
			}
			fn.BodyError, fn.ReturnType = d.b(), d.s()
			fn.OnceFlags, fn.AssignedParams = d.strList(), d.strList()
			fn.MultiAssigned = d.strList()
			fn.MemberSets = d.strList()
			fn.Grown, fn.MemberVals = d.strList(), d.strList()
			fn.Ret, fn.CallInits, fn.DerefWrites = d.s(), d.strList(), d.strList()
			fn.ParamWrites, fn.ParamSets = d.strList(), d.strList()
			fn.RetStores = d.strList()
			fn.AddrInits = d.strList()
			nn := d.n()
			fn.Nodes = make([]Node, nn)
			for j := range fn.Nodes {
				n := &fn.Nodes[j]
				n.Line, n.Col = d.i32(), d.i32()
				n.Kind, n.Indirect = NodeKind(d.u()), d.b()
				n.Callee, n.Text = d.s(), d.s()
				n.Args = d.strList()
				if sn := d.n(); sn > 0 {
					n.Succ = make([]int32, sn)
					for k := range n.Succ {
						n.Succ[k] = d.i32()
					}
				}
			}
			if d.err != nil {
				return nil, d.err
			}
		}
	}
	if d.err != nil || len(d.buf) != 0 {
		return nil, errCodec
	}
	return f, nil
}
