package parser

import (
	"bytes"
	"os"
	"sort"
	"strings"
	"testing"
)

func funcNames(f *File) []string {
	var out []string
	for i := range f.Funcs {
		out = append(out, f.Funcs[i].Name)
	}
	sort.Strings(out)
	return out
}

// Every function of the front-end fixture is recovered, with its calls.
func TestFrontEndShapes(t *testing.T) {
	for file, want := range map[string][]string{
		"../fixtures/front-end-shapes/shapes.c": {"after_define", "after_iterator", "after_mix", "after_strings", "append_note",
			"check_header", "count_threads", "create_on_node", "get_bucket", "mix", "parse_link_line", "run_softirqs", "share_creds"},
		"../fixtures/front-end-shapes/interp.c":       {"prog_alloc", "prog_free", "run_prog"},
		"../fixtures/front-end-shapes/asm_operands.c": {"blk_free", "blk_reset", "xor_block"},
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f := parse(t, string(src))
		if got := strings.Join(funcNames(f), " "); got != strings.Join(want, " ") {
			t.Errorf("%s: functions %s, want %s", file, got, strings.Join(want, " "))
		}
		for i := range f.Funcs {
			fn := &f.Funcs[i]
			if strings.HasPrefix(fn.Name, "after_") || fn.Name == "prog_free" || fn.Name == "blk_free" {
				if c := strings.Join(calls(fn), " "); !strings.Contains(c, "spin_lock") || !strings.Contains(c, "spin_unlock") {
					t.Errorf("%s: calls %v", fn.Name, calls(fn))
				}
			}
		}
	}
}

// The cleaning pass never moves a byte: same length, same line breaks.
func TestCleanKeepsOffsets(t *testing.T) {
	src, err := os.ReadFile("../fixtures/front-end-shapes/shapes.c")
	if err != nil {
		t.Fatal(err)
	}
	out := Prepare(src)
	if len(out) != len(src) {
		t.Fatalf("length %d, want %d", len(out), len(src))
	}
	for i := range src {
		if (src[i] == '\n') != (out[i] == '\n') {
			t.Fatalf("line break moved at offset %d", i)
		}
	}
	if bytes.Contains(out, []byte("while_each_thread")) || bytes.Contains(out, []byte("__printf")) {
		t.Errorf("shapes left in:\n%s", out)
	}
}

func TestCleanConditionals(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// whole statements on both sides: left to the grammar
		{"void f(void)\n{\n#ifdef A\n\ta();\n#else\n\tb();\n#endif\n}\n", "#ifdef A"},
		// a split statement head keeps the first branch
		{"void f(void)\n{\n#ifdef A\n\tif (x)\n#else\n\tif (y)\n#endif\n\t\tz();\n}\n", "if (x)"},
		// #if 0 keeps the other branch
		{"void f(void)\n{\n#if 0\n\tif (x)\n#else\n\tif (y)\n#endif\n\t\tz();\n}\n", "if (y)"},
	} {
		out := string(Prepare([]byte(c.in)))
		if !strings.Contains(out, c.want) {
			t.Errorf("%q:\n%s\nwant %q kept", c.in, out, c.want)
		}
	}
	out := string(Prepare([]byte("void f(void)\n{\n#ifdef A\n\tif (x)\n#else\n\tif (y)\n#endif\n\t\tz();\n}\n")))
	if strings.Contains(out, "if (y)") || strings.Contains(out, "#else") {
		t.Errorf("second branch or directive kept:\n%s", out)
	}
}

// A post-declarator annotation is not an attribute before the declarator.
func TestCleanKeepsDeclarators(t *testing.T) {
	src := "static int __foo(struct s *s) __releases(s->lock)\n{\n\treturn 0;\n}\n"
	if out := string(Prepare([]byte(src))); !strings.Contains(out, "__foo(struct s *s)") {
		t.Errorf("declarator blanked:\n%s", out)
	}
	f := parse(t, src)
	if len(f.Funcs) != 1 || f.Funcs[0].Name != "__foo" {
		t.Errorf("functions %v", funcNames(f))
	}
}
