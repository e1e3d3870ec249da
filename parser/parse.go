package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
)

// Limits that keep one pathological file from stalling or exhausting a scan.
const (
	// MaxFileBytes is the largest file parsed; larger ones are skipped.
	MaxFileBytes = 32 << 20
	// parseTimeoutMicros bounds tree-sitter's work on one file.
	parseTimeoutMicros = 30_000_000
	// maxDepth bounds statement nesting followed by the CFG builder.
	maxDepth = 400
	// maxNodes bounds the CFG of one function.
	maxNodes = 200_000
)

// ErrBinary is returned for files that are not text.
var ErrBinary = errors.New("binary file (NUL bytes)")

// query patterns; the index of each pattern is used below.
const querySrc = `
(call_expression function: (_) @cf arguments: (argument_list) @ca) @call
(function_definition) @fn
(initializer_pair designator: (field_designator (field_identifier) @sf) value: (identifier) @sv)
(assignment_expression left: (field_expression argument: (_) @ar field: (field_identifier) @af) right: (identifier) @av)
(struct_specifier name: (type_identifier) @sn body: (field_declaration_list) @sb)
(union_specifier name: (type_identifier) @un body: (field_declaration_list) @ub)
(type_definition) @td
(ERROR) @err
`

// capture indices (order of first appearance in querySrc)
const (
	capAssignRecv  = 6
	capAssignField = 7
	capAssignValue = 8
)

const (
	patCall = iota
	patFn
	patInit
	patAssign
	patStruct
	patUnion
	patTypedef
	patErr
)

// syms holds grammar symbol ids of the node kinds the builder looks at, so
// that it compares Symbol() (a cheap cgo call) rather than Type() (an
// allocation per node).
// syms names the grammar's symbols; has compares a node's symbol name
// with a kind (one cheap cgo call, no map lookup, no allocation).
type syms struct {
	names []string
}

func (s *syms) has(kind string, n *sitter.Node) bool {
	i := int(n.Symbol())
	return i < len(s.names) && s.names[i] == kind
}

var (
	langOnce sync.Once
	lang     *sitter.Language
	sym      *syms
	query    *sitter.Query
	queryErr error
)

func setup() {
	lang = c.GetLanguage()
	sym = &syms{}
	for i := uint32(0); i < lang.SymbolCount(); i++ {
		sym.names = append(sym.names, lang.SymbolName(sitter.Symbol(i)))
	}
	query, queryErr = sitter.NewQuery([]byte(querySrc), lang)
}

// Parser parses files. It is safe for concurrent use: each call takes a
// tree-sitter parser from a pool.
type Parser struct {
	pool sync.Pool
}

// New returns a Parser.
func New() (*Parser, error) {
	langOnce.Do(setup)
	if queryErr != nil {
		return nil, fmt.Errorf("compile query: %w", queryErr)
	}
	p := &Parser{}
	p.pool.New = func() any {
		tp := sitter.NewParser()
		tp.SetLanguage(lang)
		tp.SetOperationLimit(parseTimeoutMicros)
		return tp
	}
	return p, nil
}

// DeclarationFree reports whether a header can hold no facts: without a
// ';' or a '{' it declares nothing (no function body, struct, typedef,
// global or per-CPU variable) and is only macros, like the 721 generated
// amdgpu asic_reg headers, a third of the 6.1 tree's bytes. It is not
// parsed.
func DeclarationFree(path string, src []byte) bool {
	return strings.HasSuffix(path, ".h") && bytes.IndexByte(src, ';') < 0 && bytes.IndexByte(src, '{') < 0
}

// ParseFile extracts the facts of one file. path is recorded as given.
// It never panics on input: malformed C gives fewer facts, not an error.
func (p *Parser) ParseFile(ctx context.Context, path string, src []byte) (f *File, err error) {
	if len(src) > MaxFileBytes {
		return nil, fmt.Errorf("file too large (%d bytes, limit %d)", len(src), MaxFileBytes)
	}
	head := src
	if len(head) > 8192 {
		head = head[:8192]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return nil, ErrBinary
	}
	if DeclarationFree(path, src) {
		// nothing to parse, but its function-like macros still shadow
		// functions of the same name for the files that include it
		x := &extractor{src: src, file: &File{Path: path, Bytes: len(src)}}
		x.macros()
		x.file.compact()
		return x.file, nil
	}
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("internal error while extracting facts: %v", r)
		}
	}()
	text, items := clean(BlankAttributes(src))
	file, err := p.extract(ctx, path, len(src), text)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		lines := itemLines(text, items)
		if miss := uncovered(file, items, lines, nil); len(miss) > 0 {
			file = p.recoverDefs(ctx, path, len(src), text, items, lines, file, miss)
		}
	}
	file.Ignores = ignoreLines(src)
	file.compact()
	return file, nil
}

// ignoreLines finds the lines with a `lockorder: ignore` comment.
func ignoreLines(src []byte) []int32 {
	var out []int32
	off := 0
	for {
		i := bytes.Index(src[off:], []byte("lockorder:"))
		if i < 0 {
			return out
		}
		i += off
		off = i + 10
		rest := bytes.TrimLeft(src[off:min(len(src), off+16)], " \t")
		if bytes.HasPrefix(rest, []byte("ignore")) {
			out = append(out, int32(bytes.Count(src[:i], []byte{'\n'}))+1)
		}
	}
}

// extract parses text and extracts its facts (not compacted).
func (p *Parser) extract(ctx context.Context, path string, size int, text []byte) (*File, error) {
	tp := p.pool.Get().(*sitter.Parser)
	tree, perr := tp.ParseCtx(ctx, nil, text)
	if perr != nil {
		tp.Reset()
		p.pool.Put(tp)
		if errors.Is(perr, sitter.ErrOperationLimit) {
			return nil, fmt.Errorf("parse time limit exceeded")
		}
		return nil, fmt.Errorf("parse: %w", perr)
	}
	p.pool.Put(tp)
	defer tree.Close()
	x := &extractor{src: text, file: &File{Path: path, Bytes: size}}
	x.run(tree.RootNode())
	return x.file, nil
}

// itemLines gives the lines of each item's head start, '{' and '}'.
func itemLines(text []byte, items []defItem) [][3]int32 {
	out := make([][3]int32, len(items))
	line := int32(1)
	pos := int32(0)
	at := func(off int32) int32 {
		for ; pos < off; pos++ {
			if text[pos] == '\n' {
				line++
			}
		}
		return line
	}
	for i, it := range items {
		out[i] = [3]int32{at(it.start), at(it.open), at(it.close)}
	}
	return out
}

// uncovered returns the indices of the items no recovered function
// accounts for, leaving out those in skip. A function accounts for an item
// when it starts in the item's head and ends at its closing brace: one
// that runs on past it has swallowed what follows.
func uncovered(f *File, items []defItem, lines [][3]int32, skip map[int]bool) []int {
	byEnd := make(map[int32][]int32, len(f.Funcs))
	for i := range f.Funcs {
		byEnd[f.Funcs[i].EndLine] = append(byEnd[f.Funcs[i].EndLine], f.Funcs[i].Line)
	}
	var miss []int
	for i := range items {
		if skip[i] {
			continue
		}
		l := lines[i]
		found := false
		for _, st := range byEnd[l[2]] {
			if st >= l[0] && st <= l[1] {
				found = true
				break
			}
		}
		if !found {
			miss = append(miss, i)
		}
	}
	return miss
}

// RecoverStats counts the files whose definitions needed recovery and the
// extra parses it took (for --stats).
var RecoverStats struct{ Files, Parses atomic.Int64 }

// Recovery limits, per file: lost definitions parsed on their own, and
// the largest file a blanking round (a whole parse) is spent on.
const (
	maxIsolatedParses  = 64
	maxRecoverFileSize = 4 << 20
)

// recoverDefs handles a file in which the grammar's error recovery lost
// definitions: one bad definition (a computed-goto interpreter, a macro
// the grammar cannot read) can swallow everything after it. When several
// are lost, the first is blanked and the file parsed again, which brings
// back whatever the bad one swallowed (structs, initializers); the
// definitions still lost (and the blanked one) are then parsed one by one
// from their own text, their line numbers shifted into place, and replace
// any fragment the whole-file parse made of them.
func (p *Parser) recoverDefs(ctx context.Context, path string, size int, text []byte, items []defItem, lines [][3]int32, f *File, miss []int) *File {
	RecoverStats.Files.Add(1)
	if os.Getenv("LOCKORDER_DEBUG_RECOVER") != "" {
		for _, m := range miss {
			fmt.Fprintf(os.Stderr, "recover %s:%d-%d\n", path, lines[m][0], lines[m][2])
		}
	}
	var culprit = -1
	if len(miss) >= 3 && len(text) <= maxRecoverFileSize {
		c := miss[0]
		t2 := append([]byte(nil), text...)
		blankRange(t2, items[c].start, items[c].close+1)
		f2, err := p.extract(ctx, path, size, t2)
		RecoverStats.Parses.Add(1)
		if err == nil {
			if m2 := uncovered(f2, items, lines, map[int]bool{c: true}); len(m2) < len(miss)-1 {
				f, miss, culprit = f2, m2, c
			}
		}
	}
	todo := miss
	if culprit >= 0 {
		todo = append([]int{culprit}, miss...)
	}
	if len(todo) > maxIsolatedParses {
		todo = todo[:maxIsolatedParses]
	}
	for _, c := range todo {
		it := items[c]
		ls := it.start
		for ls > 0 && text[ls-1] != '\n' {
			ls--
		}
		f3, err := p.extract(ctx, path, size, text[ls:it.close+1])
		RecoverStats.Parses.Add(1)
		if err != nil || len(f3.Funcs) == 0 {
			continue
		}
		shiftLines(f3, lines[c][0]-1)
		l0, l2 := lines[c][0], lines[c][2]
		kept := f.Funcs[:0]
		for _, fn := range f.Funcs {
			if fn.Line < l0 || fn.Line > l2 {
				kept = append(kept, fn) // not a fragment of this one
			}
		}
		f.Funcs = append(kept, f3.Funcs...)
		f.Stores = append(f.Stores, f3.Stores...)
		f.Structs = append(f.Structs, f3.Structs...)
	}
	return f
}

// shiftLines moves every line number in f down by d lines (f was parsed
// from a piece of its file starting at line d+1).
func shiftLines(f *File, d int32) {
	vars := func(vs []Var) {
		for i := range vs {
			vs[i].Line += d
		}
	}
	for i := range f.Funcs {
		fn := &f.Funcs[i]
		fn.Line += d
		fn.EndLine += d
		vars(fn.Params)
		vars(fn.Locals)
		for k := range fn.Nodes {
			if fn.Nodes[k].Line > 0 {
				fn.Nodes[k].Line += d
			}
		}
	}
	for i := range f.Stores {
		f.Stores[i].Line += d
	}
	for i := range f.Structs {
		vars(f.Structs[i].Fields)
	}
	vars(f.Globals)
}

func blankRange(b []byte, s, e int32) {
	for k := s; k < e && int(k) < len(b); k++ {
		if b[k] != '\n' {
			b[k] = ' '
		}
	}
}

type callInfo struct {
	start, end uint32
	line, col  int32
	callee     string
	indirect   bool
	recv       string
	args       []string
	used       bool
}

type extractor struct {
	src   []byte
	file  *File
	calls []callInfo // sorted by start byte
}

func (x *extractor) text(n *sitter.Node) string {
	return string(x.src[n.StartByte():n.EndByte()])
}

func pos(n *sitter.Node) (int32, int32) {
	p := n.StartPoint()
	return int32(p.Row) + 1, int32(p.Column) + 1
}

func (x *extractor) run(root *sitter.Node) {
	qc := sitter.NewQueryCursor()
	defer qc.Close()
	qc.Exec(query, root)
	var fns []*sitter.Node
	for {
		m, ok := qc.NextMatch()
		if !ok {
			break
		}
		switch m.PatternIndex {
		case patCall:
			var call, cf, ca *sitter.Node
			for _, c := range m.Captures {
				switch c.Index {
				case 0:
					cf = c.Node
				case 1:
					ca = c.Node
				case 2:
					call = c.Node
				}
			}
			if call != nil && cf != nil && ca != nil {
				x.addCall(call, cf, ca)
			}
		case patFn:
			fns = append(fns, m.Captures[0].Node)
		case patInit:
			x.addInitStore(m.Captures[0].Node, m.Captures[1].Node)
		case patAssign:
			var ar, af, av *sitter.Node
			for _, c := range m.Captures {
				switch c.Index {
				case capAssignRecv:
					ar = c.Node
				case capAssignField:
					af = c.Node
				case capAssignValue:
					av = c.Node
				}
			}
			if af == nil || av == nil {
				continue
			}
			l, c := pos(af)
			st := FieldStore{Field: x.text(af), Func: x.text(av), Line: l, Col: c}
			if ar != nil && ar.EndByte()-ar.StartByte() < 64 {
				st.Recv = x.text(ar)
			}
			x.file.Stores = append(x.file.Stores, st)
		case patStruct, patUnion:
			st := Struct{Name: x.text(m.Captures[0].Node)}
			x.fields(m.Captures[1].Node, &st, 0)
			x.file.Structs = append(x.file.Structs, st)
		case patTypedef:
			x.addTypedef(m.Captures[0].Node)
		case patErr:
			x.file.ErrorNodes++
		}
	}
	sort.Slice(x.calls, func(i, j int) bool { return x.calls[i].start < x.calls[j].start })
	x.functions(root, fns)
	x.topLevel(root)
	x.perCPU()
	x.macros()
	x.enums(root)
}

func (x *extractor) addCall(call, cf, ca *sitter.Node) {
	ci := callInfo{start: call.StartByte(), end: call.EndByte()}
	ci.line, ci.col = pos(call)
	switch {
	case sym.has("identifier", cf):
		ci.callee = x.text(cf)
	case sym.has("field_expression", cf):
		t := x.text(cf)
		ci.callee, ci.recv = splitField(t)
		ci.indirect = true
	case sym.has("parenthesized_expression", cf) || sym.has("pointer_expression", cf):
		t := strings.Trim(strings.TrimSpace(x.text(cf)), "()* \t\n")
		if isIdent(t) {
			ci.callee = t
		} else if f, r := splitField(t); f != "" {
			ci.callee, ci.recv, ci.indirect = f, r, true
		}
	case sym.has("call_expression", cf):
		// guard(type)(&lock): the inner call names the guard class.
		inner := x.text(cf)
		if strings.HasPrefix(inner, "guard") {
			ci.callee = "guard"
			if i := strings.IndexByte(inner, '('); i >= 0 {
				ci.recv = strings.TrimSpace(strings.Trim(inner[i:], "()"))
			}
		}
	}
	if ci.callee == "" {
		return
	}
	ci.args = SplitArgs(x.src[ca.StartByte():ca.EndByte()])
	x.calls = append(x.calls, ci)
}

// splitField splits "a->b.c" into field "c" and receiver "a->b".
func splitField(t string) (field, recv string) {
	t = strings.TrimSpace(t)
	i := strings.LastIndexAny(t, ".>")
	if i <= 0 {
		return "", ""
	}
	field = strings.TrimSpace(t[i+1:])
	recv = t[:i]
	if t[i] == '>' {
		if !strings.HasSuffix(recv, "-") {
			return "", ""
		}
		recv = recv[:len(recv)-1]
	}
	if !isIdent(field) {
		return "", ""
	}
	return field, strings.TrimSpace(recv)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// SplitArgs splits the text of an argument list "(a, f(b, c), d)" at its
// top-level commas, normalising white space.
func SplitArgs(b []byte) []string {
	if len(b) >= 2 && b[0] == '(' {
		b = b[1:]
		if b[len(b)-1] == ')' {
			b = b[:len(b)-1]
		}
	}
	var out []string
	start := 0
	scanCode(b, 0, func(i, depth int) bool {
		if b[i] == ',' && depth == 0 {
			out = append(out, normSpace(b[start:i]))
			start = i + 1
		}
		return true
	})
	if last := normSpace(b[start:]); last != "" || len(out) > 0 {
		out = append(out, last)
	}
	return out
}

func normSpace(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}

func (x *extractor) addInitStore(field, val *sitter.Node) {
	st := FieldStore{Field: x.text(field), Func: x.text(val)}
	st.Line, st.Col = pos(field)
	// Find the variable being initialised: initializer_pair ->
	// initializer_list (possibly nested) -> init_declarator.
	n := field.Parent()
	for i := 0; n != nil && i < 8; i++ {
		if sym.has("init_declarator", n) {
			if d := n.ChildByFieldName("declarator"); d != nil {
				st.Var, _ = declName(x, d)
			}
			break
		}
		n = n.Parent()
	}
	x.file.Stores = append(x.file.Stores, st)
}

func (x *extractor) addTypedef(n *sitter.Node) {
	t := n.ChildByFieldName("type")
	if t == nil {
		return
	}
	tname := x.typeName(t)
	for i := 0; i < int(n.NamedChildCount()); i++ {
		d := n.NamedChild(i)
		if d.Equal(t) || !isDeclarator(d) {
			continue
		}
		name, ptr := declName(x, d)
		if name == "" {
			continue
		}
		if tname == "" && (sym.has("struct_specifier", t) || sym.has("union_specifier", t)) {
			// typedef struct { ... } name_t;
			if body := t.ChildByFieldName("body"); body != nil {
				st := Struct{Name: name}
				x.fields(body, &st, 0)
				x.file.Structs = append(x.file.Structs, st)
			}
			continue
		}
		if tname != "" && tname != name {
			x.file.Typedefs = append(x.file.Typedefs, Typedef{Name: name, Type: tname, Ptr: ptr})
		}
	}
}

// fields appends the fields of a field_declaration_list, flattening
// anonymous struct/union members.
func (x *extractor) fields(list *sitter.Node, st *Struct, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < int(list.NamedChildCount()); i++ {
		fd := list.NamedChild(i)
		if !sym.has("field_declaration", fd) {
			continue
		}
		t := fd.ChildByFieldName("type")
		if t == nil {
			continue
		}
		tname := x.typeName(t)
		nd := 0
		for j := 0; j < int(fd.NamedChildCount()); j++ {
			d := fd.NamedChild(j)
			if !isDeclarator(d) {
				continue
			}
			name, ptr := declName(x, d)
			if name != "" {
				l, _ := pos(d)
				st.Fields = append(st.Fields, Var{Name: name, Type: tname, Ptr: ptr, Line: l})
				nd++
			}
		}
		if nd == 0 && (sym.has("struct_specifier", t) || sym.has("union_specifier", t)) {
			if body := t.ChildByFieldName("body"); body != nil {
				x.fields(body, st, depth+1)
			}
		}
	}
}

func isDeclarator(n *sitter.Node) bool {
	return sym.has("identifier", n) || sym.has("field_identifier", n) || sym.has("type_identifier", n) ||
		sym.has("pointer_declarator", n) || sym.has("array_declarator", n) ||
		sym.has("init_declarator", n) || sym.has("function_declarator", n) ||
		sym.has("parenthesized_declarator", n)
}

// declName returns the declared name and pointer depth of a declarator.
func declName(x *extractor, d *sitter.Node) (string, int8) {
	var ptr int8
	for i := 0; d != nil && i < 16; i++ {
		switch {
		case sym.has("identifier", d) || sym.has("field_identifier", d) || sym.has("type_identifier", d):
			return x.text(d), ptr
		case sym.has("pointer_declarator", d):
			ptr++
			d = d.ChildByFieldName("declarator")
		case sym.has("array_declarator", d):
			ptr++
			d = d.ChildByFieldName("declarator")
		case sym.has("init_declarator", d), sym.has("function_declarator", d):
			d = d.ChildByFieldName("declarator")
		case sym.has("parenthesized_declarator", d):
			if d.NamedChildCount() == 0 {
				return "", 0
			}
			d = d.NamedChild(0)
		default:
			return "", 0
		}
	}
	return "", 0
}

// typeName gives the type name of a type node: the struct/union tag or the
// typedef/primitive name. Anonymous aggregates give "".
func (x *extractor) typeName(t *sitter.Node) string {
	switch {
	case sym.has("struct_specifier", t), sym.has("union_specifier", t), sym.has("enum_specifier", t):
		if n := t.ChildByFieldName("name"); n != nil {
			return x.text(n)
		}
		return ""
	case sym.has("macro_type_specifier", t):
		if n := t.ChildByFieldName("name"); n != nil {
			return x.text(n)
		}
	}
	return normSpace([]byte(x.text(t)))
}
