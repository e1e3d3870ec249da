package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code, err := run(args, &out, &errb)
	if err != nil {
		errb.WriteString(err.Error())
	}
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	if code, _, _ := runCLI(); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, out, e := runCLI("scan", "/no/such/dir"); code != 2 || out != "" || e == "" {
		t.Errorf("missing path: exit %d, stdout %q, stderr %q", code, out, e)
	}
	if code, _, _ := runCLI("scan", "--format", "xml", "../../fixtures"); code != 2 {
		t.Errorf("bad format: exit %d, want 2", code)
	}
	if code, out, _ := runCLI("scan", "--progress", "never", "../../fixtures/wakeup-under-lock"); code != 1 || !strings.Contains(out, "[wakeup-under-lock]") {
		t.Errorf("findings: exit %d, want 1; output:\n%s", code, out)
	}
	if code, _, _ := runCLI("scan", "--progress", "never", "../../fixtures/sleep-in-idle-fixed"); code != 0 {
		t.Errorf("clean fixture: exit %d, want 0", code)
	}
}

// A bad file is reported and skipped; the scan goes on.
func TestBadFileSkipped(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bin.c"), []byte{0x7f, 'E', 'L', 'F', 0, 0, 0}, 0o644)
	src, _ := os.ReadFile("../../fixtures/wakeup-under-lock/stopper_v4_prefix.c")
	os.WriteFile(filepath.Join(dir, "ok.c"), src, 0o644)
	code, out, e := runCLI("scan", "--progress", "never", dir)
	if code != 1 || !strings.Contains(e, "skipped") || !strings.Contains(out, "wakeup-under-lock") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, e)
	}
}

// The same tree gives byte-identical output across runs and with -j 1 / -j 2.
func TestDeterministic(t *testing.T) {
	for _, f := range []string{"text", "json", "sarif"} {
		var first string
		for k, j := range []string{"1", "2", "2"} {
			code, out, e := runCLI("scan", "--progress", "never", "--no-cache", "-j", j, "--format", f, "--strict", "../../fixtures")
			if code != 1 || len(out) < 1000 {
				t.Fatalf("%s -j %s: exit %d (want 1: findings), %d bytes of output\n%s", f, j, code, len(out), e)
			}
			if k == 0 {
				first = out
			} else if out != first {
				t.Errorf("%s output differs with -j %s", f, j)
			}
		}
	}
}

func TestFactsShowsLocks(t *testing.T) {
	code, out, e := runCLI("facts", "--progress", "never", "../../fixtures/wakeup-under-lock/stopper_v4_prefix.c")
	if code != 0 || !strings.Contains(out, "acquire cpu_stopper.lock (IRQs off)") {
		t.Errorf("exit %d\n%s\n%s", code, out, e)
	}
}

// facts shows how each call's targets were chosen and which candidates
// were left out, and why.
func TestFactsExplainsTargets(t *testing.T) {
	code, out, e := runCLI("facts", "--progress", "never", "--func", "plain_map", "../../fixtures/sleep-in-atomic-kconfig")
	for _, want := range []string{
		"targets by name",
		"-> ioremap() ../../fixtures/sleep-in-atomic-kconfig/arch/x86/mm/ioremap.c:2: visible",
		"x  ioremap() ../../fixtures/sleep-in-atomic-kconfig/lib/logic_iomem.c:5: not buildable on x86",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want %q in\n%s\n%s", code, want, out, e)
		}
	}
	code, out, e = runCLI("facts", "--progress", "never", "--func", "req_object_put", "../../fixtures/sleep-in-atomic-bound")
	for _, want := range []string{"targets by receiver type req_object_ops.release", "req_default_release() ../../fixtures/sleep-in-atomic-bound/req-ops.c:8: this module's own", "ctrl_req_release() ../../fixtures/sleep-in-atomic-bound/ctrl_b.c:22: another module's"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want %q in\n%s\n%s", code, want, out, e)
		}
	}
}

// why prints a function's summary with the witness of each effect.
func TestWhy(t *testing.T) {
	code, out, e := runCLI("why", "--progress", "never", "hc_configured", "../../fixtures/sleep-in-atomic-paths")
	for _, want := range []string{
		"hc_configured() [module",
		"may sleep: yes, through direct calls",
		"set_wakeup() calls mutex_lock()",
		"udev.lock (spinlock)",
		"wakes a task: no",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want %q in\n%s\n%s", code, want, out, e)
		}
	}
	if code, _, _ := runCLI("why", "--progress", "never", "no_such_function", "../../fixtures/sleep-in-atomic-paths"); code != 2 {
		t.Errorf("unknown function: exit %d, want 2", code)
	}
	if code, _, _ := runCLI("why", "hc_configured"); code != 2 {
		t.Errorf("no path: exit %d, want 2", code)
	}
}

// why tells a chain through a function pointer the module binds from one
// no module binds.
func TestWhyFunctionPointers(t *testing.T) {
	for fn, want := range map[string]string{
		"audio_card_mute": "may sleep: yes, through a function pointer its module binds",
		"audio_stop":      "may sleep: only through function pointers no module binds (weak)",
	} {
		code, out, e := runCLI("why", "--progress", "never", fn, "../../fixtures/sleep-in-atomic-bound")
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want %q in\n%s\n%s", fn, code, want, out, e)
		}
	}
}
