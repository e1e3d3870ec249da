package kbuild

import "testing"

func TestKconfig(t *testing.T) {
	root := t.TempDir()
	write(t, root, "Kconfig", `
mainmenu "test"
source "arch/$(SRCARCH)/Kconfig"

config COMPILE_TEST
	bool "compile test"

config HIDDEN
	bool
	help
	  Only a select turns this on.
	  depends on nothing at all

config HIDDEN_DEFAULT
	bool
	default y if PCI

config PCI
	bool "PCI"

if PCI
config PCI_ONLY
	tristate "needs PCI"
endif

menu "SoC drivers"
	depends on ARCH_SOC

config SOC_DRV
	bool "a SoC driver"
endmenu

config TEST_ONLY
	bool "layerscape bus"
	depends on OF && (ARCH_SOC || (COMPILE_TEST && (ARM || X86)))

config NOT_X86
	bool "not on x86"
	depends on !X86

config USES_UML
	bool "needs the emulated iomem"
	depends on HIDDEN
`)
	write(t, root, "arch/x86/Kconfig", "config X86\n\tdef_bool y\n\nconfig OF\n\tbool \"OF\"\n")
	write(t, root, "arch/um/Kconfig", "config UML\n\tdef_bool y\n\tselect HIDDEN\n")
	write(t, root, "arch/arm64/Kconfig", "config ARCH_SOC\n\tbool \"SoC\"\n\nconfig OF\n\tdef_bool y\n")
	k := ReadKconfig(root)
	if k.Files != 4 {
		t.Errorf("read %d Kconfig files, want 4", k.Files)
	}
	for _, c := range []struct {
		sym, arch string
		want      bool
	}{
		{"COMPILE_TEST", "x86", false},
		{"HIDDEN", "x86", false}, // no prompt, only UML selects it
		{"HIDDEN", "um", true},
		{"USES_UML", "x86", false},
		{"USES_UML", "um", true},
		{"HIDDEN_DEFAULT", "x86", true},
		{"PCI_ONLY", "x86", true},
		{"SOC_DRV", "x86", false}, // the menu's dependency
		{"SOC_DRV", "arm64", true},
		{"TEST_ONLY", "x86", false}, // only through COMPILE_TEST
		{"TEST_ONLY", "arm64", true},
		{"NOT_X86", "x86", false}, // X86 is def_bool y without dependencies
		{"NOT_X86", "arm64", true},
		{"ARCH_SOC", "x86", false}, // defined under another arch only
		{"UNDEFINED", "x86", false},
	} {
		if got := k.Possible(c.sym, c.arch); got != c.want {
			t.Errorf("Possible(%s, %s) = %v, want %v", c.sym, c.arch, got, c.want)
		}
	}
	var none *Kconfig
	if !none.Possible("ANY", "x86") {
		t.Errorf("no Kconfig: every symbol should be possible")
	}
	// a Makefile gate that no configuration enables makes a file unbuildable
	write(t, root, "drivers/Makefile", "obj-$(CONFIG_TEST_ONLY) += bus.o\nobj-$(CONFIG_PCI_ONLY) += pcidrv.o\n")
	write(t, root, "drivers/bus.c", "")
	write(t, root, "drivers/pcidrv.c", "")
	tr := ForFiles([]string{root + "/drivers/bus.c", root + "/drivers/pcidrv.c"})
	if tr.Kconfig == nil {
		t.Fatal("tree root with Kconfig and arch/ not found")
	}
	if tr.Buildable(root+"/drivers/bus.c", "x86") || !tr.Buildable(root+"/drivers/bus.c", "arm64") || !tr.Buildable(root+"/drivers/pcidrv.c", "x86") {
		t.Errorf("Buildable: bus.c x86 %v arm64 %v, pcidrv.c x86 %v; want false true true",
			tr.Buildable(root+"/drivers/bus.c", "x86"), tr.Buildable(root+"/drivers/bus.c", "arm64"), tr.Buildable(root+"/drivers/pcidrv.c", "x86"))
	}
}

func TestArchDirOf(t *testing.T) {
	for in, want := range map[string]string{
		"arch/arm64/mm/ioremap.c":                               "arm64",
		"../fixtures/sleep-in-atomic-arch/arch/ia64/kernel/x.c": "ia64",
		"drivers/foo-arch/bar.c":                                "",
		"drivers/net/x.c":                                       "",
	} {
		if got := archDirOf(in); got != want {
			t.Errorf("archDirOf(%q) = %q, want %q", in, got, want)
		}
	}
}
