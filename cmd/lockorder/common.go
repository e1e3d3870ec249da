package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/lockorder/lockorder/callgraph"
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
