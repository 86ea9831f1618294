#!/usr/bin/env bash
# Configures and builds ledgerflow into build/<kind>: every target, or only
# the ones named.
#   scripts/build.sh release|debug|sanitize [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
case "$kind" in
  release)  flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug)    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLF_SANITIZE=ON) ;;
  *) echo "build.sh: unknown kind $kind (release|debug|sanitize)" >&2; exit 2 ;;
esac
jobs="$(nproc)"
cmake -S . -B "build/$kind" -G Ninja "${flags[@]}" >/dev/null
cmake --build "build/$kind" -j "$jobs" "${targets[@]}"
