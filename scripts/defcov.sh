#!/usr/bin/env bash
# defcov.sh: front-end coverage of function definitions.
#
#   scripts/defcov.sh [--depth N] [--misses FILE] TREE [DIR...]
#
# Compares the function definitions Universal Ctags finds in the .c files
# of TREE (or of the DIRs inside it) with those `lockorder facts --defs`
# recovers, and prints per directory (the first N path components, default
# 1): ctags' count, how many lockorder misses, and the share. Definitions
# named by a macro (`SYSCALL_DEFINE3(read, ...) {`, which ctags reports
# under the macro's name and lockorder under the function's) are left out,
# as are invocations of the tree's function-like macros that ctags takes
# for definitions (`device_initcall(f)` with no ';').
# (`static MLX5E_DECLARE_STATS_GRP_OP_FILL_STRS(sw) {`, DEF_SCSI_QCMD(f)).
# A miss is a (file, name) pair that ctags reports more often than
# lockorder; --misses writes them, one "file<TAB>line<TAB>name" each
# (default: the misses are printed after the table).
#
# Needs Universal Ctags (Debian: universal-ctags) and the lockorder binary
# (PATH, else bin/lockorder). Installs nothing.
set -euo pipefail
depth=1
misses=
while [ $# -gt 0 ]; do
  case $1 in
    --depth) depth=$2; shift 2 ;;
    --misses) misses=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--depth N] [--misses FILE] TREE [DIR...]" >&2; exit 2; }
tree=$1; shift
[ -d "$tree" ] || { echo "defcov: $tree: not a directory" >&2; exit 2; }
if ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
  echo "defcov: Universal Ctags is missing (Debian: apt-get install universal-ctags)" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
lo=$(command -v lockorder || true)
[ -n "$lo" ] || lo=$here/bin/lockorder
[ -x "$lo" ] || { echo "defcov: no lockorder binary (make build, or put lockorder on PATH)" >&2; exit 2; }
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(.)
case $misses in ""|/*) ;; *) misses=$PWD/$misses ;; esac
tmp=$(mktemp -d)
trap "rm -rf $tmp" EXIT; [ -n "${DEFCOV_KEEP:-}" ] && trap - EXIT
cd "$tree"
# function-like macros defined in the tree: a ctags "function" of that
# name is a macro invocation (device_initcall(f), a generator macro)
grep -rhoE --include='*.[ch]' '^[[:space:]]*#[[:space:]]*define[[:space:]]+[A-Za-z_][A-Za-z0-9_]*\(' \
  "${dirs[@]}" $( [ -d include ] && echo include ) 2>/dev/null |
  sed -E 's/.*define[[:space:]]+//; s/\($//' | sort -u > "$tmp/macros"
ctags -R --languages=C --langmap=C:.c --kinds-C=f -x --_xformat='%F	%n	%N	%C' \
  "${dirs[@]}" > "$tmp/ctags" 2>/dev/null
"$lo" facts --defs --no-cache --progress never "${dirs[@]}" 2> "$tmp/lo.err" | grep -P '\.c\t' > "$tmp/lo" || true
if [ -s "$tmp/lo.err" ]; then
  echo "defcov: lockorder skipped $(grep -c 'skipped' "$tmp/lo.err") files:" >&2
  head -20 "$tmp/lo.err" >&2
fi
awk -F'\t' -v depth="$depth" -v missfile="$tmp/miss" -v macrosfile="$tmp/macros" -v lofile="$tmp/lo" '
  function norm(p) { sub(/^\.\//, "", p); return p }
  function dir(p,   n, a, i, d) {
    n = split(p, a, "/")
    if (n <= 1) return "."
    d = a[1]
    for (i = 2; i <= depth && i < n; i++) d = d "/" a[i]
    return d
  }
  FILENAME == macrosfile { macro[$1] = 1; next }
  FILENAME == lofile { k = norm($1) "\t" $3; have[k]++; next }
  {
    f = norm($1); name = $3; pat = $4
    # macro-named definitions: SYSCALL_DEFINE3(read, ...) at the line start
    # and other macro invocations that ctags takes for definitions
    if (macro[name] || index(pat, name "(") == 1 && name ~ /^[A-Z][A-Z0-9_]*$/) next
    k = f "\t" name
    d = dir(f)
    total[d]++
    if (have[k] > 0) { have[k]--; next }
    miss[d]++
    print f "\t" $2 "\t" name > missfile
  }
  END {
    for (d in total) {
      T += total[d]; M += miss[d]
      printf "%-28s %10d %8d %7.2f%%\n", d, total[d], miss[d], 100 * miss[d] / total[d] > "/dev/stderr"
    }
    if (T > 0) printf "%-28s %10d %8d %7.2f%%\n", "total", T, M, 100 * M / T
  }
' "$tmp/macros" "$tmp/lo" "$tmp/ctags" 2> "$tmp/rows" > "$tmp/total"
printf "%-28s %10s %8s %8s\n" dir ctags missed share
sort "$tmp/rows"
cat "$tmp/total"
touch "$tmp/miss"
if [ -n "$misses" ]; then
  sort "$tmp/miss" > "$misses"
else
  echo
  echo "misses:"
  sort "$tmp/miss"
fi
