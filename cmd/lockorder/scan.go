package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
	"github.com/lockorder/lockorder/reports"
	"github.com/lockorder/lockorder/rules"
)

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
	explain   bool
}

func (o *reportOpts) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "text", "output format: text|json|sarif")
	fs.StringVarP(&o.out, "output", "o", "", "write the report to FILE (atomically) instead of stdout")
	fs.BoolVar(&o.strict, "strict", false, "also report notes (findings without full evidence)")
	fs.StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding at or above this severity exists: note|warning|error")
	fs.StringSliceVar(&o.only, "rule", nil, "run only these rule ids")
	fs.StringVar(&o.baseline, "baseline", "", "hide the findings whose fingerprints this baseline file lists")
	fs.StringVar(&o.writeBase, "write-baseline", "", "write the fingerprints of the findings to FILE (a baseline)")
	fs.BoolVar(&o.explain, "explain-dropped", false, "also report, as notes saying why, the findings the path check drops (every witness ruled out by the values it carries)")
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
	rctx.ExplainDropped = o.explain
	findings := rules.Run(rctx, rs)
	if len(c.scope) > 0 {
		// built from the whole tree: report what lies in the paths asked
		kept := findings[:0]
		for _, f := range findings {
			if c.inScope(f.Loc.Path) {
				kept = append(kept, f)
			}
		}
		findings = kept
	}
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
		if c.treeRoot != "" {
			fmt.Fprintf(stderr, "tree context: the program is the whole tree %s; findings kept to %s\n", c.treeRoot, strings.Join(c.scope, " "))
		}
		fmt.Fprintf(stderr, "facts cache: %d of %d files reused\n", c.cacheHits.Load(), len(p.Files))
		fmt.Fprintf(stderr, "path check: dropped")
		for _, r := range o.rules {
			fmt.Fprintf(stderr, " %s %d", r.ID, rctx.DroppedBy[r.ID])
		}
		fmt.Fprintln(stderr)
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
	fmt.Fprintf(w, "direct calls to non-primitives: %d, resolved to a definition: %d (%.1f%%); %d macro calls linked as their target's\n",
		p.DirectCalls, p.DirectResolved, pct(p.DirectResolved, p.DirectCalls), p.AliasCalls)
	fmt.Fprintf(w, "indirect calls: %d, resolved through struct fields: %d (%.1f%%): %d by receiver type, %d by field name and arity\n",
		p.IndirectCalls, p.IndirectResolved, pct(p.IndirectResolved, p.IndirectCalls),
		p.IndirectBy[callgraph.ResolvedType], p.IndirectBy[callgraph.ResolvedName])
	fmt.Fprintf(w, "functions passed to helpers that call them: %d linked as targets of the helper's call\n", p.CallbackEdges)
	ty, unty := p.StoreCounts()
	fmt.Fprintf(w, "function stores into struct fields: %d typed, %d untyped\n", ty, unty)
	if kb := p.Kbuild(); kb != nil {
		kc := 0
		if kb.Kconfig != nil {
			kc = kb.Kconfig.Files
		}
		fmt.Fprintf(w, "kbuild: %d Makefiles read (%d unreadable), %d source files placed in modules; %d Kconfig files; %d call targets dropped as not buildable with the caller\n",
			kb.Read, kb.Unread, kb.Files(), kc, p.Unbuildable)
		if kb.Config != nil {
			fmt.Fprintf(w, "kconfig: %s sets %d symbols; %d files it does not build left out\n", kb.Config.Path, kb.Config.Symbols(), kb.NotBuilt)
		}
	}
	fmt.Fprintf(w, "front end: %d files needed definition recovery, %d extra parses\n",
		parser.RecoverStats.Files.Load(), parser.RecoverStats.Parses.Load())
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
