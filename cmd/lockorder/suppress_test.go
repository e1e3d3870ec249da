package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Inline suppressions need a reason, hide the finding from text and the
// exit status, and stay visible in SARIF; a baseline hides what it lists.
func TestSuppressionsAndBaseline(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../fixtures/sleep-in-atomic/atomic.c")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	n := 0
	for i, l := range lines {
		if !strings.Contains(l, `want "sleep-in-atomic`) {
			continue
		}
		if n == 0 {
			lines[i] = l + " /* lockorder: ignore sleep-in-atomic -- test: known and accepted */"
		} else {
			// no reason: not applied
			lines[i] = l + " /* lockorder: ignore sleep-in-atomic */"
		}
		n++
	}
	// a comment that suppresses nothing is reported
	lines = append(lines, "int stale_ok; /* lockorder: ignore lock-order-cycle -- fixed long ago */")
	path := filepath.Join(dir, "atomic.c")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)

	_, full, _ := runCLI("scan", "--progress", "never", "--no-cache", "../../fixtures/sleep-in-atomic/atomic.c")
	code, out, errs := runCLI("scan", "--progress", "never", "--no-cache", dir)
	if code != 1 || strings.Count(out, "[sleep-in-atomic]") != strings.Count(full, "[sleep-in-atomic]")-1 {
		t.Fatalf("inline suppression: exit %d\n%s", code, out)
	}
	if !strings.Contains(errs, "needs a reason") {
		t.Errorf("a reason-less ignore is not reported: %q", errs)
	}
	if !strings.Contains(errs, "'lockorder: ignore lock-order-cycle' suppresses no finding") ||
		strings.Contains(errs, "ignore sleep-in-atomic' suppresses no finding") {
		t.Errorf("unused ignores reported wrongly: %q", errs)
	}
	sarif := filepath.Join(dir, "out.sarif")
	runCLI("scan", "--progress", "never", "--no-cache", "--format", "sarif", "-o", sarif, dir)
	var log struct {
		Runs []struct {
			Results []struct {
				Suppressions []struct{ Kind, Justification string }
			}
		}
	}
	b, _ := os.ReadFile(sarif)
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	sup := 0
	for _, r := range log.Runs[0].Results {
		for _, s := range r.Suppressions {
			if s.Kind == "inSource" && s.Justification == "test: known and accepted" {
				sup++
			}
		}
	}
	if sup != 1 {
		t.Errorf("SARIF: %d suppressed results, want 1", sup)
	}

	base := filepath.Join(dir, "baseline.json")
	runCLI("scan", "--progress", "never", "--no-cache", "--write-baseline", base, dir)
	code, out, _ = runCLI("scan", "--progress", "never", "--no-cache", "--baseline", base, dir)
	if code != 0 || out != "" {
		t.Fatalf("baseline: exit %d\n%s", code, out)
	}
	if code, _, e := runCLI("scan", "--no-cache", "--baseline", filepath.Join(dir, "atomic.c"), dir); code != 2 || !strings.Contains(e, "baseline") {
		t.Errorf("bad baseline: exit %d, %q", code, e)
	}
}

// A config can switch rules off and lower their severity; a typo in it is
// an input error, not silently ignored.
func TestConfigRules(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vendor.toml")
	os.WriteFile(cfg, []byte("[rules]\ndisable = [\"sleep-in-atomic\"]\n[rules.severity]\nwakeup-under-lock = \"warning\"\n"), 0o644)
	code, out, errs := runCLI("scan", "--no-cache", "--progress", "never", "--config", cfg, "../../fixtures/wakeup-under-lock", "../../fixtures/sleep-in-atomic")
	if code != 0 || strings.Contains(out, "[sleep-in-atomic]") || !strings.Contains(out, "warning: ") || strings.Contains(out, "error: ") {
		t.Fatalf("configured rules: exit %d\n%s\n%s", code, out, errs)
	}
	os.WriteFile(cfg, []byte("[rules]\ndisabel = [\"sleep-in-atomic\"]\n"), 0o644)
	if code, _, e := runCLI("scan", "--no-cache", "--config", cfg, "../../fixtures/wakeup-under-lock"); code != 2 || !strings.Contains(e, "unknown key") {
		t.Errorf("typo in config: exit %d, %q", code, e)
	}
}
