package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	// never write into the user's cache from tests
	dir, err := os.MkdirTemp("", "lockorder-test-cache-")
	if err == nil {
		os.Setenv("XDG_CACHE_HOME", dir)
		defer os.RemoveAll(dir)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func gitT(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// check --base reports exactly what the commits since the base introduce,
// and --series what a patch would; unchanged findings stay quiet.
func TestCheckBaseAndSeries(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	fixtures, _ := filepath.Abs("../../fixtures")
	repo := t.TempDir()
	gitT(t, repo, "init", "-q")
	copyFile(t, filepath.Join(fixtures, "wakeup-under-lock-fixed", "stopper_v417_fixed.c"), filepath.Join(repo, "kernel", "stop_machine.c"))
	copyFile(t, filepath.Join(fixtures, "sleep-in-atomic", "atomic.c"), filepath.Join(repo, "mm", "atomic.c"))
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-qm", "base")
	src, _ := os.ReadFile(filepath.Join(repo, "kernel", "stop_machine.c"))
	bad := strings.Replace(string(src), "\tlist_add_tail(&work->list, &stopper->works);\n\twake_q_add(wakeq, stopper->thread);",
		"\tlist_add_tail(&work->list, &stopper->works);\n\twake_up_process(stopper->thread);", 1)
	if bad == string(src) {
		t.Fatal("fixture changed: cannot inject the seed bug")
	}
	os.WriteFile(filepath.Join(repo, "kernel", "stop_machine.c"), []byte(bad), 0o644)
	gitT(t, repo, "commit", "-qam", "stop_machine: wake the stopper under its lock")
	t.Chdir(repo)
	code, out, errs := runCLI("check", "--base", "HEAD~1", "--progress", "never")
	if code != 1 || !strings.Contains(out, "[wakeup-under-lock]") || strings.Contains(out, "[sleep-in-atomic]") {
		t.Fatalf("check --base: exit %d\n%s\n%s", code, out, errs)
	}
	gitT(t, repo, "format-patch", "-q", "-1", "-o", filepath.Join(repo, ".patches"))
	gitT(t, repo, "reset", "-q", "--hard", "HEAD~1")
	patches, _ := filepath.Glob(filepath.Join(repo, ".patches", "*.patch"))
	code2, out2, errs2 := runCLI("check", "--progress", "never", "--series", patches[0])
	if code2 != 1 || out2 != out {
		t.Fatalf("check --series: exit %d, output differs from --base:\n%s\n%s", code2, out2, errs2)
	}
	if code, out, _ := runCLI("check", "--base", "HEAD", "--progress", "never"); code != 0 || out != "" {
		t.Fatalf("nothing changed: exit %d\n%s", code, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(to), 0o755)
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
