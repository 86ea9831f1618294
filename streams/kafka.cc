#include "streams/kafka.h"

#include <fmt/format.h>

#include <algorithm>

namespace lf::streams {

Result<std::pair<std::string, std::string>> parse_property(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::invalid_argument("property '" + text + "' is not key=value");
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<std::unique_ptr<RdKafka::Conf>> make_conf(
    const KafkaSettings& settings, const std::vector<std::pair<std::string, std::string>>& defaults,
    const std::vector<std::string>& protected_keys) {
  if (settings.properties.size() > kafka_properties_max) {
    return Status::invalid_argument(
        fmt::format("more than {} -X properties", kafka_properties_max));
  }
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  auto set = [&](const std::string& key, const std::string& value) -> Status {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return Status::invalid_argument(fmt::format("Kafka property {}={}: {}", key, value, error));
    }
    return Status::ok();
  };
  for (const auto& [key, value] : defaults) LF_RETURN_IF_ERROR(set(key, value));
  if (settings.brokers.empty()) return Status::invalid_argument("no Kafka brokers given");
  LF_RETURN_IF_ERROR(set("bootstrap.servers", settings.brokers));
  for (const auto& [key, value] : settings.properties) {
    if (std::find(protected_keys.begin(), protected_keys.end(), key) != protected_keys.end()) {
      return Status::invalid_argument(fmt::format(
          "Kafka property {} is set by ledgerflow (its exactly-once guarantee depends on it)",
          key));
    }
    LF_RETURN_IF_ERROR(set(key, value));
  }
  return conf;
}

Status kafka_error(const std::string& what, RdKafka::ErrorCode code) {
  return Status::io_error(fmt::format("Kafka {}: {}", what, RdKafka::err2str(code)));
}

}  // namespace lf::streams
