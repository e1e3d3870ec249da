package parser

import (
	"bytes"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// topLevel collects globals and macro-defined functions
// (`SYSCALL_DEFINE2(name, ...) { }` parses as a call statement followed by
// a block) among the top-level items, descending into preprocessor blocks.
func (x *extractor) topLevel(root *sitter.Node) {
	x.topItems(root, 0)
}

func (x *extractor) topItems(n *sitter.Node, depth int) {
	if depth > 32 {
		return
	}
	cnt := int(n.NamedChildCount())
	var prev *sitter.Node
	for i := 0; i < cnt; i++ {
		ch := n.NamedChild(i)
		switch {
		case sym.has("declaration", ch):
			x.global(ch)
		case sym.has("preproc_ifdef", ch), sym.has("preproc_if", ch), sym.has("preproc_else", ch),
			sym.has("preproc_elif", ch), sym.has("linkage_specification", ch), sym.has("declaration_list", ch):
			x.topItems(ch, depth+1)
		case sym.has("compound_statement", ch):
			if prev != nil && sym.has("expression_statement", prev) {
				x.macroFunc(prev, ch)
			}
		case sym.has("expression_statement", ch):
			x.defineGlobal(ch)
		}
		if !sym.has("comment", ch) {
			prev = ch
		}
	}
}

// defineGlobal records the object a file-scope definition macro without
// a storage class defines: `DEFINE_MUTEX(cgroup_mutex);` parses as a call
// statement, and defines cgroup_mutex with "type" DEFINE_MUTEX, as
// `static DEFINE_MUTEX(x);` does (see global).
func (x *extractor) defineGlobal(stmt *sitter.Node) {
	if stmt.NamedChildCount() != 1 {
		return
	}
	c := stmt.NamedChild(0)
	if !sym.has("call_expression", c) {
		return
	}
	fn, args := c.ChildByFieldName("function"), c.ChildByFieldName("arguments")
	if fn == nil || args == nil || !sym.has("identifier", fn) || args.NamedChildCount() != 1 {
		return
	}
	name := x.text(fn)
	if !strings.HasPrefix(name, "DEFINE_") && !strings.HasPrefix(name, "DECLARE_") {
		return
	}
	a := args.NamedChild(0)
	if !sym.has("identifier", a) {
		return
	}
	l, _ := pos(a)
	x.file.Globals = append(x.file.Globals, Var{Name: x.text(a), Type: name, Line: l})
}

func (x *extractor) macroFunc(stmt, body *sitter.Node) {
	if stmt.NamedChildCount() == 0 {
		return
	}
	call := stmt.NamedChild(0)
	if !sym.has("call_expression", call) {
		return
	}
	fn := call.ChildByFieldName("function")
	args := call.ChildByFieldName("arguments")
	if fn == nil || args == nil || !sym.has("identifier", fn) {
		return
	}
	macro := x.text(fn)
	a := SplitArgs(x.src[args.StartByte():args.EndByte()])
	if len(a) == 0 || !isIdent(a[0]) {
		return
	}
	name := a[0]
	switch {
	case strings.HasPrefix(macro, "SYSCALL_DEFINE"):
		name = "sys_" + name
	case strings.HasPrefix(macro, "COMPAT_SYSCALL_DEFINE"):
		name = "compat_sys_" + name
	}
	f := Func{Name: name}
	f.Line, f.Col = pos(stmt)
	f.EndLine = int32(body.EndPoint().Row) + 1
	f.BodyError = body.HasError()
	// SYSCALL_DEFINEn(name, type, arg, type, arg...)
	if strings.Contains(macro, "SYSCALL_DEFINE") || strings.HasPrefix(macro, "BPF_CALL") {
		for k := 1; k+1 < len(a); k += 2 {
			t, ptr := SplitType(a[k])
			if isIdent(a[k+1]) {
				f.Params = append(f.Params, Var{Name: a[k+1], Type: t, Ptr: ptr})
			}
		}
	}
	// the macro's own argument calls are not part of the body
	for i := range x.calls {
		if x.calls[i].start >= stmt.StartByte() && x.calls[i].end <= stmt.EndByte() {
			x.calls[i].used = true
		}
	}
	x.buildCFG(&f, body)
	x.file.Funcs = append(x.file.Funcs, f)
}

// SplitType turns the text of a type, "struct foo *", into its name and
// pointer depth: ("foo", 1).
func SplitType(s string) (string, int8) {
	ptr := int8(strings.Count(s, "*"))
	s = strings.ReplaceAll(s, "*", " ")
	var name string
	for _, w := range strings.Fields(s) {
		switch w {
		case "struct", "union", "enum", "const", "volatile", "unsigned", "signed":
			continue
		}
		name = w
	}
	return name, ptr
}

func (x *extractor) global(n *sitter.Node) {
	t := n.ChildByFieldName("type")
	if t == nil {
		return
	}
	tname := x.typeName(t)
	extern := false
	for i := 0; i < int(n.NamedChildCount()); i++ {
		if c := n.NamedChild(i); sym.has("storage_class_specifier", c) && x.text(c) == "extern" {
			// a declaration of another file's global, not a definition:
			// its file does not own one of that name
			extern = true
		}
	}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		d := n.NamedChild(i)
		if !d.Equal(t) {
			if name := protoName(x, d); name != "" {
				x.file.Protos = append(x.file.Protos, name)
			}
		}
		if extern || d.Equal(t) || !isDeclarator(d) || sym.has("function_declarator", d) {
			continue
		}
		name, ptr := declName(x, d)
		if name == "" {
			continue
		}
		l, _ := pos(d)
		// DEFINE_SPINLOCK(x) parses as a declaration of x with type
		// DEFINE_SPINLOCK; the callgraph maps such macro names to lock types.
		x.file.Globals = append(x.file.Globals, Var{Name: name, Type: tname, Ptr: ptr, Line: l})
	}
}

// protoName returns the function a top-level declarator declares (`f` of
// `int f(int)` or `struct s *f(void)`), "" for anything else (a variable,
// a function pointer).
func protoName(x *extractor, d *sitter.Node) string {
	for i := 0; d != nil && i < 8; i++ {
		switch {
		case sym.has("pointer_declarator", d):
			d = d.ChildByFieldName("declarator")
		case sym.has("function_declarator", d):
			if id := d.ChildByFieldName("declarator"); id != nil && sym.has("identifier", id) {
				return x.text(id)
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

var perCPUMacros = [][]byte{[]byte("DEFINE_PER_CPU"), []byte("DECLARE_PER_CPU")}

// perCPU finds DEFINE_PER_CPU*(type, name) / DECLARE_PER_CPU*(type, name)
// by text: tree-sitter turns their second argument into an ERROR.
func (x *extractor) perCPU() {
	src := x.src
	for _, m := range perCPUMacros {
		off := 0
		for {
			i := bytes.Index(src[off:], m)
			if i < 0 {
				break
			}
			i += off
			off = i + len(m)
			if i > 0 && (isWordByte(src[i-1]) || src[i-1] == '#') {
				continue
			}
			j := off
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			if j >= len(src) || src[j] != '(' {
				continue
			}
			end := bytes.IndexByte(src[j:], ')')
			if end < 0 || end > 400 {
				continue
			}
			args := SplitArgs(src[j : j+end+1])
			if len(args) < 2 || !isIdent(args[len(args)-1]) {
				continue
			}
			t, ptr := SplitType(args[0])
			line := int32(bytes.Count(src[:i], []byte{'\n'})) + 1
			x.file.Globals = append(x.file.Globals, Var{Name: args[len(args)-1], Type: t, Ptr: ptr, PerCPU: true, Line: line})
		}
	}
}

// macros records the function-like macros the file defines
// (`#define STORE(x, y) ...`): a call to one of those names in this file
// is the macro, never a function of that name elsewhere. It also keeps
// those that alias one call (see macroAlias) and the object-like macros
// that name a number (`#define MSG_DONTWAIT 0x40`); a name the file
// defines twice differently (#ifdef alternatives) is neither.
func (x *extractor) macros() {
	src := x.src
	seen := map[string]bool{}
	alias := map[string]string{} // name -> alias ("" : defined, not an alias)
	var aliasOrder []string
	consts := map[string]string{}
	var constOrder []string
	for off := 0; ; {
		i := bytes.Index(src[off:], []byte("define"))
		if i < 0 {
			break
		}
		i += off
		off = i + 6
		// '#' then blanks before "define", at the start of a line
		k := i - 1
		for k >= 0 && (src[k] == ' ' || src[k] == '\t') {
			k--
		}
		if k < 0 || src[k] != '#' {
			continue
		}
		for k--; k >= 0 && (src[k] == ' ' || src[k] == '\t'); k-- {
		}
		if k >= 0 && src[k] != '\n' {
			continue
		}
		j := off
		for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		st := j
		for j < len(src) && isWordByte(src[j]) {
			j++
		}
		if j == st {
			continue
		}
		name := string(src[st:j])
		if j < len(src) && src[j] == '(' {
			a := macroAlias(name, defineText(src, j))
			if !seen[name] {
				seen[name] = true
				x.file.Macros = append(x.file.Macros, name)
				alias[name] = a
				aliasOrder = append(aliasOrder, name)
			} else if alias[name] != a {
				alias[name] = ""
			}
			continue
		}
		body := defineText(src, j)
		v := constValue(body)
		if tb := strings.TrimSpace(body); v == "" && (tb == "" || strings.HasPrefix(tb, "/*") || strings.HasPrefix(tb, "//")) {
			// `#define DEBUG`: defined, with no value (kept as "NAME=", so
			// that `#ifdef NAME` code can be told live)
			v = "="
		}
		if old, ok := consts[name]; !ok {
			consts[name] = v
			constOrder = append(constOrder, name)
		} else if old != v {
			consts[name] = ""
		}
	}
	for _, name := range aliasOrder {
		if a := alias[name]; a != "" {
			x.file.Aliases = append(x.file.Aliases, a)
		}
	}
	for _, name := range constOrder {
		switch v := consts[name]; v {
		case "":
		case "=":
			x.file.Consts = append(x.file.Consts, name+"=")
		default:
			x.file.Consts = append(x.file.Consts, name+"="+v)
		}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// attrWords are attribute macros that carry no meaning for lock analysis
// but break tree-sitter's view of declarations. They are overwritten with
// spaces, so byte offsets, lines and columns stay exact.
var attrWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`__init __exit __user __iomem __percpu __rcu __must_check
	__always_inline __weak __sched __lockfunc notrace noinline noinstr __cacheline_aligned
	__cacheline_aligned_in_smp ____cacheline_aligned ____cacheline_aligned_in_smp __read_mostly
	__force __kernel __maybe_unused __used __cold __hot __pure __noreturn __visible asmlinkage
	__latent_entropy __ref __refdata __initdata __initconst __exitdata __devinit __devexit __cpuinit
	__cpuexit __cpuinitdata __meminit __meminitdata __net_init __net_exit __always_unused
	__attribute_const__ __nocfi __bitwise __private __safe __randomize_layout __packed
	__ro_after_init __initdata_or_module __init_or_module __irq_entry __kprobes nokprobe_inline
	__flatten __must_hold_never __noclone __nostackprotector __no_kcsan __no_sanitize_address
	__deprecated __iomem_ptr __le16 __le32 __le64 __be16 __be32 __be64 __mlock __tracepoint
	__section_data __lsm_ro_after_init __head __ksym __bpf_kfunc __fastpath_inline
	__no_sanitize_thread __no_kasan_or_inline __weak_alias __user_ptr __percpu_ptr __data_racy
	__counted_by_le __nonstring __init_memblock __ref_const __devinitdata __releases_never`) {
		attrWords[w] = true
	}
	// __le16 etc. are real types: keep them.
	for _, w := range []string{"__le16", "__le32", "__le64", "__be16", "__be32", "__be64"} {
		delete(attrWords, w)
	}
}

// BlankAttributes returns a copy of src with the attribute macros in
// attrWords replaced by spaces (offset-preserving).
func BlankAttributes(src []byte) []byte {
	out := make([]byte, len(src))
	copy(out, src)
	i := 0
	for i < len(out) {
		c := out[i]
		if c != '_' && !(c >= 'a' && c <= 'z') {
			// skip non-word runs quickly; words that start with a digit or
			// capital letter are never attributes in the list
			if isWordByte(c) {
				for i < len(out) && isWordByte(out[i]) {
					i++
				}
				continue
			}
			i++
			continue
		}
		j := i
		for j < len(out) && isWordByte(out[j]) {
			j++
		}
		if j-i >= 5 && attrWords[string(out[i:j])] {
			for k := i; k < j; k++ {
				out[k] = ' '
			}
		}
		i = j
	}
	return out
}

// enums records the numbers of the file's enumerators (`enum { RTM_NEWADDR
// = 20, RTM_DELADDR, ... }`) as Consts, as numeric macros are: an
// enumerator is its explicit value (a number, an earlier enumerator, BIT(n),
// a shift, a +1), or the one before it plus one; unknown after a value
// that cannot be read. Names the file's macros already give are left.
func (x *extractor) enums(root *sitter.Node) {
	have := map[string]bool{}
	for _, c := range x.file.Consts {
		n, _, _ := strings.Cut(c, "=")
		have[n] = true
	}
	vals := map[string]int64{}
	var walk func(n *sitter.Node, depth int)
	walk = func(n *sitter.Node, depth int) {
		if depth > 40 || sym.has("function_definition", n) || sym.has("compound_statement", n) {
			return
		}
		if sym.has("enumerator_list", n) {
			next, known := int64(0), true
			for i := 0; i < int(n.NamedChildCount()); i++ {
				e := n.NamedChild(i)
				if !sym.has("enumerator", e) {
					continue
				}
				name := e.ChildByFieldName("name")
				if name == nil {
					continue
				}
				if v := e.ChildByFieldName("value"); v != nil {
					next, known = enumValue(x.text(v), vals)
				}
				nm := x.text(name)
				if known {
					vals[nm] = next
					if !have[nm] {
						have[nm] = true
						x.file.Consts = append(x.file.Consts, nm+"="+strconv.FormatInt(next, 10))
					}
				}
				next++
			}
			return
		}
		for i := 0; i < int(n.NamedChildCount()); i++ {
			walk(n.NamedChild(i), depth+1)
		}
	}
	walk(root, 0)
}

// enumValue reads an enumerator's explicit value.
func enumValue(s string, vals map[string]int64) (int64, bool) {
	s = strings.TrimSpace(s)
	if v := constValue(s); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	if v, ok := vals[s]; ok {
		return v, true
	}
	if l, r, ok := strings.Cut(s, "+"); ok {
		if a, ok1 := enumValue(l, vals); ok1 {
			if b, ok2 := enumValue(r, vals); ok2 {
				return a + b, true
			}
		}
	}
	return 0, false
}
