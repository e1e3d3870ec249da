package parser

import (
	"slices"
	"strings"
	"testing"
)

// Flag words: locals that only gain named bits, members of zero-started
// struct locals, and memset as a zeroed start.
func TestFlagWords(t *testing.T) {
	f := parse(t, `struct p { unsigned long flags; int x; void *o; };
int g(struct p *q);
void f(int a, unsigned long fl_in)
{
	unsigned long fl = 0;
	int once = 5;
	unsigned long other = 0;
	struct p rp;
	struct p rq = {NULL};
	memset(&rp, 0, sizeof(rp));
	__set_bit(AAA, &fl);
	if (a)
		fl |= CCC | DDD;
	if (a)
		__set_bit(BBB, &rq.flags);
	g2(&other);
	rp.flags = fl_in;
	rp.o = &a;
	g(&rp);
	g(&rq);
}
`)
	x := fn(t, f, "f")
	if slices.Contains(x.MultiAssigned, "once") {
		t.Errorf("a local assigned only by its initializer is not multi-assigned: %v", x.MultiAssigned)
	}
	if !slices.Equal(x.Grown, []string{"other=@16", "fl=AAA|CCC|DDD"}) {
		t.Errorf("Grown = %q", x.Grown)
	}
	var rpInit string
	for _, l := range x.Locals {
		if l.Name == "rp" {
			rpInit = l.Init
		}
	}
	if rpInit != "{}" {
		t.Errorf("memset-zeroed local: Init %q, want {}", rpInit)
	}
	var mv []string
	for _, m := range x.MemberVals {
		mv = append(mv, strings.ReplaceAll(m, "\x00", ";"))
	}
	slices.Sort(mv)
	want := []string{"rp.flags;fl_in;17;", "rq.flags;;0;BBB"}
	if !slices.Equal(mv, want) {
		t.Errorf("MemberVals = %q, want %q", mv, want)
	}
}

func TestMacroAliases(t *testing.T) {
	f := parse(t, `#define alloc_ordered_workqueue(fmt, flags, args...) \
	alloc_workqueue(fmt, WQ_UNBOUND | (flags), 1, ##args)
#define class_create(owner, name)		\
({						\
	static struct lock_class_key __key;	\
	__class_create(owner, name, &__key);	\
})
#define request_module(mod...) __request_module(true, mod)
#define flush_scheduled_work() __flush_workqueue(system_wq) /* legacy */
#define wrap_do(x) do { real_do(x, 0); } while (0)
#define not_alias(x) ((x) + 1)
#define two_calls(x) do { a(x); b(x); } while (0)
#define str_arg(x) foo(#x)
#define paste(x) foo_##x(1)
#define through(fn, x) fn(x)
int g(void);
`)
	var got []string
	for _, a := range f.Aliases {
		got = append(got, strings.NewReplacer("\x00", " | ", "\x01", " ; ").Replace(a))
	}
	want := []string{
		"alloc_ordered_workqueue | fmt,flags,args... | alloc_workqueue | fmt ; WQ_UNBOUND | (flags) ; 1 ; args",
		"class_create | owner,name | __class_create | owner ; name ; &__key",
		"request_module | mod... | __request_module | true ; mod",
		"flush_scheduled_work |  | __flush_workqueue | system_wq",
		"wrap_do | x | real_do | x ; 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("aliases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Return expressions, locals set from a call, writes through pointer
// parameters, numeric macros.
func TestValueFacts(t *testing.T) {
	f := parse(t, `#define MSG_DONTWAIT 0x40
#define FLAG_B (1U << 3)
#define TWICE 1
#define TWICE 2
#define IN_ATOMIC true
static inline long sock_sndtimeo(const struct sock *sk, bool noblock)
{
	return noblock ? 0 : sk->sk_sndtimeo;
}
int attach(struct sock *sk, long *timeo)
{
	if (!*timeo)
		return -EAGAIN;
	*timeo = schedule_timeout(*timeo);
	return 1;
}
int unicast(struct sock *ssk, int nonblock)
{
	long timeo;
	int err;

	timeo = sock_sndtimeo(ssk, nonblock);
retry:
	err = attach(ssk, &timeo);
	if (err == 1)
		goto retry;
	return err;
}
`)
	if !slices.Equal(f.Consts, []string{"MSG_DONTWAIT=64", "FLAG_B=8", "IN_ATOMIC=1"}) {
		t.Errorf("Consts = %q", f.Consts)
	}
	if r := fn(t, f, "sock_sndtimeo").Ret; r != "noblock ? 0 : sk->sk_sndtimeo" {
		t.Errorf("Ret = %q", r)
	}
	if w := fn(t, f, "attach").DerefWrites; !slices.Equal(w, []string{"timeo=14"}) {
		t.Errorf("DerefWrites = %q", w)
	}
	u := fn(t, f, "unicast")
	if !slices.Equal(u.CallInits, []string{"err=attach(ssk, &timeo)", "timeo=sock_sndtimeo(ssk, nonblock)"}) {
		t.Errorf("CallInits = %q", u.CallInits)
	}
	if !slices.Equal(u.Grown, []string{"timeo=@24"}) {
		t.Errorf("Grown = %q", u.Grown)
	}
}

func TestParamWrites(t *testing.T) {
	f := parse(t, `int fill(struct req *p, struct req *q, struct req *r, struct req *s, struct dev *d)
{
	p->len = 0;
	p->list.next = NULL;
	if (test_bit(WAIT, &p->flags))
		return p->cnt;
	__set_bit(DONE, &q->flags);
	q->a[3]++;
	helper(d, r);
	if (r == NULL || !r->x)
		return 0;
	d->last = s;
	return 0;
}
`)
	got := fn(t, f, "fill").ParamWrites
	want := []string{"p=len|list", "q=flags|a", "s=*", "d=last"}
	if !slices.Equal(got, want) {
		t.Errorf("ParamWrites = %q, want %q", got, want)
	}
}

func TestRetStores(t *testing.T) {
	f := parse(t, `struct req *alloc_req(struct pool *cqp, bool wait, int cnt)
{
	struct req *r = NULL;

	if (!list_empty(&cqp->avail))
		r = list_first_entry(&cqp->avail, struct req, list);
	if (!r) {
		r = kzalloc(sizeof(*r), GFP_ATOMIC);
		if (r && wait)
			r->dyn = wait;
	}
	if (!r)
		return NULL;
	r->waiting = wait;
	r->count = cnt;
	r->count++;
	return r;
}
`)
	if got := fn(t, f, "alloc_req").RetStores; !slices.Equal(got, []string{"waiting=1"}) {
		t.Errorf("RetStores = %q", got)
	}
}
