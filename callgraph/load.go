package callgraph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/lockorder/lockorder/kbuild"
	"github.com/lockorder/lockorder/parser"
)

// LoadOptions configure Load.
type LoadOptions struct {
	Jobs     int
	Configs  []string
	Arch     string
	Progress parser.Progress
	// CacheDir holds cached facts ("" : no cache).
	CacheDir string
	// CacheHits counts files served from the cache (may be nil).
	CacheHits *atomic.Int64
	// Config, when set, is the real configuration the program is
	// restricted to (--kconfig).
	Config *kbuild.Config
}

// Load runs the front half of the pipeline: collect the .c/.h files under
// paths, parse them in parallel, and link them into a program. Files that
// cannot be used are returned in skipped; a bad argument is an error.
func Load(ctx context.Context, paths []string, o LoadOptions) (*Program, []parser.Skipped, error) {
	if len(paths) == 0 {
		return nil, nil, errors.New("no PATH given")
	}
	k, err := LoadKnowledge(o.Configs...)
	if err != nil {
		return nil, nil, err
	}
	files, err := parser.Collect(paths)
	if err != nil {
		return nil, nil, err
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no .c or .h files under %s", strings.Join(paths, " "))
	}
	kb, files := TreeModel(files, o.Config, o.Arch)
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no .c or .h file under %s is built with %s", strings.Join(paths, " "), o.Config.Path)
	}
	parsed, skipped, err := ParseFiles(ctx, files, o, nil)
	if err != nil {
		return nil, nil, err
	}
	return Build(parsed, k, Options{Arch: o.Arch, Kbuild: kb}), skipped, nil
}

// TreeModel reads the Makefiles (and Kconfig) around the files and, with
// a real configuration, keeps only the files it builds for arch (see
// kbuild.Tree.InConfig), so the program is that kernel's.
func TreeModel(files []string, cfg *kbuild.Config, arch string) (*kbuild.Tree, []string) {
	kb := kbuild.ForFiles(files)
	if cfg == nil {
		return kb, files
	}
	kb.Config = cfg
	kept := files[:0:0]
	for _, f := range files {
		if kb.InConfig(f, arch) {
			kept = append(kept, f)
		}
	}
	kb.NotBuilt = len(files) - len(kept)
	return kb, kept
}

// ParseFiles parses files in parallel with the options' workers, progress
// and facts cache. read, when set, supplies a file's content (check --base
// reads the base revision with git).
func ParseFiles(ctx context.Context, files []string, o LoadOptions, read func(string) ([]byte, error)) ([]*parser.File, []parser.Skipped, error) {
	pr, err := parser.New()
	if err != nil {
		return nil, nil, err
	}
	opt := parser.ScanOptions{Jobs: o.Jobs, Progress: o.Progress, CacheHits: o.CacheHits, Read: read}
	if o.CacheDir != "" {
		if opt.Cache, err = parser.OpenCache(o.CacheDir); err != nil {
			return nil, nil, err
		}
	}
	parsed, skipped := pr.ParseAll(ctx, files, opt)
	return parsed, skipped, nil
}
