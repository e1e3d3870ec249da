package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Inside a kernel tree, a scan of one folder is built from the whole tree
// (types from include/, callees from other subsystems) and reports only
// what lies in that folder; --no-tree builds from the folder alone.
func TestTreeContext(t *testing.T) {
	root := t.TempDir()
	write := treeWriter(t, root)
	write("Makefile", "obj-y += kernel/ drivers/\n")
	write("Kconfig", "mainmenu \"test\"\n")
	write("include/linux/widget.h", "struct widget {\n\tspinlock_t lock;\n\tint n;\n};\nvoid widget_settle(struct widget *w);\n")
	write("kernel/settle.c", "void widget_settle(struct widget *w)\n{\n\tmsleep(10);\n}\n")
	write("kernel/other.c", "static DEFINE_SPINLOCK(other_lock);\nvoid other(void)\n{\n\tspin_lock(&other_lock);\n\tmsleep(1);\n\tspin_unlock(&other_lock);\n}\n")
	write("drivers/widget/core.c", "void widget_poke(struct widget *w)\n{\n\tspin_lock(&w->lock);\n\twidget_settle(w);\n\tspin_unlock(&w->lock);\n}\n")
	dir := filepath.Join(root, "drivers", "widget")
	code, out, errs := runCLI("scan", "--progress", "never", "--no-cache", dir)
	if code != 1 || !strings.Contains(out, "widget.lock held") || !strings.Contains(out, "can reach msleep()") || strings.Contains(out, "other.c") {
		t.Fatalf("tree context: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI("scan", "--progress", "never", "--no-cache", "--no-tree", dir)
	if code != 0 || strings.Contains(out, "widget") {
		t.Errorf("--no-tree: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI("scan", "--progress", "never", "--tree", dir, dir); code != 2 || !strings.Contains(errs, "not a kernel tree") {
		t.Errorf("--tree on a non-tree: exit %d, %q", code, errs)
	}
}

// treeWriter returns a function writing a file of a test tree at root.
func treeWriter(t *testing.T, root string) func(rel, text string) {
	return func(rel, text string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
