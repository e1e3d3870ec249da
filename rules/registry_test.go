package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockorder/lockorder/rules"
)

// Every rule is documented, has a fixture folder that expects it, and the
// README's table is the one the rules generate.
func TestRulesRegistry(t *testing.T) {
	all := rules.All()
	if len(all) == 0 {
		t.Fatal("no rules registered")
	}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.ID] {
			t.Errorf("rule %s registered twice", r.ID)
		}
		seen[r.ID] = true
		if r.Name == "" || r.Short == "" || len(r.Full) < 80 || len(r.Help) < 40 || r.Run == nil {
			t.Errorf("rule %s: missing name, documentation or Run", r.ID)
		}
		dir := filepath.Join("..", "fixtures", r.ID)
		files, _ := filepath.Glob(filepath.Join(dir, "*.c"))
		expects := false
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if strings.Contains(string(b), `want "`+r.ID) {
				expects = true
			}
		}
		if !expects {
			t.Errorf("rule %s: no fixture folder %s with a want for it", r.ID, dir)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), rules.MarkdownTable()) {
		t.Errorf("README.md's rule table is stale: regenerate it with `lockorder rules --format table`")
	}
}
