#!/usr/bin/env bash
# End-to-end tests of the ledgerflow command line: exit codes, outputs, bad
# input leaving the store unchanged, and verify naming tampered sequence
# numbers. Usage: cli_test.sh LEDGERFLOW_BINARY SAMPLE_JSONL
set -uo pipefail
bin="$1"
sample="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() {  # check NAME EXPECTED_EXIT COMMAND...
  local name="$1" expected="$2"
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local code=$?
  if [ "$code" -eq "$expected" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name: exit $code, expected $expected"
    sed 's/^/  out: /' "$work/out" | head -5
    sed 's/^/  err: /' "$work/err" | head -5
  fi
}

contains() {  # contains NAME FILE TEXT
  if grep -q -- "$3" "$work/$2"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $1: $2 lacks '$3'"
    head -5 "$work/$2" | sed 's/^/  /'
  fi
}

db="$work/store"
check "apply sample" 0 "$bin" apply --db "$db" "$sample"
contains "apply summary" out "applied 28 commands: 20 accepted, 8 rejected, 1 duplicates"
contains "apply rejection reason" out "overspend.*rejected exceeds_credits (debit_account)"
check "apply --json" 0 "$bin" apply --db "$work/json-store" --json "$sample"
contains "outcome json" out '"command_id":"bob-too-far","status":"rejected","reason":"overdraft_limit_exceeded"'

check "balances" 0 "$bin" balances --db "$db"
contains "trial balance USD" out "TOTAL.*USD.*1550.00.*1550.00.*nets to zero"
check "balances --json" 0 "$bin" balances --db "$db" --json
contains "trial balance json" out '"asset":"USD".*"nets_to_zero":true'
check "balance" 0 "$bin" balance --db "$db" customer:alice
contains "balance alice" out "credits posted   1010.00"
check "balance --json" 0 "$bin" balance --db "$db" customer:alice --json
contains "balance json" out '"credits_posted":101000'
check "balance of unknown account" 1 "$bin" balance --db "$db" nobody
contains "unknown account message" err "account nobody not found"
check "history" 0 "$bin" history --db "$db" customer:alice
contains "history freshness" out "index covers events 1..29 of 29"
contains "history expiry" out "pending_expired  payout-split"
check "events" 0 "$bin" events --db "$db" --from 28 --limit 1
contains "event json" out '"seq":28,"hash":"'
check "events --limit 0" 0 "$bin" events --db "$db" --limit 0
check "verify" 0 "$bin" verify --db "$db"
contains "verify ok" out "verify: OK: 29 events"
check "verify --json" 0 "$bin" verify --db "$db" --json
contains "verify json" out '"ok":true'

# Bad input: nothing applied, a message per line, exit 3, store unchanged.
printf '%s\n' '{"id":' 'garbage' '{"id":"x","body_type":"Teleport","body":{}}' >"$work/bad.jsonl"
"$bin" events --db "$db" >"$work/before"
check "apply garbage" 3 "$bin" apply --db "$db" "$work/bad.jsonl"
contains "garbage line number" err "line 2: malformed command JSON"
contains "unknown type" err "line 3: .*Teleport"
contains "nothing applied" out "applied 0 commands"
"$bin" events --db "$db" >"$work/after"
if cmp -s "$work/before" "$work/after"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAILED: garbage changed the log"; fi
check "verify after garbage" 0 "$bin" verify --db "$db"

# Valid lines around bad ones are still applied.
printf '%s\n' '{"id":"ok-1","timestamp_ms":90000,"body_type":"Transfer","body":{"debit_account":"bank:usd","credit_account":"customer:alice","amount":1,"asset":"USD"}}' \
  'not json' >"$work/mixed.jsonl"
check "apply mixed" 3 "$bin" apply --db "$db" "$work/mixed.jsonl"
contains "valid line applied" out "ok-1 .*accepted seq 30"

# The embedded broker: prints and writes its address, stops cleanly on SIGTERM.
"$bin" broker --topic commands:4 --bootstrap-file "$work/bootstrap" >"$work/broker.out" 2>&1 &
broker_pid=$!
for _ in $(seq 200); do [ -s "$work/bootstrap" ] && break; sleep 0.05; done
contains "broker bootstrap file" bootstrap "^127.0.0.1:[0-9]*"
kill -TERM "$broker_pid"
wait "$broker_pid"
broker_exit=$?
if [ "$broker_exit" -eq 0 ]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAILED: broker exit $broker_exit after SIGTERM"; fi
contains "broker address printed" broker.out "bootstrap.servers=127.0.0.1:"
contains "broker stopped" broker.out "broker: stopping on signal 15"
check "broker bad topic" 1 "$bin" broker --topic "t:zero"

# Kafka through the command line: produce, run until idle, read outcomes.
"$bin" broker --topic commands:1 --topic commands.outcomes:1 --topic commands.events:1 \
  --topic commands.dlq:1 --bootstrap-file "$work/kafka" >"$work/kafka.out" 2>&1 &
kafka_pid=$!
for _ in $(seq 100); do [ -s "$work/kafka" ] && break; sleep 0.1; done
brokers="$(cat "$work/kafka")"
cat "$sample" "$work/bad.jsonl" >"$work/sample-and-bad.jsonl"
check "produce with bad lines" 3 "$bin" produce --brokers "$brokers" --topic commands \
  "$work/sample-and-bad.jsonl"
contains "produce summary" out "produced 28 commands in 1 messages to commands (1 partitions): 1 delivered, 0 failed; 3 undecodable lines"
check "run until idle" 0 "$bin" run --brokers "$brokers" --topic commands --db "$work/shards" \
  --partitions all --until-idle --idle-ms 200
contains "run table" out "total .* 28 .* 19 .* 8 .* 1 .* 0"
check "outcomes" 0 "$bin" outcomes --brokers "$brokers" --topic commands.outcomes --idle-ms 200
contains "outcomes summary" out "27 outcomes (0 duplicates dropped by lf-shard/lf-seq): 19 accepted, 8 rejected"
check "shard balances" 0 "$bin" balances --db "$work/shards/commands-0"
contains "shard trial balance" out "TOTAL.*USD.*1550.00.*1550.00.*nets to zero"
check "shard verify" 0 "$bin" verify --db "$work/shards/commands-0"
check "run again: nothing new" 0 "$bin" run --brokers "$brokers" --topic commands \
  --db "$work/shards" --partitions all --until-idle --idle-ms 200 --json
contains "nothing applied twice" out '"partition":0,.*"commands":0,'
# SIGTERM: run finishes what it has, prints its report and exits 0.
"$bin" run --brokers "$brokers" --topic commands --db "$work/shards" --partitions all \
  >"$work/term.out" 2>"$work/term.err" &
run_pid=$!
for _ in $(seq 100); do grep -q "consuming" "$work/term.err" && break; sleep 0.1; done
kill -TERM "$run_pid"
wait "$run_pid"
run_exit=$?
if [ "$run_exit" -eq 0 ]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAILED: run exit $run_exit after SIGTERM"; cat "$work/term.err"; fi
contains "run stops on SIGTERM" term.err "stopping on signal 15"
contains "run report after SIGTERM" term.out "total"
check "unknown -X property" 1 "$bin" produce --brokers "$brokers" --topic commands \
  -X no.such.property=1 "$sample"
contains "unknown property message" err "no.such.property"
check "protected -X property" 1 "$bin" run --brokers "$brokers" --topic commands \
  --db "$work/shards" -X enable.auto.commit=true
contains "protected property message" err "enable.auto.commit is set by ledgerflow"
check "missing topic" 1 "$bin" run --brokers "$brokers" --topic nowhere --db "$work/shards" \
  --partitions all --until-idle
contains "missing topic message" err "Kafka topic nowhere"
check "bad --partitions" 2 "$bin" run --brokers "$brokers" --topic commands --db "$work/shards" \
  --partitions 0,x
check "produce without brokers" 2 "$bin" produce --topic commands "$sample"
kill -TERM "$kafka_pid"
wait "$kafka_pid"
# Snapshots, replay and log export (docs/snapshots.md, docs/replay.md).
check "verify prints the state digest" 0 "$bin" verify --db "$db"
contains "state digest text" out "state digest [0-9a-f]\{64\}"
digest="$(sed 's/.*state digest //' "$work/out")"
check "verify --json digest" 0 "$bin" verify --db "$db" --json
contains "state digest json" out "\"state_digest\":\"$digest\""
contains "verify json problem" out '"problem":"",'
snaps="$work/snaps"
check "snapshot list (none)" 0 "$bin" snapshot list --db "$db" --snapshots "$snaps"
contains "no snapshots" out "0 snapshots"
check "snapshot create" 0 "$bin" snapshot create --db "$db" --snapshots "$snaps"
contains "snapshot digest" out "snap-00000000000000000030 .*state digest $digest"
check "snapshot create twice" 1 "$bin" snapshot create --db "$db" --snapshots "$snaps"
contains "snapshot exists" err "exists"
check "snapshot verify" 0 "$bin" snapshot verify --db "$db" --snapshots "$snaps" snap-00000000000000000030
contains "snapshot verify ok" out "snapshot snap-00000000000000000030: OK"
check "snapshot verify unknown" 1 "$bin" snapshot verify --db "$db" --snapshots "$snaps" snap-1
mkdir -p "$snaps/.partial-snap-00000000000000000099"
check "snapshot list" 0 "$bin" snapshot list --db "$db" --snapshots "$snaps" --json
contains "snapshot list json" out '"name":"snap-00000000000000000030","seq":30'
contains "partial ignored" err "partial-snap-00000000000000000099: interrupted snapshot, ignored"
check "restore needs a name" 2 "$bin" snapshot restore --db "$work/restored" --snapshots "$snaps"
check "restore" 0 "$bin" snapshot restore --db "$work/restored" --snapshots "$snaps" snap-00000000000000000030
contains "restored" out "restored snap-00000000000000000030"
check "restore over a store" 1 "$bin" snapshot restore --db "$work/restored" --snapshots "$snaps" snap-00000000000000000030
contains "restore refuses" err "pass --force"
check "restored verifies" 0 "$bin" verify --db "$work/restored"
contains "restored digest" out "state digest $digest"

# A second snapshot, then corrupt it: restore --latest-good falls back.
printf '%s\n' '{"id":"ok-2","timestamp_ms":91000,"body_type":"Transfer","body":{"debit_account":"bank:usd","credit_account":"customer:alice","amount":1,"asset":"USD"}}' >"$work/one.jsonl"
check "apply one more" 0 "$bin" apply --db "$db" "$work/one.jsonl"
check "snapshot create 2" 0 "$bin" snapshot create --db "$db" --snapshots "$snaps"
manifest="$snaps/snap-00000000000000000031/manifest"
sed -i 's/^seq 31$/seq 32/' "$manifest"
check "corrupt snapshot verify" 4 "$bin" snapshot verify --db "$db" --snapshots "$snaps" snap-00000000000000000031
contains "corrupt manifest named" out "snap-00000000000000000031: FAILED: manifest line 29: manifest digest mismatch"
check "restore latest good" 0 "$bin" snapshot restore --db "$work/restored" --snapshots "$snaps" --latest-good --force
contains "rejected newest" err "snapshot snap-00000000000000000031 rejected"
contains "restored older" out "restored snap-00000000000000000030"
check "prune" 0 "$bin" snapshot prune --db "$db" --snapshots "$snaps" --keep 1
contains "pruned partial" out "removed .partial-snap-00000000000000000099"
check "prune keep 0" 2 "$bin" snapshot prune --db "$db" --snapshots "$snaps" --keep 0

check "replay rebuild" 0 "$bin" replay rebuild --db "$db" --into "$work/rebuilt"
contains "rebuild ok" out "rebuild: OK: 31 events"
check "rebuild into existing" 1 "$bin" replay rebuild --db "$db" --into "$work/rebuilt"
check "rebuilt verifies" 0 "$bin" verify --db "$work/rebuilt"
check "replay reexecute" 0 "$bin" replay reexecute --db "$db"
contains "reexecute ok" out "31 events byte-identical"
check "reexecute from snapshot" 0 "$bin" replay reexecute --db "$db" --snapshots "$snaps" --from-snapshot snap-00000000000000000030
contains "reexecute from 31" out "from seq 31"
check "reexecute bad batch" 2 "$bin" replay reexecute --db "$db" --batch 0

check "log export" 0 "$bin" log export --db "$db" --out "$work/all.lflog" --shard s1
contains "exported" out "exported events 1..31"
check "log export bad range" 2 "$bin" log export --db "$db" --out "$work/x.lflog" --from 5 --to 99
check "replay log" 0 "$bin" replay log --log "$work/all.lflog" --into "$work/from-file"
contains "replay log digest" out "state digest"
check "replay log partial" 0 "$bin" log export --db "$db" --out "$work/part.lflog" --from 10 --to 12
check "replay log partial verify" 0 "$bin" replay log --log "$work/part.lflog"
contains "partial not rebuilt" out "verified only"
cp "$work/all.lflog" "$work/flipped.lflog"
printf '\x00' | dd of="$work/flipped.lflog" bs=1 seek=2000 conv=notrunc 2>/dev/null
check "replay flipped log" 4 "$bin" replay log --log "$work/flipped.lflog"
contains "flipped located" out "FAILED: record [0-9]* (byte [0-9]*)"
echo "not a log" >"$work/garbage.lflog"
check "replay garbage log" 3 "$bin" replay log --log "$work/garbage.lflog"
check "replay missing log" 1 "$bin" replay log --log "$work/none.lflog"

# Usage errors and help.
check "no subcommand" 2 "$bin"
check "unknown flag" 2 "$bin" verify --db "$db" --bogus
check "help" 0 "$bin" apply --help
contains "help text" out "JSON-lines file"
check "missing store" 1 "$bin" verify --db "$work/does-not-exist"
check "missing input file" 1 "$bin" apply --db "$db" "$work/nope.jsonl"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
