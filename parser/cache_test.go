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

// Every fixture survives encode/decode unchanged; every truncation of an
// entry is an error, never a panic.
func TestCodecRoundTrip(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../fixtures/*/*.[ch]")
	for _, path := range files {
		src, _ := os.ReadFile(path)
		f, err := p.ParseFile(context.Background(), path, src)
		if err != nil {
			t.Fatal(err)
		}
		data := encodeFile(f)
		g, err := decodeFile(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		g.Path = f.Path
		if !reflect.DeepEqual(f, g) {
			t.Fatalf("%s: decoded facts differ", path)
		}
		for cut := 0; cut < len(data); cut += 1 + len(data)/50 {
			if _, err := decodeFile(data[:cut]); err == nil {
				t.Fatalf("%s: truncated entry (%d of %d bytes) decoded", path, cut, len(data))
			}
		}
	}
}

// The codec writes each facts type field by field: a new field must be
// added to codec.go (and FactsVersion bumped) before this count changes.
func TestCodecCoversFacts(t *testing.T) {
	for _, c := range []struct {
		v any
		n int
	}{{File{}, 13}, {Func{}, 24}, {Var{}, 7}, {Struct{}, 2}, {Typedef{}, 3}, {FieldStore{}, 6}, {Annot{}, 2}, {Node{}, 8}} {
		if got := reflect.TypeOf(c.v).NumField(); got != c.n {
			t.Errorf("%T has %d fields, the codec knows %d: update codec.go and FactsVersion", c.v, got, c.n)
		}
	}
	// the shape above belongs to one facts version: a codec change that
	// keeps the version would read old cache entries as garbage
	if FactsVersion != "f34" {
		t.Errorf("FactsVersion %s: update the field counts above for it (and this check)", FactsVersion)
	}
}

// A corrupt cache entry is a miss, never a panic.
func FuzzDecodeFile(f *testing.F) {
	p, err := New()
	if err != nil {
		f.Fatal(err)
	}
	for _, src := range []string{"void f(void) { spin_lock(&l); g(1, 2); }", "struct s { int a; };"} {
		if file, err := p.ParseFile(context.Background(), "a.c", []byte(src)); err == nil {
			f.Add(encodeFile(file))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeFile(data)
	})
}
