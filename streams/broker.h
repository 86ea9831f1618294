// EmbeddedBroker: a Kafka cluster inside this process, from librdkafka's
// mock cluster (rdkafka_mock.h). It speaks the real Kafka protocol on
// loopback TCP, so producers, consumers (consumer groups with committed
// offsets) and tools such as kcat reach it by its bootstrap address exactly
// as they would reach a real cluster.
//
// Limits of the mock (docs/kafka.md): it has no CreateTopics, so topics are
// created up front here; it keeps only about 5 MiB or 100k message sets per
// partition and silently drops older ones; it emulates neither transaction
// markers nor read_committed.
//
// Thread-safety: start() and the destructor from one thread; the cluster
// serves clients on its own threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace lf::streams {

inline constexpr int broker_count_max = 16;
inline constexpr int topic_partitions_max = 1024;

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

class EmbeddedBroker {
 public:
  // Starts `broker_count` brokers and creates `topics`.
  static Result<std::unique_ptr<EmbeddedBroker>> start(int broker_count,
                                                       const std::vector<TopicSpec>& topics);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap_servers() const { return bootstrap_; }

  // ---- Fault injection (tests): the next requests of type `api_key` (a
  // Kafka protocol ApiKey, e.g. 0 Produce, 1 Fetch, 8 OffsetCommit) fail
  // with `errors` (rd_kafka_resp_err_t values), one each, in order.
  Status push_request_errors(std::int16_t api_key, const std::vector<int>& errors);
  // Takes broker `broker_id` (1..count) down (connections closed, new ones
  // refused) or back up.
  Status set_broker_up(std::int32_t broker_id, bool up);

 private:
  EmbeddedBroker() = default;
  struct Handles;
  std::unique_ptr<Handles> handles_;
  std::string bootstrap_;
};

// Parses "name" or "name:partitions".
Result<TopicSpec> parse_topic_spec(const std::string& text);

}  // namespace lf::streams
