// A Kafka world for tests: the embedded broker with the commands topic and
// its outcomes, events and dead-letter topics, a temp directory for the
// shard stores, a producer of workloads, and the checks every end-to-end
// test ends with (outcomes, balances, verify, offsets, against per-shard
// reference models).
#pragma once

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/verify.h"
#include "ledger/shard.h"
#include "streams/broker.h"
#include "streams/message.h"
#include "streams/meta_keys.h"
#include "streams/outcomes.h"
#include "streams/producer.h"
#include "streams/runner.h"
#include "tests/engine/fixtures.h"
#include "tests/support/printing.h"
#include "tests/support/reference_model.h"

namespace lf::test {

inline constexpr const char* commands_topic = "commands";

struct KafkaWorld {
  explicit KafkaWorld(int partitions) : partitions(partitions) {
    auto started =
        streams::EmbeddedBroker::start(1, {{commands_topic, partitions},
                                           {std::string(commands_topic) + ".outcomes", partitions},
                                           {std::string(commands_topic) + ".events", partitions},
                                           {std::string(commands_topic) + ".dlq", 1}});
    INFO(started.status().to_string());
    REQUIRE(started.is_ok());
    broker = std::move(started).value();
  }

  streams::KafkaSettings settings() const {
    return streams::KafkaSettings{broker->bootstrap_servers(), {{"log_level", "2"}}};
  }

  // Owns every partition statically unless `group` (then joins the group).
  streams::RunOptions run_options(bool group = false) const {
    streams::RunOptions o;
    o.all_partitions = !group;
    o.kafka = settings();
    o.topic = commands_topic;
    o.db_dir = dir.path("shards");
    o.relay = {std::string(commands_topic) + ".outcomes", std::string(commands_topic) + ".events",
               std::string(commands_topic) + ".dlq"};
    o.until_idle = true;
    o.idle_ms = 300;
    o.batch_commands = 1024;
    if (std::getenv("LF_TEST_LOG") != nullptr) {
      o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    }
    return o;
  }

  // Publishes the commands; returns them per partition, in partition order.
  std::vector<std::vector<ledger::Command>> produce(const std::vector<ledger::Command>& commands,
                                                    std::size_t per_message = 64) {
    streams::ProduceOptions o;
    o.kafka = settings();
    o.topic = commands_topic;
    o.commands_per_message = per_message;
    auto producer = streams::CommandProducer::create(o);
    INFO(producer.status().to_string());
    REQUIRE(producer.is_ok());
    std::vector<std::vector<ledger::Command>> per_partition(static_cast<std::size_t>(partitions));
    for (const ledger::Command& c : commands) {
      REQUIRE((*producer)->add(c).is_ok());
      const auto p = ledger::shard_of_book(ledger::book_of(ledger::route_id(c)),
                                           static_cast<std::uint32_t>(partitions));
      per_partition[p].push_back(c);
    }
    const Status flushed = (*producer)->flush();
    INFO(flushed.to_string());
    REQUIRE(flushed.is_ok());
    return per_partition;
  }

  // Publishes raw message values (poison) to a partition.
  void produce_raw(std::int32_t partition, const std::vector<std::string>& values) {
    streams::ProduceOptions o;
    o.kafka = settings();
    o.topic = commands_topic;
    auto producer = streams::CommandProducer::create(o);
    REQUIRE(producer.is_ok());
    for (const std::string& v : values)
      REQUIRE((*producer)->add_raw(partition, "poison", v).is_ok());
    REQUIRE((*producer)->flush().is_ok());
  }

  std::unique_ptr<streams::EmbeddedBroker> broker;
  int partitions;
  TempDir dir;
};

// Every check of an end-to-end run: each shard's outcomes on the outcomes
// topic equal its reference model's (exactly one per non-duplicate command),
// balances equal the model, the store verifies, and the stored offset is the
// partition's end (nothing skipped, nothing left).
inline void check_world(KafkaWorld& world,
                        const std::vector<std::vector<ledger::Command>>& per_partition,
                        std::uint64_t dead_letters_expected) {
  std::map<std::string, std::map<std::uint64_t, ledger::Outcome>> published;  // shard -> seq
  streams::OutcomesReadOptions read_options;
  read_options.kafka = world.settings();
  read_options.topic = std::string(commands_topic) + ".outcomes";
  read_options.idle_ms = 200;
  auto read = streams::read_outcomes(read_options, [&](const streams::PublishedOutcome& o) {
    CHECK(published[o.shard].emplace(o.seq, o.outcome).second);
  });
  INFO(read.status().to_string());
  REQUIRE(read.is_ok());
  CHECK_FALSE(read->truncated);
  CHECK(read->undecodable == 0);
  CHECK(read->conflicting == 0);

  std::uint64_t dead_letters = 0;
  for (int p = 0; p < world.partitions; ++p) {
    INFO("shard " << p);
    const auto& commands = per_partition[static_cast<std::size_t>(p)];
    ReferenceModel model;
    std::vector<ledger::Outcome> expected;
    for (const ledger::Command& c : commands) {
      ledger::Outcome o = model.submit(c);
      if (!o.duplicate) expected.push_back(o);
    }
    const std::string shard = std::string(commands_topic) + "/" + std::to_string(p);
    const auto& got = published[shard];
    CHECK(got.size() == expected.size());
    for (const ledger::Outcome& o : expected) {
      auto it = got.find(o.first_seq);
      if (it == got.end()) {
        FAIL_CHECK("no outcome published for " << o.command_id << " seq " << o.first_seq);
        continue;
      }
      CHECK(it->second == o);
    }
    const std::string dir = streams::shard_directory(world.dir.path("shards"), commands_topic, p);
    engine::EngineOptions engine_options;
    engine_options.shard = ledger::ShardRule{static_cast<std::uint32_t>(p),
                                             static_cast<std::uint32_t>(world.partitions)};
    auto engine = engine::Engine::open(dir, engine_options);
    INFO(engine.status().to_string());
    REQUIRE(engine.is_ok());
    const engine::VerifyReport report = verify_store(**engine);
    INFO(report.problem);
    CHECK(report.ok);
    CHECK((*engine)->head().ledger.next_seq == model.next_seq());
    std::map<std::string, ledger::Account> accounts;
    REQUIRE((*engine)
                ->for_each_account([&](const ledger::Account& a) {
                  accounts.emplace(a.id, a);
                  return true;
                })
                .is_ok());
    CHECK(accounts == model.accounts());
    // The stored offset is the partition's end.
    auto offset = (*engine)->meta(streams::offset_key(commands_topic, p));
    REQUIRE(offset.is_ok());
    REQUIRE(offset->has_value());
    std::int64_t low = 0;
    std::int64_t high = 0;
    auto conf = streams::make_conf(world.settings(), {}, {});
    REQUIRE(conf.is_ok());
    std::string error;
    std::unique_ptr<RdKafka::Producer> probe(RdKafka::Producer::create(conf->get(), error));
    REQUIRE(probe->query_watermark_offsets(commands_topic, p, &low, &high, 5000) ==
            RdKafka::ERR_NO_ERROR);
    CHECK(static_cast<std::int64_t>(engine::get_u64be(**offset)) == high);
    auto letters = (*engine)->meta(streams::meta_dlq_count_key);
    REQUIRE(letters.is_ok());
    if (letters->has_value()) dead_letters += engine::get_u64be(**letters);
  }
  CHECK(dead_letters == dead_letters_expected);
}

}  // namespace lf::test
