package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
	"github.com/lockorder/lockorder/reports"
	"github.com/lockorder/lockorder/rules"
)

func cmdRules(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("rules", pflag.ContinueOnError)
	format := fs.String("format", "text", "text|markdown|table (the README's table)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format == "table" {
		_, err := io.WriteString(stdout, rules.MarkdownTable())
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
	var b strings.Builder
	for _, f := range p.Funcs {
		if *fn != "" && f.Src.Name != *fn || !c.inScope(p.Path(f)) {
			continue
		}
		reports.Facts(&b, p, f, relToCwd(p.Path(f)))
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// cmdWhy explains the summary of the functions named FUNC: why each may
// sleep, wake or IPI (the witness chain to the primitive) and which locks
// it takes, the first thing a reviewer asks of a finding.
func cmdWhy(args []string, stdout, stderr io.Writer) (int, error) {
	fs := pflag.NewFlagSet("why", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	max := fs.Int("max-locks", 16, "lock classes to list with their chains")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() < 2 {
		return 2, fmt.Errorf("usage: lockorder why FUNC PATH...")
	}
	name := fs.Arg(0)
	p, _, err := c.load(fs.Args()[1:], stderr)
	if err != nil {
		return 2, err
	}
	var b strings.Builder
	n := 0
	for _, id := range p.ByName(name) {
		f := p.Funcs[id]
		if !c.inScope(p.Path(f)) {
			continue
		}
		reports.Why(&b, p, f, relToCwd, *max)
		n++
	}
	if n == 0 {
		return 2, fmt.Errorf("no function %s() in %s", name, strings.Join(fs.Args()[1:], " "))
	}
	_, err = io.WriteString(stdout, b.String())
	return 0, err
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
	_, err = io.WriteString(stdout, reports.LockGraphDOT(p, *lock))
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
