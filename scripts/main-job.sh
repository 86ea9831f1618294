#!/usr/bin/env bash
# The main job: install what is missing, build, apply the sample workload to a
# fresh store, then print the trial balance and verify the store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
kind="${LF_BUILD_KIND:-release}"
scripts/build.sh "$kind" ledgerflow lf_sample_workload engine_bench
bin="build/$kind/tools/ledgerflow"
gen="build/$kind/tools/lf_sample_workload"
db="${LEDGERFLOW_DB:-build/main-job-store}"
rm -rf "$db"

echo
echo "== apply examples/sample.jsonl (a marketplace: deposits, holds, captures, a payout journal, rejections)"
"$bin" apply --db "$db" examples/sample.jsonl
echo
echo "== apply a generated workload of 200,000 commands (top-ups, holds, captures, voids, payouts, retries, mistakes)"
"$gen" --commands 200000 --seed 7 | "$bin" apply --db "$db" --quiet
echo
echo "== trial balance"
"$bin" balances --db "$db" | (head -n 15; echo "   ..."; tail -n 4)
echo
echo "== history of customer:alice"
"$bin" history --db "$db" customer:alice --limit 8
echo
echo "== verify"
"$bin" verify --db "$db"
