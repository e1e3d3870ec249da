package parser

import (
	"slices"
	"testing"
)

// File-scope facts: enumerators carry their numbers, a definition macro
// without a storage class defines its object, an extern declaration is
// not the file's own global, an empty #define is kept as defined.
func TestTopLevelFacts(t *testing.T) {
	f := parse(t, `
#define DEBUG
#define SEVEN 7
enum ev { EV_NONE, EV_NEW = 20, EV_DEL, EV_BIT = BIT(3), EV_AFTER, EV_SAME = EV_NEW, EV_SUM = EV_DEL + 2 };
DEFINE_MUTEX(cfg_mutex);
static DEFINE_SPINLOCK(list_lock);
extern struct mutex other_mutex;
int counter;
`)
	for _, want := range []string{"DEBUG=", "SEVEN=7", "EV_NONE=0", "EV_NEW=20", "EV_DEL=21", "EV_BIT=8", "EV_AFTER=9", "EV_SAME=20", "EV_SUM=23"} {
		if !slices.Contains(f.Consts, want) {
			t.Errorf("Consts %v lack %s", f.Consts, want)
		}
	}
	globals := map[string]string{}
	for _, g := range f.Globals {
		globals[g.Name] = g.Type
	}
	if globals["cfg_mutex"] != "DEFINE_MUTEX" || globals["list_lock"] != "DEFINE_SPINLOCK" {
		t.Errorf("definition macros: globals %v", globals)
	}
	if _, ok := globals["other_mutex"]; ok {
		t.Errorf("an extern declaration is not the file's global: %v", globals)
	}
	if _, ok := globals["counter"]; !ok {
		t.Errorf("a plain global is lost: %v", globals)
	}
}

// A preprocessor branch in a body keeps its condition; a pointer local set
// once to a member's address is recorded; a call named like an iterator
// that ends in ';' is a call.
func TestBodyFacts(t *testing.T) {
	f := parse(t, `
void g(struct priv *pr)
{
	struct queue *q = &pr->free_queue;

	spin_lock(&q->lock);
#ifdef DEBUG
	dump(q);
#endif
#if defined(CONFIG_FOO) && 0
	other();
#endif
	bus_for_each_dev(pr->bus, NULL, pr, visit);
	done();
	spin_unlock(&q->lock);
}
`)
	fn := f.Funcs[0]
	var conds []string
	calls := map[string]bool{}
	for _, n := range fn.Nodes {
		if n.Kind == NBranch {
			conds = append(conds, n.Cond())
		}
		if n.Kind == NCall {
			calls[n.Callee] = true
		}
	}
	if !slices.Contains(conds, "#if defined(DEBUG)") || !slices.Contains(conds, "#if defined(CONFIG_FOO) && 0") {
		t.Errorf("branch conditions %q", conds)
	}
	if !slices.Contains(fn.AddrInits, "q=&pr->free_queue") {
		t.Errorf("AddrInits %v", fn.AddrInits)
	}
	if !calls["bus_for_each_dev"] || !calls["done"] {
		t.Errorf("calls %v: an iterator-named call ending in ';' is a call", calls)
	}
}
