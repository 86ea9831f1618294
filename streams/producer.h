// CommandProducer: publishes commands to the commands topic, routed to the
// partition (shard) that owns their book, with the idempotent producer.
//
//   partition = ledger::shard_of_book(book_of(route_id(command)), partitions)
//   key       = that book (so a plain key-hash partitioner cannot be mistaken
//               for ours: the partition is always set explicitly)
//   value     = one LFC1 Command, or an LFB1 CommandBatch of up to
//               commands_per_message commands of one partition, in input order
//
// Commands of one partition keep their input order; commands of different
// partitions are independent shards.
//
// Lag throttling (wait_group): the embedded broker keeps only about 5 MiB
// per partition and drops the oldest messages silently. With wait_group set,
// the producer holds back while the bytes it delivered beyond that consumer
// group's committed offset exceed lag_bytes_max on a partition, and fails
// after lag_timeout_ms without progress rather than outrun the consumer.
//
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"
#include "streams/kafka.h"
#include "streams/message.h"

namespace lf::streams {

inline constexpr std::size_t lag_bytes_max_default = 2u << 20;
inline constexpr int lag_poll_ms = 20;

struct ProduceOptions {
  KafkaSettings kafka;
  std::string topic;
  std::size_t commands_per_message = 256;  // 1..message_commands_max.
  std::string wait_group;                  // Empty: no lag throttling.
  std::size_t lag_bytes_max = lag_bytes_max_default;
  int lag_timeout_ms = 120'000;
  int delivery_timeout_ms = 120'000;
};

struct ProduceReport {
  std::uint64_t commands = 0;
  std::uint64_t messages = 0;
  std::uint64_t delivered = 0;  // Messages acknowledged by the broker.
  std::uint64_t failed = 0;     // Messages that could not be delivered.
  std::vector<std::uint64_t> commands_per_partition;
};

class CommandProducer {
 public:
  static Result<std::unique_ptr<CommandProducer>> create(const ProduceOptions& options);
  ~CommandProducer();
  CommandProducer(const CommandProducer&) = delete;
  CommandProducer& operator=(const CommandProducer&) = delete;

  // Queues a command; sends its partition's batch when full.
  Status add(const ledger::Command& command);
  // Sends a raw message value to a partition (tests: poison messages).
  Status add_raw(std::int32_t partition, std::string_view key, std::string_view value);
  // Sends every partial batch and waits until all are delivered. Fails if
  // any message could not be delivered (the report says how many).
  Status flush();
  const ProduceReport& report() const;
  std::int32_t partitions() const;

 private:
  struct State;
  CommandProducer() = default;
  Status send(std::int32_t partition);
  Status produce(std::int32_t partition, std::string_view key, std::string value);
  Status throttle(std::int32_t partition);
  std::unique_ptr<State> state_;
};

}  // namespace lf::streams
