// Package rules holds lockorder's checks. Each rule is a value with its ID,
// documentation and default severity; the program is computed once and
// shared by all rules.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lockorder/lockorder/callgraph"
)

// Severity of a finding.
type Severity int

const (
	Note Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// ParseSeverity parses "note", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "note":
		return Note, nil
	case "warning":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return Note, fmt.Errorf("unknown severity %q (want note, warning or error)", s)
}

// Rule is one check.
type Rule struct {
	ID       string
	Name     string // PascalCase, for SARIF
	Short    string // one line
	Full     string // paragraph: what it flags and why it matters
	Help     string // the bug pattern and the fix (markdown)
	Severity Severity
	Tags     []string
	Run      func(*Context) []Finding
}

// Location is a place in the source.
type Location struct {
	Path string
	Line int
	Col  int
	Func string
}

func (l Location) String() string { return fmt.Sprintf("%s:%d:%d", l.Path, l.Line, l.Col) }

// Step is one step of a path.
type Step struct {
	Loc     Location
	Message string
}

// ThreadFlow is the path one CPU (or one side of a scenario) takes.
type ThreadFlow struct {
	Name  string
	Steps []Step
}

// Finding is one report.
type Finding struct {
	Rule     string
	Severity Severity
	Loc      Location
	Message  string
	Flows    []ThreadFlow
	Related  []Step
	Fix      string
	// Key identifies the finding independently of line numbers: rule,
	// function, lock classes, callee. Fingerprint hashes it.
	Key         []string
	Fingerprint string
	// Suppressed is set when an inline comment or a baseline hides it.
	Suppressed *Suppression
	// Dropped says why the path check rules every witness out; such a
	// finding is not reported (--explain-dropped shows it as a note).
	Dropped string
}

// Context gives rules the program and helpers to describe it.
type Context struct {
	P      *callgraph.Program
	Strict bool
	// Times records how long each rule ran (for --stats).
	Times map[string]time.Duration
	// ExplainDropped reports the findings the path check drops, as
	// notes saying why; DroppedBy counts them per rule.
	ExplainDropped bool
	DroppedBy      map[string]int
	lo             *callgraph.LockOrder
}

// NewContext prepares a rule context.
func NewContext(p *callgraph.Program, strict bool) *Context {
	return &Context{P: p, Strict: strict, Times: map[string]time.Duration{}, DroppedBy: map[string]int{}}
}

// LockOrder is computed once and shared.
func (c *Context) LockOrder() *callgraph.LockOrder {
	if c.lo == nil {
		c.lo = c.P.LockOrder()
	}
	return c.lo
}

// FuncLoc is the location of a function definition.
func (c *Context) FuncLoc(id int32) Location {
	f := c.P.Funcs[id]
	return Location{Path: c.P.Path(f), Line: int(f.Src.Line), Col: int(f.Src.Col), Func: f.Src.Name}
}

// SiteLoc is the location of a call site.
func (c *Context) SiteLoc(id, si int32) Location {
	f := c.P.Funcs[id]
	s := &f.Sites[si]
	return Location{Path: c.P.Path(f), Line: int(s.Line), Col: int(s.Col), Func: f.Src.Name}
}

// ClassName is the name of a lock class.
func (c *Context) ClassName(id int32) string { return c.P.Classes[id].Name }

// CallSteps describes a witness chain of call sites.
func (c *Context) CallSteps(path []callgraph.SiteRef) []Step {
	var out []Step
	for k, st := range path {
		if st.Site < 0 {
			out = append(out, Step{Loc: c.FuncLoc(st.Func), Message: "in " + c.P.Funcs[st.Func].Src.Name + "()"})
			continue
		}
		f := c.P.Funcs[st.Func]
		s := &f.Sites[st.Site]
		msg := fmt.Sprintf("%s() calls %s()", f.Src.Name, s.Callee)
		if k+1 < len(path) {
			if cb, ok := c.P.IsCallback(f, st.Site, path[k+1].Func); ok {
				// a function handed to a helper that calls it
				msg = fmt.Sprintf("%s() calls %s(), which calls %s() given as its %s", f.Src.Name, s.Callee,
					c.P.Funcs[path[k+1].Func].Src.Name, cb.Param)
			}
		}
		out = append(out, Step{Loc: c.SiteLoc(st.Func, st.Site), Message: msg})
	}
	return out
}

// registry holds every rule; each rule file registers its rules.
var registry []*Rule

func register(r *Rule) *Rule {
	registry = append(registry, r)
	return r
}

// All returns every rule, in ID order.
func All() []*Rule {
	rs := slices.Clone(registry)
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	return rs
}

// MarkdownTable is the README's table of rules: ID and one line each.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| rule | severity | what it flags |\n|---|---|---|\n")
	for _, r := range All() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.ID, r.Severity, r.Short)
	}
	return b.String()
}

// ByID finds a rule.
func ByID(id string) *Rule {
	for _, r := range All() {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Run runs the rules and returns their findings, sorted, with
// fingerprints; notes are dropped unless strict.
func Run(ctx *Context, rs []*Rule) []Finding {
	// a barrier is a dying or debugging path (die(), panic(), sanitizer
	// reports): what it does is not followed from its callers, nor
	// reported in it, by any rule
	barrier := map[[2]string]bool{}
	for _, f := range ctx.P.Funcs {
		if f.Barrier {
			barrier[[2]string{ctx.P.Path(f), f.Src.Name}] = true
		}
	}
	var out []Finding
	for _, r := range rs {
		start := time.Now()
		found := r.Run(ctx)
		ctx.Times[r.ID] = time.Since(start)
		for _, f := range found {
			if callgraph.IsUserspace(f.Loc.Path) || barrier[[2]string{f.Loc.Path, f.Loc.Func}] {
				continue
			}
			if f.Dropped != "" {
				ctx.DroppedBy[r.ID]++
				if !ctx.ExplainDropped {
					continue
				}
				f.Severity = Note
				f.Message += " [dropped by the path check: " + f.Dropped + "]"
			} else if f.Severity == Note && !ctx.Strict {
				continue
			}
			f.Rule = r.ID
			f.Fingerprint = Fingerprint(r.ID, f.Key)
			out = append(out, f)
		}
	}
	Sort(out)
	return Dedup(out)
}

// Configure applies a config's [rules] section: rules switched off are
// dropped from rs, and severities overridden in the findings.
func Configure(rs []*Rule, disable []string, severity map[string]string) ([]*Rule, func([]Finding), error) {
	var out []*Rule
	for _, r := range rs {
		if !slices.Contains(disable, r.ID) {
			out = append(out, r)
		}
	}
	for _, id := range disable {
		if ByID(id) == nil {
			return nil, nil, fmt.Errorf("config: unknown rule %q in [rules] disable", id)
		}
	}
	sev := map[string]Severity{}
	for id, s := range severity {
		if ByID(id) == nil {
			return nil, nil, fmt.Errorf("config: unknown rule %q in [rules.severity]", id)
		}
		v, err := ParseSeverity(s)
		if err != nil || v == Note {
			return nil, nil, fmt.Errorf("config: severity of %s must be error or warning, not %q", id, s)
		}
		sev[id] = v
	}
	apply := func(fs []Finding) {
		for i := range fs {
			if v, ok := sev[fs[i].Rule]; ok && fs[i].Severity != Note {
				fs[i].Severity = v
			}
		}
	}
	return out, apply, nil
}

// weak reports whether a witness chain is too weak for an error or a
// warning: longer than max calls (a long may-chain). Such findings are
// notes. dropped says why the values the chain carries rule it out (such
// a finding is dropped: see Finding.Dropped).
func weak(p *callgraph.Program, path []callgraph.SiteRef, max int) (isWeak bool, dropped string) {
	return len(path) > max, p.Contradiction(path)
}

// Fingerprint hashes a finding's identity.
func Fingerprint(rule string, key []string) string {
	h := sha256.Sum256([]byte(rule + "\x00" + strings.Join(key, "\x00")))
	return hex.EncodeToString(h[:16])
}

// Sort orders findings by file, line, column, rule, message.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Loc.Path != b.Loc.Path {
			return a.Loc.Path < b.Loc.Path
		}
		if a.Loc.Line != b.Loc.Line {
			return a.Loc.Line < b.Loc.Line
		}
		if a.Loc.Col != b.Loc.Col {
			return a.Loc.Col < b.Loc.Col
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// Dedup drops findings with the same fingerprint at the same place.
func Dedup(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := f.Fingerprint + "@" + f.Loc.String()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// RelPaths rewrites every path in the findings relative to base.
func RelPaths(fs []Finding, base string) {
	rel := func(p string) string {
		if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	for i := range fs {
		f := &fs[i]
		f.Loc.Path = rel(f.Loc.Path)
		for j := range f.Flows {
			for k := range f.Flows[j].Steps {
				f.Flows[j].Steps[k].Loc.Path = rel(f.Flows[j].Steps[k].Loc.Path)
			}
		}
		for j := range f.Related {
			f.Related[j].Loc.Path = rel(f.Related[j].Loc.Path)
		}
	}
}

// Introduced runs the rules over the head and the base program of a change
// and returns the head's findings whose fingerprint the base lacks, with
// the counts on each side. Severities are the rules' own (apply a config's
// overrides to the result).
func Introduced(head, base *callgraph.Program, rs []*Rule, strict bool) (introduced []Finding, nHead, nBase int) {
	headFindings := Run(NewContext(head, strict), rs)
	baseFindings := Run(NewContext(base, strict), rs)
	known := map[string]bool{}
	for _, f := range baseFindings {
		known[f.Fingerprint] = true
	}
	for _, f := range headFindings {
		if !known[f.Fingerprint] {
			introduced = append(introduced, f)
		}
	}
	return introduced, len(headFindings), len(baseFindings)
}
