package kbuild

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"
)

// Config is one real kernel configuration: a .config as `make` writes it
// (`CONFIG_X=y`, `CONFIG_X=m`, `CONFIG_X="text"`, `# CONFIG_X is not
// set`), read plain, gzip-compressed (/proc/config.gz) or xz-compressed
// (Debian's linux-config-* packages ship config.amd64_none_amd64.xz).
// With a Config the model stops asking what Kconfig allows and asks what
// this configuration sets: a file is built when every gate of it is set
// (y or m).
type Config struct {
	Path string
	vals map[string]string // symbol without CONFIG_ -> value
}

// ReadConfig reads a .config file. A file that cannot be read, or that
// holds no CONFIG_ assignment at all, is an error.
func ReadConfig(p string) (*Config, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("--kconfig: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	switch {
	case strings.HasSuffix(p, ".xz"):
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("--kconfig %s: %w", p, err)
		}
		r = xr
	case strings.HasSuffix(p, ".gz"):
		gr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("--kconfig %s: %w", p, err)
		}
		defer gr.Close()
		r = gr
	}
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("--kconfig %s: %w", p, err)
	}
	c := &Config{Path: p, vals: map[string]string{}}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			seen++
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") {
			continue
		}
		seen++
		if val != "n" {
			c.vals[strings.TrimPrefix(name, "CONFIG_")] = val
		}
	}
	if seen == 0 {
		return nil, fmt.Errorf("--kconfig %s: not a kernel .config (no CONFIG_ lines)", p)
	}
	return c, nil
}

// Set reports whether the configuration enables a symbol (y, m, or any
// value).
func (c *Config) Set(sym string) bool {
	_, ok := c.vals[sym]
	return ok
}

// Symbols counts the symbols the configuration sets.
func (c *Config) Symbols() int { return len(c.vals) }

// Arch names the arch/ directory the configuration is for ("" when it
// says none of the ones known here).
func (c *Config) Arch() string {
	for _, a := range []struct{ sym, dir string }{
		{"X86", "x86"}, {"ARM64", "arm64"}, {"ARM", "arm"}, {"PPC", "powerpc"}, {"S390", "s390"},
		{"MIPS", "mips"}, {"RISCV", "riscv"}, {"SPARC", "sparc"}, {"LOONGARCH", "loongarch"},
		{"PARISC", "parisc"}, {"M68K", "m68k"}, {"ALPHA", "alpha"}, {"IA64", "ia64"}, {"SUPERH", "sh"},
		{"XTENSA", "xtensa"}, {"MICROBLAZE", "microblaze"}, {"ARC", "arc"}, {"CSKY", "csky"},
		{"HEXAGON", "hexagon"}, {"NIOS2", "nios2"}, {"OPENRISC", "openrisc"}, {"UML", "um"},
	} {
		if c.Set(a.sym) {
			return a.dir
		}
	}
	return ""
}

// InConfig reports whether a source file is part of what the tree's
// configuration builds for arch: a .c file the Makefiles place is built
// when every gate of it is set; a file under another architecture's
// arch/ directory is not. Headers, files no Makefile places and trees
// without a Config count as built.
func (t *Tree) InConfig(p, arch string) bool {
	if t == nil || t.Config == nil {
		return true
	}
	rel := path.Clean(filepath.ToSlash(p))
	if a := archDirOf(rel); a != "" && arch != "" && a != arch {
		return false
	}
	o, ok := t.objs[rel]
	if !ok {
		return true
	}
	for _, g := range o.Gates {
		if !t.Config.Set(g) {
			return false
		}
	}
	return true
}

// archDirOf returns A for a path with an arch/A/ directory in it.
func archDirOf(p string) string {
	for off := 0; ; {
		i := strings.Index(p[off:], "arch/")
		if i < 0 {
			return ""
		}
		i += off
		if i == 0 || p[i-1] == '/' {
			return archDir(p[i:])
		}
		off = i + len("arch/") // a directory whose name ends in "arch"
	}
}
