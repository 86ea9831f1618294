#!/usr/bin/env bash
# The main job: install what is missing, build, then
#   1. apply the sample marketplace from a JSON-lines file to a store;
#   2. start the embedded Kafka broker, publish 200,000 commands of 8
#      marketplaces (books) to a 4-partition commands topic, and run the
#      engine until the topic is drained: one shard per partition, every
#      command applied exactly once, outcomes and events published;
#   3. read the outcomes back from Kafka, print each shard's trial balance
#      totals and verify every shard.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
kind="${LF_BUILD_KIND:-release}"
scripts/build.sh "$kind" ledgerflow lf_sample_workload
bin="build/$kind/tools/ledgerflow"
gen="build/$kind/tools/lf_sample_workload"
work="${LEDGERFLOW_WORK:-build/main-job}"
commands="${LEDGERFLOW_COMMANDS:-200000}"
partitions=4
rm -rf "$work"
mkdir -p "$work"

echo
echo "== 1. examples/sample.jsonl applied from a file (a marketplace: deposits, holds, captures,"
echo "      an expiry, a payout journal, deliberate rejections)"
"$bin" apply --db "$work/file-store" examples/sample.jsonl
"$bin" balances --db "$work/file-store" | tail -n 3
"$bin" verify --db "$work/file-store"

echo
echo "== 2. the embedded Kafka broker (librdkafka's mock cluster, loopback TCP)"
"$bin" broker --topic "commands:$partitions" --topic "commands.outcomes:8" \
  --topic "commands.events:$partitions" --topic commands.dlq:1 \
  --bootstrap-file "$work/bootstrap" >"$work/broker.log" 2>&1 &
broker_pid=$!
trap 'kill "$broker_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$work/bootstrap" ] && break
  kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.log"; exit 1; }
  sleep 0.1
done
brokers="$(cat "$work/bootstrap")"
echo "bootstrap.servers=$brokers"

echo
echo "== 3. publish $commands commands of 8 marketplaces, while the engine consumes them"
"$gen" --commands "$commands" --seed 7 --books 8 >"$work/commands.jsonl"
# The producer throttles on the engine's lag, and the outcomes are read while
# they are published: the mock broker keeps only about 5 MiB per partition
# and drops the oldest messages, consumed or not.
"$bin" outcomes --brokers "$brokers" --topic commands.outcomes --idle-ms 5000 \
  >"$work/outcomes.txt" 2>&1 &
outcomes_pid=$!
"$bin" produce --brokers "$brokers" --topic commands --wait-group ledgerflow \
  "$work/commands.jsonl" &
producer_pid=$!
start_ns=$(date +%s%N)
"$bin" run --brokers "$brokers" --topic commands --db "$work/shards" --partitions all \
  --until-idle --idle-ms 3000 2>"$work/run.log"
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000 - 3000))
wait "$producer_pid"
echo "(consumed, applied, made durable and published in about ${elapsed_ms} ms, idle wait"
echo " excluded; engine log: $work/run.log)"

echo
echo "== 4. outcomes read back from the commands.outcomes topic (as the engine published them)"
outcomes_status=0
wait "$outcomes_pid" || outcomes_status=$?
cat "$work/outcomes.txt"
[ "$outcomes_status" -eq 0 ] || exit "$outcomes_status"

echo
echo "== 5. every shard: trial balance totals and verify"
for p in $(seq 0 $((partitions - 1))); do
  db="$work/shards/commands-$p"
  echo "-- shard $p ($db)"
  "$bin" balances --db "$db" | tail -n 3
  "$bin" verify --db "$db"
done
