// Package kbuild reads a kernel tree's Makefile and Kbuild files, without
// running make, to tell for each source file which object it is linked
// into (a module such as videodev.ko, or one built-in object) and which
// config symbols gate it.
//
// Only the kbuild assignment forms are read: `obj-y`, `obj-m`,
// `obj-$(CONFIG_X)` and `lib-*` lists of objects and subdirectories, and the
// member lists of composite objects (`x-y`, `x-objs`, `x-$(CONFIG_Y)`).
// Conditionals, functions and variables other than these are not
// evaluated: a conditional's assignments all count (every configuration
// the tree allows), and a word that is not a plain object or directory is
// ignored. A file no Makefile names falls back to its directory (see
// Component), so an unreadable Makefile never stops a scan.
package kbuild

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Object is what the model knows of one source file.
type Object struct {
	// Module names the object the file is linked into: the Makefile's
	// directory and the top-level object ("drivers/media/mc/mc" for
	// mc-request.c, "kernel/irq/manage" for a single-file object).
	Module string
	// Gates are the config symbols that must be set for the file to be
	// built: the directory's, the object's and the member's, outermost
	// first, without the CONFIG_ prefix.
	Gates []string
}

// Tree is the model of the Makefiles read.
type Tree struct {
	objs map[string]Object // cleaned source path (.c) -> its object
	// dirGates: directory -> the gates under which its parent descends
	// into it
	dirGates map[string][]string
	// modulesIn: directory -> the modules of the files in it
	modulesIn map[string][]string
	// Read counts the Makefiles read; Unread the directories given whose
	// Makefile could not be read.
	Read, Unread int
	// Kconfig is the tree's Kconfig model (nil outside a kernel tree).
	Kconfig *Kconfig
	// Config, when set, is the one configuration that counts (--kconfig):
	// it decides instead of Kconfig. NotBuilt counts the files it left
	// out of the program.
	Config   *Config
	NotBuilt int
	// defines: per directory, the macros its Makefile defines on the
	// command line (`ccflags-$(CONFIG_FOO_DEBUG) += -DDEBUG`)
	defines map[string]map[string]bool
}

// Defined reports whether the Makefile of the directory of file p, or of
// a directory above it (subdir-ccflags), may define macro name for the
// compiler (-Dname).
func (t *Tree) Defined(p, name string) bool {
	if t == nil || t.defines == nil {
		return false
	}
	for d := path.Dir(path.Clean(p)); ; d = path.Dir(d) {
		if t.defines[d][name] {
			return true
		}
		if d == "." || d == "/" || d == "" {
			return false
		}
	}
}

// Decides reports whether the model can tell buildable files from
// others (a Kconfig model or a configuration).
func (t *Tree) Decides() bool { return t != nil && (t.Kconfig != nil || t.Config != nil) }

// Read builds the model from the Makefile or Kbuild file of each
// directory given (kbuild reads Kbuild first when both exist). Directories
// without one are skipped; an unreadable file counts in Unread.
func Read(dirs []string) *Tree {
	t := &Tree{objs: map[string]Object{}, dirGates: map[string][]string{}, modulesIn: map[string][]string{}}
	sort.Strings(dirs)
	seen := map[string]bool{}
	for _, d := range dirs {
		d = filepath.Clean(d)
		if seen[d] {
			continue
		}
		seen[d] = true
		var data []byte
		found := false
		for _, name := range []string{"Kbuild", "Makefile"} {
			b, err := os.ReadFile(filepath.Join(d, name))
			if err == nil {
				data, found = b, true
				break
			}
			if !os.IsNotExist(err) {
				t.Unread++
			}
		}
		if !found {
			continue
		}
		t.Read++
		t.add(filepath.ToSlash(d), data)
	}
	// directory gates reach down into subdirectories
	for p, o := range t.objs {
		var gates []string
		for _, g := range append(t.gatesOf(path.Dir(p)), o.Gates...) {
			gates = appendUnique(gates, g)
		}
		o.Gates = gates
		t.objs[p] = o
		dir := path.Dir(p)
		t.modulesIn[dir] = appendUnique(t.modulesIn[dir], o.Module)
	}
	return t
}

// gatesOf returns the gates of a directory from its ancestors' Makefiles.
func (t *Tree) gatesOf(dir string) []string {
	var chain [][]string
	for d := dir; d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if g, ok := t.dirGates[d]; ok {
			chain = append(chain, g)
		}
		if path.Dir(d) == d {
			break
		}
	}
	var out []string
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i]...)
	}
	return out
}

var assignRe = regexp.MustCompile(`^\s*([A-Za-z0-9_.\-$(){}/]+)\s*(\+=|:=|\?=|=)\s*(.*)$`)

// makefile is one Makefile's assignments, by variable.
type assign struct {
	gate  string // CONFIG symbol of the list's suffix, "" for -y/-m/-objs
	words []string
}

// add reads one Makefile of directory dir.
// defineRe finds a -DNAME compiler flag.
var defineRe = regexp.MustCompile(`(?:^|[\s'"])-D([A-Za-z_][A-Za-z0-9_]*)`)

func (t *Tree) add(dir string, data []byte) {
	vars := map[string][]assign{}  // "obj", "lib" and composite names -> lists
	plain := map[string][]string{} // other variables, for $(var) in lists
	sc := bufio.NewScanner(bytes.NewReader(joinContinuations(data)))
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, d := range defineRe.FindAllStringSubmatch(line, -1) {
			if t.defines == nil {
				t.defines = map[string]map[string]bool{}
			}
			cd := path.Clean(dir)
			if t.defines[cd] == nil {
				t.defines[cd] = map[string]bool{}
			}
			t.defines[cd][d[1]] = true
		}
		m := assignRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lhs, op, rhs := m[1], m[2], strings.Fields(expandFuncs(m[3], plain))
		name, suffix, ok := splitListName(lhs)
		if !ok {
			if op == "+=" {
				plain[lhs] = append(plain[lhs], rhs...)
			} else {
				plain[lhs] = rhs
			}
			continue
		}
		gate := ""
		if strings.HasPrefix(suffix, "$(CONFIG_") && strings.HasSuffix(suffix, ")") {
			gate = suffix[len("$(CONFIG_") : len(suffix)-1]
		} else if suffix != "y" && suffix != "m" && suffix != "objs" && suffix != "" {
			continue // obj-n, obj-$(foo): not a configuration we can name
		}
		var words []string
		for _, w := range rhs {
			words = append(words, expand(w, plain)...)
		}
		vars[name] = append(vars[name], assign{gate: gate, words: words})
	}
	var tops []assign
	tops = append(tops, vars["obj"]...)
	tops = append(tops, vars["lib"]...)
	for _, a := range tops {
		for _, w := range a.words {
			if strings.HasSuffix(w, "/") {
				sub := path.Clean(path.Join(dir, w))
				if a.gate != "" {
					t.dirGates[sub] = appendUnique(t.dirGates[sub], a.gate)
				} else if _, ok := t.dirGates[sub]; !ok {
					t.dirGates[sub] = nil
				}
				continue
			}
			if !strings.HasSuffix(w, ".o") {
				continue
			}
			obj := strings.TrimSuffix(w, ".o")
			module := path.Join(dir, obj)
			var gates []string
			if a.gate != "" {
				gates = []string{a.gate}
			}
			t.members(dir, module, obj, gates, vars, 0)
		}
	}
}

// members records the source files of object obj (a composite's members,
// or the object's own source) as linked into module.
func (t *Tree) members(dir, module, obj string, gates []string, vars map[string][]assign, depth int) {
	lists, composite := vars[obj]
	if !composite || obj == "obj" || obj == "lib" || depth > 4 {
		src := path.Clean(path.Join(dir, obj+".c"))
		if _, had := t.objs[src]; !had {
			t.objs[src] = Object{Module: module, Gates: gates}
		}
		return
	}
	for _, a := range lists {
		g := gates
		if a.gate != "" {
			g = append(append([]string(nil), gates...), a.gate)
		}
		for _, w := range a.words {
			if !strings.HasSuffix(w, ".o") {
				continue
			}
			m := strings.TrimSuffix(w, ".o")
			if m == obj {
				continue
			}
			t.members(dir, module, m, g, vars, depth+1)
		}
	}
}

// splitListName splits `obj-$(CONFIG_X)`, `foo-y`, `foo-objs` into the
// list's name and suffix; ok is false for variables that are not object
// lists (flags, host programs, targets).
func splitListName(lhs string) (name, suffix string, ok bool) {
	i := strings.LastIndex(lhs, "-")
	if j := strings.Index(lhs, "-$("); j >= 0 {
		i = j
	}
	if i <= 0 {
		return "", "", false
	}
	name, suffix = lhs[:i], lhs[i+1:]
	switch {
	case suffix == "y", suffix == "m", suffix == "objs":
	case strings.HasPrefix(suffix, "$(CONFIG_") && strings.HasSuffix(suffix, ")"):
	case strings.HasPrefix(suffix, "$("):
	default:
		return "", "", false
	}
	for _, bad := range []string{"ccflags", "asflags", "ldflags", "cflags", "always", "hostprogs", "extra",
		"targets", "clean", "userprogs", "userccflags", "subdir", "header", "CFLAGS", "AFLAGS", "KASAN", "KCSAN",
		"UBSAN", "KCOV", "GCOV", "OBJECT_FILES", "hostccflags", "HOST"} {
		if strings.HasPrefix(name, bad) {
			return "", "", false
		}
	}
	if strings.ContainsAny(name, "$(){}/") {
		return "", "", false
	}
	return name, suffix, true
}

// expand replaces a word that is a reference to a variable of the same
// Makefile by that variable's words; other references are dropped.
func expand(w string, plain map[string][]string) []string {
	if !strings.Contains(w, "$") {
		return []string{w}
	}
	if strings.HasPrefix(w, "$(") && strings.HasSuffix(w, ")") && strings.Count(w, "$") == 1 {
		v := w[2 : len(w)-1]
		var out []string
		for _, x := range plain[v] {
			if !strings.Contains(x, "$") {
				out = append(out, x)
			}
		}
		return out
	}
	return nil
}

// expandFuncs rewrites `$(addprefix P,W...)` as the prefixed words and a
// `$(var)` of the same Makefile as its words, the two forms kernel
// Makefiles build object lists with.
func expandFuncs(s string, plain map[string][]string) string {
	for k := 0; k < 16 && strings.Contains(s, "$(addprefix "); k++ {
		i := strings.Index(s, "$(addprefix ")
		j, depth := i+2, 1
		for ; j < len(s) && depth > 0; j++ {
			switch s[j] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		if depth != 0 {
			return s
		}
		body := s[i+len("$(addprefix ") : j-1]
		comma := strings.IndexByte(body, ',')
		if comma < 0 {
			return s
		}
		prefix := strings.TrimSpace(body[:comma])
		var words []string
		for _, w := range strings.Fields(body[comma+1:]) {
			for _, x := range expand(w, plain) {
				words = append(words, prefix+x)
			}
		}
		s = s[:i] + strings.Join(words, " ") + s[j:]
	}
	return s
}

// joinContinuations joins backslash-continued lines.
func joinContinuations(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\\\r\n"), []byte(" "))
	return bytes.ReplaceAll(b, []byte("\\\n"), []byte(" "))
}

// Lookup returns what the Makefiles say of a source file.
func (t *Tree) Lookup(p string) (Object, bool) {
	if t == nil {
		return Object{}, false
	}
	o, ok := t.objs[path.Clean(filepath.ToSlash(p))]
	return o, ok
}

// Component names the unit of code a file belongs to, for telling which
// code can bind an object's operations: the module a Makefile links the
// file into; for a file no Makefile names (a header, a .c file #included
// by another), the one module of its directory's files if there is one,
// the file itself if the directory holds several, and the directory when
// no Makefile speaks of it at all (a folder of sources outside a kernel
// tree is one unit).
func (t *Tree) Component(p string) string {
	p = path.Clean(filepath.ToSlash(p))
	if t != nil {
		if o, ok := t.objs[p]; ok {
			return o.Module
		}
		dir := path.Dir(p)
		if mods := t.modulesIn[dir]; len(mods) == 1 {
			return mods[0]
		} else if len(mods) > 1 {
			return p
		}
		if strings.HasPrefix(p, "include/") || strings.Contains(p, "/include/") {
			return p // a shared header serves every module
		}
	}
	return path.Dir(p)
}

// Files returns how many source files the model places.
func (t *Tree) Files() int {
	if t == nil {
		return 0
	}
	return len(t.objs)
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// ForFiles reads the Makefiles that can speak of the given source files:
// those of their directories and of the directories above them (a parent
// Makefile may list `sub/file.o` as a member), up to the paths' common
// root.
func ForFiles(files []string) *Tree {
	seen := map[string]bool{}
	var dirs []string
	for _, f := range files {
		d := filepath.Dir(f)
		for k := 0; k < 8 && !seen[d]; k++ {
			seen[d] = true
			dirs = append(dirs, d)
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	t := Read(dirs)
	if root := treeRoot(files); root != "" {
		t.Kconfig = ReadKconfig(root)
	}
	return t
}

// treeRoot finds the kernel tree holding the files: the nearest directory
// at or above their common directory with a Kconfig file and an arch/
// directory ("" when there is none).
func treeRoot(files []string) string {
	if len(files) == 0 {
		return ""
	}
	common, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		return ""
	}
	for _, f := range files[1:] {
		d, err := filepath.Abs(filepath.Dir(f))
		if err != nil {
			return ""
		}
		for common != d && !strings.HasPrefix(d, common+string(filepath.Separator)) {
			up := filepath.Dir(common)
			if up == common {
				break
			}
			common = up
		}
	}
	for d := common; ; d = filepath.Dir(d) {
		st1, err1 := os.Stat(filepath.Join(d, "Kconfig"))
		st2, err2 := os.Stat(filepath.Join(d, "arch"))
		if err1 == nil && !st1.IsDir() && err2 == nil && st2.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Buildable reports whether a source file can be built on an
// architecture: every config symbol gating it (as the Makefiles say) can
// be enabled there (with a Config: is set). A file the Makefiles do not place, or a tree without
// Kconfig, counts as buildable.
func (t *Tree) Buildable(p, arch string) bool {
	if t != nil && t.Config != nil {
		return t.InConfig(p, arch)
	}
	if t == nil || t.Kconfig == nil {
		return true
	}
	o, ok := t.objs[path.Clean(filepath.ToSlash(p))]
	if !ok {
		return true
	}
	for _, g := range o.Gates {
		if !t.Kconfig.Possible(g, arch) {
			return false
		}
	}
	return true
}
