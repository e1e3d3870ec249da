package parser

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// FactsVersion names the shape of the facts ParseFile extracts. Bump it
// whenever the parser's output changes (a new field, a CFG fix): cached
// facts of another version are never read.
const FactsVersion = "f34"

// Cache keeps the facts of parsed files on disk, keyed by the hash of the
// file's content, so that an unchanged file is never parsed twice. Facts
// do not depend on the primitives table (see the package comment), so a
// changed --config keeps the cache valid. Files that cannot be used are
// not cached: the checks are cheap, and a parse time limit depends on the
// machine.
type Cache struct {
	dir string
}

// DefaultCacheDir is $XDG_CACHE_HOME/lockorder, else ~/.cache/lockorder.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "lockorder")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "lockorder")
	}
	return ""
}

// OpenCache uses dir (created if needed) for cached facts.
func OpenCache(dir string) (*Cache, error) {
	d := filepath.Join(dir, "facts-"+FactsVersion)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &Cache{dir: d}, nil
}

// Key is the cache key of a file's content.
func Key(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:])
}

func (c *Cache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key[2:])
}

// Get returns the cached facts for content key, with Path set to path;
// nil on a miss or an unreadable entry.
func (c *Cache) Get(key, path string) *File {
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil
	}
	f, err := decodeFile(data)
	if err != nil {
		return nil
	}
	f.Path = path
	return f
}

// Put stores facts under key. It writes a temporary file and renames it,
// so readers never see half an entry; errors only cost a later re-parse
// and are ignored.
func (c *Cache) Put(key string, f *File) {
	dst := c.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return
	}
	if _, err := tmp.Write(encodeFile(f)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
	}
}
