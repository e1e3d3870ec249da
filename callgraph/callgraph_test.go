package callgraph

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A vendor config adds primitives and entry points to the embedded table.
func TestConfigExtendsTable(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vendor.toml")
	os.WriteFile(cfg, []byte(`
[[lock]]
op = "acquire"
kind = "spinlock"
irq = "save"
names = ["vendor_lock_irqsave"]

[contexts]
sched_core = ["vendor_balance"]

[effects]
sleep_gfp = { vendor_alloc = 1 }
`), 0o644)
	k, err := LoadKnowledge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := k.Prim("vendor_lock_irqsave"); p == nil || p.Op != OpAcquire || !p.IRQOff || p.Kind != "spinlock" {
		t.Errorf("vendor primitive: %+v", p)
	}
	if p := k.Prim("spin_lock"); p == nil || p.Op != OpAcquire {
		t.Error("embedded primitives lost")
	}
	sc := k.Table.Contexts.SchedCore
	if len(sc) < 2 || sc[len(sc)-1] != "vendor_balance" || sc[0] != "idle_balance" {
		t.Errorf("sched_core not extended: %v", sc)
	}
	if k.Prim("vendor_alloc").GFPArg != 1 || k.Prim("kmalloc").GFPArg != 1 {
		t.Error("sleep_gfp map not merged")
	}
	os.WriteFile(cfg, []byte("[[lock]\n"), 0o644)
	if _, err := LoadKnowledge(cfg); err == nil {
		t.Error("malformed config: want an error")
	}
}

// Lock classes are named as lockdep does, through types.
func TestLockClass(t *testing.T) {
	p, f := classesOf(t, `
struct mm_struct { struct rw_semaphore mmap_sem; };
struct task_struct { struct mm_struct *mm; raw_spinlock_t pi_lock; };
struct cpu_stopper { raw_spinlock_t lock; };
typedef struct cpu_stopper stopper_t;
static DEFINE_PER_CPU(struct cpu_stopper, cpu_stopper);
static DEFINE_SPINLOCK(foo_lock);

void f(struct task_struct *p, stopper_t *st, spinlock_t *lp, int cpu)
{
	struct cpu_stopper *stopper = &per_cpu(cpu_stopper, cpu);
}
`, map[string]string{
		"&stopper->lock":                  "cpu_stopper.lock",
		"&per_cpu(cpu_stopper, cpu).lock": "cpu_stopper.lock",
		"&st->lock":                       "cpu_stopper.lock",
		"&p->mm->mmap_sem":                "mm_struct.mmap_sem",
		"&(p)->pi_lock":                   "task_struct.pi_lock",
		"&current->pi_lock":               "task_struct.pi_lock",
		"&foo_lock":                       "foo_lock",
	})
	if _, typed := p.LockClass(f, "lp"); typed {
		t.Error("a bare lock pointer parameter cannot be typed to a class")
	}
}

// Calls resolve within the caller's architecture: arch/alpha code never
// reaches arch/x86 definitions, generic code sees --arch x86.
func TestResolvePerArch(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, src string) {
		path := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(src), 0o644)
	}
	write("arch/x86/kernel/cpu.c", "void cpu_init(void) { msleep(1); }\n")
	write("arch/arm/kernel/cpu.c", "void cpu_init(void) { }\nvoid arm_only(void) { }\n")
	write("arch/alpha/kernel/smp.c", "void smp_callin(void) { cpu_init(); }\n")
	write("arch/arm/kernel/smp.c", "void secondary(void) { cpu_init(); }\n")
	write("kernel/generic.c", "void g(void) { cpu_init(); arm_only(); }\nstatic void hidden(void) { }\n")
	write("kernel/other.c", "void h(void) { hidden(); }\n")
	p, _, err := Load(context.Background(), []string{dir}, LoadOptions{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	targets := func(fn, callee string) []string {
		f := p.Funcs[p.FuncIDs([]string{fn})[0]]
		var out []string
		for _, s := range f.Sites {
			if s.Callee == callee {
				for _, id := range s.Targets {
					out = append(out, p.Path(p.Funcs[id]))
				}
			}
		}
		return out
	}
	rel := func(xs []string) []string {
		for i := range xs {
			xs[i], _ = filepath.Rel(dir, xs[i])
		}
		return xs
	}
	check := func(fn, callee string, want ...string) {
		t.Helper()
		got := rel(targets(fn, callee))
		if len(got) != len(want) {
			t.Errorf("%s -> %s: %v, want %v", fn, callee, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s -> %s: %v, want %v", fn, callee, got, want)
			}
		}
	}
	check("smp_callin", "cpu_init")                         // alpha defines none: unresolved
	check("secondary", "cpu_init", "arch/arm/kernel/cpu.c") // arm's own
	check("g", "cpu_init", "arch/x86/kernel/cpu.c")         // generic sees --arch
	check("g", "arm_only")                                  // another architecture's never stands in
	check("h", "hidden")                                    // another file's static
}

// A part (a small struct two or more fields embed) has one lock class per
// embedding; a pointer to the part names the part's own class, which may
// be any embedding's. FieldOf, for call resolution, does not split.
func TestPartClasses(t *testing.T) {
	p, f := classesOf(t, `
struct q { spinlock_t lock; struct list_head head; };
struct mlme { spinlock_t lock; struct q scanned; struct q pending; };
struct cmdp { struct q cmds; };
static struct q free_q;

void f(struct mlme *m, struct cmdp *c, struct q *any)
{
	struct q *local = &m->pending;
}
`, map[string]string{
		"&m->scanned.lock": "mlme.scanned.lock",
		"&c->cmds.lock":    "cmdp.cmds.lock",
		"&any->lock":       "q.lock",
		"&free_q.lock":     "free_q.lock",
		"&local->lock":     "mlme.pending.lock",
		"&m->lock":         "mlme.lock",
	})
	if owner, field, ok := p.FieldOf(f, "&m->scanned.lock"); !ok || owner != "q" || field != "lock" {
		t.Errorf("FieldOf = %s.%s %v, want q.lock", owner, field, ok)
	}
	gen := p.Class("q.lock", "spinlock", true)
	a, b := p.Class("mlme.scanned.lock", "spinlock", true), p.Class("cmdp.cmds.lock", "spinlock", true)
	if !p.MayAlias(a, gen) || !p.MayAlias(gen, b) || p.MayAlias(a, b) {
		t.Error("an embedding may be the pointer class's lock; two embeddings never are one")
	}
	if !p.Classes[gen].Shared || p.Canon(a) != gen {
		t.Error("the pointer class is shared and canonical for its embeddings")
	}
}

// classesOf writes src as a.c in a temporary tree, loads it, and checks
// the lock class of each expression as used in function f.
func classesOf(t *testing.T, src string, want map[string]string) (*Program, *Func) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.c"), []byte(src), 0o644)
	p, _, err := Load(context.Background(), []string{dir}, LoadOptions{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := p.Funcs[p.FuncIDs([]string{"f"})[0]]
	for expr, w := range want {
		if got, typed := p.LockClass(f, expr); got != w || !typed {
			t.Errorf("LockClass(%q) = %q (typed %v), want %q", expr, got, typed, w)
		}
	}
	return p, f
}
