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
	if k.Prim("vendor_alloc").SleepGFP != 2 || k.Prim("kmalloc").SleepGFP != 2 {
		t.Error("sleep_gfp map not merged")
	}
	os.WriteFile(cfg, []byte("[[lock]\n"), 0o644)
	if _, err := LoadKnowledge(cfg); err == nil {
		t.Error("malformed config: want an error")
	}
}

// Lock classes are named as lockdep does, through types.
func TestLockClass(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.c"), []byte(`
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
`), 0o644)
	p, _, err := Load(context.Background(), []string{dir}, LoadOptions{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := p.Funcs[p.FuncIDs([]string{"f"})[0]]
	for expr, want := range map[string]string{
		"&stopper->lock":                  "cpu_stopper.lock",
		"&per_cpu(cpu_stopper, cpu).lock": "cpu_stopper.lock",
		"&st->lock":                       "cpu_stopper.lock",
		"&p->mm->mmap_sem":                "mm_struct.mmap_sem",
		"&(p)->pi_lock":                   "task_struct.pi_lock",
		"&current->pi_lock":               "task_struct.pi_lock",
		"&foo_lock":                       "foo_lock",
	} {
		if got, typed := p.LockClass(f, expr); got != want || !typed {
			t.Errorf("LockClass(%q) = %q (typed %v), want %q", expr, got, typed, want)
		}
	}
	if _, typed := p.LockClass(f, "lp"); typed {
		t.Error("a bare lock pointer parameter cannot be typed to a class")
	}
}
