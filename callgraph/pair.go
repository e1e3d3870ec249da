package callgraph

import (
	"context"
	"path/filepath"
	"sort"

	"github.com/lockorder/lockorder/parser"
)

// BaseSide assembles the files of the base revision of a change from the
// head side's: a file the change leaves alone shares its parsed facts, a
// modified or deleted one is read at the base with read (check reads it
// from git), an added one is left out. status maps a path relative to
// root to git's A, M, T or D.
func BaseSide(ctx context.Context, root string, head []*parser.File, status map[string]byte, read func(path string) ([]byte, error), o LoadOptions) ([]*parser.File, []parser.Skipped, error) {
	relOf := func(p string) string { r, _ := filepath.Rel(root, p); return r }
	var base []*parser.File
	var fromBase []string
	for _, f := range head {
		switch status[relOf(f.Path)] {
		case 'A':
		case 'M', 'T':
			fromBase = append(fromBase, f.Path)
		default:
			base = append(base, f)
		}
	}
	for p, st := range status {
		if st == 'D' {
			fromBase = append(fromBase, filepath.Join(root, p))
		}
	}
	sort.Strings(fromBase) // status is a map: keep the base program's order stable
	changed, skipped, err := ParseFiles(ctx, fromBase, o, read)
	if err != nil {
		return nil, nil, err
	}
	return append(base, changed...), skipped, nil
}
