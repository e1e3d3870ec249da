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
func (p *Program) LockClass(f *Func, expr string) (class string, typed bool) {
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
			if _, own := p.fileGlob[f.File][global]; own && p.globalDefs[global] > 1 {
				// one of several file-static locks of that name
				// (scsi_dh_rdac.c's list_lock is not omap_dmm_tiler.c's):
				// each is its own class
				fp := p.Path(f)
				return path.Join(path.Base(path.Dir(fp)), path.Base(fp)) + ":" + global, true
			}
			return global, true
		}
		return "~" + f.Src.Name + ":" + e, false
	}
	fields := splitFields(rest)
	if typ == "" || len(fields) == 0 {
		return "~" + e, false
	}
	owner := p.typeOf(typ)
	for i, fl := range fields {
		st, ok := p.structs[owner]
		if !ok {
			return "~" + e, false
		}
		if i == len(fields)-1 {
			if _, ok := st[fl]; !ok {
				return "~" + e, false
			}
			return owner + "." + fl, true
		}
		v, ok := st[fl]
		if !ok {
			return "~" + e, false
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

// FieldOf types a struct-field expression as used in f (`&stable_node->hlist`
// gives stable_node, hlist). ok is false for globals, locals and anything
// that cannot be typed.
func (p *Program) FieldOf(f *Func, expr string) (owner, field string, ok bool) {
	c, typed := p.LockClass(f, expr)
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
