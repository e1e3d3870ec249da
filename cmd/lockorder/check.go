package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/parser"
	"github.com/lockorder/lockorder/rules"
)

// cmdCheck reports the findings a change introduces: those present at HEAD
// (or after applying a patch series) and absent at the base revision. The
// base side is never checked out: its changed files are read with git and
// every unchanged file's facts are shared with the head side.
func cmdCheck(args []string, stdout, stderr io.Writer) (int, error) {
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	var o reportOpts
	o.register(fs)
	base := fs.String("base", "", "compare HEAD (the work tree) with this revision")
	seriesMode := fs.Bool("series", false, "the arguments are patch/mbox files: apply them (git am, else git apply) on HEAD in a temporary clone and check against HEAD")
	scope := fs.StringSlice("scope", nil, "with --series: the paths to scan (default: the current directory)")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if (*base == "") == !*seriesMode {
		return 2, errors.New("check needs exactly one of --base REV or --series FILE...")
	}
	if err := o.validate(); err != nil {
		return 2, err
	}
	paths := fs.Args()
	var series []string
	if *seriesMode {
		series, paths = paths, *scope
		if len(series) == 0 {
			return 2, errors.New("--series needs at least one patch file")
		}
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	start := time.Now()
	top, err := git("", "rev-parse", "--show-toplevel")
	if err != nil {
		return 2, fmt.Errorf("not inside a git work tree: %v", err)
	}
	top = strings.TrimSpace(top)
	cwd, _ := os.Getwd()
	// paths relative to the repository root
	var rels []string
	for _, p := range paths {
		abs, _ := filepath.Abs(p)
		r, err := filepath.Rel(top, abs)
		if err != nil || strings.HasPrefix(r, "..") {
			return 2, fmt.Errorf("%s is outside the repository %s", p, top)
		}
		rels = append(rels, r)
	}
	headRoot, baseRev, headRev := top, *base, ""
	repo := top // where git reads objects from
	if len(series) > 0 {
		// apply the series in a throwaway clone that borrows the objects
		// (--shared): the scanned repository is never written to
		tmp, err := os.MkdirTemp("", "lockorder-series-")
		if err != nil {
			return 2, err
		}
		defer os.RemoveAll(tmp)
		head, err := git(top, "rev-parse", "HEAD")
		if err != nil {
			return 2, err
		}
		head = strings.TrimSpace(head)
		wt := filepath.Join(tmp, "wt")
		if _, err := git(tmp, "clone", "--quiet", "--shared", "--no-checkout", top, wt); err != nil {
			return 2, fmt.Errorf("git clone: %v", err)
		}
		if _, err := git(wt, "checkout", "--quiet", "--detach", head); err != nil {
			return 2, fmt.Errorf("git checkout: %v", err)
		}
		for _, patch := range series {
			abs, _ := filepath.Abs(patch)
			if _, err := git(wt, "-c", "user.name=lockorder", "-c", "user.email=lockorder@localhost", "am", "--quiet", abs); err != nil {
				git(wt, "am", "--abort")
				if _, err2 := git(wt, "apply", "--index", abs); err2 != nil {
					return 2, fmt.Errorf("cannot apply %s: git am: %v; git apply: %v", patch, err, err2)
				}
				git(wt, "-c", "user.name=lockorder", "-c", "user.email=lockorder@localhost", "commit", "--quiet", "-m", "series: "+filepath.Base(patch))
			}
		}
		headRoot, repo, baseRev, headRev = wt, wt, head, "HEAD"
	}
	// what changed between the base and the head side
	diffArgs := []string{"diff", "--name-status", "--no-renames", "-z", baseRev}
	if headRev != "" {
		h, err := git(repo, "rev-parse", "HEAD")
		if err != nil {
			return 2, err
		}
		diffArgs = append(diffArgs, strings.TrimSpace(h))
	}
	diffArgs = append(diffArgs, "--")
	diffArgs = append(diffArgs, rels...)
	out, err := git(repo, diffArgs...)
	if err != nil {
		return 2, fmt.Errorf("git diff %s: %v", baseRev, err)
	}
	status := map[string]byte{} // repo-relative path -> A, M, D
	fields := strings.Split(out, "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		if p := fields[i+1]; strings.HasSuffix(p, ".c") || strings.HasSuffix(p, ".h") {
			status[p] = fields[i][0]
		}
	}
	k, err := callgraph.LoadKnowledge(c.configs...)
	if err != nil {
		return 2, err
	}
	var headPaths []string
	for _, r := range rels {
		headPaths = append(headPaths, filepath.Join(headRoot, r))
	}
	files, err := parser.Collect(headPaths)
	if err != nil {
		return 2, err
	}
	if err := c.readKconfig(); err != nil {
		return 2, err
	}
	kb, files := callgraph.TreeModel(files, c.kcfg, c.arch)
	lopt := c.options(nil)
	headFiles, skipped, err := callgraph.ParseFiles(context.Background(), files, lopt, nil)
	if err != nil {
		return 2, err
	}
	for _, s := range skipped {
		fmt.Fprintf(stderr, "lockorder: skipped %s: %s\n", s.Path, s.Reason)
	}
	// the base side: unchanged files shared, changed ones read from git
	relOf := func(p string) string { r, _ := filepath.Rel(headRoot, p); return r }
	baseFiles, bskipped, err := callgraph.BaseSide(context.Background(), headRoot, headFiles, status, func(path string) ([]byte, error) {
		s, err := git(repo, "show", baseRev+":"+filepath.ToSlash(relOf(path)))
		return []byte(s), err
	}, lopt)
	if err != nil {
		return 2, err
	}
	for _, s := range bskipped {
		fmt.Fprintf(stderr, "lockorder: skipped %s at %s: %s\n", s.Path, baseRev, s.Reason)
	}
	rs, setSeverity, err := rules.Configure(o.rules, k.Table.Rules.Disable, k.Table.Rules.Severity)
	if err != nil {
		return 2, err
	}
	ropts := callgraph.Options{Arch: c.arch, Kbuild: kb}
	headProg := callgraph.Build(headFiles, k, ropts)
	introduced, nHead, nBase := rules.Introduced(headProg, callgraph.Build(baseFiles, k, ropts), rs, o.strict)
	setSeverity(introduced)
	if err := o.suppress(headProg, introduced, stderr); err != nil {
		return 2, err
	}
	rel := cwd
	if headRoot != top {
		rel = headRoot
	}
	rules.RelPaths(introduced, rel)
	code, err := o.write(introduced, stdout, rel)
	if err != nil {
		return 2, err
	}
	if c.stats {
		fmt.Fprintf(stderr, "check: %d files, %d changed since %s, %d findings at head, %d at base, %d introduced, facts cache %d reused, wall %s\n",
			len(headFiles), len(status), baseRev, nHead, nBase, len(introduced), c.cacheHits.Load(),
			time.Since(start).Round(time.Millisecond))
	}
	return code, nil
}

// git runs git in dir (the current directory when "") and returns stdout.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	if dir != "" {
		cmd.Dir = dir
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), errors.New(msg)
	}
	return out.String(), nil
}
