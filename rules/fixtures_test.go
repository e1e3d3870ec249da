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
// /* want "rule-id" */, /* want "rule-id:severity" */, optionally followed
// by a quoted regular expression the message must match:
// /* want "sleep-in-atomic:error" "calls msleep\(\)" */. Each expectation
// stands for one finding: two findings on a line need two.
var wantRe = regexp.MustCompile(`want "([a-z-]+)(?::(note|warning|error|dropped))?"(?:\s+"((?:[^"\\]|\\.)*)")?`)

// wantAny finds every expectation-like text, well formed or not.
var wantAny = regexp.MustCompile(`\bwant\s*"`)

type want struct {
	key string // path:line: rule[:severity]
	msg *regexp.Regexp
}

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

// expectations reads the want comments of a fixture folder; malformed
// ones (an unknown rule, a bad severity or pattern) fail the test.
func expectations(t *testing.T, dir string) []want {
	var out []want
	files, _ := parser.Collect([]string{dir})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			good := wantRe.FindAllStringSubmatchIndex(line, -1)
			for _, at := range wantAny.FindAllStringIndex(line, -1) {
				ok := false
				for _, g := range good {
					if g[0] == at[0] {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s:%d: malformed expectation %q", f, i+1, line[at[0]:])
				}
			}
			for _, m := range wantRe.FindAllStringSubmatch(line, -1) {
				if rules.ByID(m[1]) == nil {
					t.Errorf("%s:%d: expectation for unknown rule %q", f, i+1, m[1])
					continue
				}
				w := want{key: fmt.Sprintf("%s:%d: %s%s", f, i+1, m[1], sevSuffix(m[2]))}
				if m[3] != "" {
					re, err := regexp.Compile(m[3])
					if err != nil {
						t.Errorf("%s:%d: bad message pattern: %v", f, i+1, err)
						continue
					}
					w.msg = re
				}
				out = append(out, w)
			}
		}
	}
	return out
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
			ctx := rules.NewContext(p, true)
			ctx.ExplainDropped = true
			fs := rules.Run(ctx, rules.All())
			matchFindings(t, fs, expectations(t, dir))
		})
	}
}

// matchFindings pairs each finding with one expectation of its line (with
// its severity, else without; a message pattern must match): nothing
// missing, nothing unexpected, and as many findings as expectations.
func matchFindings(t *testing.T, fs []rules.Finding, wants []want) {
	t.Helper()
	used := make([]bool, len(wants))
	take := func(key, msg string) bool {
		for i, w := range wants {
			if !used[i] && w.key == key && (w.msg == nil || w.msg.MatchString(msg)) {
				used[i] = true
				return true
			}
		}
		return false
	}
	for _, f := range fs {
		plain := fmt.Sprintf("%s:%d: %s", f.Loc.Path, f.Loc.Line, f.Rule)
		withSev := plain + ":" + f.Severity.String()
		if f.Dropped != "" {
			withSev = plain + ":dropped"
		}
		if !take(withSev, f.Message) && !take(plain, f.Message) {
			t.Errorf("unexpected finding %s: %s", withSev, f.Message)
		}
	}
	var missing []string
	for i, w := range wants {
		if !used[i] {
			m := w.key
			if w.msg != nil {
				m += " matching " + w.msg.String()
			}
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("missing finding %s", m)
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

// The matcher itself: counts, severities, message patterns, malformed
// comments.
func TestExpectationMatcher(t *testing.T) {
	dir := t.TempDir()
	src := "void f(void)\n{\n\tg(); /* want \"sleep-in-atomic:error\" want \"sleep-in-atomic\" \"may sleep\" */\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "a.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := expectations(t, dir)
	if len(ws) != 2 {
		t.Fatalf("expectations %v", ws)
	}
	path := filepath.Join(dir, "a.c")
	f := func(sev rules.Severity, msg string) rules.Finding {
		return rules.Finding{Rule: "sleep-in-atomic", Severity: sev, Loc: rules.Location{Path: path, Line: 3}, Message: msg}
	}
	for _, c := range []struct {
		fs   []rules.Finding
		fail bool
	}{
		{[]rules.Finding{f(rules.Error, "x"), f(rules.Warning, "g() may sleep")}, false},
		{[]rules.Finding{f(rules.Error, "x")}, true},                                           // one missing
		{[]rules.Finding{f(rules.Error, "x"), f(rules.Warning, "other")}, true},                // pattern
		{[]rules.Finding{f(rules.Error, "x"), f(rules.Error, "y"), f(rules.Error, "z")}, true}, // one too many
	} {
		ft := &testing.T{}
		done := make(chan bool)
		go func() {
			defer close(done)
			matchFindings(ft, c.fs, ws)
		}()
		<-done
		if ft.Failed() != c.fail {
			t.Errorf("findings %v: failed %v, want %v", c.fs, ft.Failed(), c.fail)
		}
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "b.c"), []byte("int x; /* want \"no-such-rule\" want \"sleep-in-atomic:fatal\" */\n"), 0o644)
	bt := &testing.T{}
	done := make(chan bool)
	go func() { defer close(done); expectations(bt, bad) }()
	<-done
	if !bt.Failed() {
		t.Error("malformed expectations accepted")
	}
}

// FuzzPipeline: any input goes through parse, link, summaries and every
// rule without a panic.
func FuzzPipeline(f *testing.F) {
	seeds, _ := filepath.Glob("../fixtures/*/*.c")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	pr, err := parser.New()
	if err != nil {
		f.Fatal(err)
	}
	k, err := callgraph.LoadKnowledge()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		file, err := pr.ParseFile(context.Background(), "fuzz.c", src)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		p := callgraph.Build([]*parser.File{file}, k, callgraph.Options{})
		rules.Run(rules.NewContext(p, true), rules.All())
	})
}
