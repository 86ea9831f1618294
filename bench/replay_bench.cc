// replay_bench: how fast a shard rebuilds from its log, beside how fast it
// writes it.
//
// Per repeat (median of --repeats, default 3):
//   * live: opens --accounts accounts, then applies --transfers commands
//     (90% transfers, 10% holds with a 60 s timeout, so that expiries happen
//     as logical time moves 1 ms per command) in batches of --batch with one
//     WAL sync per batch (the production setting); events/s inside apply;
//   * rebuild: rebuild_projections into a fresh store, without and with the
//     history index (live stores index behind the log, so "without" is the
//     like-for-like figure); events/s and the ratio to live;
//   * reexecute: re-runs the logged commands in a scratch store (no sync)
//     and compares every event byte for byte; events/s and the ratio;
//   * snapshot: create_snapshot time (checkpoint, digest, file hashes);
//   * restart to serving (until the first account query answers):
//     reopening the intact store; for a lost store, the newest snapshot
//     (taken --tail commands before the end, default 50,000: a "recent" one)
//     checked as recovery checks it (engine::SnapshotCheckDepth::recovery),
//     restored, and the commands after it re-applied; rebuilding from the log
//     with no snapshot at all.
// The machine is shared: the 1-minute load average is printed at the start
// and the end. Ends with one JSON line {"bench":"replay",...}.
//
//   replay_bench [--transfers N] [--accounts N] [--batch N] [--repeats N] [--tail N]
//                [--reexecute 0|1] [--dir DIR]
//   (e.g. --transfers 10000000 --repeats 1 --reexecute 0 for a 10M-event run)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/digest.h"
#include "engine/engine.h"
#include "engine/process_memory.h"
#include "engine/replay.h"
#include "engine/snapshot.h"
#include "ledger/assert.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using lf::engine::Engine;

struct Config {
  std::size_t transfers = 300'000;
  std::size_t accounts = 10'000;
  std::size_t batch = 4096;
  std::size_t repeats = 3;
  std::size_t tail = 50'000;  // Commands applied after the snapshot ("recent").
  bool reexecute = true;
  std::string dir = "/tmp/ledgerflow-replay-bench";
};

struct Figures {
  double events = 0;
  double live_events_per_s = 0;
  double rebuild_events_per_s = 0;
  double rebuild_history_events_per_s = 0;
  double reexecute_events_per_s = 0;
  double snapshot_create_ms = 0;
  double reopen_to_query_ms = 0;
  double snapshot_restore_to_query_ms = 0;
  double snapshot_check_ms = 0;    // Of which: the recovery check (files, checksums, head),
  double snapshot_restore_ms = 0;  // the restore (hard links),
  double tail_ms = 0;              // opening and re-applying the tail.
  double tail_commands = 0;
  double rebuild_to_query_ms = 0;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double load_1m() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

template <typename T>
T must(lf::Result<T> result, const char* what) {
  if (!result.is_ok()) {
    fmt::print(stderr, "replay_bench: {}: {}\n", what, result.status().to_string());
    std::exit(1);
  }
  return std::move(result).value();
}

void must(const lf::Status& status, const char* what) {
  if (!status.is_ok()) {
    fmt::print(stderr, "replay_bench: {}: {}\n", what, status.to_string());
    std::exit(1);
  }
}

std::string account_id(std::size_t i) { return fmt::format("acct:{:06}", i); }

// The workload, in batches: account openings, then transfers and holds.
std::vector<std::vector<lf::ledger::Command>> workload(const Config& config) {
  std::vector<std::vector<lf::ledger::Command>> batches;
  std::vector<lf::ledger::Command> batch;
  auto add = [&](lf::ledger::Command c) {
    batch.push_back(std::move(c));
    if (batch.size() == config.batch) batches.push_back(std::move(batch)), batch.clear();
  };
  for (std::size_t i = 0; i < config.accounts; ++i) {
    lf::ledger::Command c;
    c.id = fmt::format("open-{}", i);
    c.timestamp_ms = 1;
    c.body = lf::ledger::OpenAccount{account_id(i), "USD", 2, false, false, 0, {}};
    add(std::move(c));
  }
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i < config.transfers; ++i) {
    const std::size_t debit = rng() % config.accounts;
    std::size_t credit = rng() % config.accounts;
    if (credit == debit) credit = (credit + 1) % config.accounts;
    lf::ledger::Command c;
    c.id = fmt::format("t{}", i);
    c.timestamp_ms = 1000 + i;
    const bool hold = i % 10 == 9;
    c.body = lf::ledger::Transfer{
        account_id(debit), account_id(credit), 1 + i % 10000, "USD", hold, hold ? 60u : 0u, {}};
    add(std::move(c));
  }
  if (!batch.empty()) batches.push_back(std::move(batch));
  return batches;
}

// Applies batches [from, to) with durable commits; returns the seconds inside apply.
double apply_batches(Engine& engine, const std::vector<std::vector<lf::ledger::Command>>& batches,
                     std::size_t from, std::size_t to) {
  double seconds = 0;
  for (std::size_t i = from; i < to; ++i) {
    const auto start = Clock::now();
    must(engine.apply(batches[i]), "apply");
    seconds += seconds_since(start);
  }
  return seconds;
}

double first_query_ms(const std::string& dir, Clock::time_point start) {
  auto engine = must(Engine::open(dir), "open");
  auto account = must(engine->account(account_id(0)), "query");
  LF_ASSERT(account.has_value());
  return seconds_since(start) * 1000;
}

Figures run_once(const Config& config, const std::vector<std::vector<lf::ledger::Command>>& batches,
                 std::size_t repeat) {
  const fs::path root = fs::path(config.dir) / fmt::format("r{}", repeat);
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string live_dir = (root / "live").string();
  const std::string snapshots = (root / "snaps").string();
  Figures f;
  lf::engine::EngineOptions options;  // Production settings: sync on.
  auto live = must(Engine::open(live_dir, options), "open live");

  // Live, with a snapshot --tail commands before the end (outside the timed
  // applies).
  const std::size_t tail_batches =
      std::clamp<std::size_t>((config.tail + config.batch - 1) / config.batch, 1, batches.size());
  const std::size_t snapshot_at = batches.size() - tail_batches;
  for (std::size_t i = snapshot_at; i < batches.size(); ++i) f.tail_commands += batches[i].size();
  double live_s = apply_batches(*live, batches, 0, snapshot_at);
  const auto snap_start = Clock::now();
  const auto snapshot = must(lf::engine::create_snapshot(*live, snapshots), "snapshot");
  f.snapshot_create_ms = seconds_since(snap_start) * 1000;
  live_s += apply_batches(*live, batches, snapshot_at, batches.size());
  f.events = static_cast<double>(live->head().ledger.next_seq - 1);
  f.live_events_per_s = f.events / live_s;
  const lf::Sha256 live_digest = must(lf::engine::store_digest(*live), "digest");

  // Restart to serving, measured first: the rebuild checkpoints the live
  // store, which flushes its memtables and would leave this reopen no WAL to
  // replay.
  live.reset();
  f.reopen_to_query_ms = first_query_ms(live_dir, Clock::now());
  live = must(Engine::open(live_dir, options), "reopen live");

  // Projection rebuild, without and with the history index.
  for (const bool history : {false, true}) {
    const std::string into = (root / (history ? "rebuilt-h" : "rebuilt")).string();
    const auto start = Clock::now();
    const auto report = must(lf::engine::rebuild_projections(*live, into, {history}), "rebuild");
    const double s = seconds_since(start);
    LF_ASSERT(report.ok);
    LF_ASSERT(report.rebuilt_digest == live_digest);
    (history ? f.rebuild_history_events_per_s : f.rebuild_events_per_s) = f.events / s;
  }

  // Re-execution from zero.
  if (config.reexecute) {
    const auto start = Clock::now();
    const auto report =
        must(lf::engine::reexecute(*live, (root / "scratch").string(), nullptr, config.batch),
             "reexecute");
    const double s = seconds_since(start);
    LF_ASSERT(report.ok);
    f.reexecute_events_per_s = f.events / s;
  }
  live.reset();

  {
    // What streams::run does for a lost store: the newest snapshot, checked
    // as recovery checks it, restored, then the commands after it consumed
    // again (here from memory) until the first query answers.
    const auto start = Clock::now();
    const std::string restored = (root / "restored").string();
    const auto listing = must(lf::engine::list_snapshots(snapshots), "list");
    LF_ASSERT(!listing.snapshots.empty());
    const lf::engine::SnapshotInfo& newest = listing.snapshots.back();
    const auto check = must(
        lf::engine::verify_snapshot(newest, lf::engine::SnapshotCheckDepth::recovery), "check");
    LF_ASSERT(check.ok);
    f.snapshot_check_ms = seconds_since(start) * 1000;
    auto phase = Clock::now();
    must(lf::engine::restore_snapshot(newest, restored, false), "restore");
    f.snapshot_restore_ms = seconds_since(phase) * 1000;
    phase = Clock::now();
    {
      auto engine = must(Engine::open(restored, options), "open restored");
      apply_batches(*engine, batches, snapshot_at, batches.size());  // The tail, from Kafka.
      LF_ASSERT(must(engine->account(account_id(0)), "query").has_value());
    }
    f.tail_ms = seconds_since(phase) * 1000;
    f.snapshot_restore_to_query_ms = seconds_since(start) * 1000;
    auto engine = must(Engine::open(restored, options), "open restored");
    LF_ASSERT(must(lf::engine::store_digest(*engine), "digest") == live_digest);  // Untimed.
  }
  {
    auto source = must(Engine::open(live_dir, options), "open live");
    const std::string into = (root / "cold").string();
    const auto start = Clock::now();
    LF_ASSERT(must(lf::engine::rebuild_projections(*source, into, {false}), "rebuild").ok);
    f.rebuild_to_query_ms = first_query_ms(into, start);
  }
  fmt::print(
      "repeat {}: {:.0f} events; live {:.0f} ev/s; rebuild {:.0f} ev/s ({:.0f} with history); "
      "reexecute {:.0f} ev/s; snapshot {:.0f} ms; to first query: reopen {:.0f} ms, snapshot + "
      "tail {:.0f} ms (check {:.0f}, restore {:.0f}, open + {} commands {:.0f}), rebuild {:.0f} "
      "ms\n",
      repeat, f.events, f.live_events_per_s, f.rebuild_events_per_s, f.rebuild_history_events_per_s,
      f.reexecute_events_per_s, f.snapshot_create_ms, f.reopen_to_query_ms,
      f.snapshot_restore_to_query_ms, f.snapshot_check_ms, f.snapshot_restore_ms, f.tail_commands,
      f.tail_ms, f.rebuild_to_query_ms);
  std::fflush(stdout);
  fs::remove_all(root);
  return f;
}

double median(std::vector<Figures>& runs, double Figures::*field) {
  std::vector<double> v;
  for (const Figures& f : runs) v.push_back(f.*field);
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (!lf::engine::keep_freed_memory()) {
    fmt::print(stderr,
               "replay_bench: malloc kept its default thresholds (engine/process_memory.h)\n");
  }
  Config config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--transfers") {
      config.transfers = std::stoull(value);
    } else if (flag == "--accounts") {
      config.accounts = std::stoull(value);
    } else if (flag == "--batch") {
      config.batch = std::clamp<std::size_t>(std::stoull(value), 1, 16384);
    } else if (flag == "--repeats") {
      config.repeats = std::max<std::size_t>(1, std::stoull(value));
    } else if (flag == "--tail") {
      config.tail = std::stoull(value);
    } else if (flag == "--reexecute") {
      config.reexecute = value != "0";
    } else if (flag == "--dir") {
      config.dir = value;
    } else {
      fmt::print(stderr, "replay_bench: unknown flag {}\n", flag);
      return 2;
    }
  }
  if (config.accounts < 2) {
    fmt::print(stderr, "replay_bench: --accounts must be at least 2\n");
    return 2;
  }
  const double load_start = load_1m();
  fmt::print("replay_bench: {} accounts, {} commands, batches of {}, {} repeats; load {:.2f}\n",
             config.accounts, config.transfers, config.batch, config.repeats, load_start);
  const auto batches = workload(config);
  std::vector<Figures> runs;
  for (std::size_t r = 0; r < config.repeats; ++r) runs.push_back(run_once(config, batches, r));
  const double load_end = load_1m();
  Figures m;
  for (auto field : {&Figures::events, &Figures::live_events_per_s, &Figures::rebuild_events_per_s,
                     &Figures::rebuild_history_events_per_s, &Figures::reexecute_events_per_s,
                     &Figures::snapshot_create_ms, &Figures::reopen_to_query_ms,
                     &Figures::snapshot_restore_to_query_ms, &Figures::snapshot_check_ms,
                     &Figures::snapshot_restore_ms, &Figures::tail_ms, &Figures::tail_commands,
                     &Figures::rebuild_to_query_ms}) {
    m.*field = median(runs, field);
  }
  fmt::print(
      "median: live {:.0f} ev/s; rebuild {:.0f} ev/s = {:.2f}x live (target >= 3x); reexecute "
      "{:.0f} ev/s = {:.2f}x live; load {:.2f} -> {:.2f}\n",
      m.live_events_per_s, m.rebuild_events_per_s, m.rebuild_events_per_s / m.live_events_per_s,
      m.reexecute_events_per_s, m.reexecute_events_per_s / m.live_events_per_s, load_start,
      load_end);
  fmt::print(
      R"({{"bench":"replay","events":{:.0f},"accounts":{},"batch":{},"repeats":{},)"
      R"("live_events_per_s":{:.0f},"rebuild_events_per_s":{:.0f},"rebuild_ratio":{:.2f},)"
      R"("rebuild_with_history_events_per_s":{:.0f},"reexecute_events_per_s":{:.0f},)"
      R"("reexecute_ratio":{:.2f},"snapshot_create_ms":{:.1f},"reopen_to_first_query_ms":{:.1f},)"
      R"("snapshot_restore_and_tail_to_first_query_ms":{:.1f},"snapshot_check_ms":{:.1f},)"
      R"("snapshot_restore_ms":{:.1f},"tail_commands":{:.0f},"tail_ms":{:.1f},)"
      R"("rebuild_to_first_query_ms":{:.1f},"load_1m_start":{:.2f},"load_1m_end":{:.2f}}})"
      "\n",
      m.events, config.accounts, config.batch, config.repeats, m.live_events_per_s,
      m.rebuild_events_per_s, m.rebuild_events_per_s / m.live_events_per_s,
      m.rebuild_history_events_per_s, m.reexecute_events_per_s,
      m.reexecute_events_per_s / m.live_events_per_s, m.snapshot_create_ms, m.reopen_to_query_ms,
      m.snapshot_restore_to_query_ms, m.snapshot_check_ms, m.snapshot_restore_ms, m.tail_commands,
      m.tail_ms, m.rebuild_to_query_ms, load_start, load_end);
  return 0;
}
