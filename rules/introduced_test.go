package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
	"github.com/lockorder/lockorder/rules"
)

// The check pipeline as a library: the base side shares unchanged files,
// reads changed ones, drops added ones, and the introduced findings are
// exactly those of the change.
func TestIntroduced(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile("../fixtures/sleep-in-atomic/atomic.c")
	if err != nil {
		t.Fatal(err)
	}
	planted := string(orig) + "\nstatic DEFINE_SPINLOCK(planted_lock);\nvoid planted(void)\n{\n\tspin_lock(&planted_lock);\n\tmsleep(1);\n\tspin_unlock(&planted_lock);\n}\n"
	changed := filepath.Join(dir, "atomic.c")
	added := filepath.Join(dir, "added.c")
	os.WriteFile(changed, []byte(planted), 0o644)
	os.WriteFile(added, []byte("static DEFINE_SPINLOCK(l2);\nvoid added(void)\n{\n\tspin_lock(&l2);\n\tmsleep(2);\n\tspin_unlock(&l2);\n}\n"), 0o644)
	files, _ := parser.Collect([]string{dir})
	o := callgraph.LoadOptions{Jobs: 2}
	head, _, err := callgraph.ParseFiles(context.Background(), files, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	base, _, err := callgraph.BaseSide(context.Background(), dir, head, map[string]byte{"atomic.c": 'M', "added.c": 'A'},
		func(string) ([]byte, error) { reads++; return orig, nil }, o)
	if err != nil || reads != 1 || len(base) != 1 {
		t.Fatalf("base side: %d files, %d reads, %v", len(base), reads, err)
	}
	k, _ := callgraph.LoadKnowledge()
	intro, nHead, nBase := rules.Introduced(callgraph.Build(head, k, callgraph.Options{}), callgraph.Build(base, k, callgraph.Options{}), rules.All(), false)
	if len(intro) != 2 || nHead != nBase+2 {
		t.Fatalf("introduced %d (head %d, base %d): %v", len(intro), nHead, nBase, intro)
	}
	for _, f := range intro {
		if f.Loc.Func != "planted" && f.Loc.Func != "added" {
			t.Errorf("introduced finding outside the change: %s %s", f.Loc, f.Message)
		}
	}
}
