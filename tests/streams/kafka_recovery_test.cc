// Recovery: a shard store deleted, another damaged; the next run restores
// each from its newest good snapshot, consumes Kafka from the snapshot's
// offsets, and ends with the same chain heads and state digests as the lost
// stores had (and would have had after the new commands).
#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/digest.h"
#include "engine/snapshot.h"
#include "tests/streams/kafka_world.h"
#include "tests/support/books.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

struct ShardState {
  engine::Head head;
  Sha256 digest{};
};

ShardState state_of(const std::string& directory) {
  auto engine = engine::Engine::open(directory);
  INFO(engine.status().to_string());
  REQUIRE(engine.is_ok());
  auto digest = engine::store_digest(**engine);
  REQUIRE(digest.is_ok());
  return {(*engine)->head(), *digest};
}

TEST_CASE("recovery: lost and damaged shards come back from snapshots and Kafka",
          "[kafka][recovery]") {
  const std::uint64_t seed = seed_from_env();
  INFO("seed " << seed);
  KafkaWorld world(2);
  auto per_partition = world.produce(book_workload(seed, 4, 1500), 32);
  streams::RunOptions options = world.run_options();
  options.snapshot_every_events = 1000;
  std::vector<std::string> lines;
  options.log = [&](const std::string& line) { lines.push_back(line); };
  REQUIRE(streams::run(options).is_ok());
  // More commands after the last snapshots.
  auto more = world.produce(book_workload(seed + 1, 4, 300), 32);
  for (std::size_t p = 0; p < more.size(); ++p) {
    per_partition[p].insert(per_partition[p].end(), more[p].begin(), more[p].end());
  }
  REQUIRE(streams::run(world.run_options()).is_ok());
  std::vector<ShardState> before;
  for (int p = 0; p < world.partitions; ++p) {
    before.push_back(
        state_of(streams::shard_directory(world.dir.path("shards"), commands_topic, p)));
  }

  // Shard 0's store is lost; shard 1's is damaged (its files truncated).
  const std::string lost = streams::shard_directory(world.dir.path("shards"), commands_topic, 0);
  const std::string damaged = streams::shard_directory(world.dir.path("shards"), commands_topic, 1);
  REQUIRE(std::filesystem::exists(engine::default_snapshot_dir(lost)));
  std::filesystem::remove_all(lost);
  for (const auto& entry : std::filesystem::directory_iterator(damaged)) {
    if (entry.path().filename().string().rfind("MANIFEST", 0) == 0) {
      std::filesystem::resize_file(entry.path(), 10);
    }
  }

  lines.clear();
  REQUIRE(streams::run(options).is_ok());
  std::string log;
  for (const std::string& line : lines) log += line + "\n";
  INFO(log);
  CHECK_THAT(log, Catch::Contains("shard commands/0: store missing; restored snapshot snap-"));
  CHECK_THAT(log, Catch::Contains("shard commands/1: store unusable"));
  CHECK_THAT(log, Catch::Contains("restored snapshot snap-"));
  for (int p = 0; p < world.partitions; ++p) {
    INFO("shard " << p);
    const ShardState after =
        state_of(streams::shard_directory(world.dir.path("shards"), commands_topic, p));
    CHECK(after.head == before[static_cast<std::size_t>(p)].head);
    CHECK(after.digest == before[static_cast<std::size_t>(p)].digest);
  }
  check_world(world, per_partition, 0);

  // A flipped byte deep in shard 0's log: the tail check at start does not
  // see it, --verify-on-start does, and recovers the shard from a snapshot.
  {
    auto engine = engine::Engine::open(lost);
    REQUIRE(engine.is_ok());
    auto block = (*engine)->debug_read_block(1);
    REQUIRE(block.is_ok());
    std::vector<std::string> entries = *block;
    entries[0][entries[0].size() / 2] ^= 0x20;
    REQUIRE((*engine)->debug_write_block(1, entries).is_ok());
  }
  lines.clear();
  streams::RunOptions verifying = options;
  verifying.verify_on_start = true;
  REQUIRE(streams::run(verifying).is_ok());
  log.clear();
  for (const std::string& line : lines) log += line + "\n";
  INFO(log);
  CHECK_THAT(log, Catch::Contains("shard commands/0: store unusable (corruption: verify:"));
  const ShardState repaired = state_of(lost);
  CHECK(repaired.head == before[0].head);
  CHECK(repaired.digest == before[0].digest);
}

}  // namespace
}  // namespace lf::test
