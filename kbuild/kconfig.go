package kbuild

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kconfig is what the tree's Kconfig files say about which config symbols
// can be enabled at all on an architecture: enough to tell that code gated
// by ARCH_LAYERSCAPE is never built for x86, that INDIRECT_IOMEM (which
// only arch/um selects) is never set on x86, or that a driver whose only
// way in is COMPILE_TEST is not part of any real configuration.
//
// Each symbol is read from every Kconfig* file of the tree. A definition
// under arch/A/ belongs to architecture A; others are generic. A symbol
// can be enabled on an architecture when one of its definitions visible
// there has a prompt, or a default that is not n, and its dependencies
// (its own `depends on`, and those of the enclosing `if`, `menu` and
// `choice` blocks) are not false; or when a symbol that can be enabled
// selects it. Expressions are evaluated in three values (no, maybe, yes):
// a symbol that can be enabled is maybe, one that cannot is no, and
// COMPILE_TEST is no. Dependencies between two maybes are not followed
// (two gates that each can hold are taken to hold together).
type Kconfig struct {
	syms map[string]*ksym
	memo map[string]map[string]tri // arch -> symbol -> can be enabled
	// Files counts the Kconfig files read.
	Files int
}

type ksym struct {
	defs     []kdef
	selected []ksel
}

type kdef struct {
	arch     string   // "" for generic
	deps     []string // expressions, all must hold
	prompt   bool
	defaults []string // default expressions (their `if` conditions folded in with &&)
}

type ksel struct {
	arch string
	by   string // the selecting symbol
	cond string // "" or the select's `if` expression
	deps []string
}

type tri uint8

const (
	triNo tri = iota
	triMaybe
	triYes
)

// ReadKconfig reads every Kconfig* file under root. A tree without any
// gives an empty model under which every symbol can be enabled.
func ReadKconfig(root string) *Kconfig {
	k := &Kconfig{syms: map[string]*ksym{}, memo: map[string]map[string]tri{}}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "tools", "scripts", "Documentation", "samples":
				if p != root {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), "Kconfig") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		k.Files++
		k.parse(archDir(filepath.ToSlash(rel)), data)
		return nil
	})
	return k
}

// archDir returns A for a path under arch/A/, else "".
func archDir(rel string) string {
	if !strings.HasPrefix(rel, "arch/") {
		return ""
	}
	rest := rel[len("arch/"):]
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return rest[:i]
	}
	return ""
}

// parse reads one Kconfig file's entries.
func (k *Kconfig) parse(arch string, data []byte) {
	var blocks [][]string // enclosing if/menu/choice conditions
	var cur *kdef         // the entry being read
	var curName string
	menuOpen := false // a menu or choice whose `depends on` lines come next
	flush := func() {
		if cur != nil {
			s := k.sym(curName)
			s.defs = append(s.defs, *cur)
			cur = nil
		}
	}
	outer := func() []string {
		var out []string
		for _, b := range blocks {
			out = append(out, b...)
		}
		return out
	}
	helpIndent := -1
	sc := bufio.NewScanner(bytes.NewReader(joinContinuations(data)))
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if helpIndent >= 0 {
			// help text runs while lines are blank or indented deeper
			if line == "" || indent(raw) > helpIndent {
				continue
			}
			helpIndent = -1
		}
		if i := strings.IndexByte(line, '#'); i >= 0 && !strings.Contains(line[:i], "\"") {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		word, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			word, rest = line[:i], strings.TrimSpace(line[i+1:])
		}
		switch word {
		case "config", "menuconfig":
			flush()
			menuOpen = false
			curName = rest
			cur = &kdef{arch: arch, deps: outer()}
			continue
		case "if":
			flush()
			menuOpen = false
			blocks = append(blocks, []string{rest})
			continue
		case "menu", "choice":
			flush()
			blocks = append(blocks, nil)
			menuOpen = true
			continue
		case "endif", "endmenu", "endchoice":
			flush()
			menuOpen = false
			if len(blocks) > 0 {
				blocks = blocks[:len(blocks)-1]
			}
			continue
		case "source", "rsource", "osource", "orsource", "comment", "mainmenu":
			flush()
			menuOpen = false
			continue
		case "help", "---help---":
			helpIndent = indent(raw)
			continue
		}
		if cur == nil {
			if menuOpen && word == "depends" && strings.HasPrefix(rest, "on ") && len(blocks) > 0 {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], strings.TrimSpace(rest[3:]))
			}
			continue
		}
		switch word {
		case "depends":
			if strings.HasPrefix(rest, "on ") {
				cur.deps = append(cur.deps, strings.TrimSpace(rest[3:]))
			}
		case "bool", "tristate", "string", "int", "hex":
			if strings.HasPrefix(rest, "\"") {
				cur.prompt = true
			}
		case "prompt":
			cur.prompt = true
		case "def_bool", "def_tristate":
			cur.defaults = append(cur.defaults, ifFold(rest))
		case "default":
			cur.defaults = append(cur.defaults, ifFold(rest))
		case "select":
			target, cond := rest, ""
			if i := strings.Index(rest, " if "); i >= 0 {
				target, cond = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+4:])
			}
			s := k.sym(target)
			s.selected = append(s.selected, ksel{arch: arch, by: curName, cond: cond, deps: cur.deps})
		}
	}
	flush()
}

// ifFold turns `EXPR if COND` into `(EXPR) && (COND)`.
func ifFold(s string) string {
	if i := strings.Index(s, " if "); i >= 0 {
		return "(" + strings.TrimSpace(s[:i]) + ") && (" + strings.TrimSpace(s[i+4:]) + ")"
	}
	return s
}

func indent(s string) int {
	n := 0
	for _, c := range s {
		switch c {
		case ' ':
			n++
		case '\t':
			n = (n/8 + 1) * 8
		default:
			return n
		}
	}
	return n
}

func (k *Kconfig) sym(name string) *ksym {
	s := k.syms[name]
	if s == nil {
		s = &ksym{}
		k.syms[name] = s
	}
	return s
}

// Possible reports whether a config symbol (without CONFIG_) can be
// enabled on an architecture (its arch/ directory name). With no Kconfig
// read, every symbol can.
func (k *Kconfig) Possible(sym, arch string) bool {
	if k == nil || len(k.syms) == 0 {
		return true
	}
	return k.value(sym, arch) != triNo
}

func (k *Kconfig) value(sym, arch string) tri {
	if sym == "COMPILE_TEST" {
		return triNo
	}
	m := k.memo[arch]
	if m == nil {
		m = map[string]tri{}
		k.memo[arch] = m
	}
	if v, ok := m[sym]; ok {
		return v
	}
	m[sym] = triMaybe // a cycle of dependencies: assume it can
	v := k.compute(sym, arch)
	m[sym] = v
	return v
}

func (k *Kconfig) compute(sym, arch string) tri {
	s := k.syms[sym]
	if s == nil {
		return triNo // no Kconfig defines it
	}
	best := triNo
	visible := func(a string) bool { return a == "" || a == arch }
	for _, d := range s.defs {
		if !visible(d.arch) {
			continue
		}
		deps := triYes
		for _, e := range d.deps {
			if v := k.eval(e, arch); v < deps {
				deps = v
			}
		}
		if deps == triNo {
			continue
		}
		if d.prompt && triMaybe > best {
			best = triMaybe
		}
		for _, e := range d.defaults {
			v := k.eval(e, arch)
			if v > deps {
				v = deps
			}
			if v == triYes && !d.prompt && len(d.deps) == 0 {
				best = triYes
			} else if v != triNo && best < triMaybe {
				best = triMaybe
			}
		}
	}
	if best != triNo {
		return best
	}
	for _, sl := range s.selected {
		if !visible(sl.arch) || sl.by == sym {
			continue
		}
		if k.value(sl.by, arch) == triNo {
			continue
		}
		if sl.cond != "" && k.eval(sl.cond, arch) == triNo {
			continue
		}
		if best = triMaybe; sl.cond == "" && k.value(sl.by, arch) == triYes {
			// selected unconditionally by a symbol that is always set
			// (UML's `select ARCH_NO_PREEMPT`)
			return triYes
		}
	}
	return best
}

// eval evaluates a Kconfig expression on an architecture.
func (k *Kconfig) eval(e, arch string) tri {
	p := &exprParser{toks: tokenize(e), k: k, arch: arch}
	v := p.or()
	if p.bad {
		return triMaybe // an expression we cannot read rules nothing out
	}
	return v
}

type exprParser struct {
	toks []string
	i    int
	k    *Kconfig
	arch string
	bad  bool
}

func (p *exprParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *exprParser) next() string {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *exprParser) or() tri {
	v := p.and()
	for p.peek() == "||" {
		p.next()
		if w := p.and(); w > v {
			v = w
		}
	}
	return v
}

func (p *exprParser) and() tri {
	v := p.unary()
	for p.peek() == "&&" {
		p.next()
		if w := p.unary(); w < v {
			v = w
		}
	}
	return v
}

func (p *exprParser) unary() tri {
	if p.peek() == "!" {
		p.next()
		return triYes - p.unary()
	}
	return p.primary()
}

func (p *exprParser) primary() tri {
	t := p.next()
	switch t {
	case "(":
		v := p.or()
		if p.next() != ")" {
			p.bad = true
		}
		return v
	case "", ")", "&&", "||", "=", "!=", "<", ">", "<=", ">=":
		p.bad = true
		return triMaybe
	}
	switch p.peek() {
	case "=", "!=", "<", ">", "<=", ">=":
		// comparisons of values are not evaluated, except a symbol that
		// cannot be set compared equal to y
		op := p.next()
		rhs := p.next()
		if op == "=" && (rhs == "y" || rhs == "m") && p.atom(t) == triNo {
			return triNo
		}
		return triMaybe
	}
	return p.atom(t)
}

func (p *exprParser) atom(t string) tri {
	switch {
	case t == "y":
		return triYes
	case t == "n":
		return triNo
	case t == "m", strings.HasPrefix(t, "\""), t != "" && (t[0] >= '0' && t[0] <= '9' || t[0] == '$'):
		return triMaybe
	}
	if p.k.value(t, p.arch) == triNo {
		return triNo
	}
	if p.k.value(t, p.arch) == triYes {
		return triYes
	}
	return triMaybe
}

func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				j++
			}
			if j < len(s) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"), strings.HasPrefix(s[i:], "!="),
			strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			out = append(out, s[i:i+2])
			i += 2
		case strings.ContainsRune("()!=<>", rune(c)):
			out = append(out, string(c))
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()!=<>&|\"", rune(s[j])) {
				j++
			}
			if j == i {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}
