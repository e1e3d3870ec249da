#!/usr/bin/env bash
# Time lockorder scans of growing parts of the 6.1 tree (from `make
# kernel-corpus`): wall, CPU (user+sys), peak RSS, via /usr/bin/time -v.
# Usage: scripts/bench-tree.sh [TREE] ; prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-$(bash scripts/kernel-corpus.sh --print-path)}
bin=bin/lockorder
[ -x "$bin" ] || go build -o "$bin" ./cmd/lockorder
if [ ! -d "$tree/kernel" ]; then
  echo "bench-tree: no kernel tree at $tree (run 'make kernel-corpus'); skipping whole-tree timing"
  exit 0
fi
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq time >/dev/null; else sudo apt-get install -y -qq time >/dev/null; fi
fi
sets=("kernel" "kernel mm" "kernel mm fs" "${BENCH_FULL:+.}")
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
# cold: nothing cached (every file parsed); warm: the same scan again with
# the facts cache the cold run filled
printf '%-16s %-5s %8s %8s %8s %10s %9s\n' scope run wall_s cpu_s rss_MB findings files
for s in "${sets[@]}"; do
  [ -n "$s" ] || continue
  rm -rf "$cache"/*
  for run in cold warm; do
    log=$(mktemp)
    # --no-tree: time the parts alone (inside the tree a scan of a part is
    # otherwise built from the whole tree)
    ( cd "$tree" && /usr/bin/time -v "$OLDPWD/$bin" scan --no-tree --progress never --stats --cache-dir "$cache" --format json -o /tmp/lockorder-bench.json $s ) 2>"$log" >/dev/null || true
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$log")
    user=$(awk -F': ' '/User time/{print $2}' "$log")
    sys=$(awk -F': ' '/System time/{print $2}' "$log")
    rss=$(awk -F': ' '/Maximum resident/{printf "%.0f", $2/1024}' "$log")
    nf=$(grep -o '"rule"' /tmp/lockorder-bench.json 2>/dev/null | wc -l)
    files=$(awk '/^files:/{print $2}' "$log")
    printf '%-16s %-5s %8.1f %8.1f %8s %10s %9s\n' "${s// /+}" "$run" "$wall" "$(echo "$user + $sys" | bc)" "$rss" "$nf" "$files"
    rm -f "$log"
  done
done
