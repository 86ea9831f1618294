// kafka_bench: end-to-end durable transfers/s through the embedded Kafka
// broker, beside the same workload fed to the engine from memory.
//
// Both paths apply the same commands to a fresh one-shard store with one WAL
// sync per batch: 10k accounts are opened, then --transfers single-phase
// transfers (uniform over the accounts).
//   memory: Engine::apply in batches of --batch commands;
//   kafka:  a producer thread publishes the commands in messages of
//           --per-message commands (throttled on the engine's lag, as the mock
//           broker drops what nobody consumed) while streams::run consumes,
//           applies, stores offsets, and publishes every outcome and event.
// The Kafka figure counts from the first produced message to the last
// commit, outcomes delivered; the idle wait at the end is excluded. Ends with
// one JSON line: {"bench":"kafka",...}.
//
//   kafka_bench [--transfers N] [--batch N] [--per-message N] [--dir DIR]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/process_memory.h"
#include "ledger/assert.h"
#include "streams/broker.h"
#include "streams/producer.h"
#include "streams/runner.h"

namespace {

using Clock = std::chrono::steady_clock;
using lf::ledger::Command;

constexpr std::size_t accounts = 10'000;

struct Config {
  std::size_t transfers = 1'000'000;
  std::size_t batch = 4096;
  std::size_t per_message = 1024;
  std::string dir = "/tmp/ledgerflow-kafka-bench";
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every id in book "bench", so the one shard owns them all.
std::vector<Command> workload(const Config& config) {
  std::vector<Command> out;
  for (std::size_t i = 0; i < accounts; ++i) {
    Command c;
    c.id = fmt::format("bench:open-{}", i);
    c.timestamp_ms = 1;
    c.body =
        lf::ledger::OpenAccount{fmt::format("bench:acct-{:05}", i), "USD", 2, false, false, 0, {}};
    out.push_back(std::move(c));
  }
  std::mt19937_64 random(42);
  for (std::size_t i = 0; i < config.transfers; ++i) {
    const std::size_t debit = random() % accounts;
    const std::size_t credit = (debit + 1 + random() % (accounts - 1)) % accounts;
    Command c;
    c.id = fmt::format("bench:t-{}", i);
    c.timestamp_ms = 2 + i / 1000;
    c.body = lf::ledger::Transfer{fmt::format("bench:acct-{:05}", debit),
                                  fmt::format("bench:acct-{:05}", credit),
                                  1 + random() % 10'000,
                                  "USD",
                                  false,
                                  0,
                                  {}};
    out.push_back(std::move(c));
  }
  return out;
}

double memory_path(const Config& config, const std::vector<Command>& commands) {
  const std::string dir = config.dir + "/memory";
  std::filesystem::remove_all(dir);
  auto engine = lf::engine::Engine::open(dir);
  LF_ASSERT(engine.is_ok());
  std::span<const Command> all(commands);
  // The account openings are not timed.
  for (std::size_t at = 0; at < accounts; at += config.batch) {
    LF_ASSERT((*engine)->apply(all.subspan(at, std::min(config.batch, accounts - at))).is_ok());
  }
  const auto start = Clock::now();
  for (std::size_t at = accounts; at < commands.size(); at += config.batch) {
    auto r = (*engine)->apply(all.subspan(at, std::min(config.batch, commands.size() - at)));
    LF_ASSERT(r.is_ok());
  }
  return static_cast<double>(config.transfers) / seconds_since(start);
}

struct KafkaFigures {
  double transfers_per_s = 0;
  std::uint64_t outcomes = 0;
  std::uint64_t events = 0;
  std::uint64_t batches = 0;
};

KafkaFigures kafka_path(const Config& config, const std::vector<Command>& commands) {
  auto broker = lf::streams::EmbeddedBroker::start(
      1, {{"commands", 1}, {"commands.outcomes", 1}, {"commands.events", 1}, {"commands.dlq", 1}});
  LF_ASSERT(broker.is_ok());
  const lf::streams::KafkaSettings kafka{(*broker)->bootstrap_servers(), {{"log_level", "2"}}};
  const std::string dir = config.dir + "/kafka";
  std::filesystem::remove_all(dir);

  // The account openings go through first, untimed.
  auto produce = [&](std::size_t from, std::size_t to) {
    lf::streams::ProduceOptions options;
    options.kafka = kafka;
    options.topic = "commands";
    options.commands_per_message = config.per_message;
    options.wait_group = "ledgerflow";
    auto producer = lf::streams::CommandProducer::create(options);
    LF_ASSERT(producer.is_ok());
    for (std::size_t i = from; i < to; ++i) LF_ASSERT((*producer)->add(commands[i]).is_ok());
    LF_ASSERT((*producer)->flush().is_ok());
  };
  lf::streams::RunOptions run;
  run.kafka = kafka;
  run.topic = "commands";
  run.db_dir = dir;
  run.all_partitions = true;
  run.relay = {"commands.outcomes", "commands.events", "commands.dlq"};
  run.until_idle = true;
  run.idle_ms = 500;
  run.batch_commands = config.batch;
  produce(0, accounts);
  LF_ASSERT(lf::streams::run(run).is_ok());

  Clock::time_point last_commit;
  run.on_commit = [&](const lf::streams::ShardReport&) { last_commit = Clock::now(); };
  const auto start = Clock::now();
  std::thread producer([&] { produce(accounts, commands.size()); });
  auto report = lf::streams::run(run);
  // run() returns once idle for idle_ms after the last message, with every
  // outcome delivered: that moment minus the idle wait (an upper bound of the
  // work) or the last commit, whichever is later.
  const auto done = std::max(last_commit, Clock::now() - std::chrono::milliseconds(run.idle_ms));
  producer.join();
  LF_ASSERT(report.is_ok());
  KafkaFigures figures;
  const double seconds = std::chrono::duration<double>(done - start).count();
  figures.transfers_per_s = static_cast<double>(config.transfers) / seconds;
  for (const auto& shard : report->shards) {
    LF_ASSERT(shard.commands == config.transfers);
    figures.outcomes += shard.relay.outcomes;
    figures.events += shard.relay.events;
    figures.batches += shard.batches;
  }
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  if (!lf::engine::keep_freed_memory()) {
    fmt::print(stderr,
               "kafka_bench: malloc kept its default thresholds (engine/process_memory.h)\n");
  }
  Config config;
  CLI::App app{"End-to-end durable transfers/s through the embedded Kafka broker"};
  app.add_option("--transfers", config.transfers, "Transfers (default 1,000,000)");
  app.add_option("--batch", config.batch, "Commands per engine batch (default 4096)");
  app.add_option("--per-message", config.per_message, "Commands per Kafka message (1024)");
  app.add_option("--dir", config.dir, "Scratch directory");
  CLI11_PARSE(app, argc, argv);
  std::filesystem::create_directories(config.dir);
  const std::vector<Command> commands = workload(config);
  fmt::print("kafka_bench: {} transfers over {} accounts, batches of {}, {} per message\n",
             config.transfers, accounts, config.batch, config.per_message);
  const double memory = memory_path(config, commands);
  fmt::print("  memory -> engine:                {:>10.0f} transfers/s\n", memory);
  const KafkaFigures kafka = kafka_path(config, commands);
  fmt::print(
      "  kafka -> engine -> outbox:       {:>10.0f} transfers/s  ({} batches, {} outcomes "
      "and {} events published)\n",
      kafka.transfers_per_s, kafka.batches, kafka.outcomes, kafka.events);
  const double ratio = kafka.transfers_per_s / memory;
  fmt::print("  ratio kafka / memory:            {:>10.2f}  (target >= 0.70)\n", ratio);
  fmt::print(
      "{{\"bench\":\"kafka\",\"transfers\":{},\"memory_transfers_per_s\":{:.0f},"
      "\"kafka_transfers_per_s\":{:.0f},\"ratio\":{:.3f}}}\n",
      config.transfers, memory, kafka.transfers_per_s, ratio);
  std::filesystem::remove_all(config.dir);
  return 0;
}
