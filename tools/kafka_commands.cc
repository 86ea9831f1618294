#include "tools/kafka_commands.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>
#include <pthread.h>

#include <atomic>
#include <charconv>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/types.h"
#include "schemas/codec.h"
#include "schemas/json.h"
#include "streams/kafka.h"
#include "streams/outcomes.h"
#include "streams/producer.h"
#include "streams/runner.h"
#include "tools/cli_common.h"

namespace lf::cli {

namespace {

struct KafkaArgs {
  std::string brokers;
  std::vector<std::string> properties;  // -X key=value

  Result<streams::KafkaSettings> settings() const {
    streams::KafkaSettings out;
    out.brokers = brokers;
    for (const std::string& text : properties) {
      Result<std::pair<std::string, std::string>> kv = streams::parse_property(text);
      if (!kv.is_ok()) return kv.status();
      out.properties.push_back(*kv);
    }
    return out;
  }
};

void add_kafka_options(CLI::App* command, KafkaArgs& args) {
  command->add_option("--brokers", args.brokers, "Kafka bootstrap servers (host:port,...)")
      ->required();
  command->add_option("-X", args.properties, "librdkafka property key=value (repeatable)")
      ->allow_extra_args(false);
}

// Stops on SIGINT/SIGTERM: a thread waits for them (blocked everywhere else,
// before librdkafka starts its threads) and sets `stop`.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);  // Ours: wakes the waiter when the run ends by itself.
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    waiter_ = std::thread([this] {
      int signal_number = 0;
      sigwait(&set_, &signal_number);
      if (signal_number != SIGUSR1) {
        fmt::print(stderr, "ledgerflow: stopping on signal {} (finishing the batch in flight)\n",
                   signal_number);
        stop_.store(true);
      }
    });
  }
  ~StopSignals() {
    pthread_kill(waiter_.native_handle(), SIGUSR1);
    waiter_.join();
  }
  const std::atomic<bool>* flag() const { return &stop_; }

 private:
  sigset_t set_;
  std::atomic<bool> stop_{false};
  std::thread waiter_;
};

// ---------------------------------------------------------------- produce

struct ProduceArgs {
  KafkaArgs kafka;
  std::string topic;
  std::string input = "-";
  std::size_t per_message = 256;
  std::string wait_group;
  std::size_t lag_bytes_max = streams::lag_bytes_max_default;
};

int run_produce(const ProduceArgs& args) {
  Result<streams::KafkaSettings> settings = args.kafka.settings();
  if (!settings.is_ok()) return fail(settings.status());
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.input != "-") {
    file.open(args.input);
    if (!file) return fail(Status::io_error("cannot open " + args.input));
    in = &file;
  }
  streams::ProduceOptions options;
  options.kafka = *settings;
  options.topic = args.topic;
  options.commands_per_message = args.per_message;
  options.wait_group = args.wait_group;
  options.lag_bytes_max = args.lag_bytes_max;
  Result<std::unique_ptr<streams::CommandProducer>> producer =
      streams::CommandProducer::create(options);
  if (!producer.is_ok()) return fail(producer.status());
  codec::JsonCodec codec;
  std::uint64_t line_number = 0;
  std::uint64_t undecodable = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    Result<ledger::Command> command = codec.parse_command(line);
    if (!command.is_ok()) {
      ++undecodable;
      fmt::print(stderr, "ledgerflow: line {}: {}\n", line_number, command.status().message());
      continue;
    }
    Status s = (*producer)->add(*command);
    if (!s.is_ok()) return fail(s);
  }
  Status flushed = (*producer)->flush();
  const streams::ProduceReport& r = (*producer)->report();
  fmt::print(
      "produced {} commands in {} messages to {} ({} partitions): {} delivered, {} failed; "
      "{} undecodable lines\n",
      r.commands, r.messages, args.topic, (*producer)->partitions(), r.delivered, r.failed,
      undecodable);
  if (!flushed.is_ok()) return fail(flushed);
  return undecodable == 0 ? exit_ok : exit_bad_input;
}

// ---------------------------------------------------------------- run

struct RunArgs {
  KafkaArgs kafka;
  std::string topic;
  std::string group = "ledgerflow";
  std::string partitions;
  std::string db;
  std::string outcomes_topic = "{topic}.outcomes";
  std::string events_topic = "{topic}.events";
  std::string dlq_topic = "{topic}.dlq";
  bool until_idle = false;
  int idle_ms = 2000;
  std::size_t batch = 4096;
  std::uint64_t snapshot_every = 0;
  std::size_t snapshot_keep = 3;
  bool verify_on_start = false;
  bool json = false;
};

std::string expand(const std::string& pattern, const std::string& topic) {
  std::string out = pattern;
  const std::string token = "{topic}";
  if (const auto at = out.find(token); at != std::string::npos)
    out.replace(at, token.size(), topic);
  return out;
}

void print_run_report(const streams::RunReport& report, bool json) {
  streams::ShardReport total;
  for (const streams::ShardReport& s : report.shards) {
    total.commands += s.commands;
    total.accepted += s.accepted;
    total.rejected += s.rejected;
    total.duplicates += s.duplicates;
    total.dead_letters += s.dead_letters;
    total.relay.outcomes += s.relay.outcomes;
    total.relay.events += s.relay.events;
  }
  if (json) {
    for (const streams::ShardReport& s : report.shards) {
      fmt::print(
          "{{\"partition\":{},\"directory\":\"{}\",\"commands\":{},\"accepted\":{},"
          "\"rejected\":{},\"duplicates\":{},\"dead_letters\":{},\"next_offset\":{},"
          "\"log_head\":{},\"outcomes_published\":{},\"events_published\":{}}}\n",
          s.partition, s.directory, s.commands, s.accepted, s.rejected, s.duplicates,
          s.dead_letters, s.next_offset, s.next_seq - 1, s.relay.outcomes, s.relay.events);
    }
    return;
  }
  fmt::print("{:>5}  {:>9} {:>9} {:>9} {:>6} {:>6} {:>11} {:>9}  {}\n", "shard", "commands",
             "accepted", "rejected", "dupl.", "dead", "next offset", "log head", "store");
  for (const streams::ShardReport& s : report.shards) {
    fmt::print("{:>5}  {:>9} {:>9} {:>9} {:>6} {:>6} {:>11} {:>9}  {}\n", s.partition, s.commands,
               s.accepted, s.rejected, s.duplicates, s.dead_letters, s.next_offset, s.next_seq - 1,
               s.directory);
  }
  fmt::print(
      "total  {:>9} {:>9} {:>9} {:>6} {:>6}   (this run; {} outcomes and {} events "
      "published)\n",
      total.commands, total.accepted, total.rejected, total.duplicates, total.dead_letters,
      total.relay.outcomes, total.relay.events);
}

int run_run(const RunArgs& args) {
  Result<streams::KafkaSettings> settings = args.kafka.settings();
  if (!settings.is_ok()) return fail(settings.status());
  StopSignals signals;
  streams::RunOptions options;
  options.kafka = *settings;
  options.topic = args.topic;
  options.group = args.group;
  if (args.partitions == "all") {
    options.all_partitions = true;
  } else if (!args.partitions.empty()) {
    std::size_t at = 0;
    while (at <= args.partitions.size()) {
      const std::size_t comma = std::min(args.partitions.find(',', at), args.partitions.size());
      const std::string item = args.partitions.substr(at, comma - at);
      std::int32_t p = -1;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), p);
      if (ec != std::errc() || end != item.data() + item.size() || p < 0) {
        fmt::print(stderr, "ledgerflow: --partitions: '{}' is not a partition number\n", item);
        return exit_usage;
      }
      options.partitions.push_back(p);
      at = comma + 1;
    }
  }
  options.db_dir = args.db;
  options.relay.outcomes = expand(args.outcomes_topic, args.topic);
  options.relay.events = expand(args.events_topic, args.topic);
  options.relay.dead_letters = expand(args.dlq_topic, args.topic);
  options.until_idle = args.until_idle;
  options.idle_ms = args.idle_ms;
  options.batch_commands = args.batch;
  options.snapshot_every_events = args.snapshot_every;
  options.snapshot_keep = args.snapshot_keep;
  options.verify_on_start = args.verify_on_start;
  options.stop = signals.flag();
  options.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  Result<streams::RunReport> report = streams::run(options);
  if (!report.is_ok()) return fail(report.status());
  print_run_report(*report, args.json);
  return exit_ok;
}

// ---------------------------------------------------------------- outcomes

struct OutcomesArgs {
  KafkaArgs kafka;
  std::string topic;
  int idle_ms = 2000;
  bool json = false;
};

int run_outcomes(const OutcomesArgs& args) {
  Result<streams::KafkaSettings> settings = args.kafka.settings();
  if (!settings.is_ok()) return fail(settings.status());
  streams::OutcomesReadOptions options;
  options.kafka = *settings;
  options.topic = args.topic;
  options.idle_ms = args.idle_ms;
  codec::JsonCodec codec;
  Result<streams::OutcomesRead> read =
      streams::read_outcomes(options, [&](const streams::PublishedOutcome& o) {
        if (args.json) fmt::print("{}\n", codec.outcome_to_json(o.outcome));
      });
  if (!read.is_ok()) return fail(read.status());
  std::map<std::string, std::uint64_t> by_reason;
  std::uint64_t accepted = 0;
  for (const auto& [reason, count] : read->rejected_by_reason) by_reason[reason] = count;
  accepted = read->accepted;
  const std::string text = fmt::format(
      "{} outcomes ({} duplicates dropped by lf-shard/lf-seq): {} accepted, {} "
      "rejected",
      read->unique, read->duplicates_dropped, accepted, read->unique - accepted);
  fmt::print(args.json ? stderr : stdout, "{}\n", text);
  for (const auto& [reason, count] : by_reason) {
    fmt::print(args.json ? stderr : stdout, "  rejected {:<32} {}\n", reason, count);
  }
  if (read->truncated) {
    fmt::print(stderr,
               "ledgerflow: WARNING: the topic no longer holds its first messages (the broker's "
               "retention dropped them); the summary is incomplete\n");
    return exit_error;
  }
  return exit_ok;
}

}  // namespace

struct KafkaCommandArgs {
  ProduceArgs produce;
  RunArgs run;
  OutcomesArgs outcomes;
};

std::shared_ptr<void> add_kafka_commands(CLI::App& app, int& code) {
  auto args = std::make_shared<KafkaCommandArgs>();
  ProduceArgs& produce_args = args->produce;
  auto* produce = app.add_subcommand(
      "produce", "Publish JSON-lines commands to Kafka, routed to their shard's partition");
  add_kafka_options(produce, produce_args.kafka);
  produce->add_option("--topic", produce_args.topic, "Commands topic")->required();
  produce->add_option("input", produce_args.input, "JSON-lines file, or - for standard input");
  produce->add_option("--per-message", produce_args.per_message,
                      "Commands per Kafka message, 1..4096 (default 256)");
  produce->add_option("--wait-group", produce_args.wait_group,
                      "Throttle on this consumer group's lag (protects the embedded broker)");
  produce->add_option("--lag-max-bytes", produce_args.lag_bytes_max,
                      "Unconsumed bytes allowed per partition with --wait-group (default 2 MiB)");
  produce->callback([&code, &produce_args] { code = run_produce(produce_args); });

  RunArgs& run_args = args->run;
  auto* run = app.add_subcommand(
      "run", "Consume commands from Kafka, apply each exactly once, publish outcomes and events");
  add_kafka_options(run, run_args.kafka);
  run->add_option("--topic", run_args.topic, "Commands topic (one shard per partition)")
      ->required();
  run->add_option("--db", run_args.db, "Directory of the shard stores")->required();
  run->add_option("--group", run_args.group, "Kafka consumer group (default ledgerflow)");
  run->add_option("--partitions", run_args.partitions,
                  "Own these partitions (all, or 0,2,5) without joining the group; default: "
                  "join the group and own what it assigns");
  run->add_option("--outcomes-topic", run_args.outcomes_topic,
                  "Outcomes topic, '' for none (default TOPIC.outcomes)");
  run->add_option("--events-topic", run_args.events_topic,
                  "Events topic, '' for none (default TOPIC.events)");
  run->add_option("--dlq-topic", run_args.dlq_topic,
                  "Dead-letter topic, '' for none (default TOPIC.dlq)");
  run->add_flag("--until-idle", run_args.until_idle,
                "Exit once every partition is drained and idle for --idle-ms");
  run->add_option("--idle-ms", run_args.idle_ms, "Idle time before --until-idle exits (2000)");
  run->add_option("--batch", run_args.batch, "Commands per atomic batch (default 4096)");
  run->add_option("--snapshot-every", run_args.snapshot_every,
                  "Snapshot each shard every N events into <store>.snapshots (default: never)");
  run->add_option("--snapshot-keep", run_args.snapshot_keep, "Snapshots kept per shard (default 3)")
      ->check(CLI::Range(1, 1000));
  run->add_flag("--verify-on-start", run_args.verify_on_start,
                "Verify each shard fully at start; recover one that fails from a snapshot");
  run->add_flag("--json", run_args.json, "Print the per-shard report as JSON lines");
  run->callback([&code, &run_args] { code = run_run(run_args); });

  OutcomesArgs& outcomes_args = args->outcomes;
  auto* outcomes =
      app.add_subcommand("outcomes", "Read an outcomes topic from the beginning and summarise it");
  add_kafka_options(outcomes, outcomes_args.kafka);
  outcomes->add_option("--topic", outcomes_args.topic, "Outcomes topic")->required();
  outcomes->add_option("--idle-ms", outcomes_args.idle_ms,
                       "Stop after this long without a new message (2000)");
  outcomes->add_flag("--json", outcomes_args.json, "Print every outcome as a JSON line");
  outcomes->callback([&code, &outcomes_args] { code = run_outcomes(outcomes_args); });
  return args;
}

}  // namespace lf::cli
