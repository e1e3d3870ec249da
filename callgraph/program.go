package callgraph

import (
	"slices"
	"sort"
	"strings"

	"github.com/lockorder/lockorder/kbuild"
	"github.com/lockorder/lockorder/parser"
)

// Options select what the program links.
type Options struct {
	// Arch is the architecture whose arch/ subtree counts (default x86);
	// definitions under other arch/ directories are used only when no
	// other definition exists.
	Arch string
	// MaxIndirectTargets bounds field-based resolution: a call through a
	// field stored with more functions than this is left unresolved.
	MaxIndirectTargets int
	// Kbuild is the model of the tree's Makefiles: which module each file
	// is linked into (nil: each directory is one unit).
	Kbuild *kbuild.Tree
}

// Effect is a may-effect propagated bottom-up through calls.
type Effect uint8

const (
	EffSleep     Effect = iota // may block (includes cond_resched & co.)
	EffSleepIdle               // may block, not counting how idle yields
	EffWake                    // wakes a task (try_to_wake_up)
	EffWakeTask                // wakes a named task, not whoever waits on a queue
	EffIPI                     // sends a synchronous cross-CPU call
	numEffects
)

// Func is one function of the program.
type Func struct {
	ID    int32
	File  int32
	Src   *parser.Func
	Sites []Site

	// Via gives, per effect, the index of the site through which the
	// function has the effect (-1: none), over direct calls only
	// (ViaDirect) or over all calls (ViaAny).
	ViaDirect [numEffects]int32
	ViaAny    [numEffects]int32
	// viaDirectTo and viaAnyTo give the callee through which the effect
	// arrived at that site (-1 at a source): following them always ends
	// at a primitive that has the effect.
	viaDirectTo [numEffects]int32
	viaAnyTo    [numEffects]int32
	// Acquires maps lock classes the function takes (directly or through
	// direct calls) to the site that leads to the acquisition.
	Acquires map[int32]int32
	// ExitHeld are locks still held when the function returns (lock
	// wrappers such as task_rq_lock), Releases the classes it releases
	// without taking them (unlock wrappers).
	ExitHeld []Held
	Releases []int32
	ExitIRQ  int8 // irqCaller, irqOff or irqOn
	// ReleasesParam: parameters through which f releases its caller's
	// lock (spin_unlock(lock) with spinlock_t *lock a parameter).
	ReleasesParam []int8
	// MayExitHeld: classes f may return holding on some path.
	MayExitHeld []int32
	// ParamAcq: part locks taken through parameters (see partlocks.go)
	ParamAcq []ParamAcq
	// NoFaultCalls: every call of the function is made with page faults
	// disabled (futex_atomic_cmpxchg_inatomic() inside
	// pagefault_disable()): its user accesses do not sleep
	NoFaultCalls bool
	// Barrier functions (panic, error reporting) are not followed for
	// effects.
	Barrier bool
	// Settled functions do not sleep for their callers (Table.Effects.Settled).
	Settled bool
	// WakeQueue functions wake whoever waits on a wait queue or completion
	// (Table.Effects.WakeQueue): not a named task.
	WakeQueue bool

	vars map[string]parser.Var
}

// Site is one call in a function, with the state in force when it is made.
// Fields are grouped by size (6.1 has 3.8 million sites).
type Site struct {
	Node      int32
	Line, Col int32
	IRQLine   int32
	IRQ       int8 // irqCaller, irqOff, irqOn
	Preempt   int8
	RCU       int8
	Indirect  bool
	// Resolved says how an indirect call's targets were chosen
	// (ResolvedType, ResolvedName).
	Resolved uint8
	// CB is how many of the last Targets are functions the call hands
	// a helper that calls them (see linkCallbacks): they do not take
	// the call's arguments
	CB      uint8
	Guarded bool // under a sleep guard (gfpflags_allow_blocking(), ...)
	BootCPU bool // only on the boot CPU (`if (smp_processor_id() == 0)`)
	NoFault bool // pagefault_disable() in force: user accesses do not sleep
	// Dropped is set when, on some path to the site, the function gave up
	// context its caller set up (released a lock it did not take, enabled
	// IRQs or preemption it did not disable). Effects reached from such a
	// site do not happen under the caller's context.
	Dropped bool
	// Reached is false for calls the dataflow found unreachable.
	Reached bool
	Callee  string
	Prim    *Prim
	Targets []int32
	// Held are the locks held when the call is made (before its effect).
	Held []Held
	// ParamGuards are the parameter tests that hold on every path to the
	// call.
	ParamGuards []ParamGuard
	// Acq lists the locks a lock primitive at this site acquires.
	Acq []Held
}

// IRQ states at a program point.
const (
	irqCaller int8 = iota // as the caller left them
	irqOff
	irqOn
	// irqRestored: put back to what a save made before this function
	// was called recorded (spin_unlock_irqrestore(&t->lock, *flags) in an
	// unlock helper whose lock helper did the local_irq_save()): neither
	// known off nor known on
	irqRestored
	// irqNotSaved: a lock taken without _irq/_irqsave saved no IRQ state
	irqNotSaved int8 = -1
)

// IRQsOff reports whether IRQs are known to be off at the site.
func (s *Site) IRQsOff() bool { return s.IRQ == irqOff }

// Held is a lock held at a program point.
type Held struct {
	Class     int32
	Line, Col int32 // where it was acquired (in the holding function)
	Site      int32 // acquiring site in the holding function
	IRQOff    bool  // IRQs are off while it is held
	prevIRQ   int8
	Nested    bool
	Double    bool
	Read      bool
	Trylock   bool
	// callerOwned: the caller's lock, released here and taken back
	callerOwned bool
}

// ClassInfo describes an interned lock class.
type ClassInfo struct {
	Name  string
	Kind  string
	Typed bool // resolved through types (or a global); textual otherwise
	// Of: for the lock of one embedding of a struct many others embed
	// (mlme_priv.scanned_queue.lock), the class code holding only a
	// pointer to that struct names (__queue.lock), which may be any of
	// its embeddings; -1 otherwise
	Of int32
	// Shared: the class is such a struct's own (__queue.lock): the lock
	// of whichever embedding the pointer points into
	Shared bool
}

// Program is the linked program.
type Program struct {
	K       *Knowledge
	Files   []*parser.File
	Funcs   []*Func
	Classes []ClassInfo

	byName map[string][]int32
	macros []map[string]bool // per file: its function-like #defines
	// headerMacros: function-like macros of private headers (not under an
	// include/ directory) -> the directories those headers serve
	headerMacros map[string][]string
	// paramStores: per function, parameters stored into parameters' fields
	paramStores map[int32][]paramStore
	classIdx    map[string]int32
	structs     map[string]map[string]parser.Var
	typedefs    map[string]parser.Typedef
	globals     map[string]parser.Var
	fileGlob    []map[string]parser.Var
	storeIx     *storeIndex
	fileFuncs   [][]int32
	opts        Options
	// fileComp: per file, its component (the module it is linked into,
	// see kbuild.Tree.Component), interned; storedComps: per function,
	// the components of the files that store it into a struct field
	fileComp    []int32
	compNames   []string
	storedComps map[int32][]int32
	// siteOwner: the struct type whose field an indirect call resolved
	// by type goes through; structFile: the file defining each struct
	// type (-1 when several files define one of that name)
	siteOwner  map[SiteRef]string
	structFile map[string]int32
	buildMemo  map[string][]int8 // arch -> per file: 0 unknown, 1 buildable, 2 not
	viewMemo   []int8            // per file: 0 unknown, 1 the scanned arch, 2+i otherArches[i]
	// funcsOfComp: component -> its functions; modStores: cache of
	// moduleStores
	funcsOfComp map[int32][]int32
	modStores   map[string][]string
	noValidate  map[int32]bool
	// consts: numeric macros by name ("" when files disagree)
	consts map[string]string
	// mayWriteMemo caches mayWrite; threadedComp, per component,
	// whether it registers a threaded IRQ handler
	mayWriteMemo map[mayWriteKey]bool
	threadedComp map[int32]bool
	retMemo      map[retKey]int32 // see retCallee
	// globalDefs: how many .c files define a global of each name (more
	// than one: file-static variables of the same name)
	globalDefs map[string]int
	// callbacks: how each callback target of a site was passed (see
	// linkCallbacks)
	callbacks map[SiteRef][]Callback
	// partAt: per call site, the part locks its callee takes through
	// parameters renamed with its arguments (see partSubst)
	partAt map[SiteRef][][2]int32
	// embedders: per struct type, how many struct types embed it by
	// value (see embedded)
	embedders map[string]int
	upMemo    map[string]bool // see Uniprocessor
	// writeTaken: lock classes some code takes for writing (writeLocks)
	writeTaken map[int32]bool
	// dirFiles: the files of each directory (see definedNear)
	dirFiles map[string][]int32
	// probeOnly: see ProbeOnly
	probeOnly map[int32]bool
	// atomicParams: see AtomicParams
	atomicParams map[int32]map[int]AtomicCall
	// entryHeld: see EntryHeld
	entryHeld [][]int32
	// comps: the direct-call components in callee-first order (analyze);
	// settled: the dataflow is done; callersMemo: Callers(false|true)
	// from then on
	comps       [][]int32
	settled     bool
	callersMemo [2][][]CallEdge
	// smallDefs: the definitions of each struct name with at most
	// maxPartFields fields (drivers reuse names: qlcnic's struct __queue
	// is not r8188eu's)
	smallDefs map[string][][]parser.Var
	// embedOf: refined class name -> the embedded struct's class name;
	// sharedClass: names of embedded structs' own classes (see ClassInfo)
	embedOf     map[string]string
	sharedClass map[string]struct{}

	// Stats
	DirectCalls, DirectResolved, IndirectCalls, IndirectResolved int
	// IndirectBy counts resolved indirect calls by how (ResolvedType,
	// ResolvedName).
	IndirectBy [3]int
	// AliasCalls counts calls of macro aliases linked as calls of
	// their target (see linkAliases).
	AliasCalls int
	// CallbackEdges counts functions passed as arguments linked as
	// targets of the helper's call (see linkCallbacks).
	CallbackEdges int
	// Unbuildable counts candidate targets dropped because their file
	// cannot be built with the caller's architecture (Kbuild + Kconfig).
	Unbuildable int
}

// Build links files into a program and computes states and summaries.
func Build(files []*parser.File, k *Knowledge, opts Options) *Program {
	if opts.Arch == "" {
		opts.Arch = "x86"
	}
	if opts.MaxIndirectTargets == 0 {
		opts.MaxIndirectTargets = 64
	}
	p := &Program{K: k, Files: files, byName: map[string][]int32{}, classIdx: map[string]int32{},
		structs: map[string]map[string]parser.Var{}, typedefs: map[string]parser.Typedef{},
		globals: map[string]parser.Var{}, fileFuncs: make([][]int32, len(files)), opts: opts,
		siteOwner: map[SiteRef]string{}, structFile: map[string]int32{}, globalDefs: map[string]int{},
		embedOf: map[string]string{}, sharedClass: map[string]struct{}{}, partAt: map[SiteRef][][2]int32{}, smallDefs: map[string][][]parser.Var{}}
	for fi, f := range files {
		fg := map[string]parser.Var{}
		for _, g := range f.Globals {
			if _, dup := fg[g.Name]; !dup && strings.HasSuffix(f.Path, ".c") {
				p.globalDefs[g.Name]++
			}
			fg[g.Name] = g
			if old, ok := p.globals[g.Name]; !ok || old.Type == "" {
				p.globals[g.Name] = g
			}
		}
		p.fileGlob = append(p.fileGlob, fg)
		var mac map[string]bool
		if len(f.Macros) > 0 {
			mac = make(map[string]bool, len(f.Macros))
			for _, m := range f.Macros {
				mac[m] = true
			}
		}
		p.macros = append(p.macros, mac)
		if dir := privateScope(f.Path); dir != "" && len(f.Macros) > 0 {
			if p.headerMacros == nil {
				p.headerMacros = map[string][]string{}
			}
			for _, m := range f.Macros {
				p.headerMacros[m] = append(p.headerMacros[m], dir)
			}
		}
		for _, s := range f.Structs {
			if old, ok := p.structFile[s.Name]; !ok {
				p.structFile[s.Name] = int32(fi)
			} else if old != int32(fi) {
				p.structFile[s.Name] = -1
			}
			if len(s.Fields) <= maxPartFields {
				p.smallDefs[s.Name] = append(p.smallDefs[s.Name], s.Fields)
			}
			m := p.structs[s.Name]
			if m == nil {
				m = map[string]parser.Var{}
				p.structs[s.Name] = m
			}
			for _, fl := range s.Fields {
				if _, ok := m[fl.Name]; !ok {
					m[fl.Name] = fl
				}
			}
		}
		for _, t := range f.Typedefs {
			if _, ok := p.typedefs[t.Name]; !ok {
				p.typedefs[t.Name] = t
			}
		}
		for i := range f.Funcs {
			id := int32(len(p.Funcs))
			p.Funcs = append(p.Funcs, &Func{ID: id, File: int32(fi), Src: &f.Funcs[i]})
			p.fileFuncs[fi] = append(p.fileFuncs[fi], id)
			p.byName[f.Funcs[i].Name] = append(p.byName[f.Funcs[i].Name], id)
		}
	}
	p.linkAliases()
	p.linkConsts()
	p.components()
	p.linkStores()
	p.link()
	p.linkParamStores()
	p.linkCallbacks()
	p.analyze()
	return p
}

func appendUnique(xs []int32, x int32) []int32 {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// archView returns the architecture a caller's calls see: its own arch/
// directory, else the scanned architecture (generic code).
func (p *Program) archView(callerArch string) string {
	if callerArch == "" {
		return p.opts.Arch
	}
	return callerArch
}

// archVisible reports whether a definition at path is visible from a
// caller of architecture callerArch whose view is view: user-space
// programs see only user-space code; kernel code sees generic code and
// its view's arch/ tree, never another architecture's.
func archVisible(callerArch, view, path string) bool {
	a := archOf(path)
	if callerArch == "userspace" {
		return a == "userspace"
	}
	return a == "" || a == view
}

// IsUserspace reports whether a path holds user-space programs (tools/,
// samples/, scripts/, user-mode Linux), which no kernel rule applies to.
func IsUserspace(path string) bool { return archOf(path) == "userspace" }

// archOf returns the architecture directory of a path ("" if none).
// User-mode Linux (arch/x86/um) and the userspace trees (tools/, scripts/,
// samples/) count as foreign: their definitions never stand for kernel ones
// while another exists.
func archOf(path string) string {
	for _, d := range []string{"arch/x86/um/", "tools/", "scripts/", "samples/"} {
		if i := strings.Index(path, d); i == 0 || i > 0 && path[i-1] == '/' {
			return "userspace"
		}
	}
	i := strings.Index(path, "arch/")
	for i > 0 && path[i-1] != '/' {
		// a directory whose name ends in "arch" (sleep-in-atomic-arch/)
		j := strings.Index(path[i+5:], "arch/")
		if j < 0 {
			return ""
		}
		i += 5 + j
	}
	if i < 0 {
		return ""
	}
	rest := path[i+5:]
	if j := strings.IndexByte(rest, '/'); j > 0 {
		return rest[:j]
	}
	return ""
}

// Resolve returns the definitions a direct call to name from file fi
// reaches. A definition in the same file wins. Otherwise code under arch/Y
// sees arch/Y and generic code, and generic code sees generic code and the
// --arch tree, never another architecture's (when x86 makes a hook a macro,
// alpha's C body does not stand for it); user-space programs (tools/,
// samples/) see only user-space code. Another .c file's static functions
// are never visible.
func (p *Program) Resolve(name string, fi int32) []int32 {
	ids := p.byName[name]
	if len(ids) == 0 {
		return nil
	}
	caller := p.Files[fi].Path
	callerArch := archOf(caller)
	view := p.fileView(fi)
	var same, ok []int32
	// a header's own static inline of a name it also declares is the
	// !CONFIG_ stub of a body elsewhere (clk.h's clk_unprepare() that
	// only does might_sleep(), called by clk.h's clk_disable_unprepare()):
	// it does not win as the same file's definition
	stub := strings.HasSuffix(caller, ".h") && slices.Contains(p.Files[fi].Protos, name)
	var stubs []int32
	for _, id := range ids {
		switch {
		case p.Funcs[id].File == fi && stub:
			stubs = append(stubs, id)
		case p.Funcs[id].File == fi:
			same = append(same, id)
		case p.hidden(fi, callerArch, view, id) == "":
			ok = append(ok, id)
		}
	}
	if len(ok) == 0 && len(same) == 0 {
		same = stubs // nothing else defines it: the stub is what there is
	}
	if len(same) > 0 {
		return same
	}
	if p.macros[fi][name] {
		// the file's own #define of that name is what the call expands
		return nil
	}
	for _, dir := range p.headerMacros[name] {
		if strings.HasPrefix(caller, dir) {
			// a driver's private header defines it as a macro
			// (mt76.h's mt76_poll): another driver's function of that
			// name is not what the call reaches
			return nil
		}
	}
	ok = p.coexists(fi, ok)
	if len(ok) == 0 {
		return nil
	}
	// A definition linked into the caller's own module comes first.
	var mine []int32
	for _, id := range ok {
		if p.fileComp[p.Funcs[id].File] == p.fileComp[fi] {
			mine = append(mine, id)
		}
	}
	if len(mine) > 0 {
		ok = mine
	} else if inl := p.realInlines(name, ok); len(inl) > 0 {
		// a static inline of a header that does not also declare the
		// name (so it is not a !CONFIG_ stub) is the function callers
		// including that header compile against: same-named .c bodies
		// elsewhere are other drivers' namesakes (staging rtl8192u's
		// ieee80211_rx() is not mac80211's)
		return inl
	}
	// The definitions nearest the caller first (a driver's own inline in
	// its private header beats another driver's .c body); among those, a
	// name defined both in .c files and as a header inline is usually the
	// real body and its !CONFIG_ stub: the .c ones count.
	ok = p.nearest(ok, caller)
	var c []int32
	for _, id := range ok {
		if !strings.HasSuffix(p.Files[p.Funcs[id].File].Path, ".h") {
			c = append(c, id)
		}
	}
	if len(c) == 0 {
		c = ok
	}
	return c
}

// realInlines returns the candidates that are static inlines of shared
// headers (under include/) declaring no prototype of the name, when the
// candidates also hold .c bodies; nil otherwise.
func (p *Program) realInlines(name string, ids []int32) []int32 {
	var inl []int32
	hasC := false
	for _, id := range ids {
		f := p.Funcs[id]
		path := p.Files[f.File].Path
		if !strings.HasSuffix(path, ".h") {
			hasC = true
			continue
		}
		if !f.Src.Static || !(strings.HasPrefix(path, "include/") || strings.Contains(path, "/include/")) {
			continue
		}
		stub := false
		for _, pr := range p.Files[f.File].Protos {
			if pr == name {
				stub = true
				break
			}
		}
		if !stub {
			inl = append(inl, id)
		}
	}
	if !hasC {
		return nil
	}
	return inl
}

// nearest keeps the definitions that share the longest directory prefix
// with the caller: two staging drivers that both define
// rtw_lps_ctrl_wk_cmd() each call their own.
func (p *Program) nearest(ids []int32, caller string) []int32 {
	if len(ids) < 2 {
		return ids
	}
	best, out := -1, []int32(nil)
	for _, id := range ids {
		n := commonDirs(p.Files[p.Funcs[id].File].Path, caller)
		switch {
		case n > best:
			best, out = n, []int32{id}
		case n == best:
			out = append(out, id)
		}
	}
	return out
}

// commonDirs counts the leading directories two paths share.
func commonDirs(a, b string) int {
	n := 0
	for {
		i, j := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		if i < 0 || j < 0 || a[:i] != b[:j] {
			return n
		}
		n++
		a, b = a[i+1:], b[j+1:]
	}
}

// headerVisible reports whether a header's definitions can reach a
// caller: headers under an include/ directory are for everyone; any other
// header is private to its directory and the directories below it.
// hidden says why definition id cannot be what a call from file fi names
// ("" when it can): a static function of another .c file, a driver's
// private header not included from elsewhere, another architecture's code.
func (p *Program) hidden(fi int32, callerArch, view string, id int32) string {
	f := p.Funcs[id]
	path := p.Files[f.File].Path
	switch {
	case f.Src.Static && !strings.HasSuffix(path, ".h") && f.File != fi:
		return "static in another file"
	case strings.HasSuffix(path, ".h") && !headerVisible(path, p.Files[fi].Path):
		return "private header of another directory"
	case !archVisible(callerArch, view, path):
		return "another architecture's"
	}
	return ""
}

func headerVisible(header, caller string) bool {
	if strings.HasPrefix(header, "include/") || strings.Contains(header, "/include/") {
		return true
	}
	dir := header[:strings.LastIndexByte(header, '/')+1]
	return strings.HasPrefix(caller, dir)
}

func (p *Program) link() {
	for _, f := range p.Funcs {
		for ni := range f.Src.Nodes {
			n := &f.Src.Nodes[ni]
			if n.Kind != parser.NCall {
				continue
			}
			s := Site{Node: int32(ni), Line: n.Line, Col: n.Col, Callee: n.Callee, Indirect: n.Indirect}
			if !n.Indirect {
				s.Prim = p.K.Prim(n.Callee)
				if n.Callee == "guard" {
					s.Prim = p.guardPrim(n.Recv())
				}
				if _, isVar := p.varsOf(f)[n.Callee]; isVar {
					// a call through a function-pointer parameter or local
					s.Prim = nil
					s.Indirect = true
					p.IndirectCalls++
				} else if s.Prim == nil {
					p.DirectCalls++
					s.Targets = p.Resolve(n.Callee, f.File)
					if len(s.Targets) > 0 {
						p.DirectResolved++
					}
				}
			} else {
				p.IndirectCalls++
				t, how, owner := p.indirectTargets(f, n)
				if len(t) > 0 && len(t) <= p.opts.MaxIndirectTargets {
					s.Targets, s.Resolved = t, how
					if owner != "" {
						p.siteOwner[SiteRef{f.ID, int32(len(f.Sites))}] = owner
					}
					p.IndirectResolved++
					p.IndirectBy[how]++
				}
			}
			f.Sites = append(f.Sites, s)
		}
		// the CFG is built backwards; list sites in source order
		sort.SliceStable(f.Sites, func(i, j int) bool {
			a, b := &f.Sites[i], &f.Sites[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
	}
}

func (p *Program) guardPrim(class string) *Prim {
	if name, ok := p.K.Table.Guards[strings.TrimSpace(class)]; ok {
		return p.K.Prim(name)
	}
	return nil
}

// Class interns a lock class name.
func (p *Program) Class(name, kind string, typed bool) int32 {
	// a sleeping and a spinning lock never share a class, whatever their
	// names (two `lock` fields of one untyped expression, an accessor)
	key := name
	if p.K.Sleeping(kind) {
		key += "\x00sleeping"
	}
	if id, ok := p.classIdx[key]; ok {
		if p.Classes[id].Kind == "" {
			p.Classes[id].Kind = kind
		}
		if _, sh := p.sharedClass[name]; sh {
			p.Classes[id].Shared = true
		}
		return id
	}
	ci := ClassInfo{Name: name, Kind: kind, Typed: typed, Of: -1}
	if g, ok := p.embedOf[name]; ok {
		ci.Of = p.Class(g, kind, typed)
	}
	_, ci.Shared = p.sharedClass[name]
	id := int32(len(p.Classes))
	p.Classes = append(p.Classes, ci)
	p.classIdx[key] = id
	return id
}

// MayAlias reports whether locks of classes a and b can be one lock: the
// same class, or one embedding's lock and the class of pointers to the
// embedded struct.
func (p *Program) MayAlias(a, b int32) bool {
	return a == b || p.Classes[a].Of == b || p.Classes[b].Of == a
}

// Canon is the class a lock is ordered as in the lock-order graph: one
// embedding's lock stands with the embedded struct's class, which code
// given a pointer takes (cycles are then checked for instances, see
// MayAlias).
func (p *Program) Canon(c int32) int32 {
	if o := p.Classes[c].Of; o >= 0 {
		return o
	}
	return c
}

// Path returns the file path of a function.
func (p *Program) Path(f *Func) string { return p.Files[f.File].Path }

// sccs returns the strongly connected components of the direct-call graph
// in reverse topological order (callees before callers), iteratively.
// Indirect edges are left out: they would merge large parts of the program
// into components whose lock summaries are not ready when used, and no
// bottom-up summary follows them.
func (p *Program) sccs() [][]int32 {
	n := len(p.Funcs)
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	var out [][]int32
	var next int32
	type frame struct {
		v    int32
		site int
		tgt  int
	}
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{v: int32(root)}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			fr := &call[len(call)-1]
			f := p.Funcs[fr.v]
			advanced := false
			for fr.site < len(f.Sites) {
				ts := f.Sites[fr.site].Targets
				if f.Sites[fr.site].Indirect {
					// summaries consumed bottom-up follow direct calls only
					ts = nil
				}
				if fr.tgt >= len(ts) {
					fr.site++
					fr.tgt = 0
					continue
				}
				w := ts[fr.tgt]
				fr.tgt++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
					advanced = true
					break
				} else if onStack[w] && index[w] < low[fr.v] {
					low[fr.v] = index[w]
				}
			}
			if advanced {
				continue
			}
			v := fr.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				if low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == index[v] {
				var comp []int32
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				sort.Slice(comp, func(i, j int) bool { return comp[i] < comp[j] })
				out = append(out, comp)
			}
		}
	}
	return out
}

// privateScope returns the directory whose files a private header serves
// ("" for a shared one): its own directory, or for a driver's include/
// directory (drivers/staging/rtl8723bs/include/rtw_pwrctrl.h) the
// driver's. The tree's include/ and the architectures' are shared.
func privateScope(p string) string {
	if !strings.HasSuffix(p, ".h") || strings.HasPrefix(p, "include/") {
		return ""
	}
	if i := strings.Index(p, "/include/"); i >= 0 {
		if strings.HasPrefix(p, "arch/") && strings.Count(p[:i], "/") == 1 {
			return "" // arch/x86/include/...
		}
		return p[:i+1]
	}
	return p[:strings.LastIndexByte(p, '/')+1]
}
