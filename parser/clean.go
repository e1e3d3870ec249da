package parser

// The cleaning pass rewrites the few shapes of kernel C that tree-sitter's
// C grammar cannot parse without a preprocessor, and whose error recovery
// can swallow the rest of a file. It only ever overwrites bytes with
// spaces (or renames a word in place), so byte offsets, lines and columns
// stay those of the original file. The shapes:
//
//   - a conditional group (#if/#ifdef ... #else ... #endif) that splits a
//     statement or an expression: a branch with unbalanced brackets, one
//     ending in the middle of a statement (`if (x)`, `} else`), or any
//     group inside parentheses. Such a group keeps one branch (the first
//     whose condition is not a literal 0, as a configuration would) and
//     its directive lines are blanked. Groups of whole statements or
//     declarations are left to the grammar, which sees both sides.
//   - comments inside a directive: the grammar ends a #define's body at a
//     comment, so the continuation lines after it become code.
//   - `do { ... } while_each_thread(g, t);`: a do-body closed by a macro
//     that ends in `while (...)`. The macro name is renamed `while`.
//   - attribute macros with arguments standing before a declarator:
//     `static __printf(3, 4) __cold int f(...)`. A word in the reserved
//     `__` namespace followed by a balanced argument list, in a top-level
//     declaration, followed by further specifiers and then the declarator.
//   - unknown bare attributes in a function definition's specifiers:
//     `void __softirq_entry __do_softirq(void)`. Where the specifiers name
//     a type by keyword (void, int, struct x, ...), the other plain words
//     are attributes; where they do not, all plain words but the last.

type tokKind uint8

const (
	tIdent tokKind = iota
	tPunct
	tDirective
)

type ctok struct {
	start, end int32
	kind       tokKind
	// for tDirective: which conditional directive it is
	dir dirKind
	// for tDirective: the condition is a literal 0 (#if 0)
	zero bool
}

// dirKind is a directive's role in a conditional group.
type dirKind uint8

const (
	dOther dirKind = iota
	dIf            // #if, #ifdef, #ifndef
	dElse          // #elif, #else, #elifdef, #elifndef
	dEndif
)

func directiveKind(word []byte) dirKind {
	switch string(word) {
	case "if", "ifdef", "ifndef":
		return dIf
	case "elif", "else", "elifdef", "elifndef":
		return dElse
	case "endif":
		return dEndif
	}
	return dOther
}

// defItem is a top-level item that looks like a function definition to
// the lexer: a head with a parameter list, then a brace group.
type defItem struct {
	start, open, close int32 // head's first byte, '{', '}'
}

// clean returns src with the shapes above rewritten (src itself is not
// modified; the result may be src when nothing needed rewriting), and the
// items that look like function definitions.
func clean(src []byte) ([]byte, []defItem) {
	toks := lexC(src)
	out := src
	copied := false
	w := func() []byte {
		if !copied {
			out = append([]byte(nil), src...)
			copied = true
		}
		return out
	}
	blank := func(s, e int32) {
		b := w()
		for k := s; k < e; k++ {
			if b[k] != '\n' {
				b[k] = ' '
			}
		}
	}
	// comments in directives
	for _, t := range toks {
		if t.kind == tDirective {
			if hasComment(src[t.start:t.end]) {
				blankDirectiveComments(w(), t.start, t.end)
			}
		}
	}
	kept := conditionals(src, toks, blank)
	doWhileMacros(src, kept, w)
	items := declAttributes(src, kept, blank)
	bareMacroStatements(src, kept, items, blank)
	blankCalls(src, kept, blank)
	return out, items
}

// blankCalls blanks the macro calls the grammar cannot read:
//   - `__attribute__((...))` wherever it stands (a parameter's
//     `__attribute__((unused))` trips the grammar): no attribute carries a
//     meaning for the analysis;
//   - a call pasted between string literals (`"%" str(PATH_MAX) "s"`): the
//     grammar's string concatenation takes words, not calls, and the text
//     of a format string means nothing here;
//   - a call given an operator as an argument (`ALU(ADD, +)`,
//     `ATOMIC64_OPS(sub, -=)`): no C expression reads that, and the
//     grammar's recovery from it can run to the end of the file.
func blankCalls(src []byte, toks []ctok, blank func(s, e int32)) {
	isStr := func(i int) bool { return i >= 0 && i < len(toks) && tokPunct(src, toks[i], '"') }
	for i := 0; i+1 < len(toks); i++ {
		t := toks[i]
		if t.kind != tIdent || !tokPunct(src, toks[i+1], '(') {
			continue
		}
		j := matchClose(src, toks, i+1)
		if j < 0 {
			return
		}
		attr := tokIs(src, t, "__attribute__") || tokIs(src, t, "__attribute")
		if attr || isStr(i-1) || isStr(j+1) || j-i < 64 && hasOperatorArg(src, toks[i+2:j]) {
			blank(t.start, toks[j].end)
			i = j
		}
	}
}

// hasOperatorArg reports whether some top-level argument is made only of
// operator characters.
func hasOperatorArg(src []byte, args []ctok) bool {
	d := 0
	ops := 0
	other := false
	for k := 0; k <= len(args); k++ {
		if k == len(args) || d == 0 && tokPunct(src, args[k], ',') {
			if ops > 0 && !other {
				return true
			}
			ops, other = 0, false
			continue
		}
		t := args[k]
		if t.kind != tPunct {
			other = true
			continue
		}
		switch c := src[t.start]; c {
		case '(', '[', '{':
			d++
			other = true
		case ')', ']', '}':
			d--
			other = true
		case '+', '-', '*', '/', '%', '&', '|', '^', '<', '>', '=', '!', '~':
			ops++
		default:
			other = true
		}
	}
	return false
}

// bareMacroStatements blanks a statement macro used without ';' as the
// last statement of a block in a function body (`POSTAMBLE }`): the
// grammar cannot end the statement, and what the macro expands to is not
// known here anyway.
func bareMacroStatements(src []byte, toks []ctok, items []defItem, blank func(s, e int32)) {
	k := 0
	for i := 1; i+1 < len(toks); i++ {
		t := toks[i]
		for k < len(items) && items[k].close < t.start {
			k++
		}
		if k >= len(items) || t.start < items[k].open || t.kind != tIdent || !tokPunct(src, toks[i+1], '}') {
			continue
		}
		if p := toks[i-1]; (tokPunct(src, p, ';') || tokPunct(src, p, '}') || tokPunct(src, p, ')')) && p.start > items[k].open {
			c := src[t.start]
			if c >= '0' && c <= '9' {
				continue
			}
			blank(t.start, t.end)
		}
	}
}

func hasComment(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '/' && (b[i+1] == '*' || b[i+1] == '/') {
			return true
		}
	}
	return false
}

// blankDirectiveComments blanks the comments of the directive in b[s:e];
// a line break inside a block comment gets a continuation backslash so
// that the directive goes on.
func blankDirectiveComments(b []byte, s, e int32) {
	var quote byte
	for i := s; i < e; i++ {
		c := b[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote || c == '\n' {
				quote = 0
			}
			continue
		}
		switch {
		case c == '"' || c == '\'':
			quote = c
		case c == '/' && i+1 < e && b[i+1] == '*':
			j := i + 2
			for j+1 < e && !(b[j] == '*' && b[j+1] == '/') {
				j++
			}
			end := j + 2
			if end > e {
				end = e
			}
			for k := i; k < end; k++ {
				if b[k] == '\n' {
					// keep the directive going past the line break, where
					// there is a byte to spare for the backslash
					if k > i && b[k-1] != '\n' {
						b[k-1] = '\\'
					}
				} else {
					b[k] = ' '
				}
			}
			i = end - 1
		case c == '/' && i+1 < e && b[i+1] == '/':
			// to the end of the line, keeping a continuation backslash
			j := i
			for j < e && b[j] != '\n' {
				j++
			}
			cont := j > i && b[j-1] == '\\'
			for k := i; k < j; k++ {
				b[k] = ' '
			}
			if cont {
				b[j-1] = '\\'
			}
			i = j
		}
	}
}

// lexC splits src into identifiers, punctuation and directive lines;
// comments, string and character literals and numbers are skipped (a
// number is an identifier here: nothing below needs to tell them apart).
func lexC(src []byte) []ctok {
	toks := make([]ctok, 0, len(src)/5)
	n := int32(len(src))
	lineStart := true
	for i := int32(0); i < n; {
		c := src[i]
		switch {
		case c == '\n':
			lineStart = true
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '\\' && i+1 < n && src[i+1] == '\n':
			i += 2
			continue
		case c == '/' && i+1 < n && src[i+1] == '*':
			j := i + 2
			for j+1 < n && !(src[j] == '*' && src[j+1] == '/') {
				j++
			}
			i = j + 2
			continue
		case c == '/' && i+1 < n && src[i+1] == '/':
			for i < n && src[i] != '\n' {
				i++
			}
			continue
		case c == '#' && lineStart:
			s := i
			e := directiveEnd(src, i)
			t := ctok{start: s, end: e, kind: tDirective}
			j := i + 1
			for j < e && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			k := j
			for k < e && isWordByte(src[k]) {
				k++
			}
			t.dir = directiveKind(src[j:k])
			if k-j == 2 && src[j] == 'i' && src[j+1] == 'f' {
				r := k
				for r < e && (src[r] == ' ' || src[r] == '\t') {
					r++
				}
				q := r
				for q < e && isWordByte(src[q]) {
					q++
				}
				if q == r+1 && src[r] == '0' {
					t.zero = true
				}
			}
			toks = append(toks, t)
			i = e
			lineStart = true
			continue
		}
		lineStart = false
		switch {
		case isWordByte(c):
			j := i + 1
			for j < n && isWordByte(src[j]) {
				j++
			}
			toks = append(toks, ctok{start: i, end: j, kind: tIdent})
			i = j
		case c == '"' || c == '\'':
			j := i + 1
			for j < n && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			// a literal is one token, its opening quote
			toks = append(toks, ctok{start: i, end: i + 1, kind: tPunct})
			i = j + 1
			if i > n {
				i = n
			}
		default:
			toks = append(toks, ctok{start: i, end: i + 1, kind: tPunct})
			i++
		}
	}
	return toks
}

// directiveEnd returns the offset of the newline ending the directive at
// i, following continuation lines and block comments.
func directiveEnd(src []byte, i int32) int32 {
	n := int32(len(src))
	for i < n {
		c := src[i]
		switch {
		case c == '\\' && i+1 < n && src[i+1] == '\n':
			i += 2
		case c == '\\' && i+2 < n && src[i+1] == '\r' && src[i+2] == '\n':
			i += 3
		case c == '/' && i+1 < n && src[i+1] == '*':
			j := i + 2
			for j+1 < n && !(src[j] == '*' && src[j+1] == '/') {
				j++
			}
			i = j + 2
		case c == '\n':
			return i
		default:
			i++
		}
	}
	return n
}

// group is one #if ... #endif: the indices in toks of its directives.
type group struct {
	dirs []int // #if, #elif/#else..., #endif (the last may be missing)
}

// conditionals blanks the fragile conditional groups and returns the
// tokens that remain, in order, without directives.
func conditionals(src []byte, toks []ctok, blank func(s, e int32)) []ctok {
	// match the groups
	groupAt := map[int]*group{} // index of the opening directive -> group
	var stack []*group
	hasGroups := false
	for i, t := range toks {
		if t.kind != tDirective {
			continue
		}
		switch t.dir {
		case dIf:
			g := &group{dirs: []int{i}}
			groupAt[i] = g
			stack = append(stack, g)
			hasGroups = true
		case dElse:
			if len(stack) > 0 {
				g := stack[len(stack)-1]
				g.dirs = append(g.dirs, i)
			}
		case dEndif:
			if len(stack) > 0 {
				g := stack[len(stack)-1]
				g.dirs = append(g.dirs, i)
				stack = stack[:len(stack)-1]
			}
		}
	}
	if !hasGroups {
		out := make([]ctok, 0, len(toks))
		for _, t := range toks {
			if t.kind != tDirective {
				out = append(out, t)
			}
		}
		return out
	}
	c := &condCtx{src: src, toks: toks, groupAt: groupAt, blank: blank, sums: map[*group]*branchSum{}}
	c.walk(0, len(toks), 0)
	return c.kept
}

type condCtx struct {
	src     []byte
	toks    []ctok
	groupAt map[int]*group
	blank   func(s, e int32)
	kept    []ctok
	sums    map[*group]*branchSum // memoised intrinsic summaries
}

// branchSum summarises the tokens of a branch: the bracket balance and
// whether it ends where a statement or declaration may end.
type branchSum struct {
	paren, brace, bracket int
	last                  byte // last punctuation or 'w' for a word, 0 if empty
	lastWord              string
	fragile               bool // the group summarised (if any) is fragile by itself
	keep                  int  // branch to keep when fragile
}

// closedGroup returns the conditional group a directive at i opens, nil
// when it opens none or the group has no #endif.
func (c *condCtx) closedGroup(i int) *group {
	if g := c.groupAt[i]; g != nil && g.closed(c.toks) {
		return g
	}
	return nil
}

func (g *group) closed(toks []ctok) bool {
	return len(g.dirs) >= 2 && toks[g.dirs[len(g.dirs)-1]].dir == dEndif
}

// summary of toks[lo:hi], nested groups counted by the branch they keep.
func (c *condCtx) summary(lo, hi int) branchSum {
	var s branchSum
	for i := lo; i < hi; i++ {
		t := c.toks[i]
		switch t.kind {
		case tDirective:
			g := c.closedGroup(i)
			if g == nil {
				continue
			}
			gs := c.groupSum(g)
			k := 0
			if gs.fragile {
				k = gs.keep
			}
			if k < 0 || k+1 >= len(g.dirs) {
				i = g.dirs[len(g.dirs)-1]
				continue
			}
			bs := c.summary(g.dirs[k]+1, g.dirs[k+1])
			s.paren += bs.paren
			s.brace += bs.brace
			s.bracket += bs.bracket
			if bs.last != 0 {
				s.last, s.lastWord = bs.last, bs.lastWord
			}
			i = g.dirs[len(g.dirs)-1]
		case tIdent:
			s.last = 'w'
			s.lastWord = string(c.src[t.start:t.end])
		case tPunct:
			ch := c.src[t.start]
			switch ch {
			case '(':
				s.paren++
			case ')':
				s.paren--
			case '{':
				s.brace++
			case '}':
				s.brace--
			case '[':
				s.bracket++
			case ']':
				s.bracket--
			}
			s.last = ch
		}
	}
	return s
}

// groupSum decides whether a group is fragile by its own branches, and
// which branch it keeps then.
func (c *condCtx) groupSum(g *group) *branchSum {
	if s, ok := c.sums[g]; ok {
		return s
	}
	res := &branchSum{keep: -1}
	c.sums[g] = res // recursion guard
	for b := 0; b+1 < len(g.dirs); b++ {
		d := c.toks[g.dirs[b]]
		if res.keep < 0 && !d.zero {
			res.keep = b
		}
		s := c.summary(g.dirs[b]+1, g.dirs[b+1])
		if s.paren != 0 || s.brace != 0 || s.bracket != 0 {
			res.fragile = true
			continue
		}
		switch s.last {
		case 0, ';', '}':
		case 'w':
			if s.lastWord == "else" || s.lastWord == "do" {
				res.fragile = true
			}
			// a trailing word (a macro statement without ';') is left alone
		case ')':
			// `if (x)`, `while (x)`, `for (...)`: a statement head; a
			// macro call without ';' (`DEFINE_X(y)`) is left alone at
			// top level, see walk
			res.fragile = true
		default:
			res.fragile = true
		}
	}
	if res.keep < 0 {
		// every branch is #if 0: keep none (the last branch, empty of
		// meaning, is the #endif)
		res.keep = len(g.dirs) - 1
	}
	return res
}

// walk visits toks[lo:hi] with the bracket depth at lo, appending the
// tokens that stay to c.kept, and returns the depth at hi.
func (c *condCtx) walk(lo, hi int, depth int) int {
	for i := lo; i < hi; i++ {
		t := c.toks[i]
		switch t.kind {
		case tDirective:
			g := c.closedGroup(i)
			if g == nil {
				continue
			}
			gs := c.groupSum(g)
			fragile := gs.fragile
			if !fragile && depth > 0 {
				// inside parentheses or brackets: the grammar allows no
				// directive there
				fragile = true
			}
			if !fragile {
				for b := 0; b+1 < len(g.dirs); b++ {
					d := c.walk(g.dirs[b]+1, g.dirs[b+1], depth)
					if b == 0 {
						depth = d
					}
				}
			} else {
				keep := gs.keep
				for _, di := range g.dirs {
					dt := c.toks[di]
					c.blank(dt.start, dt.end)
				}
				for b := 0; b+1 < len(g.dirs); b++ {
					if b == keep {
						depth = c.walk(g.dirs[b]+1, g.dirs[b+1], depth)
						continue
					}
					s := c.toks[g.dirs[b]].end
					e := c.toks[g.dirs[b+1]].start
					c.blank(s, e)
				}
			}
			i = g.dirs[len(g.dirs)-1]
		case tPunct:
			switch c.src[t.start] {
			case '(', '[':
				depth++
			case ')', ']':
				if depth > 0 {
					depth--
				}
			}
			c.kept = append(c.kept, t)
		default:
			c.kept = append(c.kept, t)
		}
	}
	return depth
}

func tokIs(src []byte, t ctok, s string) bool {
	return int(t.end-t.start) == len(s) && string(src[t.start:t.end]) == s
}

func tokPunct(src []byte, t ctok, ch byte) bool {
	return t.kind == tPunct && src[t.start] == ch
}

// matchClose returns the index of the token closing the bracket at i.
func matchClose(src []byte, toks []ctok, i int) int {
	open := src[toks[i].start]
	var close byte
	switch open {
	case '(':
		close = ')'
	case '{':
		close = '}'
	case '[':
		close = ']'
	default:
		return -1
	}
	d := 0
	for j := i; j < len(toks); j++ {
		if toks[j].kind != tPunct {
			continue
		}
		switch src[toks[j].start] {
		case open:
			d++
		case close:
			d--
			if d == 0 {
				return j
			}
		}
	}
	return -1
}

// doWhileMacros renames the macro closing a do-body (`} while_each_thread(g,
// t);`) to `while`.
func doWhileMacros(src []byte, toks []ctok, w func() []byte) {
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != tIdent || !tokIs(src, toks[i], "do") || !tokPunct(src, toks[i+1], '{') {
			continue
		}
		j := matchClose(src, toks, i+1)
		if j < 0 || j+2 >= len(toks) {
			continue
		}
		m := toks[j+1]
		if m.kind != tIdent || m.end-m.start < 5 || tokIs(src, m, "while") || !tokPunct(src, toks[j+2], '(') {
			continue
		}
		b := w()
		copy(b[m.start:], "while")
		for k := m.start + 5; k < m.end; k++ {
			b[k] = ' '
		}
	}
}

var specKeywords = map[string]bool{
	"static": true, "extern": true, "inline": true, "const": true, "volatile": true,
	"register": true, "restrict": true, "auto": true, "_Noreturn": true, "__inline": true,
	"__inline__": true, "__restrict": true, "_Thread_local": true,
}

var typeKeywords = map[string]bool{
	"void": true, "char": true, "short": true, "int": true, "long": true, "float": true,
	"double": true, "signed": true, "unsigned": true, "_Bool": true, "__signed__": true,
	"__int128": true,
}

// declAttributes blanks attribute macros and unknown bare attributes in
// the heads of top-level declarations, and returns the items that look
// like function definitions.
func declAttributes(src []byte, toks []ctok, blank func(s, e int32)) []defItem {
	var items []defItem
	depth := 0
	itemStart := 0
	open := -1
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tPunct {
			continue
		}
		switch src[t.start] {
		case '{':
			if depth == 0 {
				head(src, toks[itemStart:i], blank)
				open = -1
				if itemStart < i && looksLikeDef(src, toks[itemStart:i]) {
					open = i
				}
			}
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
			if depth == 0 {
				if open >= 0 {
					hs := itemStart
					if nm, _, ok := declarator(src, toks[itemStart:open]); ok {
						hs += specStart(src, toks[itemStart:open], nm)
					}
					items = append(items, defItem{start: toks[hs].start, open: toks[open].start, close: t.start})
					open = -1
				}
				itemStart = i + 1
			}
		case ';':
			if depth == 0 {
				head(src, toks[itemStart:i], blank)
				itemStart = i + 1
			}
		}
	}
	return items
}

// matchOpen returns the index of the '(' opening the ')' at i.
func matchOpen(src []byte, toks []ctok, i int) int {
	d := 0
	for j := i; j >= 0; j-- {
		if toks[j].kind != tPunct {
			continue
		}
		switch src[toks[j].start] {
		case ')':
			d++
		case '(':
			d--
			if d == 0 {
				return j
			}
		}
	}
	return -1
}

// looksLikeDef reports whether a top-level head before '{' is a function
// definition's: a parameter list at depth 0, no '=' (an initializer), and
// it ends in ')' or a word (an attribute after the parameters).
func looksLikeDef(src []byte, h []ctok) bool {
	last := h[len(h)-1]
	if !(tokPunct(src, last, ')') || last.kind == tIdent) {
		return false
	}
	paren := false
	d := 0
	for _, t := range h {
		if t.kind != tPunct {
			if d == 0 && (tokIs(src, t, "typedef") || tokIs(src, t, "struct") && paren == false && len(h) == 2) {
				return false
			}
			continue
		}
		switch src[t.start] {
		case '(':
			if d == 0 {
				paren = true
			}
			d++
		case ')':
			d--
		case '=':
			if d == 0 {
				return false
			}
		}
	}
	return paren
}

// declarator finds, in the tokens of a top-level head, the name of the
// function it declares and its parameter list: the word before the last
// top-level parenthesised group that reads as a parameter list (attribute
// groups such as __printf(4, 0) or __acquires(&x->lock), before or after
// the declarator, do not). ok is false when there is none.
func declarator(src []byte, h []ctok) (name, open int, ok bool) {
	d := 0
	name, open = -1, -1
	for i := 0; i < len(h); i++ {
		t := h[i]
		if t.kind != tPunct {
			continue
		}
		switch src[t.start] {
		case '(':
			if d == 0 && i > 0 && h[i-1].kind == tIdent {
				if j := matchClose(src, h, i); j > 0 && paramList(src, h[i+1:j]) {
					name, open = i-1, i
				}
			}
			d++
		case ')':
			d--
		case '=':
			if d == 0 {
				return name, open, name >= 0
			}
		}
	}
	return name, open, name >= 0
}

// paramList reports whether the tokens between a group's parentheses read
// as parameter declarations: empty, (void), (...), or arguments of words,
// '*', brackets and nested declarator groups, at least one of them with
// two words or more (a type and a name). Literals, '&', '->', '.' and
// operators are expressions: an attribute's or a macro's arguments.
func paramList(src []byte, args []ctok) bool {
	if len(args) == 0 {
		return true
	}
	if len(args) == 1 && tokIs(src, args[0], "void") {
		return true
	}
	words, best := 0, 0
	for k, t := range args {
		if t.kind == tIdent {
			c := src[t.start]
			if c >= '0' && c <= '9' {
				return false
			}
			words++
			if words > best {
				best = words
			}
			continue
		}
		switch src[t.start] {
		case '*', '(', ')', '[', ']':
		case ',':
			words = 0
		case '.':
			// `...` is a parameter; a lone '.' is a member access
			if !(k+2 < len(args) && tokPunct(src, args[k+1], '.') || k > 0 && tokPunct(src, args[k-1], '.')) {
				return false
			}
			best = 2
		default:
			return false
		}
	}
	return best >= 2
}

var typeofWords = map[string]bool{"typeof": true, "__typeof__": true, "__typeof": true, "_Alignas": true}

func isReserved(src []byte, t ctok) bool {
	return t.kind == tIdent && t.end-t.start > 2 && src[t.start] == '_' && src[t.start+1] == '_'
}

// head cleans the specifiers of one top-level declaration (the tokens up
// to its first '{' or ';'): attribute groups `__x(...)` before the
// declarator are blanked, and so are unknown bare attribute words where
// the specifiers name a type by keyword (all but the last word where they
// do not).
func head(src []byte, h []ctok, blank func(s, e int32)) {
	if len(h) < 3 || len(h) > 400 {
		return
	}
	name, _, ok := declarator(src, h)
	if !ok {
		declMacro(src, h, blank)
		return
	}
	start := specStart(src, h, name)
	var words []ctok
	typed := false
	for i := start; i < name; i++ {
		t := h[i]
		if t.kind == tPunct {
			switch {
			case src[t.start] == '*':
				continue
			case src[t.start] == '(' && i > start && h[i-1].kind == tIdent:
				// an attribute group (__printf(4, 0), SEC("kprobe/x")):
				// blank it with its name
				j := matchClose(src, h, i)
				if j < 0 || j >= name || paramList(src, h[i+1:j]) || typeofWords[string(src[h[i-1].start:h[i-1].end])] {
					return
				}
				words = words[:len(words)-1]
				blank(h[i-1].start, h[j].end)
				i = j
				continue
			}
			return // not a plain head
		}
		if i+1 < name && tokPunct(src, h[i+1], '(') {
			words = append(words, t) // removed again at its '('
			continue
		}
		w := string(src[t.start:t.end])
		switch {
		case w == "struct" || w == "union" || w == "enum":
			typed = true
			i++ // the tag
		case typeKeywords[w]:
			typed = true
		case specKeywords[w], attrWords[w]:
		default:
			words = append(words, t)
		}
	}
	if !typed {
		if len(words) < 2 {
			return
		}
		words = words[:len(words)-1]
	}
	for _, t := range words {
		blank(t.start, t.end)
	}
}

// declMacro handles a declaration made by a macro whose arguments the
// grammar cannot read: `static const SNDRV_CTL_TLVD_DECLARE_DB_RANGE(tlv,
// 0, 2, TLV_DB_SCALE_ITEM(-8600, 200, 1), ...);`. With a storage class or
// qualifier before it and a literal or an expression among its arguments,
// everything after the first argument is blanked: what remains declares
// the first argument, as DEFINE_SPINLOCK(name) does.
func declMacro(src []byte, h []ctok, blank func(s, e int32)) {
	i := 0
	for i < len(h) && h[i].kind == tIdent && specKeywords[string(src[h[i].start:h[i].end])] {
		i++
	}
	if i == 0 || i+2 >= len(h) || h[i].kind != tIdent || !tokPunct(src, h[i+1], '(') {
		return
	}
	j := matchClose(src, h, i+1)
	if j != len(h)-1 {
		return
	}
	args := h[i+2 : j]
	if !literalArgs(src, args) && !exprArgs(src, args) {
		return
	}
	for k, t := range args {
		if tokPunct(src, t, ',') {
			// the first top-level comma
			if matchDepth(src, args[:k]) == 0 {
				blank(t.start, h[j].start)
			}
			return
		}
	}
}

// matchDepth is the bracket depth after toks.
func matchDepth(src []byte, toks []ctok) int {
	d := 0
	for _, t := range toks {
		if t.kind != tPunct {
			continue
		}
		switch src[t.start] {
		case '(', '[', '{':
			d++
		case ')', ']', '}':
			d--
		}
	}
	return d
}

// exprArgs reports whether an argument list holds an expression: '&',
// '->', a member '.', or an arithmetic operator.
func exprArgs(src []byte, args []ctok) bool {
	for _, t := range args {
		if t.kind != tPunct {
			continue
		}
		switch src[t.start] {
		case '&', '-', '+', '|', '<', '>', '.', '!', '~', '/', '%', '^', '?':
			return true
		}
	}
	return false
}

// specStart returns where the specifiers before the declarator name at
// h[name] begin: back over words, '*' and `__x(...)` attribute groups.
// Whatever comes before (a macro invocation without ';',
// `ATOMIC64_OPS(add, +=)`) is not part of the declaration.
func specStart(src []byte, h []ctok, name int) int {
	i := name - 1
	for i >= 0 {
		t := h[i]
		if t.kind == tIdent || tokPunct(src, t, '*') {
			i--
			continue
		}
		if tokPunct(src, t, ')') {
			if o := matchOpen(src, h, i); o > 0 && isReserved(src, h[o-1]) {
				i = o - 2
				continue
			}
		}
		break
	}
	return i + 1
}

// Prepare returns the text the grammar parses: src with attribute words
// blanked and the shapes above cleaned (offset-preserving).
func Prepare(src []byte) []byte {
	t, _ := clean(BlankAttributes(src))
	return t
}

// literalArgs reports whether some top-level argument of an argument list
// (the tokens between its parentheses) begins with a number or a string.
func literalArgs(src []byte, args []ctok) bool {
	d := 0
	first := true
	for _, t := range args {
		if first {
			c := src[t.start]
			if c >= '0' && c <= '9' || c == '"' || c == '\'' {
				return true
			}
			first = false
		}
		if t.kind != tPunct {
			continue
		}
		switch src[t.start] {
		case '(', '[', '{':
			d++
		case ')', ']', '}':
			d--
		case ',':
			if d == 0 {
				first = true
			}
		}
	}
	return false
}
