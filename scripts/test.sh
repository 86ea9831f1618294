#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: first a normal
# optimised build, then the same tests under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs="$(nproc)"

echo "== format (clang-format, .clang-format: Google base, 100 columns)"
find ledger schemas engine streams tools bench tests \( -name '*.cc' -o -name '*.h' \) -print0 |
  xargs -0 clang-format --dry-run --Werror

echo "== build and test (RelWithDebInfo)"
scripts/build.sh debug
ctest --test-dir build/debug --output-on-failure -j "$jobs"

echo "== build and test (ASan + UBSan)"
scripts/build.sh sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/sanitize --output-on-failure -j "$jobs"

echo "== main job smoke run"
LF_BUILD_KIND=debug LEDGERFLOW_DB=build/test-main-job scripts/main-job.sh >build/main-job.log 2>&1 || {
  cat build/main-job.log; exit 1; }
grep -q "verify: OK" build/main-job.log
echo "main job: verify OK"
