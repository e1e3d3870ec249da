package parser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parse(t testing.TB, src string) *File {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.ParseFile(context.Background(), "t.c", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fn(t *testing.T, f *File, name string) *Func {
	t.Helper()
	for i := range f.Funcs {
		if f.Funcs[i].Name == name {
			return &f.Funcs[i]
		}
	}
	t.Fatalf("function %s not found", name)
	return nil
}

func calls(f *Func) []string {
	var out []string
	for _, n := range f.Nodes {
		if n.Kind == NCall {
			out = append(out, n.Callee)
		}
	}
	return out
}

func TestKernelShapes(t *testing.T) {
	f := parse(t, `
static __always_inline int __must_check k(struct foo *foo)
{
	struct bar *p;

	list_for_each_entry(p, &foo->head, list) {
		spin_lock(&p->lock);
		spin_unlock(&p->lock);
	}
	for_each_possible_cpu(cpu) {
		per_cpu_work(cpu);
	}
	return 0;
}

SYSCALL_DEFINE2(getfoo, int, which, struct foo __user *, arg)
{
	mutex_lock(&foo_mutex);
	mutex_unlock(&foo_mutex);
	return 0;
}

static int gd(struct foo *f)
{
	guard(raw_spinlock_irqsave)(&f->lock);
	return 0;
}
`)
	k := fn(t, f, "k")
	loops := 0
	for _, n := range k.Nodes {
		if n.Kind == NLoop {
			loops++
		}
	}
	if loops != 2 {
		t.Errorf("k: %d loops, want 2 (list_for_each_entry, for_each_possible_cpu)", loops)
	}
	if got := strings.Join(calls(k), ","); !strings.Contains(got, "spin_lock") || !strings.Contains(got, "per_cpu_work") {
		t.Errorf("k: calls %s", got)
	}
	if got := calls(fn(t, f, "sys_getfoo")); len(got) != 2 {
		t.Errorf("SYSCALL_DEFINE body: calls %v", got)
	}
	g := fn(t, f, "gd")
	var guard, end bool
	for _, n := range g.Nodes {
		if n.Kind == NCall && n.Callee == "guard" && n.Recv() == "raw_spinlock_irqsave" {
			guard = true
		}
		if n.Kind == NScopeEnd {
			end = true
		}
	}
	if !guard || !end {
		t.Errorf("guard(): acquire %v, scope end %v", guard, end)
	}
}

func TestPerCPUAndGlobals(t *testing.T) {
	f := parse(t, "static DEFINE_PER_CPU(struct cpu_stopper, cpu_stopper);\nstatic DEFINE_SPINLOCK(foo_lock);\nstruct cpu_stopper { raw_spinlock_t lock; };\n")
	var pc, sl bool
	for _, g := range f.Globals {
		if g.Name == "cpu_stopper" && g.Type == "cpu_stopper" && g.PerCPU {
			pc = true
		}
		if g.Name == "foo_lock" && g.Type == "DEFINE_SPINLOCK" {
			sl = true
		}
	}
	if !pc || !sl {
		t.Errorf("globals %+v", f.Globals)
	}
}

// Bad input gives an error or fewer facts, never a panic.
func TestBadInput(t *testing.T) {
	p, _ := New()
	cases := map[string][]byte{
		"empty":                 {},
		"binary":                {0x7f, 'E', 'L', 'F', 0, 0, 1, 2},
		"non-utf8":              []byte("int f(void) { return '\xff\xfe'; }\n"),
		"unterminated comment":  []byte("int f(void) { /* never closed\n"),
		"unterminated string":   []byte("int f(void) { char *s = \"abc\n}\n"),
		"deeply nested":         []byte("int f(void) {" + strings.Repeat("if (a) {", 3000) + strings.Repeat("}", 3000) + "}"),
		"nested macro parens":   []byte("int f(void) { X(" + strings.Repeat("Y(", 5000) + strings.Repeat(")", 5000) + "); }"),
		"only defines (header)": bytes.Repeat([]byte("#define REG_FOO_BAR_MASK 0x00000001L\n"), 200000),
	}
	for name, src := range cases {
		f, err := p.ParseFile(context.Background(), name, src)
		if name == "binary" {
			if err == nil {
				t.Errorf("%s: want an error", name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if f == nil {
			t.Errorf("%s: no facts", name)
		}
	}
}

func TestCollectMissingAndLoops(t *testing.T) {
	if _, err := Collect([]string{"/no/such/path"}); err == nil {
		t.Error("missing path: want an error")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.c"), []byte("int a(void) { return 0; }\n"), 0o644)
	os.Symlink(dir, filepath.Join(dir, "loop"))
	files, err := Collect([]string{dir})
	if err != nil || len(files) != 1 {
		t.Errorf("symlink loop: files %v, err %v", files, err)
	}
}

func FuzzParseFile(f *testing.F) {
	seeds, _ := filepath.Glob("../fixtures/*/*.c")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("int f(void) { list_for_each_entry(p, h, m) spin_lock(&x); }"))
	p, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > maxFuzzInput {
			return // keep every input cheap: size is not what is fuzzed
		}
		fl, err := p.ParseFile(context.Background(), "fuzz.c", src)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		checkCFG(t, fl)
	})
}

// maxFuzzInput bounds a fuzz input so that each stays cheap to parse.
// (The stall `make test` showed, thousands of executions and then none,
// was the fuzzer minimizing each new interesting input for up to 60 s:
// the Makefile bounds that with -fuzzminimizetime.)
const maxFuzzInput = 4096

// checkCFG asserts the invariants every consumer of a CFG relies on.
func checkCFG(t *testing.T, fl *File) {
	t.Helper()
	for i := range fl.Funcs {
		fn := &fl.Funcs[i]
		if len(fn.Nodes) < 2 {
			t.Fatalf("%s: %d nodes, want entry and exit", fn.Name, len(fn.Nodes))
		}
		for ni, n := range fn.Nodes {
			for _, s := range n.Succ {
				if s < 0 || int(s) >= len(fn.Nodes) {
					t.Fatalf("%s: node %d has successor %d of %d nodes", fn.Name, ni, s, len(fn.Nodes))
				}
			}
			if n.Kind == NLoop && len(n.Succ) < 1 {
				t.Fatalf("%s: loop node %d without successors", fn.Name, ni)
			}
		}
		if fn.EndLine < fn.Line {
			t.Fatalf("%s: ends at line %d before it starts at %d", fn.Name, fn.EndLine, fn.Line)
		}
	}
}

// FuzzClean: the cleaning pass never panics and never moves a byte.
func FuzzClean(f *testing.F) {
	seeds, _ := filepath.Glob("../fixtures/*/*.c")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("void f(void)\n{\n#ifdef A\n\tif (x)\n#else\n\tif (y)\n#endif\n\t\tz();\n}\n"))
	f.Add([]byte("#if 0\n#else\n#endif\n#if A\n(\n#elif B\n#endif"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > maxFuzzInput {
			return
		}
		out := Prepare(src)
		if len(out) != len(src) {
			t.Fatalf("length %d, want %d", len(out), len(src))
		}
		for i := range src {
			if (src[i] == '\n') != (out[i] == '\n') {
				t.Fatalf("line break moved at %d", i)
			}
		}
	})
}

func BenchmarkParseFixtures(b *testing.B) {
	seeds, _ := filepath.Glob("../fixtures/*/*.c")
	var srcs [][]byte
	for _, s := range seeds {
		data, _ := os.ReadFile(s)
		srcs = append(srcs, data)
	}
	p, _ := New()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, s := range srcs {
			if _, err := p.ParseFile(context.Background(), "b.c", s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Brace-less iterators nest as flattened siblings: the inner loop's exit
// goes back to the outer head, the outer loop's exit to what follows.
func TestFlattenedNestedIterators(t *testing.T) {
	for _, src := range []string{
		"void f(void)\n{\n\tlist_for_each_entry(a, &h, l)\n\t\tlist_for_each_entry(b, &a->h, l)\n\t\t\tspin_lock(&b->lock);\n\tdone();\n}\n",
		"void f(void)\n{\n\tlist_for_each_entry(a, &h, l)\n\t\tlist_for_each_entry(b, &a->h, l) {\n\t\t\tspin_lock(&b->lock);\n\t\t}\n\tdone();\n}\n",
	} {
		f := fn(t, parse(t, src), "f")
		var outer, inner, lock, done int32 = -1, -1, -1, -1
		for i, n := range f.Nodes {
			switch {
			case n.Kind == NLoop && n.Line == 3:
				outer = int32(i)
			case n.Kind == NLoop && n.Line == 4:
				inner = int32(i)
			case n.Kind == NCall && n.Callee == "spin_lock":
				lock = int32(i)
			case n.Kind == NCall && n.Callee == "done":
				done = int32(i)
			}
		}
		if outer < 0 || inner < 0 || lock < 0 || done < 0 {
			t.Fatalf("nodes missing: outer %d inner %d lock %d done %d", outer, inner, lock, done)
		}
		o, in := f.Nodes[outer], f.Nodes[inner]
		if len(o.Succ) != 2 || o.Succ[0] != inner || o.Succ[1] != done {
			t.Errorf("outer head succ %v, want [inner %d, done %d]", o.Succ, inner, done)
		}
		if len(in.Succ) != 2 || in.Succ[0] != lock || in.Succ[1] != outer {
			t.Errorf("inner head succ %v, want [lock %d, outer %d]", in.Succ, lock, outer)
		}
		if s := f.Nodes[lock].Succ; len(s) != 1 || s[0] != inner {
			t.Errorf("loop body succ %v, want back to inner head %d", s, inner)
		}
	}
}

// A header of macros only declares nothing and is not parsed; one with a
// declaration is.
func TestDeclarationFree(t *testing.T) {
	regs := []byte("#define mmFOO 0x1234 /* a register */\n#define mmFOO_BASE_IDX 2\n")
	if !DeclarationFree("asic_reg/foo_offset.h", regs) {
		t.Error("macro-only header is parsed")
	}
	if DeclarationFree("foo.c", regs) {
		t.Error(".c files are always parsed")
	}
	if DeclarationFree("foo.h", []byte("#define X 1\nextern spinlock_t foo_lock;\n")) {
		t.Error("a header with a declaration is skipped")
	}
}

// Assignments to a struct field record the receiver: a parameter stored
// into a parameter's field is how a flag reaches a later call.
func TestFieldStoreReceiver(t *testing.T) {
	f := parse(t, "void sg_start(struct it *miter, unsigned int flags)\n{\n\tmiter->__flags = flags;\n\tops->fn = foo;\n}\n")
	var got []string
	for _, s := range f.Stores {
		got = append(got, s.Recv+"->"+s.Field+"="+s.Func)
	}
	if strings.Join(got, " ") != "miter->__flags=flags ops->fn=foo" {
		t.Fatalf("stores: %v", got)
	}
}
