package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lockorder/lockorder/callgraph"
)

// ListWalkUnderSem flags an unbounded list walk with real per-element work
// reached while a caller holds a sleeping lock.
var ListWalkUnderSem = register(&Rule{
	ID:    "list-walk-under-sem",
	Name:  "ListWalkUnderSem",
	Short: "Unbounded list walk with per-element work under a held semaphore or mutex",
	Full: "A list or hlist kept in a struct field is walked while a caller holds a sleeping lock " +
		"(rw_semaphore, mutex, mmap_lock, i_mmap_rwsem, anon_vma lock), each element does real work (a " +
		"synchronous IPI or TLB flush, a nested walk, a lock round trip, an indirect call), and nothing " +
		"bounds the list: no function inserting into that field compares a counter field of the same " +
		"struct (in a condition or an assertion such as WARN_ON(n->len > max)). When the list grows (KSM merged 2.3 million pages into one stable_node), the lock stays " +
		"held for the whole walk and every other waiter hangs. cond_resched() in the loop does not help: " +
		"the lock is still held. A walk whose only work is a lock round trip or a nested walk is a note.",
	Help: "**Pattern**: `down_read(&mm->mmap_sem)` ... -> `rmap_walk_ksm()`: " +
		"`hlist_for_each_entry(rmap_item, &stable_node->hlist, hlist) { ... rwc->rmap_one(...) }`.\n\n" +
		"**Fix**: bound the list where it grows: keep a counter in the struct and refuse or split " +
		"insertions beyond a limit (v4.13 \"ksm: introduce ksm_max_page_sharing per page deduplication " +
		"limit\"), or drop the lock between batches.",
	Severity: Warning,
	Tags:     []string{"concurrency", "latency", "lists"},
	Run:      runListWalkUnderSem,
})

// walk is an unbounded list walk with per-element work.
type walk struct {
	fn    int32
	lw    *callgraph.ListWalk
	list  string // owner.field
	work  []string
	heavy bool // the work includes an IPI or an indirect call
}

func runListWalkUnderSem(c *Context) []Finding {
	p := c.P
	bounded := boundedLists(p)
	walks := map[int32][]*walk{}
	var srcs []int32
	for _, f := range p.Funcs {
		for _, lw := range p.ListWalks(f) {
			if w := unboundedWalk(p, f, lw, bounded); w != nil {
				if len(walks[f.ID]) == 0 {
					srcs = append(srcs, f.ID)
				}
				walks[f.ID] = append(walks[f.ID], w)
			}
		}
	}
	if len(srcs) == 0 {
		return nil
	}
	callers := p.Callers(true)
	var out []Finding
	for _, src := range srcs {
		f := p.Funcs[src]
		for _, w := range walks[src] {
			// a lock taken in this very function before the walk
			for si := range f.Sites {
				s := &f.Sites[si]
				if h, ok := heldSleeping(p, s); ok && h.Site >= 0 && w.lw.Encloses(s) && !w.lw.Encloses(&f.Sites[h.Site]) {
					out = append(out, walkFinding(c, w, f, int32(si), h, nil, true))
					break
				}
			}
		}
		// callers holding a sleeping lock across the call: the nearest
		// holder of each class, at most maxWalkHolders classes; the
		// finding names the nearest of the locks every fault or mapping
		// change of a process waits for (the table's hot_locks: mmap_lock,
		// i_mmap_rwsem, anon_vma), else the nearest rw_semaphore (a
		// read-held one stalls every writer and, behind it, every reader),
		// else the nearest
		type holder struct {
			f     *callgraph.Func
			si    int32
			h     callgraph.Held
			chain []callgraph.SiteRef
		}
		var holders []holder
		classes := map[int32]bool{}
		p.UpFrom(callers, src, maxWalkDepth, maxWalkVisit, func(hf *callgraph.Func, si int32, chain func() []callgraph.SiteRef) bool {
			if h, ok := heldSleeping(p, &hf.Sites[si]); ok && !classes[h.Class] {
				classes[h.Class] = true
				holders = append(holders, holder{hf, si, h, chain()})
			}
			return len(holders) < maxWalkHolders
		})
		if len(holders) == 0 {
			continue
		}
		primary := 0
		rank := func(hd holder) int {
			ci := p.Classes[hd.h.Class]
			for _, hot := range p.K.Table.Lists.HotLocks {
				if strings.HasSuffix(ci.Name, hot) {
					return 2
				}
			}
			if k := p.K.Kind(ci.Kind); k.Sleeping && k.Shared {
				return 1
			}
			return 0
		}
		for i, hd := range holders {
			if rank(hd) > rank(holders[primary]) {
				primary = i
			}
		}
		for _, w := range walks[src] {
			hd := holders[primary]
			fd := walkFinding(c, w, hd.f, hd.si, hd.h, hd.chain, false)
			for i, o := range holders {
				if i != primary {
					fd.Related = append(fd.Related, Step{Loc: Location{Path: p.Path(o.f), Line: int(o.h.Line),
						Col: int(o.h.Col), Func: o.f.Src.Name}, Message: c.ClassName(o.h.Class) + " also held above this walk, taken here"})
				}
			}
			out = append(out, fd)
		}
	}
	return out
}

// Search limits for the lock holder above a walk: the seed's chain
// (do_migrate_pages -> ... -> rmap_walk_ksm) is 8 calls.
const (
	maxWalkDepth   = 12
	maxWalkVisit   = 20000
	maxWalkHolders = 4
)

// heldSleeping returns a sleeping lock held at s (the outermost).
func heldSleeping(p *callgraph.Program, s *callgraph.Site) (callgraph.Held, bool) {
	if !s.Reached || s.Dropped {
		return callgraph.Held{}, false
	}
	for _, h := range s.Held {
		ci := p.Classes[h.Class]
		if p.K.Sleeping(ci.Kind) && !h.Trylock {
			return h, true
		}
	}
	return callgraph.Held{}, false
}

// boundedLists finds the list fields with an insertion in a function that
// compares a counter field of the same struct (stable_tree_append():
// `WARN_ON_ONCE(stable_node->rmap_hlist_len > ksm_max_page_sharing)`):
// the list's length is kept in check where it grows. One such insertion
// is enough (KSM's chain of duplicates is inserted elsewhere, and is short
// because each duplicate's own list is bounded). The map holds every list
// with a seen insertion: true when bounded.
func boundedLists(p *callgraph.Program) map[string]bool {
	inserters := map[string][]*callgraph.Func{}
	for _, f := range p.Funcs {
		for si := range f.Sites {
			s := &f.Sites[si]
			if !s.Reached || !p.K.IsListInsert(s.Callee) {
				continue
			}
			args := p.CallArgs(f, s)
			if len(args) < 2 {
				continue
			}
			if owner, field, ok := p.FieldOf(f, args[1]); ok {
				k := owner + "." + field
				inserters[k] = append(inserters[k], f)
			}
		}
	}
	out := map[string]bool{}
	for k, fs := range inserters {
		owner := k[:strings.LastIndexByte(k, '.')]
		counters := counterFields(p, owner)
		limited := false
		for _, f := range fs {
			if p.ComparesField(f, counters) {
				limited = true
				break
			}
		}
		out[k] = limited
	}
	return out
}

// counterFields lists a struct's scalar fields: not pointers, not structs.
func counterFields(p *callgraph.Program, owner string) []string {
	var out []string
	for name, v := range p.StructFields(owner) {
		if v.Ptr == 0 && p.StructFields(v.Type) == nil && !strings.Contains(v.Type, "list") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// unboundedWalk returns the walk lw of f when it is over a struct field
// that is not bounded and its body does real work.
func unboundedWalk(p *callgraph.Program, f *callgraph.Func, lw *callgraph.ListWalk, bounded map[string]bool) *walk {
	owner, field, ok := p.FieldOf(f, lw.List)
	if !ok {
		return nil
	}
	list := owner + "." + field
	if b, seen := bounded[list]; !seen || b {
		// bounded, or nothing in the scanned code inserts into it
		return nil
	}
	w := &walk{fn: f.ID, lw: lw, list: list}
	kinds := map[string]bool{}
	add := func(k string, heavy bool) {
		if !kinds[k] {
			kinds[k] = true
			w.work = append(w.work, k)
		}
		w.heavy = w.heavy || heavy
	}
	for _, it := range lw.Body() {
		if it.Site < 0 {
			add("a nested walk ("+it.Nested+")", false)
			continue
		}
		si := it.Site
		s := &f.Sites[si]
		switch {
		case !s.Indirect && p.HasEffect(f, s, callgraph.EffIPI, true) &&
			len(p.EffectPath(f, si, callgraph.EffIPI, true)) <= maxWorkDepth:
			add(fmt.Sprintf("a synchronous IPI or TLB flush (%s())", s.Callee), true)
		case s.Indirect && indirectIPI(p, s):
			add(fmt.Sprintf("an indirect call that sends IPIs (%s->%s())", n2(p.CallRecv(f, s)), s.Callee), true)
		case len(s.Acq) > 0 && s.Prim != nil && s.Prim.Op == callgraph.OpAcquire:
			add(fmt.Sprintf("a lock round trip (%s())", s.Callee), false)
		}
	}
	if len(w.work) == 0 {
		return nil
	}
	return w
}

// indirectIPI reports whether some target of an indirect call sends a
// synchronous IPI through direct calls.
func indirectIPI(p *callgraph.Program, s *callgraph.Site) bool {
	for _, t := range s.Targets {
		tf := p.Funcs[t]
		if v := tf.ViaDirect[callgraph.EffIPI]; !tf.Barrier && v >= 0 &&
			len(p.EffectPath(tf, v, callgraph.EffIPI, true)) < maxWorkDepth {
			return true
		}
	}
	return false
}

// maxWorkDepth is the longest call chain from the loop body to an IPI that
// counts as per-element work (try_to_unmap_one -> flush_tlb_page ->
// flush_tlb_mm_range is 3).
const maxWorkDepth = 4

func n2(recv string) string {
	if recv == "" {
		return "?"
	}
	return recv
}

func walkFinding(c *Context, w *walk, hf *callgraph.Func, hsi int32, h callgraph.Held, path []callgraph.SiteRef, local bool) Finding {
	p := c.P
	wf := p.Funcs[w.fn]
	class := c.ClassName(h.Class)
	loopLoc := Location{Path: p.Path(wf), Line: int(w.lw.Line), Col: int(w.lw.Col), Func: wf.Src.Name}
	heldLoc := Location{Path: p.Path(hf), Line: int(h.Line), Col: int(h.Col), Func: hf.Src.Name}
	tf := ThreadFlow{Name: "lock holder"}
	tf.Steps = append(tf.Steps, Step{Loc: heldLoc, Message: class + " acquired"})
	if !local {
		tf.Steps = append(tf.Steps, c.CallSteps(path)...)
	}
	tf.Steps = append(tf.Steps, Step{Loc: loopLoc, Message: fmt.Sprintf("%s() walks %s (%s); per element: %s",
		wf.Src.Name, w.list, w.lw.Iter, strings.Join(w.work, ", "))})
	sev := Warning
	if !w.heavy {
		sev = Note
	}
	where := fmt.Sprintf("held by %s()", hf.Src.Name)
	if local {
		where = "held here"
	}
	return Finding{
		Severity: sev,
		Loc:      loopLoc,
		Message: fmt.Sprintf("unbounded walk of %s with %s %s: %s() does %s per element and nothing limits the list's length",
			w.list, class, where, wf.Src.Name, strings.Join(w.work, ", ")),
		Flows: []ThreadFlow{tf},
		Related: []Step{{Loc: heldLoc, Message: class + " acquired here"},
			{Loc: c.SiteLoc(hf.ID, hsi), Message: "call made with the lock held"}},
		Key: []string{wf.Src.Name, w.list, class},
		Fix: "bound the list (a counter in the struct checked at insertion), or drop the lock between batches",
	}
}
