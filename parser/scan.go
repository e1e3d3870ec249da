package parser

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sourcegraph/conc/pool"
)

// Skipped is a file that could not be used, with the reason.
type Skipped struct {
	Path   string
	Reason string
}

// Progress receives counts while a scan runs (may be nil).
type Progress func(done, total int, bytes int64)

// ScanOptions configure Collect and ParseAll.
type ScanOptions struct {
	Jobs     int
	Progress Progress
	// Cache, when set, supplies facts of unchanged files and keeps new ones.
	Cache *Cache
	// CacheHits counts files whose facts came from the cache (may be nil).
	CacheHits *atomic.Int64
	// Read reads a file (default os.ReadFile): `check --base` reads the
	// base revision's files from git.
	Read func(path string) ([]byte, error)
}

// Collect expands the given paths into the .c and .h files under them,
// sorted. A missing path is an error; symlinked directories are not
// followed (no loops).
func Collect(paths []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, errors.Unwrap(err))
		}
		if !st.IsDir() {
			if !seen[root] {
				seen[root] = true
				out = append(out, root)
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				// unreadable directory: skip it, keep scanning
				if d != nil && d.IsDir() && p != root {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				name := d.Name()
				if p != root && (name == ".git" || name == ".pc") {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if strings.HasSuffix(p, ".c") || strings.HasSuffix(p, ".h") {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ParseAll parses files in parallel. Files that cannot be read or parsed
// are returned in skipped; the result keeps the input order.
func (p *Parser) ParseAll(ctx context.Context, files []string, opt ScanOptions) ([]*File, []Skipped) {
	jobs := opt.Jobs
	if jobs <= 0 {
		jobs = 1
	}
	res := make([]*File, len(files))
	errs := make([]string, len(files))
	var done atomic.Int64
	var bytes atomic.Int64
	var mu sync.Mutex
	wp := pool.New().WithMaxGoroutines(jobs)
	for i, path := range files {
		i, path := i, path
		wp.Go(func() {
			if ctx.Err() != nil {
				errs[i] = ctx.Err().Error()
				return
			}
			read := opt.Read
			if read == nil {
				read = os.ReadFile
			}
			src, err := read(path)
			if err != nil {
				errs[i] = err.Error()
			} else {
				var key string
				if opt.Cache != nil {
					key = Key(src)
					res[i] = opt.Cache.Get(key, path)
					if res[i] != nil && opt.CacheHits != nil {
						opt.CacheHits.Add(1)
					}
				}
				if res[i] == nil {
					f, perr := p.ParseFile(ctx, path, src)
					if perr != nil {
						errs[i] = perr.Error()
					} else {
						res[i] = f
						if opt.Cache != nil {
							opt.Cache.Put(key, f)
						}
					}
				}
				bytes.Add(int64(len(src)))
			}
			n := done.Add(1)
			if opt.Progress != nil {
				mu.Lock()
				opt.Progress(int(n), len(files), bytes.Load())
				mu.Unlock()
			}
		})
	}
	wp.Wait()
	var out []*File
	var skipped []Skipped
	for i := range files {
		if res[i] != nil {
			out = append(out, res[i])
		} else {
			skipped = append(skipped, Skipped{Path: files[i], Reason: errs[i]})
		}
	}
	return out, skipped
}
