// End to end through the embedded broker: a seeded randomized multi-book
// workload is produced in batches, consumed and applied by streams::run, and
// every outcome read back from the outcomes topic is checked against a
// reference model per shard; poison messages between valid ones are
// dead-lettered with their reasons; a second run applies nothing twice.
#include <catch2/catch.hpp>

#include "schemas/codec.h"
#include "tests/streams/kafka_world.h"
#include "tests/support/books.h"
#include "tests/support/commands.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

constexpr std::size_t books = 8;
constexpr std::size_t per_book = 2500;

TEST_CASE("kafka: a randomized workload over 4 shards, with poison, exactly once", "[kafka]") {
  const std::uint64_t seed = seed_from_env();
  INFO("seed " << seed << " (LF_SEED reproduces it)");
  KafkaWorld world(4);
  const std::vector<ledger::Command> commands = book_workload(seed, books, per_book);
  auto per_partition = world.produce(commands, 64);
  for (const auto& p : per_partition) CHECK_FALSE(p.empty());  // 8 books reach all 4 shards.

  // Poison between valid messages, in two partitions.
  std::string truncated = codec::encode_command(cmd("b0:zz", open_account("b0:zz")));
  truncated.resize(truncated.size() - 7);
  world.produce_raw(1, {"{\"not\":\"flatbuffers\"}", truncated, ""});
  // More valid commands after the poison, so that it sits between valid ones.
  const std::vector<ledger::Command> more = book_workload(seed + 1, books, 50);
  auto more_per_partition = world.produce(more, 16);
  world.produce_raw(3, {std::string(40, '\x01')});
  for (std::size_t p = 0; p < per_partition.size(); ++p) {
    per_partition[p].insert(per_partition[p].end(), more_per_partition[p].begin(),
                            more_per_partition[p].end());
  }

  auto first = streams::run(world.run_options(true));  // As a consumer group member.
  INFO(first.status().to_string());
  REQUIRE(first.is_ok());
  REQUIRE(first->shards.size() == 4);
  std::uint64_t consumed = 0;
  std::uint64_t dead = 0;
  for (const streams::ShardReport& s : first->shards) {
    consumed += s.commands;
    dead += s.dead_letters;
  }
  CHECK(consumed == commands.size() + more.size());
  CHECK(dead == 4);
  check_world(world, per_partition, 4);

  // The dead letters reached the dead-letter topic with their reasons.
  {
    auto conf = streams::make_conf(
        world.settings(), {{"group.id", "dlq-check"}, {"enable.partition.eof", "true"}}, {});
    REQUIRE(conf.is_ok());
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf->get(), error));
    std::vector<RdKafka::TopicPartition*> tps{RdKafka::TopicPartition::create(
        std::string(commands_topic) + ".dlq", 0, RdKafka::Topic::OFFSET_BEGINNING)};
    REQUIRE(consumer->assign(tps) == RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(tps);
    std::multiset<std::string> reasons;
    for (int polls = 0; polls < 300; ++polls) {
      std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
      if (m->err() == RdKafka::ERR__PARTITION_EOF && reasons.size() == 4) break;
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      RdKafka::Headers::Header h = m->headers()->get_last("lf-reason");
      reasons.insert(std::string(static_cast<const char*>(h.value()), h.value_size()));
    }
    consumer->close();
    CHECK(reasons ==
          std::multiset<std::string>{"empty", "undecodable", "unknown_schema", "unknown_schema"});
  }

  // A second run (owning the partitions statically) finds nothing new:
  // nothing is applied twice.
  auto second = streams::run(world.run_options());
  REQUIRE(second.is_ok());
  for (const streams::ShardReport& s : second->shards) CHECK(s.commands == 0);
  check_world(world, per_partition, 4);
}

TEST_CASE("kafka: a store refuses a different shard rule (the partition count changed)",
          "[kafka]") {
  TempDir dir;
  engine::EngineOptions two;
  two.shard = ledger::ShardRule{1, 2};
  {
    auto engine = engine::Engine::open(dir.path(), two);
    REQUIRE(engine.is_ok());
    REQUIRE((*engine)->apply(std::vector<ledger::Command>{cmd("c1", open_account("b:1"))}).is_ok());
  }
  engine::EngineOptions four;
  four.shard = ledger::ShardRule{1, 4};
  auto reopened = engine::Engine::open(dir.path(), four);
  REQUIRE_FALSE(reopened.is_ok());
  CHECK_THAT(reopened.status().message(), Catch::Contains("shard 1 of 2"));
  CHECK(engine::Engine::open(dir.path(), two).is_ok());
  // Opened without a rule (queries, audits), the store's own rule applies.
  auto adopted = engine::Engine::open(dir.path(), engine::EngineOptions{});
  REQUIRE(adopted.is_ok());
  CHECK((*adopted)->shard() == ledger::ShardRule{1, 2});
}

TEST_CASE("kafka: run reports a missing topic instead of waiting forever", "[kafka]") {
  KafkaWorld world(1);
  streams::RunOptions options = world.run_options();
  options.topic = "no-such-topic";
  auto run = streams::run(options);
  REQUIRE_FALSE(run.is_ok());
  CHECK_THAT(run.status().message(), Catch::Contains("no-such-topic"));
}

}  // namespace
}  // namespace lf::test
