package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/lockorder/lockorder/callgraph"
)

// Suppression says why a finding is hidden: an inline comment
// (`/* lockorder: ignore rule-id -- reason */`, kind "inSource") or a
// baseline file (kind "external"). Suppressed findings are left out of text
// and JSON reports and of the exit status; SARIF keeps them, marked.
type Suppression struct {
	Kind          string
	Justification string
}

var ignoreRE = regexp.MustCompile(`lockorder:\s*ignore\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*(?:--\s*(.*?))?\s*(?:\*/|$)`)

// inlineIgnore is one `lockorder: ignore` comment.
type inlineIgnore struct {
	rules  []string
	reason string
}

// parseIgnore reads a `lockorder: ignore` comment on a line.
func parseIgnore(line string) (inlineIgnore, bool) {
	m := ignoreRE.FindStringSubmatch(line)
	if m == nil {
		return inlineIgnore{}, false
	}
	var rs []string
	for _, r := range strings.Split(m[1], ",") {
		rs = append(rs, strings.TrimSpace(r))
	}
	return inlineIgnore{rules: rs, reason: strings.TrimSpace(m[2])}, true
}

// SuppressInline marks findings suppressed by a comment on their line, on
// the line above it, or on (or just above) the definition of the function
// they are reported in. A comment without a reason suppresses nothing and
// is returned as a problem to report. Paths are as in the program.
func SuppressInline(p *callgraph.Program, fs []Finding) (problems []string) {
	lines := map[string][]string{}
	get := func(path string) []string {
		if ls, ok := lines[path]; ok {
			return ls
		}
		b, err := os.ReadFile(path)
		var ls []string
		if err == nil && bytes.Contains(b, []byte("lockorder:")) {
			ls = strings.Split(string(b), "\n")
		}
		lines[path] = ls
		return ls
	}
	funcLine := map[[2]string]int{}
	for _, f := range p.Funcs {
		funcLine[[2]string{p.Path(f), f.Src.Name}] = int(f.Src.Line)
	}
	reported := map[string]bool{}
	used := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		ls := get(f.Loc.Path)
		if ls == nil {
			continue
		}
		cands := []int{f.Loc.Line, f.Loc.Line - 1}
		if fl := funcLine[[2]string{f.Loc.Path, f.Loc.Func}]; fl > 0 {
			cands = append(cands, fl, fl-1, fl-2)
		}
		for _, ln := range cands {
			if ln < 1 || ln > len(ls) {
				continue
			}
			ig, ok := parseIgnore(ls[ln-1])
			if !ok || !contains(ig.rules, f.Rule) {
				continue
			}
			if ig.reason == "" {
				at := fmt.Sprintf("%s:%d", f.Loc.Path, ln)
				if !reported[at] {
					reported[at] = true
					problems = append(problems, at+": 'lockorder: ignore' needs a reason after '--'; not applied")
				}
				continue
			}
			f.Suppressed = &Suppression{Kind: "inSource", Justification: ig.reason}
			used[fmt.Sprintf("%s:%d", f.Loc.Path, ln)] = true
			break
		}
	}
	// comments that suppress nothing: stale after a fix, or misplaced
	for _, file := range p.Files {
		for _, ln := range file.Ignores {
			at := fmt.Sprintf("%s:%d", file.Path, ln)
			if used[at] || reported[at] {
				continue
			}
			ls := get(file.Path)
			if ln < 1 || int(ln) > len(ls) {
				continue
			}
			if ig, ok := parseIgnore(ls[ln-1]); ok && ig.reason != "" {
				problems = append(problems, fmt.Sprintf("%s: 'lockorder: ignore %s' suppresses no finding of this scan",
					at, strings.Join(ig.rules, ", ")))
			}
		}
	}
	return problems
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Baseline is a set of known findings, by fingerprint.
type Baseline struct {
	Version      int      `json:"version"`
	Tool         string   `json:"tool"`
	Fingerprints []string `json:"fingerprints"`
}

// ReadBaseline loads a baseline written by WriteBaseline.
func ReadBaseline(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var bl Baseline
	if err := json.Unmarshal(b, &bl); err != nil || bl.Version != 1 {
		return nil, fmt.Errorf("baseline %s: not a lockorder baseline (version 1)", path)
	}
	out := map[string]bool{}
	for _, fp := range bl.Fingerprints {
		out[fp] = true
	}
	return out, nil
}

// BaselineJSON renders the fingerprints of the findings that are not
// suppressed inline, sorted.
func BaselineJSON(fs []Finding, tool string) []byte {
	bl := Baseline{Version: 1, Tool: tool, Fingerprints: []string{}}
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Suppressed != nil && f.Suppressed.Kind == "inSource" || seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		bl.Fingerprints = append(bl.Fingerprints, f.Fingerprint)
	}
	sort.Strings(bl.Fingerprints)
	b, _ := json.MarshalIndent(bl, "", "  ")
	return append(b, '\n')
}

// SuppressBaseline marks the findings a baseline knows.
func SuppressBaseline(fs []Finding, known map[string]bool, name string) {
	for i := range fs {
		if fs[i].Suppressed == nil && known[fs[i].Fingerprint] {
			fs[i].Suppressed = &Suppression{Kind: "external", Justification: "in baseline " + name}
		}
	}
}
