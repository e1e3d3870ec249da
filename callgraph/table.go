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
		Barrier     []string       `toml:"barrier"`
		BarrierPath []string       `toml:"barrier_paths"`
		UserAccess  []string       `toml:"user_access"`
		Settled     []Settled      `toml:"settled"`
	} `toml:"effects"`
	Contexts struct {
		Idle            []string         `toml:"idle"`
		SchedCore       []string         `toml:"sched_core"`
		HotplugRegister map[string][]int `toml:"hotplug_register"`
		HotplugNotifier map[string]int   `toml:"hotplug_notifier"`
		IRQRegister     map[string][]int `toml:"irq_register"`
	} `toml:"contexts"`
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
	BH         bool
	Read       bool
	Nested     bool
	Double     bool
	Class      string
	Field      string // the lock is this field of the object argument
	Args       []int
	IRQDisable bool // local_irq_disable & co.
	IRQEnable  bool
	PreemptOff bool
	PreemptOn  bool
	RCULock    bool
	RCUUnlock  bool
	Sleep      bool
	SleepGFP   int // gfp argument index + 1 (0: not a gfp allocation)
	IdleYield  bool
	Wake       bool
	IPIWait    int // wait argument index + 2 (1: always waits, 0: not an IPI)
	NoFaultOn  bool
	NoFaultOff bool
	UserAccess bool
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
	Table    Table
	prims    map[string]*Prim
	blocking map[string]bool
	iters    map[string]bool
	inserts  map[string]bool
	barrier  map[string]bool
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
		iters: set(t.Lists.Iterators), inserts: set(t.Lists.Insert), barrier: map[string]bool{}}
	get := func(n string) *Prim {
		p := k.prims[n]
		if p == nil {
			p = &Prim{Name: n}
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
			case "on", "restore":
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
	} {
		for _, n := range l.names {
			l.set(get(n))
		}
	}
	for n, i := range t.Effects.SleepGFP {
		get(n).SleepGFP = i + 1
	}
	for n, i := range t.Effects.IPISync {
		get(n).IPIWait = i + 2
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
		if k.blocking[w] {
			return true
		}
	}
	return false
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
