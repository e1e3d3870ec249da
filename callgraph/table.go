// Package callgraph links the per-file facts of a scan into one program:
// functions with integer ids, call edges (direct, and indirect through
// struct fields), the held-lock / IRQ state at every call site, bottom-up
// summaries with witness paths, execution contexts, and the lock-order
// graph. It owns the knowledge of kernel primitives (kernel.toml).
package callgraph

import (
	_ "embed"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed kernel.toml
var kernelTable []byte

// LockPrim describes one family of lock primitives.
type LockPrim struct {
	Names  []string `toml:"names"`
	Op     string   `toml:"op"`   // acquire, release, trylock
	Kind   string   `toml:"kind"` // raw_spinlock, spinlock, rwlock, mutex, rwsem, semaphore, seqlock
	IRQ    string   `toml:"irq"`  // off, save, on, restore, bh, bh_on
	Arg    int      `toml:"arg"`
	Args   []int    `toml:"args"`
	Read   bool     `toml:"read"`
	Nested bool     `toml:"nested"`
	Double bool     `toml:"double"`
	Class  string   `toml:"class"`
}

// Table is the knowledge of kernel primitives.
type Table struct {
	Lock        []LockPrim        `toml:"lock"`
	Guards      map[string]string `toml:"guards"`
	DefineTypes map[string]string `toml:"define_types"`
	Accessors   map[string]string `toml:"accessors"`
	// ObjectLocks: lock calls given the object, not the lock: name -> the
	// lock's field path in the object (mmap_read_lock(mm) takes
	// mm->mmap_lock).
	ObjectLocks map[string]string `toml:"object_locks"`
	IRQ         struct {
		Off        []string `toml:"off"`
		On         []string `toml:"on"`
		PreemptOff []string `toml:"preempt_off"`
		PreemptOn  []string `toml:"preempt_on"`
		RCULock    []string `toml:"rcu_lock"`
		RCUUnlock  []string `toml:"rcu_unlock"`
		NoFaultOn  []string `toml:"nofault_on"`
		NoFaultOff []string `toml:"nofault_off"`
		Save       []string `toml:"save"`
		Restore    []string `toml:"restore"`
	} `toml:"irq"`
	Effects struct {
		Sleep       []string       `toml:"sleep"`
		SleepGFP    map[string]int `toml:"sleep_gfp"`
		BlockingGFP []string       `toml:"blocking_gfp"`
		IdleYield   []string       `toml:"idle_yield"`
		Wake        []string       `toml:"wake"`
		WakeQueue   []string       `toml:"wake_queue"`
		IPISync     map[string]int `toml:"ipi_sync"`
		SleepGuards []string       `toml:"sleep_guards"`
		// SleepsUnlocked sleep only after dropping the lock they are given.
		SleepsUnlocked []string `toml:"sleeps_unlocked"`
		// SleepsPreemptDisabled are made to be called with preemption off.
		SleepsPreemptDisabled []string `toml:"sleeps_preempt_disabled"`
		// SleepsOutsideInterrupt block only when in_interrupt() is false:
		// from a hard-IRQ handler or a softirq callback they defer.
		SleepsOutsideInterrupt []string `toml:"sleeps_outside_interrupt"`
		// SleepsWithIRQThread block only for an interrupt with a threaded
		// handler: synchronize_irq() waits for the IRQ's threads.
		SleepsWithIRQThread []string `toml:"sleeps_with_irq_thread"`
		// LastReference call the function they are given only when they
		// drop an object's last reference (kref_put()).
		LastReference []string  `toml:"last_reference"`
		Barrier       []string  `toml:"barrier"`
		BarrierPath   []string  `toml:"barrier_paths"`
		UserAccess    []string  `toml:"user_access"`
		Settled       []Settled `toml:"settled"`
	} `toml:"effects"`
	Contexts struct {
		Idle            []string         `toml:"idle"`
		SchedCore       []string         `toml:"sched_core"`
		HotplugRegister map[string][]int `toml:"hotplug_register"`
		HotplugNotifier map[string]int   `toml:"hotplug_notifier"`
		IRQRegister     map[string][]int `toml:"irq_register"`
		// SoftIRQRegister register callbacks that run in softirq
		// context: timers, tasklets, NAPI poll, RCU callbacks.
		SoftIRQRegister map[string][]int `toml:"softirq_register"`
		// ThreadedIRQRegister register an IRQ thread function: the
		// argument index of the thread function.
		ThreadedIRQRegister map[string]int `toml:"threaded_irq_register"`
		// NoValidate are the calls that exempt a lock class from
		// lockdep's order checks.
		NoValidate []string `toml:"no_validate"`
		// HotplugStateRegister take the hotplug state as first argument.
		HotplugStateRegister []string `toml:"hotplug_state_register"`
		// NotifierField is the callback field of a notifier block.
		NotifierField string         `toml:"notifier_field"`
		HotplugStates []HotplugState `toml:"hotplug_states"`
	} `toml:"contexts"`
	Kinds map[string]LockKind `toml:"kinds"`
	Exprs struct {
		PerCPU      []string `toml:"per_cpu"`
		ContainerOf []string `toml:"container_of"`
		Transparent []string `toml:"transparent"`
	} `toml:"exprs"`
	Lists struct {
		Iterators []string `toml:"iterators"`
		Insert    []string `toml:"insert"`
		HotLocks  []string `toml:"hot_locks"`
	} `toml:"lists"`
	// Rules lets a config turn rules off and set their severity
	// ("error" or "warning"; notes stay notes).
	Rules struct {
		Disable  []string          `toml:"disable"`
		Severity map[string]string `toml:"severity"`
	} `toml:"rules"`
}

// LockKind is what a kind of lock means (the table's [kinds]).
type LockKind struct {
	Spinning      bool `toml:"spinning"`
	Sleeping      bool `toml:"sleeping"`
	Exclusive     bool `toml:"exclusive"`
	Shared        bool `toml:"shared"`
	ReadRecursive bool `toml:"read_recursive"`
	Preemptible   bool `toml:"preemptible"`
}

// HotplugState classifies hotplug states by where their callbacks run.
type HotplugState struct {
	Match []string `toml:"match"`
	Runs  string   `toml:"runs"` // "dying-cpu" or "control"
}

// Where hotplug callbacks run.
const (
	HotplugThread   = ""          // the per-CPU hotplug thread (ONLINE)
	HotplugDyingCPU = "dying-cpu" // the CPU coming or going, IRQs off
	HotplugControl  = "control"   // the control CPU, target offline
)

// PrimOp is what a call to a primitive does.
type PrimOp uint8

const (
	OpNone PrimOp = iota
	OpAcquire
	OpRelease
	OpTrylock
)

// Prim is the resolved meaning of one primitive name.
type Prim struct {
	Name       string
	Op         PrimOp
	Kind       string
	IRQOff     bool // acquiring disables IRQs (irq/irqsave)
	IRQOn      bool // releasing re-enables IRQs (irq/irqrestore)
	IRQForceOn bool // releasing turns IRQs on whatever they were (_unlock_irq)
	BH         bool
	Read       bool
	Nested     bool
	Double     bool
	Class      string
	Field      string // the lock is this field of the object argument
	Args       []int
	IRQDisable bool // local_irq_disable & co.
	IRQEnable  bool
	IRQSave    bool // the disable saves the previous state (local_irq_save)
	IRQRestore bool // the enable restores the saved state (local_irq_restore)
	PreemptOff bool
	PreemptOn  bool
	RCULock    bool
	RCUUnlock  bool
	Sleep      bool
	GFPArg     int // index of the gfp argument of an allocation (-1: none)
	IdleYield  bool
	Wake       bool
	IPI        bool // a synchronous cross-CPU call
	IPIWaitArg int  // index of its wait argument (-1: always waits)
	NoFaultOn  bool
	NoFaultOff bool
	UserAccess bool
	// SleepsUnlocked: sleeps only after dropping its lock argument.
	SleepsUnlocked bool
	// SleepsPreemptDisabled: made to be called with preemption off.
	SleepsPreemptDisabled bool
	// SleepsOutsideInterrupt: blocks only outside interrupt context.
	SleepsOutsideInterrupt bool
}

// Knowledge is the compiled table.
// Settled says that a function does not sleep for its callers when the
// program's own code establishes, beforehand, what its sleep waits for:
// From is not a sleep when Settler itself calls Via (e.g. kthread_unpark's
// wait_task_inactive() finds the task already off the runqueue once
// kthread_park() calls wait_task_inactive() itself). The condition is
// checked on the scanned tree, so older trees keep the sleep.
type Settled struct {
	From    string `toml:"from"`
	Settler string `toml:"settler"`
	Via     string `toml:"via"`
	Why     string `toml:"why"`
}

type Knowledge struct {
	Table       Table
	prims       map[string]*Prim
	blocking    map[string]bool
	iters       map[string]bool
	inserts     map[string]bool
	barrier     map[string]bool
	perCPU      map[string]bool
	containers  map[string]bool
	transparent map[string]bool
	stateRegs   map[string]bool
	named       map[string]bool // every name the table holds (see Named)
}

// LoadKnowledge compiles the embedded table, extended by the given config
// files (same schema; their entries are added).
func LoadKnowledge(configs ...string) (*Knowledge, error) {
	var t Table
	if err := toml.Unmarshal(kernelTable, &t); err != nil {
		return nil, fmt.Errorf("embedded kernel table: %w", err)
	}
	for _, c := range configs {
		data, err := os.ReadFile(c)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var ext Table
		md, err := toml.Decode(string(data), &ext)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", c, err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			return nil, fmt.Errorf("config %s: unknown key %s", c, un[0])
		}
		merge(reflect.ValueOf(&t), reflect.ValueOf(&ext))
	}
	return compile(t), nil
}

// merge adds a config's entries to the table: lists are appended, map
// entries added or overridden, sections merged field by field, so a new
// table field can never be forgotten here.
func merge(dst, src reflect.Value) {
	switch dst.Kind() {
	case reflect.Pointer:
		merge(dst.Elem(), src.Elem())
	case reflect.Struct:
		for i := 0; i < dst.NumField(); i++ {
			merge(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		dst.Set(reflect.AppendSlice(dst, src))
	case reflect.Map:
		if src.Len() == 0 {
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMap(dst.Type()))
		}
		for it := src.MapRange(); it.Next(); {
			dst.SetMapIndex(it.Key(), it.Value())
		}
	default:
		if !src.IsZero() {
			dst.Set(src)
		}
	}
}

func compile(t Table) *Knowledge {
	k := &Knowledge{Table: t, prims: map[string]*Prim{}, blocking: map[string]bool{},
		iters: set(t.Lists.Iterators), inserts: set(t.Lists.Insert), barrier: map[string]bool{},
		perCPU: set(t.Exprs.PerCPU), containers: set(t.Exprs.ContainerOf), transparent: set(t.Exprs.Transparent),
		stateRegs: set(t.Contexts.HotplugStateRegister)}
	get := func(n string) *Prim {
		p := k.prims[n]
		if p == nil {
			p = &Prim{Name: n, GFPArg: -1}
			k.prims[n] = p
		}
		return p
	}
	for _, lp := range t.Lock {
		for _, n := range lp.Names {
			p := get(n)
			switch lp.Op {
			case "acquire":
				p.Op = OpAcquire
			case "release":
				p.Op = OpRelease
			case "trylock":
				p.Op = OpTrylock
			}
			p.Kind, p.Read, p.Nested, p.Double, p.Class = lp.Kind, lp.Read, lp.Nested, lp.Double, lp.Class
			p.Args = lp.Args
			p.Field = t.ObjectLocks[n]
			if len(p.Args) == 0 {
				p.Args = []int{lp.Arg}
			}
			switch lp.IRQ {
			case "off", "save":
				p.IRQOff = true
			case "on":
				p.IRQOn, p.IRQForceOn = true, true
			case "restore":
				p.IRQOn = true
			case "bh", "bh_on":
				p.BH = true
			}
		}
	}
	// each list of names marks its primitives with one flag
	for _, l := range []struct {
		names []string
		set   func(*Prim)
	}{
		{t.IRQ.Off, func(p *Prim) { p.IRQDisable = true }},
		{t.IRQ.On, func(p *Prim) { p.IRQEnable = true }},
		{t.IRQ.PreemptOff, func(p *Prim) { p.PreemptOff = true }},
		{t.IRQ.PreemptOn, func(p *Prim) { p.PreemptOn = true }},
		{t.IRQ.RCULock, func(p *Prim) { p.RCULock = true }},
		{t.IRQ.RCUUnlock, func(p *Prim) { p.RCUUnlock = true }},
		{t.IRQ.NoFaultOn, func(p *Prim) { p.NoFaultOn = true }},
		{t.IRQ.NoFaultOff, func(p *Prim) { p.NoFaultOff = true }},
		{t.Effects.Sleep, func(p *Prim) { p.Sleep = true }},
		{t.Effects.IdleYield, func(p *Prim) { p.IdleYield = true }},
		{t.Effects.Wake, func(p *Prim) { p.Wake = true }},
		{t.Effects.UserAccess, func(p *Prim) { p.UserAccess = true }},
		{t.IRQ.Save, func(p *Prim) { p.IRQDisable, p.IRQSave = true, true }},
		{t.IRQ.Restore, func(p *Prim) { p.IRQEnable, p.IRQRestore = true, true }},
		{t.Effects.SleepsUnlocked, func(p *Prim) { p.SleepsUnlocked = true }},
		{t.Effects.SleepsPreemptDisabled, func(p *Prim) { p.SleepsPreemptDisabled = true }},
		{t.Effects.SleepsOutsideInterrupt, func(p *Prim) { p.SleepsOutsideInterrupt = true }},
	} {
		for _, n := range l.names {
			l.set(get(n))
		}
	}
	for n, i := range t.Effects.SleepGFP {
		get(n).GFPArg = i
	}
	for n, i := range t.Effects.IPISync {
		pr := get(n)
		pr.IPI, pr.IPIWaitArg = true, i
	}
	for _, n := range t.Effects.Barrier {
		k.barrier[n] = true
	}
	for _, g := range t.Effects.BlockingGFP {
		k.blocking[g] = true
	}
	return k
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Prim returns the primitive called name, or nil.
func (k *Knowledge) Prim(name string) *Prim { return k.prims[name] }

// Kind returns what a lock kind means (the zero LockKind if unknown).
func (k *Knowledge) Kind(kind string) LockKind { return k.Table.Kinds[kind] }

// Spinning reports whether a lock kind spins when contended (holding one
// is atomic context).
func (k *Knowledge) Spinning(kind string) bool { return k.Table.Kinds[kind].Spinning }

// Atomic reports whether holding a lock of a kind is atomic context: a
// spinning lock whose acquisition disables preemption.
func (k *Knowledge) Atomic(kind string) bool {
	lk := k.Table.Kinds[kind]
	return lk.Spinning && !lk.Preemptible
}

// Sleeping reports whether a lock kind sleeps when contended.
func (k *Knowledge) Sleeping(kind string) bool { return k.Table.Kinds[kind].Sleeping }

// IsPerCPUAccessor reports whether a call yields its per-CPU variable
// argument's object (per_cpu(v, cpu)).
func (k *Knowledge) IsPerCPUAccessor(name string) bool { return k.perCPU[name] }

// IsContainerOf reports whether a call yields an object of the type named
// by its second argument (container_of(p, type, member)).
func (k *Knowledge) IsContainerOf(name string) bool { return k.containers[name] }

// IsTransparent reports whether a call in a condition stands for its
// argument (likely(x)).
func (k *Knowledge) IsTransparent(name string) bool { return k.transparent[name] }

// HotplugRuns says where the callbacks of a hotplug state run.
func (k *Knowledge) HotplugRuns(state string) string {
	for _, h := range k.Table.Contexts.HotplugStates {
		for _, m := range h.Match {
			if strings.Contains(state, m) {
				return h.Runs
			}
		}
	}
	return HotplugThread
}

// TakesHotplugState reports whether a hotplug registration call's first
// argument is the state its callbacks are for.
func (k *Knowledge) TakesHotplugState(name string) bool { return k.stateRegs[name] }

// IsListIterator reports whether a loop macro walks a list.
func (k *Knowledge) IsListIterator(name string) bool { return k.iters[name] }

// IsListInsert reports whether a call inserts into a list.
func (k *Knowledge) IsListInsert(name string) bool { return k.inserts[name] }

// BlockingGFP reports whether a gfp mask expression allows blocking.
func (k *Knowledge) BlockingGFP(expr string) bool {
	if strings.Contains(expr, "?") {
		// `may_sleep ? GFP_KERNEL : GFP_ATOMIC`: the developer chose by
		// context, as a sleep guard would
		return false
	}
	for _, w := range splitWords(expr) {
		if k.blocking[w] && !clearedFlag(expr, w) {
			return true
		}
	}
	return false
}

// clearedFlag reports whether every use of flag w in a mask expression
// clears it (`gfp & ~__GFP_DIRECT_RECLAIM`).
func clearedFlag(expr, w string) bool {
	seen := false
	for i := 0; i+len(w) <= len(expr); {
		j := strings.Index(expr[i:], w)
		if j < 0 {
			break
		}
		at := i + j
		i = at + len(w)
		before := at == 0 || !isWord(expr[at-1])
		after := i == len(expr) || !isWord(expr[i])
		if !before || !after {
			continue
		}
		seen = true
		k := at - 1
		for k >= 0 && (expr[k] == ' ' || expr[k] == '(') {
			k--
		}
		if k < 0 || expr[k] != '~' {
			return false
		}
	}
	return seen
}

func splitWords(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		w := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if w && start < 0 {
			start = i
		} else if !w && start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	return out
}

// IsBarrier reports whether effects are not followed into a function
// (panic and error-reporting paths, sanitizer runtimes).
func (k *Knowledge) IsBarrier(name, path string) bool {
	if k.barrier[name] {
		return true
	}
	for _, p := range k.Table.Effects.BarrierPath {
		if strings.Contains(path, p) {
			return true
		}
	}
	return false
}
