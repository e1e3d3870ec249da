package callgraph

import (
	"path"
	"strings"

	"github.com/lockorder/lockorder/kbuild"
)

// Which code can bind an object's operations. A core helper that calls
// `obj->ops->f()` reaches whatever the object was built with; a chain from
// a driver's atomic section through such a helper to one implementation
// that sleeps is evidence only when that implementation can be the one the
// driver's objects carry. The unit of code is the component of a file (the
// module a Makefile links it into, see kbuild.Tree.Component).

// Kbuild returns the tree model the program was built with (nil: none).
func (p *Program) Kbuild() *kbuild.Tree { return p.opts.Kbuild }

// components interns every file's component.
func (p *Program) components() {
	idx := map[string]int32{}
	p.fileComp = make([]int32, len(p.Files))
	p.storedComps = map[int32][]int32{}
	for fi, f := range p.Files {
		c := p.opts.Kbuild.Component(f.Path)
		id, ok := idx[c]
		if !ok {
			id = int32(len(p.compNames))
			idx[c] = id
			p.compNames = append(p.compNames, c)
		}
		p.fileComp[fi] = id
	}
}

// Component returns the name of the component a function's file belongs
// to.
func (p *Program) Component(f *Func) string { return p.compNames[p.fileComp[f.File]] }

// ownedBy reports whether function t belongs to component c: defined in
// it, or stored into a struct field by its code.
func (p *Program) ownedBy(t int32, c int32) bool {
	if p.fileComp[p.Funcs[t].File] == c {
		return true
	}
	for _, x := range p.storedComps[t] {
		if x == c {
			return true
		}
	}
	return false
}

// maxBoundVisit bounds the functions one bound search visits.
const maxBoundVisit = 40000

// BoundEffectPath returns the shortest chain from f's site si to a source
// of effect e (as EffectPath over every call) whose every indirect hop is
// bound to the object the path carries, as far as types and modules can
// tell without following objects: the hop is made by f's own component,
// through a struct type that component defines itself (not one of a
// shared header): its own interface, dispatched under its own context.
//
// Any other hop is not bound, even when its target is f's module's own or
// the only function ever stored into that field: which implementation an
// object carries, if any, is decided where the object is built (amdgpu's
// KIQ ring has no begin_use although its SDMA and VCN rings do; only
// rocker sets ndo_neigh_destroy, which vxlan's neighbours never carry).
// nil when no such chain exists within the search bound.
func (p *Program) BoundEffectPath(f *Func, si int32, e Effect) []SiteRef {
	origin := p.fileComp[f.File]
	s := &f.Sites[si]
	if p.siteEffect(f, s, e) {
		return []SiteRef{{f.ID, si}}
	}
	canEnter := func(t int32) bool {
		tf := p.Funcs[t]
		return tf.ViaAny[e] >= 0 && !tf.Barrier
	}
	allowed := func(g *Func, j int32, s *Site) bool {
		return !s.Indirect || p.boundHop(origin, g, j, s)
	}
	par := map[int32]SiteRef{}
	var queue []int32
	for _, t := range s.Targets {
		if _, seen := par[t]; !seen && t != f.ID && canEnter(t) && allowed(f, si, s) {
			par[t] = SiteRef{f.ID, si}
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 && len(par) < maxBoundVisit {
		gid := queue[0]
		queue = queue[1:]
		g := p.Funcs[gid]
		for j := range g.Sites {
			sj := &g.Sites[j]
			if e <= EffSleepIdle && sj.Guarded {
				continue
			}
			if p.siteEffect(g, sj, e) {
				// found: walk the parents back to f
				// (f itself is never entered, so only the first step's
				// parent lies in f)
				path := []SiteRef{{gid, int32(j)}}
				for cur := gid; ; {
					ps := par[cur]
					path = append(path, ps)
					if ps.Func == f.ID {
						break
					}
					cur = ps.Func
				}
				for a, b := 0, len(path)-1; a < b; a, b = a+1, b-1 {
					path[a], path[b] = path[b], path[a]
				}
				return path
			}
			if sj.Dropped {
				// past a release of the context (as Callers skips it)
				continue
			}
			for _, t := range sj.Targets {
				if _, seen := par[t]; seen || t == f.ID || !canEnter(t) || !allowed(g, int32(j), sj) {
					continue
				}
				par[t] = SiteRef{gid, int32(j)}
				queue = append(queue, t)
			}
		}
	}
	return nil
}

// buildable reports whether file fi can be built on architecture arch
// (Kbuild gates against Kconfig; true without a model), cached.
func (p *Program) buildable(fi int32, arch string) bool {
	m := p.buildMemo[arch]
	if m == nil {
		m = make([]int8, len(p.Files))
		if p.buildMemo == nil {
			p.buildMemo = map[string][]int8{}
		}
		p.buildMemo[arch] = m
	}
	if m[fi] == 0 {
		m[fi] = 2
		if p.opts.Kbuild.Buildable(p.Files[fi].Path, arch) {
			m[fi] = 1
		}
	}
	return m[fi] == 1
}

// coexists filters a call's candidate definitions to those that can be
// built together with the caller in file fi on the architecture its calls
// see: a definition whose Kbuild gates no configuration of that
// architecture enables (lib/logic_iomem.c, only with UML's
// INDIRECT_IOMEM; a driver reachable only with COMPILE_TEST) is not what a
// buildable caller reaches. A caller that cannot itself be built there
// keeps every candidate.
func (p *Program) coexists(fi int32, ids []int32) []int32 {
	if !p.opts.Kbuild.Decides() || len(ids) == 0 {
		return ids
	}
	arch := p.fileView(fi)
	if !p.buildable(fi, arch) {
		return ids
	}
	var out []int32
	for _, id := range ids {
		if tf := p.Funcs[id].File; tf == fi || p.buildable(tf, arch) {
			out = append(out, id)
		} else {
			p.Unbuildable++
		}
	}
	return out
}

// A TargetNote explains one candidate of a call site: a target chosen,
// or a same-named definition (or same-field function) left out, and why.
type TargetNote struct {
	Func   int32
	Chosen bool
	Why    string
}

// ExplainTargets says how a site's targets were chosen: for a direct call
// every definition of the name, chosen or not, with the reason; for a call
// through a struct field the receiver type (or the field name alone) and,
// per target, the module that defines or stores it relative to the
// caller's. At most max notes.
func (p *Program) ExplainTargets(f *Func, si int32, max int) (how string, notes []TargetNote) {
	s := &f.Sites[si]
	chosen := map[int32]bool{}
	for _, t := range s.Targets {
		chosen[t] = true
	}
	caller := p.Files[f.File].Path
	callerArch := archOf(caller)
	view := p.fileView(f.File)
	if s.Indirect {
		switch s.Resolved {
		case ResolvedType:
			how = "by receiver type " + p.siteOwner[SiteRef{f.ID, si}] + "." + s.Callee
		case ResolvedName:
			how = "by field name ." + s.Callee + " and arity (receiver untyped)"
		default:
			how = "unresolved"
		}
		for _, t := range s.Targets {
			if len(notes) >= max {
				break
			}
			why := "another module's (" + p.Component(p.Funcs[t]) + "): a note unless bound"
			if p.ownedBy(t, p.fileComp[f.File]) {
				why = "this module's own"
			}
			notes = append(notes, TargetNote{Func: t, Chosen: true, Why: why})
		}
		return how, notes
	}
	how = "by name"
	for _, id := range p.byName[s.Callee] {
		if len(notes) >= max {
			break
		}
		g := p.Funcs[id]
		var why string
		switch {
		case chosen[id] && g.File == f.File:
			why = "same file"
		case chosen[id] && p.fileComp[g.File] == p.fileComp[f.File]:
			why = "same module"
		case chosen[id]:
			why = "visible (" + p.Component(g) + ")"
		case p.hidden(f.File, callerArch, view, id) != "":
			why = p.hidden(f.File, callerArch, view, id)
		case p.opts.Kbuild.Decides() && p.buildable(f.File, view) && !p.buildable(g.File, view):
			why = "not buildable on " + view + " (Kbuild gates no configuration enables)"
		default:
			why = "another definition preferred (same module, header inline, or nearer)"
		}
		notes = append(notes, TargetNote{Func: id, Chosen: chosen[id], Why: why})
	}
	return how, notes
}

// ByName returns every definition of a function name.
func (p *Program) ByName(name string) []int32 { return p.byName[name] }

// SameComponent reports whether two functions' files belong to one
// component (module).
func (p *Program) SameComponent(a, b int32) bool {
	return p.fileComp[p.Funcs[a].File] == p.fileComp[p.Funcs[b].File]
}

// compFuncs returns the functions of a component, indexed on first use.
func (p *Program) compFuncs(c int32) []int32 {
	if p.funcsOfComp == nil {
		p.funcsOfComp = map[int32][]int32{}
		for _, f := range p.Funcs {
			k := p.fileComp[f.File]
			p.funcsOfComp[k] = append(p.funcsOfComp[k], f.ID)
		}
	}
	return p.funcsOfComp[c]
}

// optionalOp reports whether an indirect call is made only when its
// function pointer is set (`if (ring->funcs->end_use)
// ring->funcs->end_use(ring);`): an operation some objects do not have,
// so that the module's own interface binds nothing (amdgpu's KIQ rings
// have no end_use).
func optionalOp(g *Func, s *Site) bool {
	for _, pg := range s.ParamGuards {
		if pg.Test == pgTruthy && pg.Field != "" && (pg.Field == s.Callee || strings.HasSuffix(pg.Field, "->"+s.Callee) || strings.HasSuffix(pg.Field, "."+s.Callee)) {
			return true
		}
	}
	return false
}

// boundHop reports whether the indirect call at site j of g binds to its
// targets for a context held by component origin: origin makes the call
// through a struct type it defines itself, and the operation is not an
// optional one tested before use. (That every candidate blocks is no
// proof: the object may carry none, as chip_bus_lock() calls
// irq_bus_lock only if set.)
func (p *Program) boundHop(origin int32, g *Func, j int32, s *Site) bool {
	if p.fileComp[g.File] != origin || optionalOp(g, s) {
		return false
	}
	owner := p.siteOwner[SiteRef{g.ID, j}]
	if owner == "" {
		return false
	}
	sf, ok := p.structFile[owner]
	return ok && sf >= 0 && p.fileComp[sf] == origin
}

// otherArches are the architectures fileView tries, after the scanned
// one, for generic code that cannot be built there.
var otherArches = []string{"arm64", "arm", "powerpc", "riscv", "mips", "s390", "loongarch", "sparc", "parisc",
	"m68k", "sh", "xtensa", "microblaze", "arc", "csky", "alpha", "ia64", "hexagon", "nios2", "openrisc", "um"}

// fileView returns the architecture whose code a file's calls reach: its
// own arch/ directory; for generic code the scanned architecture, unless
// the Kbuild and Kconfig model says the file cannot be built there, and
// then the first architecture that can build it (an ARM-only driver's
// ioremap() is ARM's, a PowerNV-only one's is powerpc's, never x86's).
func (p *Program) fileView(fi int32) string {
	if a := archOf(p.Files[fi].Path); a != "" {
		return p.archView(a)
	}
	if !p.opts.Kbuild.Decides() {
		return p.opts.Arch
	}
	if p.viewMemo == nil {
		p.viewMemo = make([]int8, len(p.Files))
	}
	switch v := p.viewMemo[fi]; {
	case v == 1:
		return p.opts.Arch
	case v >= 2:
		return otherArches[v-2]
	}
	p.viewMemo[fi] = 1
	if !p.buildable(fi, p.opts.Arch) {
		for i, a := range otherArches {
			if a != p.opts.Arch && p.buildable(fi, a) {
				p.viewMemo[fi] = int8(i + 2)
				return a
			}
		}
	}
	return p.opts.Arch
}

// Uniprocessor reports whether f's file belongs to an architecture that
// has neither SMP nor a preemption count (UML in 6.1): there a spinning
// lock is a no-op that never waits and never makes the context atomic.
// Generic code is never judged so: the scanned architecture has SMP.
func (p *Program) Uniprocessor(f *Func) bool {
	arch := archOf(p.Path(f))
	if arch == "" || arch == "userspace" || p.opts.Kbuild == nil || p.opts.Kbuild.Kconfig == nil {
		return false
	}
	if p.upMemo == nil {
		p.upMemo = map[string]bool{}
	}
	up, ok := p.upMemo[arch]
	if !ok {
		k := p.opts.Kbuild.Kconfig
		up = !k.Possible("SMP", arch) && !k.Possible("PREEMPT_COUNT", arch)
		p.upMemo[arch] = up
	}
	return up
}

// ArchOf returns the architecture directory f's file lies in ("" for
// generic code).
func (p *Program) ArchOf(f *Func) string { return archOf(p.Path(f)) }

// ppDead tells which side of a preprocessor branch of f no build has
// (parser "#if COND"): `#if 0`; a CONFIG_ symbol the file's architecture
// (or the --kconfig configuration) cannot set; a debug macro (DEBUG,
// VERBOSE_DEBUG, FOO_DEBUG, DBG) that no file #defines and no Makefile
// passes with -D. Anything else may be either.
func (p *Program) ppDead(f *Func, cond string) (thenDead, elseDead bool) {
	c := strings.TrimSpace(strings.TrimPrefix(cond, "#if"))
	neg := false
	for strings.HasPrefix(c, "!") {
		neg = !neg
		c = strings.TrimSpace(c[1:])
	}
	for _, w := range []string{"defined", "IS_ENABLED", "IS_BUILTIN", "IS_REACHABLE"} {
		if strings.HasPrefix(c, w+"(") && strings.HasSuffix(c, ")") {
			c = strings.TrimSpace(c[len(w)+1 : len(c)-1])
			break
		}
	}
	c = strings.TrimSpace(strings.TrimPrefix(c, "defined "))
	dead := false // the condition (before negation) never holds
	switch {
	case c == "0":
		dead = true
	case c == "1":
		dead, neg = true, !neg
	case strings.HasPrefix(c, "CONFIG_") && isIdentText(c):
		dead = p.configUnset(f, strings.TrimPrefix(c, "CONFIG_"))
	case isIdentText(c) && debugMacro(c) && !p.opts.Kbuild.Defined(p.Path(f), c) && !p.definedNear(f.File, c):
		dead = true
	case isIdentText(c):
		// `#define DUMP_IT_BACK 0` in the file, then `#if DUMP_IT_BACK`
		switch v := p.fileConst(f.File, c); {
		case v == "0":
			dead = true
		case v != "" && v != "=" && !strings.HasPrefix(cond, "#if defined") && !strings.HasPrefix(cond, "#if !defined"):
			dead, neg = true, !neg
		}
	}
	if !dead {
		return false, false
	}
	if neg {
		return false, true
	}
	return true, false
}

// debugMacro reports whether a macro name is a debug switch a developer
// defines to get extra code.
func debugMacro(s string) bool {
	return s == "DEBUG" || s == "VERBOSE_DEBUG" || s == "DBG" || strings.HasSuffix(s, "_DEBUG") || strings.HasPrefix(s, "DEBUG_")
}

// configUnset reports whether config symbol sym cannot be set for f's
// file: the --kconfig configuration leaves it unset, or no configuration
// of the file's architecture can set it.
func (p *Program) configUnset(f *Func, sym string) bool {
	kb := p.opts.Kbuild
	if kb == nil {
		return false
	}
	sym = strings.TrimSuffix(sym, "_MODULE")
	if kb.Config != nil {
		return !kb.Config.Set(sym)
	}
	if kb.Kconfig == nil {
		return false
	}
	return !kb.Kconfig.Possible(sym, p.fileView(f.File))
}

// definedNear reports whether file fi, or a header of its directory,
// #defines macro name (a debug switch is defined in the driver's own
// file or header, if anywhere).
func (p *Program) definedNear(fi int32, name string) bool {
	if p.dirFiles == nil {
		p.dirFiles = map[string][]int32{}
		for i, f := range p.Files {
			d := path.Dir(f.Path)
			p.dirFiles[d] = append(p.dirFiles[d], int32(i))
		}
	}
	defines := func(i int32) bool { return p.macros[i][name] || p.fileConst(i, name) != "" }
	if defines(fi) {
		return true
	}
	for _, i := range p.dirFiles[path.Dir(p.Files[fi].Path)] {
		if strings.HasSuffix(p.Files[i].Path, ".h") && defines(i) {
			return true
		}
	}
	return false
}

// fileConst returns the value file fi's own #define gives name ("=" for
// an empty one; "" when the file does not define it).
func (p *Program) fileConst(fi int32, name string) string {
	for _, c := range p.Files[fi].Consts {
		if n, v, ok := strings.Cut(c, "="); ok && n == name {
			if v == "" {
				return "="
			}
			return v
		}
	}
	return ""
}
