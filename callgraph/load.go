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
	parsed, skipped, err := ParseFiles(ctx, files, o, nil)
	if err != nil {
		return nil, nil, err
	}
	return Build(parsed, k, Options{Arch: o.Arch, Kbuild: kbuild.ForFiles(files)}), skipped, nil
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
