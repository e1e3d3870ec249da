package rules_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
	"github.com/lockorder/lockorder/rules"
)

// wantRe matches an expectation written next to the offending line:
// /* want "rule-id" */ or /* want "rule-id:severity" */.
var wantRe = regexp.MustCompile(`want "([a-z-]+)(?::([a-z]+))?"`)

// loadDir runs the real pipeline over one fixture folder (one program).
func loadDir(t testing.TB, dir string) *callgraph.Program {
	t.Helper()
	p, skipped, err := callgraph.Load(context.Background(), []string{dir}, callgraph.LoadOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range skipped {
		t.Errorf("skipped %s: %s", s.Path, s.Reason)
	}
	return p
}

func expectations(t *testing.T, dir string) map[string]bool {
	want := map[string]bool{}
	files, _ := parser.Collect([]string{dir})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range wantRe.FindAllStringSubmatch(line, -1) {
				want[fmt.Sprintf("%s:%d: %s%s", f, i+1, m[1], sevSuffix(m[2]))] = true
			}
		}
	}
	return want
}

func sevSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ":" + s
}

// TestFixtures runs every rule over every fixture folder and compares the
// findings with the `want` comments: nothing missing, nothing unexpected.
func TestFixtures(t *testing.T) {
	dirs, err := filepath.Glob("../fixtures/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p := loadDir(t, dir)
			fs := rules.Run(rules.NewContext(p, true), rules.All())
			want := expectations(t, dir)
			got := map[string]bool{}
			for _, f := range fs {
				plain := fmt.Sprintf("%s:%d: %s", f.Loc.Path, f.Loc.Line, f.Rule)
				withSev := plain + ":" + f.Severity.String()
				switch {
				case want[withSev]:
					got[withSev] = true
				case want[plain]:
					got[plain] = true
				default:
					t.Errorf("unexpected finding %s: %s", withSev, f.Message)
				}
			}
			var missing []string
			for w := range want {
				if !got[w] {
					missing = append(missing, w)
				}
			}
			sort.Strings(missing)
			for _, m := range missing {
				t.Errorf("missing finding %s", m)
			}
		})
	}
}

// Benchmarks of the stages after parsing, over every fixture folder: link
// and summaries (Build), then each rule.
func BenchmarkBuild(b *testing.B) {
	dirs, _ := filepath.Glob("../fixtures/*")
	pr, _ := parser.New()
	var sets [][]*parser.File
	for _, d := range dirs {
		files, _ := parser.Collect([]string{d})
		fs, _ := pr.ParseAll(context.Background(), files, parser.ScanOptions{Jobs: 1})
		sets = append(sets, fs)
	}
	k, err := callgraph.LoadKnowledge()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, fs := range sets {
			callgraph.Build(fs, k, callgraph.Options{})
		}
	}
}

func BenchmarkRules(b *testing.B) {
	dirs, _ := filepath.Glob("../fixtures/*")
	var progs []*callgraph.Program
	for _, d := range dirs {
		progs = append(progs, loadDir(b, d))
	}
	for _, r := range rules.All() {
		b.Run(r.ID, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for _, p := range progs {
					rules.Run(rules.NewContext(p, true), []*rules.Rule{r})
				}
			}
		})
	}
}
