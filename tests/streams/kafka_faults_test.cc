// Broker faults while the engine runs: injected request errors on fetch,
// produce and offset commit, and the broker going down and coming back. The
// engine retries; at the end nothing was applied twice and nothing skipped.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/streams/kafka_world.h"
#include "tests/support/books.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

constexpr std::int16_t api_produce = 0;
constexpr std::int16_t api_fetch = 1;
constexpr std::int16_t api_offset_commit = 8;
constexpr int broker_down_ms = 1500;

TEST_CASE("faults: request errors and a broker outage mid-run", "[kafka][faults]") {
  const std::uint64_t seed = seed_from_env();
  INFO("seed " << seed);
  KafkaWorld world(2);
  auto per_partition = world.produce(book_workload(seed, 4, 1500), 32);

  // Retriable errors the clients must ride through.
  REQUIRE(world.broker
              ->push_request_errors(api_fetch,
                                    std::vector<int>(5, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION))
              .is_ok());
  REQUIRE(world.broker
              ->push_request_errors(api_produce,
                                    std::vector<int>(3, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS))
              .is_ok());
  REQUIRE(
      world.broker
          ->push_request_errors(api_offset_commit,
                                std::vector<int>(3, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE))
          .is_ok());

  // The broker goes down after the engine's third commit, for a while.
  streams::RunOptions options = world.run_options();
  options.idle_ms = broker_down_ms + 1500;  // Do not mistake the outage for idleness.
  options.batch_commands = 256;
  std::atomic<int> commits{0};
  std::thread outage;
  options.on_commit = [&](const streams::ShardReport&) {
    if (++commits != 3) return;
    REQUIRE(world.broker->set_broker_up(1, false).is_ok());
    outage = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(broker_down_ms));  // The fault.
      REQUIRE(world.broker->set_broker_up(1, true).is_ok());
    });
  };
  auto run = streams::run(options);
  if (outage.joinable()) outage.join();
  INFO(run.status().to_string());
  REQUIRE(run.is_ok());
  CHECK(commits >= 3);
  // Whatever the outage interrupted, a second run finishes it; nothing twice.
  auto again = streams::run(world.run_options());
  REQUIRE(again.is_ok());
  check_world(world, per_partition, 0);
}

}  // namespace
}  // namespace lf::test
