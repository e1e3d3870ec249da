package main

import (
	"bytes"
	"compress/gzip"
	"path/filepath"
	"strings"
	"testing"
)

// --kconfig restricts the program to what one real configuration builds:
// a driver it does not build is not scanned, a call reaches only the
// definition that configuration links, and its architecture is --arch.
func TestKconfigRestricts(t *testing.T) {
	root := t.TempDir()
	write := treeWriter(t, root)
	write("Makefile", "obj-y += drivers/ lib/\n")
	write("Kconfig", "mainmenu \"test\"\nconfig DRV_A\n\ttristate \"a\"\nconfig DRV_B\n\ttristate \"b\"\nconfig SLOW_FLUSH\n\tbool \"slow\"\n")
	write("include/linux/dev.h", "struct dev {\n\tspinlock_t lock;\n};\nvoid dev_flush(struct dev *d);\n")
	write("drivers/Makefile", "obj-$(CONFIG_DRV_A) += a.o\nobj-$(CONFIG_DRV_B) += b.o\n")
	write("drivers/a.c", "void a_poke(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\tdev_flush(d);\n\tspin_unlock(&d->lock);\n}\n")
	write("drivers/b.c", "void b_poke(struct dev *d)\n{\n\tspin_lock(&d->lock);\n\tmsleep(1);\n\tspin_unlock(&d->lock);\n}\n")
	// two flush implementations, one per configuration choice
	write("lib/Makefile", "obj-$(CONFIG_SLOW_FLUSH) += flush_slow.o\nobj-y += flush_fast.o\n")
	write("lib/flush_slow.c", "void dev_flush(struct dev *d)\n{\n\tmsleep(10);\n}\n")
	write("lib/flush_fast.c", "void dev_flush(struct dev *d)\n{\n\tcpu_relax();\n}\n")

	code, out, errs := runCLI("scan", "--progress", "never", "--no-cache", root)
	if code != 1 || !strings.Contains(out, "a_poke()") || !strings.Contains(out, "b_poke()") {
		t.Fatalf("without --kconfig every configuration counts: exit %d\n%s\n%s", code, out, errs)
	}
	cfg := "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_X86=y\nCONFIG_DRV_A=m\n# CONFIG_DRV_B is not set\n# CONFIG_SLOW_FLUSH is not set\n"
	write("plain.config", cfg)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(cfg + "CONFIG_SLOW_FLUSH=y\n"))
	zw.Close()
	write("slow.config.gz", gz.String())

	code, out, errs = runCLI("scan", "--progress", "never", "--no-cache", "--stats", "--kconfig", filepath.Join(root, "plain.config"), root)
	if code != 0 || strings.Contains(out, "b_poke") || strings.Contains(out, "a_poke") {
		t.Errorf("--kconfig without DRV_B and SLOW_FLUSH: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "kconfig: ") || !strings.Contains(errs, "files it does not build left out") {
		t.Errorf("--stats says nothing of the configuration:\n%s", errs)
	}
	code, out, errs = runCLI("scan", "--progress", "never", "--no-cache", "--kconfig", filepath.Join(root, "slow.config.gz"), root)
	if code != 1 || !strings.Contains(out, "a_poke()") || strings.Contains(out, "b_poke") {
		t.Errorf("--kconfig (gzip) with SLOW_FLUSH: exit %d\n%s\n%s", code, out, errs)
	}
	write("junk.config", "hello\n")
	for _, bad := range []string{filepath.Join(root, "junk.config"), filepath.Join(root, "missing.config")} {
		if code, _, errs := runCLI("scan", "--progress", "never", "--no-cache", "--kconfig", bad, root); code != 2 || !strings.Contains(errs, "--kconfig") {
			t.Errorf("--kconfig %s: exit %d, %q", bad, code, errs)
		}
	}
}
