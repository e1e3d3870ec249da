// Package parser turns kernel C source into per-function control-flow graphs
// of events and file-level facts, using tree-sitter's C grammar without a
// preprocessor. It knows the *shapes* of kernel code (iterator macros, goto
// unlock paths, guard(), SYSCALL_DEFINE bodies) but not the *meaning* of
// kernel primitives: which call locks, sleeps or wakes is decided later by
// callgraph's primitive table, so a changed --config never invalidates a
// cached parse.
package parser

import "strings"

// File holds everything extracted from one source file. It holds no syntax
// tree: once a File is built the tree is closed.
type File struct {
	Path     string
	Bytes    int
	Funcs    []Func
	Structs  []Struct
	Typedefs []Typedef
	Globals  []Var
	Stores   []FieldStore
	// Macros are the function-like macros the file #defines.
	Macros []string
	// Aliases are the macros among them that stand for one call of
	// another function (see macroAlias).
	Aliases []string
	// Consts are the object-like macros that name a number, "NAME=42"
	// (decimal).
	Consts []string
	// ErrorNodes counts outermost ERROR nodes in the file (diagnostics only).
	ErrorNodes int
	// Ignores are the lines holding a `lockorder: ignore` comment.
	Ignores []int32
	// Protos are the functions the file declares at top level without a
	// body (`int f(int);`): a header that declares f and also defines a
	// static inline f holds the !CONFIG_ stub of a real body elsewhere.
	Protos []string
}

// Func is one function definition with its control-flow graph.
type Func struct {
	Name      string
	Static    bool
	Line, Col int32
	EndLine   int32
	Params    []Var
	Locals    []Var
	// Annots are __acquires/__releases/__must_hold annotations, as text.
	Annots []Annot
	// Nodes is the CFG. Nodes[0] is the entry, Nodes[1] the exit.
	Nodes []Node
	// BodyError is set when the body contains ERROR or MISSING nodes.
	BodyError bool
	// ReturnType is the declared return type name ("struct rq *" gives "rq").
	ReturnType string
	// OnceFlags are variables the function sets to 1/true that outlive a
	// call (static locals, globals): tested, they mark first-call-only code.
	OnceFlags []string
	// AssignedParams are the parameters the body assigns to; ParamSets
	// what each assignment stores ("name=value", "name=?").
	AssignedParams []string
	ParamSets      []string
	// MultiAssigned are the locals whose value may change after a test of
	// it: assigned more than once (the initializer counts), incremented,
	// or with their address taken.
	MultiAssigned []string
	// MemberSets are the `local.member` assignments of locals that have
	// a struct initializer (whose other members start zeroed).
	MemberSets []string
	// Grown lists the locals given a constant that later only gain or
	// lose named bits, with those bits: "flags=X|Y" (see grownFlags).
	Grown []string
	// MemberVals are the members of zero-started struct locals whose
	// value the body fixes (see memberFacts).
	MemberVals []string
	// Ret is the expression of a body that is one return statement.
	Ret string
	// CallInits are the locals whose one assignment stores a call's
	// result: "name=call(args)".
	CallInits []string
	// AddrInits are the pointer locals whose one assignment stores the
	// address of a member: "name=&p->m" (`struct __queue *q =
	// &priv->free_queue;`).
	AddrInits []string
	// DerefWrites give the first line where what a pointer parameter
	// points at may change: "p=LINE".
	DerefWrites []string
	// ParamWrites are the members of what pointer parameters point at
	// that the body may change: "p=m1|m2", "p=*" (see paramWrites).
	ParamWrites []string
	// RetStores are the members of the returned object the body sets
	// from a parameter: "m=index" (see retStores).
	RetStores []string
}

// Annot is a sparse lock annotation on a function definition.
type Annot struct {
	Kind string // "__acquires", "__releases", "__must_hold"
	Arg  string
}

// Var is a parameter, local, global or per-CPU variable with its type name
// (struct tag or typedef name, without "struct ") and pointer depth.
type Var struct {
	Name   string
	Type   string
	Ptr    int8
	PerCPU bool
	// ThisCPU: a local initialised from this CPU's per-CPU variable
	// (`struct task_struct *tsk = __this_cpu_read(ksoftirqd);`).
	ThisCPU bool
	// Init is a local's initializer when it is a constant expression
	// (`unsigned int sg_flags = SG_MITER_ATOMIC;`).
	Init string
	Line int32
}

// IsThisCPURead reports whether an expression reads this CPU's instance of
// a per-CPU variable.
func IsThisCPURead(e string) bool {
	for _, p := range []string{"__this_cpu_read(", "this_cpu_read(", "raw_cpu_read(", "this_cpu_ptr(", "raw_cpu_ptr(", "__get_cpu_var(", "__raw_get_cpu_var("} {
		if strings.HasPrefix(e, p) || strings.HasPrefix(e, "*"+p) {
			return true
		}
	}
	return false
}

// Struct is a struct or union definition with its fields.
type Struct struct {
	Name   string
	Fields []Var
}

// Typedef maps a typedef name to the type it names.
type Typedef struct {
	Name string
	Type string
	Ptr  int8
}

// FieldStore records that a function name was stored into a struct field:
// `.fn = f` in an initializer of variable Var, or `x->fn = f`.
type FieldStore struct {
	Field string
	Func  string // the stored identifier (a function, or a variable)
	Var   string // the initialized variable, for designated initializers
	Recv  string // the receiver of an assignment (`miter` in miter->__flags = flags)
	Line  int32
	Col   int32
}

// NodeKind is the event carried by a CFG node.
type NodeKind uint8

const (
	NEntry NodeKind = iota
	NExit
	NNop    // join point, label, empty statement
	NCall   // a call: Callee, Args
	NBranch // a two-way branch on Cond: Succ[0] taken when true, Succ[1] when false
	NLoop   // loop head: Succ[0] enters the body, Succ[1] leaves the loop
	NReturn // return statement; its successor is the exit
	NScopeEnd
)

// Node is one CFG node. Fields are ordered so that a node takes 96
// bytes: the whole 6.1 tree has 7.8 million of them.
type Node struct {
	Line, Col int32
	Kind      NodeKind
	Indirect  bool
	// Callee is the called function's name for a direct call, or the field
	// name for an indirect call through a struct field (Indirect set), or a
	// synthetic name such as "guard" for guard()/scoped_guard().
	Callee string
	// Text depends on the kind: see Recv, Cond and Iter.
	Text string
	Args []string
	Succ []int32
}

// Recv is the receiver expression of an indirect call (`rwc` in
// `rwc->rmap_one(...)`), or the guard class for guards.
func (n *Node) Recv() string { return n.Text }

// Cond is the condition text of a branch, or of a switch head (an NNop
// whose Args are its Cases).
func (n *Node) Cond() string { return n.Text }

// Cases returns, for a switch head, the case value leading to each
// successor ("" for default and for the way past the switch); nil for any
// other node.
func (n *Node) Cases() []string {
	if n.Kind != NNop || n.Text == "" || len(n.Args) != len(n.Succ) {
		return nil
	}
	return n.Args
}

// Iter is the iterator macro or loop keyword of a loop
// ("list_for_each_entry", "for", "while").
func (n *Node) Iter() string { return n.Text }
