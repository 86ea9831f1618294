// Kafka client settings shared by every Kafka-facing subcommand: the
// bootstrap servers and `-X key=value` librdkafka properties passed through
// unchanged (SASL, TLS, timeouts: anything librdkafka accepts), so that the
// same commands work against the embedded broker and a real cluster.
//
// Properties the exactly-once guarantee rests on are set by ledgerflow and
// cannot be overridden (protected_properties); trying is an error.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace lf::streams {

inline constexpr std::size_t kafka_properties_max = 128;

struct KafkaSettings {
  std::string brokers;                                          // bootstrap.servers
  std::vector<std::pair<std::string, std::string>> properties;  // -X key=value, in order
};

// Parses "key=value" (the value may contain '=').
Result<std::pair<std::string, std::string>> parse_property(const std::string& text);

// A global configuration: `defaults` first, then bootstrap.servers, then the
// user's properties. Fails on an unknown property or value, or on a user
// property in `protected_keys`.
Result<std::unique_ptr<RdKafka::Conf>> make_conf(
    const KafkaSettings& settings, const std::vector<std::pair<std::string, std::string>>& defaults,
    const std::vector<std::string>& protected_keys);

// "Kafka <what>: <librdkafka's error string>".
Status kafka_error(const std::string& what, RdKafka::ErrorCode code);

}  // namespace lf::streams
