package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/kbuild"
	"github.com/lockorder/lockorder/parser"
)

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
	tree         string
	noTree       bool
	// scope holds the absolute paths asked for when the program was built
	// from the whole kernel tree around them: reports keep to these.
	scope    []string
	treeRoot string
	// kconfig names a real .config (--kconfig); kcfg is it, read
	kconfig string
	kcfg    *kbuild.Config
	fs      *pflag.FlagSet
}

func (c *common) register(fs *pflag.FlagSet) {
	fs.IntVarP(&c.jobs, "jobs", "j", runtime.NumCPU(), "parallel parse workers")
	fs.StringSliceVar(&c.configs, "config", nil, "extra primitives table (TOML, same schema as callgraph/kernel.toml)")
	fs.StringVar(&c.arch, "arch", "x86", "architecture whose arch/ subtree counts")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto|always|never")
	fs.StringVar(&c.cacheDir, "cache-dir", parser.DefaultCacheDir(), "where parsed facts are cached by content hash")
	fs.BoolVar(&c.noCache, "no-cache", false, "neither read nor write the facts cache")
	fs.BoolVar(&c.stats, "stats", false, "print scan statistics on stderr")
	fs.StringVar(&c.tree, "tree", "", "the kernel tree the paths belong to (default: found from the paths: a directory with Makefile, Kconfig and include/linux/)")
	fs.BoolVar(&c.noTree, "no-tree", false, "build the program from the given paths only, not from the whole kernel tree around them")
	fs.StringVar(&c.kconfig, "kconfig", "", "a kernel .config (plain, .gz or .xz): only what it builds counts, and its architecture is --arch unless given")
	c.fs = fs
}

// readKconfig reads --kconfig once; its architecture becomes --arch
// unless that was given.
func (c *common) readKconfig() error {
	if c.kconfig == "" || c.kcfg != nil {
		return nil
	}
	cfg, err := kbuild.ReadConfig(c.kconfig)
	if err != nil {
		return err
	}
	c.kcfg = cfg
	if a := cfg.Arch(); a != "" && (c.fs == nil || !c.fs.Changed("arch")) {
		c.arch = a
	}
	return nil
}

// kernelRoot finds the kernel tree holding path: the nearest directory at
// or above it with a Makefile, a Kconfig and include/linux/.
func kernelRoot(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		abs = filepath.Dir(abs)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if isKernelRoot(d) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func isKernelRoot(d string) bool {
	for _, f := range []string{"Makefile", "Kconfig"} {
		if st, err := os.Stat(filepath.Join(d, f)); err != nil || st.IsDir() {
			return false
		}
	}
	st, err := os.Stat(filepath.Join(d, "include", "linux"))
	return err == nil && st.IsDir()
}

// treeContext decides what to load for the paths asked: inside a kernel
// tree, the whole tree (types, callees and header macros of every
// subsystem), with the report kept to the paths asked; outside one, or
// with --no-tree, the paths themselves.
func (c *common) treeContext(paths []string) ([]string, error) {
	if c.noTree || len(paths) == 0 {
		return paths, nil
	}
	root := c.tree
	if root != "" {
		if !isKernelRoot(root) {
			return nil, fmt.Errorf("--tree %s: not a kernel tree (no Makefile, Kconfig and include/linux/)", root)
		}
		root, _ = filepath.Abs(root)
	} else {
		for _, p := range paths {
			r := kernelRoot(p)
			if r == "" || root != "" && r != root {
				return paths, nil // not inside one kernel tree
			}
			root = r
		}
	}
	var scope []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if abs == root {
			return paths, nil // the whole tree was asked for
		}
		if r, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(r, "..") {
			return nil, fmt.Errorf("%s is outside the tree %s", p, root)
		}
		scope = append(scope, abs)
	}
	c.scope, c.treeRoot = scope, root
	// name the root as a whole-tree scan from here would, so that paths
	// in the report read the same
	return []string{relToCwd(root)}, nil
}

// relToCwd shortens a path to one relative to the working directory when
// it lies below it.
func relToCwd(path string) string {
	cwd, _ := os.Getwd()
	if r, err := filepath.Rel(cwd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// inScope reports whether a file path of the program lies in the paths
// asked for (always, without a tree context).
func (c *common) inScope(path string) bool {
	if len(c.scope) == 0 {
		return true
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for _, s := range c.scope {
		if abs == s || strings.HasPrefix(abs, s+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// options are the pipeline options the flags ask for.
func (c *common) options(prog parser.Progress) callgraph.LoadOptions {
	o := callgraph.LoadOptions{Jobs: c.jobs, Configs: c.configs, Arch: c.arch, Progress: prog,
		CacheDir: c.cacheDir, CacheHits: &c.cacheHits, Config: c.kcfg}
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
	if err := c.readKconfig(); err != nil {
		return nil, nil, err
	}
	paths, err := c.treeContext(paths)
	if err != nil {
		return nil, nil, err
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
