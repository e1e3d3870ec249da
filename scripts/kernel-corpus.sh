#!/usr/bin/env bash
# Install Debian's linux-source-6.1 and unpack it into a cache directory
# outside the repository. Prints the path of the unpacked tree.
# Never commit anything from this tree.
set -euo pipefail
[ "${1:-}" = "--print-path" ] && { c=${LOCKORDER_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/lockorder/corpus}; echo "$c/linux-6.1"; exit 0; }
cache=${LOCKORDER_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/lockorder/corpus}
mkdir -p "$cache"
if [ -d "$cache/linux-6.1/kernel" ]; then
  echo "$cache/linux-6.1"
  exit 0
fi
tarball=$(ls /usr/src/linux-source-6.1*.tar.xz 2>/dev/null | head -1 || true)
if [ -z "$tarball" ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq linux-source-6.1 >&2
  tarball=$(ls /usr/src/linux-source-6.1*.tar.xz | head -1)
fi
tmp="$cache/.unpack.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
tar -xJf "$tarball" -C "$tmp"
src=$(ls -d "$tmp"/linux-source-6.1* | head -1)
rm -rf "$cache/linux-6.1"
mv "$src" "$cache/linux-6.1"
rm -rf "$tmp"
echo "$cache/linux-6.1"
