package parser

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
)

// The cache gives back exactly the facts a parse gives, under the path
// asked for, and a changed file is parsed again.
func TestCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.c")
	code := "struct s { spinlock_t lock; };\nvoid f(struct s *p)\n{\n\tspin_lock(&p->lock);\n\tlist_for_each_entry(x, &p->head, node) {\n\t\tg(x);\n\t}\n\tspin_unlock(&p->lock);\n}\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	run := func() ([]*File, int64) {
		var hits atomic.Int64
		fs, skipped := p.ParseAll(context.Background(), []string{src}, ScanOptions{Jobs: 1, Cache: c, CacheHits: &hits})
		if len(skipped) != 0 || len(fs) != 1 {
			t.Fatalf("parse: %v", skipped)
		}
		return fs, hits.Load()
	}
	cold, hits := run()
	if hits != 0 {
		t.Fatalf("cold run hit the cache %d times", hits)
	}
	warm, hits := run()
	if hits != 1 {
		t.Fatalf("warm run: %d hits, want 1", hits)
	}
	if !reflect.DeepEqual(cold[0], warm[0]) {
		t.Fatalf("cached facts differ:\n%+v\n%+v", cold[0], warm[0])
	}
	if err := os.WriteFile(src, []byte(code+"void h(void) { }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, hits := run()
	if hits != 0 || len(changed[0].Funcs) != 2 {
		t.Fatalf("changed file: %d hits, %d functions", hits, len(changed[0].Funcs))
	}
}
