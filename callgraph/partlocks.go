package callgraph

import (
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// Locks of parts taken through parameters. A helper given a pointer to a
// part struct (`_rtw_enqueue_cmd(struct __queue *queue, ...)` taking
// `&queue->lock`) takes the pointer class (__queue.lock), which may be any
// embedding's lock. Its caller knows which: `_rtw_enqueue_cmd(&pcmdpriv->
// cmd_queue, obj)` takes cmd_priv.cmd_queue.lock. Each function records
// the part locks it takes through its parameters (ParamAcq), and each
// call names them with the caller's arguments; a caller that passes its
// own parameter on records them in turn.

// ParamAcq is a part lock a function takes through a parameter: the
// parameter, the path from it to the lock ("->lock", "->wq.lock"), the
// pointer class taken and the site that leads to it.
type ParamAcq struct {
	Param int8
	Path  string
	Class int32
	Site  int32
}

// maxParamAcqs bounds the part locks recorded per function.
const maxParamAcqs = 16

// paramPath splits a lock expression into the parameter of f it starts
// from and the path to the lock ("&q->lock" gives q's index, "->lock");
// -1 when it does not start from a parameter.
func paramPath(f *Func, expr string) (int, string) {
	e := stripParens(strings.TrimPrefix(strings.TrimSpace(expr), "&"))
	base, rest := splitBase(e)
	if base == "" || rest == "" || !strings.HasPrefix(rest, "->") {
		return -1, ""
	}
	for i, v := range f.Src.Params {
		if v.Name == base && i < 127 {
			return i, rest
		}
	}
	return -1, ""
}

// argLock writes the lock a callee takes at path from its parameter as
// an expression of the caller's argument: `&c->cmd_queue` and "->lock"
// give "c->cmd_queue.lock".
func argLock(arg, path string) string {
	a := strings.TrimSpace(arg)
	if strings.HasPrefix(a, "&") && !strings.HasPrefix(a, "&&") {
		return stripParens(a[1:]) + "." + strings.TrimPrefix(path, "->")
	}
	return "(" + a + ")" + path
}

// ownParamAcqs records the part locks f's lock primitive at site si takes
// through f's parameters.
func (p *Program) ownParamAcqs(f *Func, si int32) {
	s := &f.Sites[si]
	pr := s.Prim
	if pr == nil || pr.Op != OpAcquire || pr.Class != "" || pr.Double || len(s.Acq) == 0 {
		return
	}
	n := &f.Src.Nodes[s.Node]
	k := 0
	for _, ai := range pr.Args {
		if ai < 0 || ai >= len(n.Args) {
			continue
		}
		if k >= len(s.Acq) {
			return
		}
		c := s.Acq[k].Class
		k++
		if !p.Classes[c].Shared {
			continue
		}
		expr := n.Args[ai]
		if pr.Field != "" {
			expr = "(" + strings.TrimSpace(expr) + ")->" + pr.Field
		}
		if i, path := paramPath(f, expr); i >= 0 {
			p.addParamAcq(f, ParamAcq{Param: int8(i), Path: path, Class: c, Site: si})
		}
	}
}

func (p *Program) addParamAcq(f *Func, a ParamAcq) {
	if len(f.ParamAcq) >= maxParamAcqs {
		return
	}
	for _, b := range f.ParamAcq {
		if b.Param == a.Param && b.Path == a.Path && b.Class == a.Class {
			return
		}
	}
	f.ParamAcq = append(f.ParamAcq, a)
}

// partSubst names, for call site si of f, the part locks its targets take
// through their parameters with f's arguments: pairs (pointer class,
// class at this call). A lock the arguments pin to one embedding is
// renamed; one still reached through f's own parameter is recorded as
// f's (ParamAcq).
func (p *Program) partSubst(f *Func, si int32) {
	s := &f.Sites[si]
	if s.Indirect || s.Prim != nil {
		return
	}
	n := &f.Src.Nodes[s.Node]
	var subst [][2]int32
	for _, t := range s.ArgTargets() {
		for _, a := range p.Funcs[t].ParamAcq {
			rc := p.argClass(f, n, a)
			if rc < 0 {
				continue
			}
			expr := argLock(n.Args[a.Param], a.Path)
			if rc != a.Class && p.Classes[rc].Of == a.Class {
				subst = append(subst, [2]int32{a.Class, rc})
				continue
			}
			if rc == a.Class {
				if i, path := paramPath(f, expr); i >= 0 {
					p.addParamAcq(f, ParamAcq{Param: int8(i), Path: path, Class: a.Class, Site: si})
				}
			}
		}
	}
	if len(subst) > 0 {
		p.partAt[SiteRef{f.ID, si}] = subst
	}
}

// PartClass is the class a call site takes when its callee takes class
// c: the embedding's lock its arguments name, or c.
func (p *Program) PartClass(f *Func, si int32, c int32) int32 {
	for _, sc := range p.partAt[SiteRef{f.ID, si}] {
		if sc[0] == c {
			return sc[1]
		}
	}
	return c
}

// calleeClass is the inverse of PartClass: the class the callee of site
// si takes for the class c the site is said to take.
func (p *Program) calleeClass(f *Func, si int32, c int32) int32 {
	for _, sc := range p.partAt[SiteRef{f.ID, si}] {
		if sc[1] == c {
			return sc[0]
		}
	}
	return c
}

// argClass is the class the part lock a callee takes through a parameter
// has with the arguments of call n in f (-1 when it cannot be typed).
func (p *Program) argClass(f *Func, n *parser.Node, a ParamAcq) int32 {
	if int(a.Param) >= len(n.Args) {
		return -1
	}
	name, typed := p.LockClass(f, argLock(n.Args[a.Param], a.Path))
	if !typed {
		return -1
	}
	return p.Class(name, p.Classes[a.Class].Kind, true)
}

// argPart renames a part lock class c that callee t takes through a
// parameter with the arguments of call n in f: the embedding's lock, or
// c.
func (p *Program) argPart(f *Func, n *parser.Node, t *Func, c int32) int32 {
	if !p.Classes[c].Shared {
		return c
	}
	for _, a := range t.ParamAcq {
		if a.Class != c {
			continue
		}
		if rc := p.argClass(f, n, a); rc >= 0 && p.Classes[rc].Of == c {
			return rc
		}
	}
	return c
}
