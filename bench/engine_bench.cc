// engine_bench: durable transfers/s through the shard engine.
//
// Opens 10k accounts, then applies transfers in batches with one WAL sync per
// batch (the production setting), for two distributions: uniform over all
// accounts, and hot (90% of transfers touch one of 10 hot accounts). By
// default batches go through the pipelined path (Engine::submit/complete:
// the next batches are decided while this one is written and synced;
// outcomes still only once durable), with up to --pipeline batches in flight
// (default and most: engine::pipeline_batches_max); --pipeline 0 uses
// Engine::apply. Prints transfers/s (every batch is built before the clock
// starts), batch commit latency p50/p99 (submit or apply until the outcomes
// are returned), bytes on disk per transfer after a flush and the CPU time
// the process spent per transfer (deciding thread, writer thread, the rest:
// mostly RocksDB's flush and compaction threads), then one JSON line.
//
// Right before each distribution it runs a baseline in the same process: raw
// RocksDB puts (default options, batches of baseline_batch_entries entries
// of baseline_value_bytes bytes, one WAL sync per batch, or none with
// --sync 0), the yardstick issue 2 gives (about 700k entries/s on the project
// VM), and prints transfers per baseline put (transfers/s divided by baseline
// entries/s). The baseline waits on the disk's sync more than on the CPU,
// which bounds the engine here, so the ratio does not cancel this VM's
// swings of its CPU speed: compare interleaved runs.
//
//   engine_bench [--transfers N] [--batch N] [--accounts N] [--dir DIR]
//                [--pipeline N] [--sync 0|1] [--history-inline 0|1]
//                [--write-buffer-mb N]
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/keys.h"
#include "engine/process_memory.h"
#include "ledger/assert.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::size_t transfers = 2'000'000;  // Per distribution.
  std::size_t batch = 4096;
  std::size_t accounts = 10'000;
  std::string dir = "/tmp/ledgerflow-bench";
  bool sync = true;
  bool history_inline = false;
  std::size_t pipeline = lf::engine::pipeline_batches_max;  // Batches in flight; 0: apply().
  std::size_t write_buffer_mb = 16;
};

// The raw RocksDB baseline: synced batches of small puts.
constexpr std::size_t baseline_entries = 1'000'000;
constexpr std::size_t baseline_batch_entries = 1000;
constexpr std::size_t baseline_value_bytes = 100;

struct Figures {
  double baseline_puts_per_s = 0;  // Raw RocksDB entries/s (run just before).
  double transfers_per_s = 0;
  double commit_p50_ms = 0;
  double commit_p99_ms = 0;
  double bytes_per_transfer = 0;
  double history_catch_up_events_per_s = 0;
  double cpu_us_per_transfer = 0;  // Whole process, while the transfers were applied.
};

// CPU time of the whole process, or of the calling thread, in nanoseconds.
std::uint64_t cpu_ns(clockid_t clock) {
  timespec now{};
  LF_ASSERT(clock_gettime(clock, &now) == 0);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(now.tv_nsec);
}

std::string account_id(std::size_t i) { return fmt::format("acct:{:06}", i); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// Raw RocksDB entries/s: baseline_entries puts of 16-byte big-endian keys
// and baseline_value_bytes values into a fresh store with default options,
// in batches of baseline_batch_entries with one WAL sync each (as the
// engine's commits: none with --sync 0).
double baseline_puts_per_s(const Config& config) {
  const std::string dir = config.dir + "/baseline";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(config.dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::Open(options, dir, &raw);
  if (!opened.ok()) {
    fmt::print(stderr, "engine_bench: baseline store: {}\n", opened.ToString());
    std::exit(1);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions write_options;
  write_options.sync = config.sync;
  std::mt19937_64 rng(7);
  std::string value(baseline_value_bytes, '\0');
  rocksdb::WriteBatch batch;
  std::string key;
  const auto start = Clock::now();
  for (std::size_t done = 0; done < baseline_entries; done += baseline_batch_entries) {
    batch.Clear();
    for (std::size_t i = done; i < done + baseline_batch_entries; ++i) {
      key.assign(8, '\0');
      lf::engine::put_u64be(key, i);
      for (std::size_t v = 0; v < value.size(); v += 8) {
        const std::uint64_t r = rng();
        std::memcpy(value.data() + v, &r, std::min<std::size_t>(8, value.size() - v));
      }
      batch.Put(key, value);
    }
    const rocksdb::Status written = db->Write(write_options, &batch);
    if (!written.ok()) {
      fmt::print(stderr, "engine_bench: baseline write: {}\n", written.ToString());
      std::exit(1);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  db.reset();
  std::filesystem::remove_all(dir);
  return static_cast<double>(baseline_entries) / seconds;
}

void open_accounts(lf::engine::Engine& engine, const Config& config) {
  std::vector<lf::ledger::Command> batch;
  for (std::size_t i = 0; i < config.accounts; ++i) {
    lf::ledger::Command c;
    c.id = fmt::format("open-{}", i);
    c.timestamp_ms = 1;
    c.body = lf::ledger::OpenAccount{account_id(i), "USD", 2, false, false, 0, {}};
    batch.push_back(std::move(c));
    if (batch.size() == config.batch || i + 1 == config.accounts) {
      auto result = engine.apply(batch);
      LF_ASSERT(result.is_ok());
      batch.clear();
    }
  }
}

Figures run(const Config& config, bool hot, const char* name) {
  const double baseline = baseline_puts_per_s(config);
  const std::string dir = config.dir + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(config.dir);
  lf::engine::EngineOptions options;
  options.sync_commits = config.sync;
  options.history_index_inline = config.history_inline;
  options.write_buffer_bytes = config.write_buffer_mb << 20;
  auto opened = lf::engine::Engine::open(dir, options);
  if (!opened.is_ok()) {
    fmt::print(stderr, "engine_bench: {}\n", opened.status().to_string());
    std::exit(1);
  }
  lf::engine::Engine& engine = **opened;
  open_accounts(engine, config);
  const auto bytes_before = engine.disk_bytes();

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> any(0, config.accounts - 1);
  std::uniform_int_distribution<std::size_t> hot_pick(0, 9);
  std::uniform_int_distribution<int> percent(0, 99);
  auto pick = [&]() { return hot && percent(rng) < 90 ? hot_pick(rng) : any(rng); };

  // Every batch is built before the clock starts, so that building the next
  // one never overlaps a write.
  std::vector<std::vector<lf::ledger::Command>> batches;
  for (std::size_t done = 0; done < config.transfers;) {
    const std::size_t n = std::min(config.batch, config.transfers - done);
    std::vector<lf::ledger::Command>& batch = batches.emplace_back(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t debit = pick();
      std::size_t credit = pick();
      while (credit == debit) credit = any(rng);
      lf::ledger::Command& c = batch[i];
      c.id = fmt::format("t{}", done + i);
      c.timestamp_ms = 1000 + done + i;
      c.body = lf::ledger::Transfer{
          account_id(debit), account_id(credit), 1 + (done + i) % 10000, "USD", false, 0, {}};
    }
    done += n;
  }

  // Commit latency of a batch: from apply() or submit() until its outcomes
  // are returned (durable).
  std::vector<double> commit_ms;
  std::size_t accepted = 0;
  auto count = [&](const lf::engine::BatchResult& result) {
    for (const auto& o : result.outcomes) {
      accepted += o.status == lf::ledger::OutcomeStatus::accepted ? 1 : 0;
    }
  };
  std::deque<Clock::time_point> submitted;  // Of the batches in flight.
  double blocked_s = 0;  // The deciding thread's time in complete(): waiting for the writer.
  auto complete_oldest = [&] {
    const auto t = Clock::now();
    auto result = engine.complete();
    blocked_s += std::chrono::duration<double>(Clock::now() - t).count();
    LF_ASSERT(result.is_ok());
    commit_ms.push_back(std::chrono::duration<double>(Clock::now() - submitted.front()).count() *
                        1000);
    submitted.pop_front();
    count(*result);
  };
  const lf::engine::ApplyStats stats_before = engine.stats();
  const std::uint64_t process_cpu_start_ns = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
  const std::uint64_t thread_cpu_start_ns = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  const auto start = Clock::now();
  for (const auto& batch : batches) {
    if (config.pipeline == 0) {
      const auto t = Clock::now();
      auto result = engine.apply(batch);
      LF_ASSERT(result.is_ok());
      commit_ms.push_back(std::chrono::duration<double>(Clock::now() - t).count() * 1000);
      count(*result);
      continue;
    }
    if (engine.in_flight() == config.pipeline) complete_oldest();
    submitted.push_back(Clock::now());
    LF_ASSERT(engine.submit(batch).is_ok());
  }
  while (engine.in_flight() > 0) complete_oldest();
  const double apply_s = std::chrono::duration<double>(Clock::now() - start).count();
  const std::uint64_t process_cpu_ns = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_start_ns;
  const std::uint64_t thread_cpu_ns = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread_cpu_start_ns;
  const std::uint64_t writer_cpu_ns = engine.stats().writer_cpu_ns - stats_before.writer_cpu_ns;
  const double writer_busy_s =
      static_cast<double>(engine.stats().encode_ns + engine.stats().write_ns -
                          stats_before.encode_ns - stats_before.write_ns) /
      1e9;
  LF_ASSERT(accepted == config.transfers);
  const auto index_start = Clock::now();
  LF_ASSERT(engine.catch_up_history().is_ok());
  const double index_s = std::chrono::duration<double>(Clock::now() - index_start).count();
  LF_ASSERT(engine.flush().is_ok());
  const auto bytes_after = engine.disk_bytes();
  Figures f;
  f.baseline_puts_per_s = baseline;
  f.history_catch_up_events_per_s =
      config.history_inline ? 0 : static_cast<double>(config.transfers) / index_s;
  f.transfers_per_s = static_cast<double>(config.transfers) / apply_s;
  f.commit_p50_ms = percentile(commit_ms, 0.50);
  f.commit_p99_ms = percentile(commit_ms, 0.99);
  const auto us_per_transfer = [&](std::uint64_t ns) {
    return static_cast<double>(ns) / 1000.0 / static_cast<double>(config.transfers);
  };
  f.cpu_us_per_transfer = us_per_transfer(process_cpu_ns);
  if (bytes_before.is_ok() && bytes_after.is_ok()) {
    f.bytes_per_transfer =
        static_cast<double>(*bytes_after - *bytes_before) / static_cast<double>(config.transfers);
  }
  fmt::print(
      "{:<8} {:>9} transfers in batches of {}: {:>9.0f} transfers/s, commit p50 {:.2f} ms, "
      "p99 {:.2f} ms, {:.0f} bytes on disk per transfer\n",
      name, config.transfers, config.batch, f.transfers_per_s, f.commit_p50_ms, f.commit_p99_ms,
      f.bytes_per_transfer);
  fmt::print(
      "         baseline just before: {:.0f} raw RocksDB puts/s ({} batches of {} entries of "
      "{} bytes); {:.3f} transfers per baseline put\n",
      baseline, config.sync ? "synced" : "unsynced", baseline_batch_entries, baseline_value_bytes,
      f.transfers_per_s / baseline);
  const lf::engine::ApplyStats& st = engine.stats();
  auto per = [&](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0 / st.commands; };
  fmt::print(
      "         per command (incl. account opening): prefetch {:.2f} us, decide and seal {:.2f} us "
      "(deciding thread); chain and encode {:.2f} us, write {:.2f} us (writer)\n",
      per(st.prefetch_ns), per(st.decide_ns), per(st.encode_ns), per(st.write_ns));
  fmt::print(
      "         of which {} projection flushes: encode {:.2f} us, write {:.2f} us per command\n",
      st.flushes, per(st.flush_encode_ns), per(st.flush_write_ns));
  fmt::print(
      "         CPU per transfer: {:.2f} us (deciding thread {:.2f} us, writer {:.2f} us, "
      "the rest {:.2f} us: RocksDB's flush and compaction), {:.2f} cores busy\n",
      f.cpu_us_per_transfer, us_per_transfer(thread_cpu_ns), us_per_transfer(writer_cpu_ns),
      us_per_transfer(process_cpu_ns - thread_cpu_ns - writer_cpu_ns),
      static_cast<double>(process_cpu_ns) / 1e9 / apply_s);
  if (config.pipeline > 0) {
    fmt::print(
        "         deciding thread waiting for the writer {:.0f}% of the time, writer idle "
        "{:.0f}%\n",
        100 * blocked_s / apply_s, 100 * std::max(0.0, apply_s - writer_busy_s) / apply_s);
  }
  opened->reset();
  std::filesystem::remove_all(dir);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (!lf::engine::keep_freed_memory()) {
    fmt::print(stderr,
               "engine_bench: malloc kept its default thresholds (engine/process_memory.h)\n");
  }
  Config config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--transfers")
      config.transfers = std::stoull(value);
    else if (flag == "--batch")
      config.batch = std::stoull(value);
    else if (flag == "--accounts")
      config.accounts = std::stoull(value);
    else if (flag == "--dir")
      config.dir = value;
    else if (flag == "--sync")
      config.sync = value != "0";
    else if (flag == "--write-buffer-mb")
      config.write_buffer_mb = std::stoull(value);
    else if (flag == "--history-inline")
      config.history_inline = value != "0";
    else if (flag == "--pipeline")
      config.pipeline = std::stoull(value);
    else {
      fmt::print(stderr, "engine_bench: unknown flag {}\n", flag);
      return 2;
    }
  }
  if (config.pipeline > 0 && config.history_inline) {
    fmt::print(stderr, "engine_bench: --history-inline 1 needs --pipeline 0\n");
    return 2;
  }
  if (config.pipeline > lf::engine::pipeline_batches_max) {
    fmt::print(stderr, "engine_bench: --pipeline {} exceeds {} batches in flight\n",
               config.pipeline, lf::engine::pipeline_batches_max);
    return 2;
  }
  fmt::print("engine_bench: {} accounts, durable commits: {}, batches in flight: {}\n\n",
             config.accounts, config.sync,
             config.pipeline == 0 ? "1 (apply)" : std::to_string(config.pipeline));
  const Figures uniform = run(config, false, "uniform");
  const Figures hot = run(config, true, "hot");
  fmt::print(
      R"({{"bench":"engine","transfers":{},"batch":{},"accounts":{},"sync":{},)"
      R"("transfers_per_s":{:.0f},"commit_p50_ms":{:.3f},"commit_p99_ms":{:.3f},)"
      R"("bytes_per_transfer":{:.1f},"hot_transfers_per_s":{:.0f},"hot_commit_p50_ms":{:.3f},)"
      R"("hot_commit_p99_ms":{:.3f},"hot_bytes_per_transfer":{:.1f},"history_inline":{},)"
      R"("pipeline":{},"cpu_us_per_transfer":{:.2f},"hot_cpu_us_per_transfer":{:.2f},)"
      R"("history_catch_up_events_per_s":{:.0f},"baseline_puts_per_s":{:.0f},)"
      R"("transfers_per_baseline_put":{:.3f},"hot_baseline_puts_per_s":{:.0f},)"
      R"("hot_transfers_per_baseline_put":{:.3f}}})"
      "\n",
      config.transfers, config.batch, config.accounts, config.sync, uniform.transfers_per_s,
      uniform.commit_p50_ms, uniform.commit_p99_ms, uniform.bytes_per_transfer, hot.transfers_per_s,
      hot.commit_p50_ms, hot.commit_p99_ms, hot.bytes_per_transfer, config.history_inline,
      config.pipeline, uniform.cpu_us_per_transfer, hot.cpu_us_per_transfer,
      uniform.history_catch_up_events_per_s, uniform.baseline_puts_per_s,
      uniform.transfers_per_s / uniform.baseline_puts_per_s, hot.baseline_puts_per_s,
      hot.transfers_per_s / hot.baseline_puts_per_s);
  return 0;
}
