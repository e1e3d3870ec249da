package callgraph

import (
	"reflect"
	"strings"

	"github.com/lockorder/lockorder/parser"
)

// Macro aliases (parser.File.Aliases): a call of a function-like macro
// that stands for one call of another function is linked as that call,
// its arguments mapped through the macro's parameters. A driver's
// `alloc_ordered_workqueue(...)` is `alloc_workqueue(..., 1, ...)`, an old
// tree's `pci_alloc_consistent()` wrapper reaches the allocator, a
// `request_module()` is `__request_module(true, ...)`.
//
// A macro counts only where the call can see it: a header under an
// include/ directory (of the caller's architecture, for arch/A/include),
// a private header for the callers under its directory, a .c file for
// its own calls. A name that has a function definition anywhere, or that
// the primitives table names, is left alone (the table says what
// spin_lock() does; a function body is what a call reaches), and so is a
// name two visible macros map to different targets.

type macroAlias struct {
	params []string // a variadic last parameter ends in "..."
	target string
	args   []string
	scope  string // "": global; "dir/": callers under it; "=path": that file only
	arch   string // architecture of an arch/A/include header
}

// linkAliases rewrites the calls of macro aliases in place, before
// anything reads their callee, and counts them in p.AliasCalls.
func (p *Program) linkAliases() {
	byName := map[string][]macroAlias{}
	for _, f := range p.Files {
		for _, a := range f.Aliases {
			parts := strings.Split(a, "\x00")
			if len(parts) != 4 {
				continue
			}
			m := macroAlias{target: parts[2]}
			if parts[1] != "" {
				m.params = strings.Split(parts[1], ",")
			}
			if parts[3] != "" {
				m.args = strings.Split(parts[3], "\x01")
			}
			path := f.Path
			switch {
			case !strings.HasSuffix(path, ".h"):
				m.scope = "=" + path
			case strings.HasPrefix(path, "include/") || strings.Contains(path, "/include/"):
				m.arch = archOf(path)
			default:
				m.scope = path[:strings.LastIndexByte(path, '/')+1]
			}
			byName[parts[0]] = append(byName[parts[0]], m)
		}
	}
	if len(byName) == 0 {
		return
	}
	for fi, f := range p.Files {
		view := p.fileView(int32(fi))
		for i := range f.Funcs {
			nodes := f.Funcs[i].Nodes
			for j := range nodes {
				n := &nodes[j]
				if n.Kind != parser.NCall || n.Indirect {
					continue
				}
				callee, args := n.Callee, n.Args
				for depth := 0; depth < 4; depth++ {
					if len(p.byName[callee]) > 0 || p.K.Named(callee) {
						break
					}
					m, ok := visibleAlias(byName[callee], p.Files[fi].Path, view)
					if !ok {
						break
					}
					if args, ok = m.expand(args); !ok {
						break
					}
					callee = m.target
				}
				// only a chain that ends at a function the program
				// has, or one the table knows, says more than the
				// macro's own name (`__set_bit()` stays itself rather
				// than become bitop(), another macro)
				if callee != n.Callee && (len(p.byName[callee]) > 0 || p.K.Named(callee)) {
					n.Callee, n.Args = callee, args
					p.AliasCalls++
				}
			}
		}
	}
}

// visibleAlias picks the alias a caller at path sees: its own file's
// first, then its private headers', then the include/ ones; false when
// none is visible or the visible ones disagree on the target.
func visibleAlias(ms []macroAlias, path, view string) (macroAlias, bool) {
	var best []macroAlias
	rank := 0
	for _, m := range ms {
		r := 0
		switch {
		case strings.HasPrefix(m.scope, "="):
			if m.scope[1:] == path {
				r = 3
			}
		case m.scope != "":
			if strings.HasPrefix(path, m.scope) {
				r = 2
			}
		case m.arch == "" || m.arch == view:
			r = 1
		}
		switch {
		case r == 0 || r < rank:
		case r > rank:
			best, rank = []macroAlias{m}, r
		default:
			best = append(best, m)
		}
	}
	if len(best) == 0 {
		return macroAlias{}, false
	}
	for _, m := range best[1:] {
		if m.target != best[0].target || len(m.args) != len(best[0].args) {
			return macroAlias{}, false
		}
	}
	return best[0], true
}

// expand maps a call's arguments through the macro's parameters into
// the target's; false when the counts do not fit.
func (m macroAlias) expand(actual []string) ([]string, bool) {
	vals := map[string]string{}
	variadic := ""
	var rest []string
	for i, prm := range m.params {
		if name, ok := strings.CutSuffix(prm, "..."); ok {
			variadic = name
			if i < len(actual) {
				rest = actual[i:]
			}
			break
		}
		if i >= len(actual) {
			return nil, false
		}
		vals[prm] = actual[i]
	}
	if variadic == "" && len(actual) != len(m.params) && !(len(m.params) == 0 && len(actual) == 0) {
		return nil, false
	}
	var out []string
	for _, a := range m.args {
		if variadic != "" && strings.TrimSpace(a) == variadic {
			out = append(out, rest...)
			continue
		}
		if variadic != "" && strings.Contains(a, variadic) {
			vals[variadic] = strings.Join(rest, ", ")
		}
		out = append(out, replaceWords(a, vals))
	}
	return out, true
}

// replaceWords replaces whole-word occurrences of vals' keys in s.
func replaceWords(s string, vals map[string]string) string {
	if len(vals) == 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if isWordStart(c) {
			j := i
			for j < len(s) && isWordChar(s[j]) {
				j++
			}
			w := s[i:j]
			if v, ok := vals[w]; ok && (i == 0 || s[i-1] != '.' && !(i > 1 && s[i-2:i] == "->")) {
				b.WriteString(v)
			} else {
				b.WriteString(w)
			}
			i = j
			continue
		}
		if c >= '0' && c <= '9' {
			j := i
			for j < len(s) && isWordChar(s[j]) {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func isWordStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Named reports whether the primitives table names a function or macro
// anywhere (a lock operation, a sleep, a registration, an iterator...).
func (k *Knowledge) Named(name string) bool {
	if k.named == nil {
		k.named = map[string]bool{}
		collectNames(reflect.ValueOf(k.Table), k.named)
	}
	return k.named[name]
}

// collectNames gathers every string of a table value: list entries, map
// keys and string fields.
func collectNames(v reflect.Value, out map[string]bool) {
	switch v.Kind() {
	case reflect.String:
		out[v.String()] = true
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			collectNames(v.Index(i), out)
		}
	case reflect.Map:
		for _, key := range v.MapKeys() {
			collectNames(key, out)
			collectNames(v.MapIndex(key), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			collectNames(v.Field(i), out)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			collectNames(v.Elem(), out)
		}
	}
}
