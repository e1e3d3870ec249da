// Command lockorder is a static lock-order linter for Linux kernel C.
//
//	lockorder scan [flags] PATH...    report findings
//	lockorder rules                   list the rules
//	lockorder facts FILE...           what the engine understood of each function
//	lockorder graph [--lock CLASS] PATH...   lock-order graph as DOT
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
	"github.com/lockorder/lockorder/reports"
	"github.com/lockorder/lockorder/rules"
)

const usage = `usage: lockorder <command> [flags] [PATH...]

commands:
  scan PATH...    scan .c/.h files (directories recursively) and report findings
  check [PATH...] in a git work tree, report only the findings a change introduces:
                  --base REV [PATH...] (HEAD against REV) or --series PATCH... (patches on HEAD)
  rules           list the rules with their documentation
  facts FILE...   show what the engine understood of each function
  graph PATH...   write the lock-order graph as Graphviz DOT

run 'lockorder <command> --help' for the flags of a command
`

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lockorder: %v\n", err)
	}
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, nil
	}
	var err error
	code := 0
	switch args[0] {
	case "scan":
		code, err = cmdScan(args[1:], stdout, stderr)
	case "check":
		code, err = cmdCheck(args[1:], stdout, stderr)
	case "rules":
		err = cmdRules(args[1:], stdout)
	case "facts":
		err = cmdFacts(args[1:], stdout, stderr)
	case "graph":
		err = cmdGraph(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0, nil
	default:
		return 2, fmt.Errorf("unknown command %q (want scan, check, rules, facts or graph)", args[0])
	}
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0, nil
		}
		return 2, err
	}
	return code, nil
}

type common struct {
	jobs         int
	configs      []string
	arch         string
	progress     string
	cacheDir     string
	noCache      bool
	stats        bool
	loadTime     time.Duration
	showProgress bool
	cacheHits    atomic.Int64
}

func (c *common) register(fs *pflag.FlagSet) {
	fs.IntVarP(&c.jobs, "jobs", "j", runtime.NumCPU(), "parallel parse workers")
	fs.StringSliceVar(&c.configs, "config", nil, "extra primitives table (TOML, same schema as callgraph/kernel.toml)")
	fs.StringVar(&c.arch, "arch", "x86", "architecture whose arch/ subtree counts")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto|always|never")
	fs.StringVar(&c.cacheDir, "cache-dir", parser.DefaultCacheDir(), "where parsed facts are cached by content hash")
	fs.BoolVar(&c.noCache, "no-cache", false, "neither read nor write the facts cache")
	fs.BoolVar(&c.stats, "stats", false, "print scan statistics on stderr")
}

// options are the pipeline options the flags ask for.
func (c *common) options(prog parser.Progress) callgraph.LoadOptions {
	o := callgraph.LoadOptions{Jobs: c.jobs, Configs: c.configs, Arch: c.arch, Progress: prog,
		CacheDir: c.cacheDir, CacheHits: &c.cacheHits}
	if c.noCache {
		o.CacheDir = ""
	}
	return o
}

// load parses the paths and links the program.
func (c *common) load(paths []string, stderr io.Writer) (*callgraph.Program, []parser.Skipped, error) {
	show := c.progress == "always" || (c.progress == "auto" && isTerminal(stderr))
	c.showProgress = show
	var prog parser.Progress
	start := time.Now()
	if show {
		last := time.Time{}
		prog = func(done, total int, b int64) {
			if time.Since(last) < 200*time.Millisecond && done != total {
				return
			}
			last = time.Now()
			el := time.Since(start)
			eta := time.Duration(0)
			if done > 0 {
				eta = time.Duration(float64(el) / float64(done) * float64(total-done))
			}
			fmt.Fprintf(stderr, "\rparsing %d/%d files (%.0f MB) eta %s   ", done, total, float64(b)/1e6, eta.Round(time.Second))
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	if c.progress != "auto" && c.progress != "always" && c.progress != "never" {
		return nil, nil, fmt.Errorf("unknown --progress %q (want auto, always or never)", c.progress)
	}
	p, skipped, err := callgraph.Load(context.Background(), paths, c.options(prog))
	if err != nil {
		return nil, nil, err
	}
	for _, s := range skipped {
		fmt.Fprintf(stderr, "lockorder: skipped %s: %s\n", s.Path, s.Reason)
	}
	c.loadTime = time.Since(start)
	if show {
		fmt.Fprintf(stderr, "linked %d functions in %s\n", len(p.Funcs), time.Since(start).Round(time.Millisecond))
	}
	return p, skipped, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// reportOpts are the flags shared by scan and check that choose and write
// the report.
type reportOpts struct {
	format    string
	out       string
	strict    bool
	failOn    string
	only      []string
	rules     []*rules.Rule
	threshold rules.Severity
	baseline  string
	writeBase string
}

func (o *reportOpts) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "text", "output format: text|json|sarif")
	fs.StringVarP(&o.out, "output", "o", "", "write the report to FILE (atomically) instead of stdout")
	fs.BoolVar(&o.strict, "strict", false, "also report notes (findings without full evidence)")
	fs.StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding at or above this severity exists: note|warning|error")
	fs.StringSliceVar(&o.only, "rule", nil, "run only these rule ids")
	fs.StringVar(&o.baseline, "baseline", "", "hide the findings whose fingerprints this baseline file lists")
	fs.StringVar(&o.writeBase, "write-baseline", "", "write the fingerprints of the findings to FILE (a baseline)")
}

// suppress applies inline `lockorder: ignore` comments and the baseline
// (paths still as in the program).
func (o *reportOpts) suppress(p *callgraph.Program, findings []rules.Finding, stderr io.Writer) error {
	for _, msg := range rules.SuppressInline(p, findings) {
		fmt.Fprintf(stderr, "lockorder: %s\n", msg)
	}
	if o.baseline != "" {
		known, err := rules.ReadBaseline(o.baseline)
		if err != nil {
			return err
		}
		rules.SuppressBaseline(findings, known, o.baseline)
	}
	if o.writeBase != "" {
		return writeAtomic(o.writeBase, rules.BaselineJSON(findings, "lockorder "+reports.Version))
	}
	return nil
}

func (o *reportOpts) validate() error {
	if o.format != "text" && o.format != "json" && o.format != "sarif" {
		return fmt.Errorf("unknown --format %q (want text, json or sarif)", o.format)
	}
	var err error
	if o.threshold, err = rules.ParseSeverity(o.failOn); err != nil {
		return err
	}
	o.rules = rules.All()
	if len(o.only) > 0 {
		o.rules = nil
		for _, id := range o.only {
			r := rules.ByID(id)
			if r == nil {
				return fmt.Errorf("unknown rule %q (see 'lockorder rules')", id)
			}
			o.rules = append(o.rules, r)
		}
	}
	return nil
}

// write renders the findings (paths already relative to root) and returns
// the exit code they call for.
func (o *reportOpts) write(findings []rules.Finding, stdout io.Writer, root string) (int, error) {
	var buf bytes.Buffer
	var err error
	switch o.format {
	case "text":
		err = reports.Text(&buf, findings)
	case "json":
		err = reports.JSON(&buf, findings)
	case "sarif":
		err = reports.SARIF(&buf, findings, rules.All(), root, sourceLine(root))
	}
	if err != nil {
		return 2, err
	}
	if o.out != "" {
		if err := writeAtomic(o.out, buf.Bytes()); err != nil {
			return 2, err
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return 2, err
	}
	for _, f := range findings {
		if f.Severity >= o.threshold && f.Suppressed == nil {
			return 1, nil
		}
	}
	return 0, nil
}

func cmdScan(args []string, stdout, stderr io.Writer) (int, error) {
	fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	var o reportOpts
	o.register(fs)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to FILE")
	memprofile := fs.String("memprofile", "", "write a heap profile (after the rules ran) to FILE")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if err := o.validate(); err != nil {
		return 2, err
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return 2, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return 2, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	p, skipped, err := c.load(fs.Args(), stderr)
	if err != nil {
		return 2, err
	}
	rs, setSeverity, err := rules.Configure(o.rules, p.K.Table.Rules.Disable, p.K.Table.Rules.Severity)
	if err != nil {
		return 2, err
	}
	rctx := rules.NewContext(p, o.strict)
	findings := rules.Run(rctx, rs)
	setSeverity(findings)
	if c.showProgress {
		fmt.Fprintf(stderr, "%d rules ran: %d findings\n", len(rs), len(findings))
	}
	if *memprofile != "" {
		if mf, err := os.Create(*memprofile); err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(mf)
			mf.Close()
		}
	}
	if err := o.suppress(p, findings, stderr); err != nil {
		return 2, err
	}
	cwd, _ := os.Getwd()
	rules.RelPaths(findings, cwd)
	code, err := o.write(findings, stdout, cwd)
	if err != nil {
		return 2, err
	}
	if c.stats {
		printStats(stderr, p, skipped, findings, time.Since(start))
		fmt.Fprintf(stderr, "facts cache: %d of %d files reused\n", c.cacheHits.Load(), len(p.Files))
		fmt.Fprintf(stderr, "time: load (parse+link+summaries) %s", c.loadTime.Round(time.Millisecond))
		for _, r := range o.rules {
			fmt.Fprintf(stderr, ", %s %s", r.ID, rctx.Times[r.ID].Round(time.Millisecond))
		}
		fmt.Fprintln(stderr)
	}
	return code, nil
}

func printStats(w io.Writer, p *callgraph.Program, skipped []parser.Skipped, fs []rules.Finding, d time.Duration) {
	var bytes, fns, bodyErr, errNodes int
	for _, f := range p.Files {
		bytes += f.Bytes
		errNodes += f.ErrorNodes
		for i := range f.Funcs {
			fns++
			if f.Funcs[i].BodyError {
				bodyErr++
			}
		}
	}
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	fmt.Fprintf(w, "files: %d parsed, %d skipped, %.1f MB\n", len(p.Files), len(skipped), float64(bytes)/1e6)
	fmt.Fprintf(w, "functions: %d, body with parse errors: %d (%.2f%%), ERROR nodes: %d\n", fns, bodyErr, pct(bodyErr, fns), errNodes)
	fmt.Fprintf(w, "direct calls to non-primitives: %d, resolved to a definition: %d (%.1f%%)\n",
		p.DirectCalls, p.DirectResolved, pct(p.DirectResolved, p.DirectCalls))
	fmt.Fprintf(w, "indirect calls: %d, resolved through struct fields: %d (%.1f%%)\n",
		p.IndirectCalls, p.IndirectResolved, pct(p.IndirectResolved, p.IndirectCalls))
	fmt.Fprintf(w, "lock classes: %d, findings: %d, wall: %s\n", len(p.Classes), len(fs), d.Round(time.Millisecond))
}

// sourceLine reads source lines for SARIF line hashes, caching files.
func sourceLine(root string) reports.LineHasher {
	cache := map[string][]string{}
	return func(path string, line int) string {
		lines, ok := cache[path]
		if !ok {
			p := path
			if !filepath.IsAbs(p) {
				p = filepath.Join(root, p)
			}
			data, err := os.ReadFile(p)
			if err == nil {
				lines = strings.Split(string(data), "\n")
			}
			cache[path] = lines
		}
		if line >= 1 && line <= len(lines) {
			return lines[line-1]
		}
		return ""
	}
}

// writeAtomic writes data to a temporary file beside path and renames it,
// so a failed run never leaves a half-written report.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".lockorder-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func cmdRules(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("rules", pflag.ContinueOnError)
	format := fs.String("format", "text", "text|markdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rules.All() {
		if *format == "markdown" {
			fmt.Fprintf(&b, "## %s\n\n%s (default severity: %s)\n\n%s\n\n%s\n\n", r.ID, r.Short, r.Severity, r.Full, r.Help)
		} else {
			fmt.Fprintf(&b, "%s (%s)\n  %s\n\n", r.ID, r.Severity, r.Short)
		}
	}
	_, err := io.WriteString(stdout, b.String())
	return err
}

func cmdFacts(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("facts", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	fn := fs.String("func", "", "show only functions with this name")
	defs := fs.Bool("defs", false, "only list the function definitions found (path, line, name), without linking: the front end's coverage")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *defs {
		return listDefs(fs.Args(), &c, stdout, stderr)
	}
	p, _, err := c.load(fs.Args(), stderr)
	if err != nil {
		return err
	}
	cwd, _ := os.Getwd()
	var b strings.Builder
	for _, f := range p.Funcs {
		if *fn != "" && f.Src.Name != *fn {
			continue
		}
		path := p.Path(f)
		if r, err := filepath.Rel(cwd, path); err == nil && !strings.HasPrefix(r, "..") {
			path = r
		}
		describeFunc(&b, p, f, path)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func describeFunc(b *strings.Builder, p *callgraph.Program, f *callgraph.Func, path string) {
	flags := ""
	if f.Src.Static {
		flags += " static"
	}
	if f.Src.BodyError {
		flags += " body-has-parse-errors"
	}
	fmt.Fprintf(b, "%s:%d: %s()%s\n", path, f.Src.Line, f.Src.Name, flags)
	for _, s := range f.Sites {
		if !s.Reached {
			fmt.Fprintf(b, "  %d:%d call %s (unreachable)\n", s.Line, s.Col, s.Callee)
			continue
		}
		var what string
		switch {
		case s.Prim != nil && len(s.Acq) > 0:
			var cls []string
			for _, a := range s.Acq {
				cls = append(cls, p.Classes[a.Class].Name)
			}
			what = "acquire " + strings.Join(cls, ", ")
			if s.Prim.IRQOff {
				what += " (IRQs off)"
			}
		case s.Prim != nil:
			what = "primitive " + s.Callee
		case s.Indirect:
			what = fmt.Sprintf("indirect ->%s (%d targets)", s.Callee, len(s.Targets))
		default:
			what = fmt.Sprintf("call %s (%d definitions)", s.Callee, len(s.Targets))
		}
		fmt.Fprintf(b, "  %d:%d %s", s.Line, s.Col, what)
		var held []string
		for _, h := range s.Held {
			n := p.Classes[h.Class].Name
			if h.IRQOff {
				n += "[irqs-off]"
			}
			held = append(held, n)
		}
		if len(held) > 0 {
			fmt.Fprintf(b, " | held: %s", strings.Join(held, ", "))
		}
		switch {
		case s.IRQsOff():
			fmt.Fprint(b, " | IRQs off")
		case s.IRQ == 2:
			fmt.Fprint(b, " | IRQs on")
		}
		if s.Preempt > 0 {
			fmt.Fprint(b, " | preempt off")
		}
		if s.Dropped {
			fmt.Fprint(b, " | caller context dropped")
		}
		if s.RCU > 0 {
			fmt.Fprint(b, " | rcu")
		}
		if s.Guarded {
			fmt.Fprint(b, " | sleep-guarded")
		}
		b.WriteString("\n")
	}
	var eff []string
	for e, name := range []string{"may-sleep", "may-sleep(strict)", "wakes", "wakes-task", "sync-ipi"} {
		if f.ViaDirect[e] >= 0 {
			eff = append(eff, name)
		} else if f.ViaAny[e] >= 0 {
			eff = append(eff, name+"(via fn ptr)")
		}
	}
	if len(eff) > 0 {
		fmt.Fprintf(b, "  summary: %s\n", strings.Join(eff, ", "))
	}
	if len(f.ExitHeld) > 0 {
		var hs []string
		for _, h := range f.ExitHeld {
			hs = append(hs, p.Classes[h.Class].Name)
		}
		fmt.Fprintf(b, "  returns holding: %s\n", strings.Join(hs, ", "))
	}
	if len(f.Releases) > 0 {
		var hs []string
		for _, c := range f.Releases {
			hs = append(hs, p.Classes[c].Name)
		}
		fmt.Fprintf(b, "  releases its caller's: %s\n", strings.Join(hs, ", "))
	}
}

func cmdGraph(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("graph", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	lock := fs.String("lock", "", "only the edges into and out of this lock class")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, _, err := c.load(fs.Args(), stderr)
	if err != nil {
		return err
	}
	lo := p.LockOrder()
	var b strings.Builder
	b.WriteString("digraph lockorder {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	for _, k := range lo.Keys() {
		a, bn := p.Classes[k[0]].Name, p.Classes[k[1]].Name
		if *lock != "" && a != *lock && bn != *lock {
			continue
		}
		e := lo.Edges[k]
		holder := p.Funcs[e.Holder]
		fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", a, bn, fmt.Sprintf("%s:%d %s()", p.Path(holder), e.HeldLine, holder.Src.Name))
	}
	b.WriteString("}\n")
	_, err = io.WriteString(stdout, b.String())
	return err
}

// listDefs prints every function definition the front end recovers, one
// "path\tline\tname" line each, in file order (scripts/defcov.sh compares
// them with Universal Ctags).
func listDefs(paths []string, c *common, stdout, stderr io.Writer) error {
	files, err := parser.Collect(paths)
	if err != nil {
		return err
	}
	parsed, skipped, err := callgraph.ParseFiles(context.Background(), files, c.options(nil), nil)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(stderr, "lockorder: skipped %s: %s\n", s.Path, s.Reason)
	}
	w := bufio.NewWriter(stdout)
	for _, f := range parsed {
		for i := range f.Funcs {
			fmt.Fprintf(w, "%s\t%d\t%s\n", f.Path, f.Funcs[i].Line, f.Funcs[i].Name)
		}
	}
	return w.Flush()
}
