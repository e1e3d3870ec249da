package callgraph

import (
	"path"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// varsOf returns the variables visible in f: params, locals, later
// declarations shadowing earlier ones.
func (p *Program) varsOf(f *Func) map[string]parser.Var {
	if f.vars != nil {
		return f.vars
	}
	m := make(map[string]parser.Var, len(f.Src.Params)+len(f.Src.Locals))
	for _, v := range f.Src.Params {
		m[v.Name] = v
	}
	for _, v := range f.Src.Locals {
		if old, ok := m[v.Name]; !ok || old.Type == "" {
			m[v.Name] = v
		}
	}
	f.vars = m
	return m
}

// typeOf resolves typedefs to a struct name where possible.
func (p *Program) typeOf(t string) string {
	for i := 0; i < 8; i++ {
		td, ok := p.typedefs[t]
		if !ok || td.Type == t {
			break
		}
		if _, isStruct := p.structs[t]; isStruct {
			break
		}
		t = td.Type
	}
	return t
}

// LockClass names the lock of a lock expression as used in f, as lockdep
// would: `&stopper->lock` with `struct cpu_stopper *stopper` is
// cpu_stopper.lock; `&per_cpu(cpu_stopper, cpu).lock` too; a global
// `foo_lock` is foo_lock. typed is false when the expression could not be
// typed; the class is then the expression text prefixed with "~".
//
// A lock of a struct that many others embed by value (wait_queue_head,
// sk_buff_head, a driver's own queue type) is one instance per embedding:
// `&mlme->scanned_queue.lock` is mlme_priv.scanned_queue.lock, never the
// lock of the command queue another struct embeds, and a global such
// object's lock is named by the global (`&my_wq.lock` is my_wq.lock).
// Code given only a pointer to the embedded struct (`&q->lock` with
// `struct __queue *q`) names the struct's own class.
func (p *Program) LockClass(f *Func, expr string) (class string, typed bool) {
	return p.exprClass(f, expr, true)
}

// exprClass types a field expression; refine splits the lock of an
// embedded struct by its embedding (see LockClass).
func (p *Program) exprClass(f *Func, expr string, refine bool) (class string, typed bool) {
	e := strings.TrimSpace(expr)
	e = strings.TrimPrefix(e, "&")
	e = stripParens(e)
	base, rest := splitBase(e)
	if base == "" {
		return "~" + expr, false
	}
	var typ string
	var global string
	switch {
	case strings.HasSuffix(base, ")"):
		name := strings.TrimSpace(base[:strings.IndexByte(base, '(')])
		args := parser.SplitArgs([]byte(base[strings.IndexByte(base, '('):]))
		switch {
		case p.K.IsPerCPUAccessor(name):
			if len(args) > 0 {
				g := strings.TrimPrefix(strings.TrimSpace(args[0]), "&")
				if v, ok := p.lookupGlobal(f, g); ok {
					typ = v.Type
					if rest == "" {
						global = g
					}
				}
			}
		case p.K.IsContainerOf(name):
			if len(args) > 1 {
				typ, _ = parser.SplitType(args[1])
			}
		default:
			if t, ok := p.K.Table.Accessors[name]; ok {
				typ = t
			} else if ids := p.byName[name]; len(ids) > 0 && p.Funcs[ids[0]].Src.ReturnType != "" {
				typ = p.Funcs[ids[0]].Src.ReturnType
			} else if rest == "" {
				// a lock accessor function: its name is the class
				return name + "()", true
			}
		}
	default:
		if v, ok := p.varsOf(f)[base]; ok {
			typ = v.Type
			if refine && v.Ptr > 0 && strings.HasPrefix(rest, "->") && p.embedded(p.typeOf(typ)) {
				// a pointer local set once to one embedding of a part
				// (`q = &pstapriv->free_sta_queue;`) names its lock
				if at := addrInit(f, base); at != "" {
					return p.exprClass(f, at+"."+strings.TrimPrefix(rest, "->"), true)
				}
			}
		} else if v, ok := p.lookupGlobal(f, base); ok {
			typ = v.Type
			if rest == "" {
				global = base
			}
		} else if t, ok := p.K.Table.Accessors[base]; ok {
			typ = t
		}
	}
	if rest == "" {
		if global != "" {
			return p.globalName(f, global), true
		}
		return "~" + f.Src.Name + ":" + e, false
	}
	fields := splitFields(rest)
	if typ == "" || len(fields) == 0 {
		return "~" + e, false
	}
	owner := p.typeOf(typ)
	outer := "" // the struct.field embedding owner by value, if any
	if len(fields) == 1 && p.isGlobalObject(f, base) {
		outer = p.globalName(f, base)
	}
	for i, fl := range fields {
		st, ok := p.structs[owner]
		if !ok {
			return "~" + e, false
		}
		if i == len(fields)-1 {
			if _, ok := st[fl]; !ok {
				return "~" + e, false
			}
			if refine && p.isPart(owner, fl) {
				own := owner + "." + fl
				p.sharedClass[own] = struct{}{}
				if outer == "" {
					return own, true
				}
				p.embedOf[outer+"."+fl] = own
				return outer + "." + fl, true
			}
			return owner + "." + fl, true
		}
		v, ok := st[fl]
		if !ok {
			return "~" + e, false
		}
		outer = ""
		if v.Ptr == 0 {
			outer = owner + "." + fl
		}
		owner = p.typeOf(v.Type)
	}
	return "~" + e, false
}

func (p *Program) lookupGlobal(f *Func, name string) (parser.Var, bool) {
	if v, ok := p.fileGlob[f.File][name]; ok {
		return p.defineType(v), true
	}
	v, ok := p.globals[name]
	return p.defineType(v), ok
}

func (p *Program) defineType(v parser.Var) parser.Var {
	if t, ok := p.K.Table.DefineTypes[v.Type]; ok {
		v.Type = t
	}
	return v
}

// stripParens removes redundant outer parentheses and a leading cast.
func stripParens(e string) string {
	for i := 0; i < 8; i++ {
		e = strings.TrimSpace(e)
		if len(e) < 2 || e[0] != '(' {
			return e
		}
		end := matchParen(e, 0)
		if end < 0 {
			return e // unbalanced: nothing to strip
		}
		if end == len(e)-1 {
			e = e[1:end]
			continue
		}
		inner := e[1:end]
		if end > 0 && (strings.HasPrefix(inner, "struct ") || strings.HasSuffix(strings.TrimSpace(inner), "*")) {
			e = e[end+1:] // a cast
			continue
		}
		return e
	}
	return e
}

func matchParen(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// splitBase splits "per_cpu(x, c).lock" into "per_cpu(x, c)" and ".lock",
// "(a)->b" into "a" and "->b".
func splitBase(e string) (string, string) {
	e = strings.TrimSpace(e)
	if e == "" {
		return "", ""
	}
	if e[0] == '(' {
		end := matchParen(e, 0)
		if end < 0 {
			return "", ""
		}
		inner := strings.TrimPrefix(stripParens(e[:end+1]), "&")
		b, r := splitBase(inner)
		return b, r + e[end+1:]
	}
	j := 0
	for j < len(e) && (isWord(e[j])) {
		j++
	}
	if j == 0 {
		return "", ""
	}
	k := j
	for k < len(e) && e[k] == ' ' {
		k++
	}
	if k < len(e) && e[k] == '(' {
		end := matchParen(e, k)
		if end < 0 {
			return "", ""
		}
		return e[:j] + e[k:end+1], e[end+1:]
	}
	return e[:j], e[j:]
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// splitFields turns "->a.b[i]->c" into [a b c]; indexes are dropped.
func splitFields(rest string) []string {
	var out []string
	i := 0
	for i < len(rest) {
		switch {
		case rest[i] == ' ':
			i++
		case strings.HasPrefix(rest[i:], "->"):
			i += 2
		case rest[i] == '.':
			i++
		case rest[i] == '[':
			end := matchParen(rest, i)
			if end < 0 {
				return nil
			}
			i = end + 1
			continue
		default:
			j := i
			for j < len(rest) && isWord(rest[j]) {
				j++
			}
			if j == i {
				return nil
			}
			out = append(out, rest[i:j])
			i = j
		}
	}
	return out
}

// globalName names a global as a lock class: one of several file-static
// globals of that name (scsi_dh_rdac.c's list_lock is not
// omap_dmm_tiler.c's) is named with its file.
func (p *Program) globalName(f *Func, g string) string {
	if _, own := p.fileGlob[f.File][g]; own && p.globalDefs[g] > 1 {
		fp := p.Path(f)
		return path.Join(path.Base(path.Dir(fp)), path.Base(fp)) + ":" + g
	}
	return g
}

// isGlobalObject reports whether name is a global (not per-CPU) variable
// as seen from f, and no parameter or local of f.
func (p *Program) isGlobalObject(f *Func, name string) bool {
	if _, ok := p.varsOf(f)[name]; ok {
		return false
	}
	v, ok := p.lookupGlobal(f, name)
	return ok && !v.PerCPU && v.Ptr == 0
}

// maxPartFields is the most fields a struct may have and still be a part
// that owners embed (a queue, a wait-queue head, a lock wrapper), not the
// base object of its embedders (inode in ext4_inode_info, kvm_vcpu in
// vcpu_vmx: code given a pointer to one is given the object).
const maxPartFields = 8

// embedded reports whether struct type t is a part: embedded by value in
// at least two fields of other struct types, and small (see isPart).
func (p *Program) embedded(t string) bool {
	return p.isPart(t, "")
}

// isPart reports whether struct type t, as a definition with field fl
// (any field when ""), is a part: small, and embedded by value in at
// least two fields of other struct types.
func (p *Program) isPart(t, fl string) bool {
	if p.embedders == nil {
		n := map[string]int{}
		for name, fields := range p.structs {
			for _, v := range fields {
				if v.Ptr != 0 {
					continue
				}
				// every embedding counts: MPT_ADAPTER's mptbase_cmds
				// and taskmgmt_cmds are two _MPT_MGMTs
				if ft := p.typeOf(v.Type); ft != "" && ft != name {
					n[ft]++
				}
			}
		}
		p.embedders = n
	}
	if p.embedders[t] < 2 {
		return false
	}
	for _, def := range p.smallDefs[t] {
		if fl == "" {
			return true
		}
		for _, v := range def {
			if v.Name == fl {
				return true
			}
		}
	}
	return false
}

// FieldOf types a struct-field expression as used in f (`&stable_node->hlist`
// gives stable_node, hlist). ok is false for globals, locals and anything
// that cannot be typed.
func (p *Program) FieldOf(f *Func, expr string) (owner, field string, ok bool) {
	c, typed := p.exprClass(f, expr, false)
	if !typed {
		return "", "", false
	}
	i := strings.LastIndexByte(c, '.')
	if i <= 0 || strings.HasSuffix(c, ")") {
		return "", "", false
	}
	return c[:i], c[i+1:], true
}

// StructFields returns the fields of a struct (nil when it is unknown).
func (p *Program) StructFields(name string) map[string]parser.Var { return p.structs[name] }

// addrInit returns the member a pointer local of f is set to by its one
// assignment (parser.Func.AddrInits), without the &; "".
func addrInit(f *Func, name string) string {
	for _, a := range f.Src.AddrInits {
		if n, x, ok := strings.Cut(a, "="); ok && n == name {
			return strings.TrimSpace(strings.TrimPrefix(x, "&"))
		}
	}
	return ""
}
