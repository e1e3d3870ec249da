package kbuild

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func write(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModel(t *testing.T) {
	root := t.TempDir()
	write(t, root, "drivers/Makefile", "obj-$(CONFIG_MEDIA_SUPPORT) += media/\nobj-y += base/\n")
	write(t, root, "drivers/media/Makefile", ""+
		"# composite, continued, with a conditional member\n"+
		"videodev-objs := v4l2-dev.o \\\n\tv4l2-ioctl.o\n"+
		"videodev-$(CONFIG_VIDEO_CTRLS) += v4l2-ctrls.o\n"+
		"ifneq ($(CONFIG_USB),)\n\tvideodev-objs += usb-glue.o\nendif\n"+
		"obj-$(CONFIG_VIDEO_DEV) += videodev.o\n"+
		"obj-m += vivid.o\n"+
		"ccflags-y += -I$(src)\n"+
		"xfs-y += $(addprefix libxfs/, xfs_ag.o xfs_bmap.o)\n"+
		"obj-$(CONFIG_XFS) += xfs.o\n")
	write(t, root, "drivers/base/Kbuild", "obj-y := core.o\n")
	write(t, root, "drivers/base/Makefile", "obj-y := ignored.o\n")
	write(t, root, "lib/Makefile", "obj-y += a.o b.o\n")
	var files []string
	for _, f := range []string{"drivers/media/v4l2-dev.c", "drivers/media/v4l2-ioctl.c", "drivers/media/v4l2-ctrls.c",
		"drivers/media/usb-glue.c", "drivers/media/vivid.c", "drivers/media/libxfs/xfs_ag.c", "drivers/base/core.c",
		"drivers/base/ignored.c", "lib/a.c", "lib/b.c", "lib/private.h", "lib/included.c", "solo/x.c", "include/linux/x.h"} {
		write(t, root, f, "")
		files = append(files, filepath.Join(root, f))
	}
	tr := ForFiles(files)
	if tr.Read != 4 || tr.Unread != 0 {
		t.Errorf("read %d, unread %d Makefiles, want 4 and 0", tr.Read, tr.Unread)
	}
	j := func(rel string) string { return filepath.ToSlash(filepath.Join(root, rel)) }
	for _, c := range []struct {
		file, module string
		gates        []string
	}{
		{"drivers/media/v4l2-dev.c", "drivers/media/videodev", []string{"MEDIA_SUPPORT", "VIDEO_DEV"}},
		{"drivers/media/v4l2-ioctl.c", "drivers/media/videodev", []string{"MEDIA_SUPPORT", "VIDEO_DEV"}},
		{"drivers/media/v4l2-ctrls.c", "drivers/media/videodev", []string{"MEDIA_SUPPORT", "VIDEO_DEV", "VIDEO_CTRLS"}},
		{"drivers/media/usb-glue.c", "drivers/media/videodev", []string{"MEDIA_SUPPORT", "VIDEO_DEV"}},
		{"drivers/media/vivid.c", "drivers/media/vivid", []string{"MEDIA_SUPPORT"}},
		{"drivers/media/libxfs/xfs_ag.c", "drivers/media/xfs", []string{"MEDIA_SUPPORT", "XFS"}},
		{"drivers/base/core.c", "drivers/base/core", nil},
		{"lib/a.c", "lib/a", nil},
	} {
		o, ok := tr.Lookup(filepath.Join(root, c.file))
		if !ok {
			t.Errorf("%s: not placed", c.file)
			continue
		}
		if o.Module != j(c.module) || !reflect.DeepEqual(o.Gates, c.gates) {
			t.Errorf("%s: module %s gates %v, want %s %v", c.file, o.Module, o.Gates, j(c.module), c.gates)
		}
	}
	if _, ok := tr.Lookup(filepath.Join(root, "drivers/base/ignored.c")); ok {
		t.Errorf("Makefile read although Kbuild exists")
	}
	for _, c := range []struct{ file, comp string }{
		{"lib/a.c", "lib/a"},
		{"lib/private.h", "lib/private.h"},   // two modules in lib/: the header is its own unit
		{"lib/included.c", "lib/included.c"}, // not in any list
		{"drivers/base/core.c", "drivers/base/core"},
		{"solo/x.c", "solo"},                       // no Makefile: the directory
		{"include/linux/x.h", "include/linux/x.h"}, // shared header
	} {
		if got := tr.Component(filepath.Join(root, c.file)); got != j(c.comp) {
			t.Errorf("Component(%s) = %s, want %s", c.file, got, j(c.comp))
		}
	}
	var nilTree *Tree
	if got := nilTree.Component("a/b/c.c"); got != "a/b" {
		t.Errorf("nil tree: Component = %s, want a/b", got)
	}
}

// A -D flag of a Makefile defines the macro for its directory and those
// below it, not for the rest of the tree.
func TestDefined(t *testing.T) {
	root := t.TempDir()
	write(t, root, "drivers/foo/Makefile", "obj-y += foo.o\nccflags-$(CONFIG_FOO_DEBUG) += -DDEBUG -DFOO_TRACE=1\n")
	write(t, root, "drivers/foo/foo.c", "")
	write(t, root, "drivers/foo/sub/Makefile", "obj-y += bar.o\n")
	write(t, root, "drivers/foo/sub/bar.c", "")
	write(t, root, "drivers/baz/Makefile", "obj-y += baz.o\n")
	write(t, root, "drivers/baz/baz.c", "")
	tr := Read([]string{root + "/drivers/foo", root + "/drivers/foo/sub", root + "/drivers/baz"})
	for _, c := range []struct {
		file, name string
		want       bool
	}{
		{root + "/drivers/foo/foo.c", "DEBUG", true},
		{root + "/drivers/foo/foo.c", "FOO_TRACE", true},
		{root + "/drivers/foo/sub/bar.c", "DEBUG", true},
		{root + "/drivers/baz/baz.c", "DEBUG", false},
	} {
		if got := tr.Defined(c.file, c.name); got != c.want {
			t.Errorf("Defined(%s, %s) = %v, want %v", c.file, c.name, got, c.want)
		}
	}
}
