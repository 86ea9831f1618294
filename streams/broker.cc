#include "streams/broker.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <charconv>

namespace lf::streams {

// The mock cluster lives inside a librdkafka client handle that owns it.
struct EmbeddedBroker::Handles {
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Handles() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (host != nullptr) rd_kafka_destroy(host);
  }
};

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::start(
    int broker_count, const std::vector<TopicSpec>& topics) {
  if (broker_count < 1 || broker_count > broker_count_max) {
    return Status::invalid_argument(
        fmt::format("broker count {} outside 1..{}", broker_count, broker_count_max));
  }
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  broker->handles_ = std::make_unique<Handles>();
  char error[512] = {0};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The host handle is never used to produce: silence its own logging.
  if (rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Status::invalid_argument(error);
  }
  broker->handles_->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (broker->handles_->host == nullptr) {
    rd_kafka_conf_destroy(conf);  // Not taken over on failure.
    return Status::io_error(fmt::format("cannot create the broker's host client: {}", error));
  }
  broker->handles_->cluster = rd_kafka_mock_cluster_new(broker->handles_->host, broker_count);
  if (broker->handles_->cluster == nullptr) {
    return Status::io_error("cannot start the mock cluster");
  }
  for (const TopicSpec& topic : topics) {
    if (topic.partitions < 1 || topic.partitions > topic_partitions_max) {
      return Status::invalid_argument(fmt::format("topic {}: {} partitions outside 1..{}",
                                                  topic.name, topic.partitions,
                                                  topic_partitions_max));
    }
    const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
        broker->handles_->cluster, topic.name.c_str(), topic.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::io_error(
          fmt::format("cannot create topic {}: {}", topic.name, rd_kafka_err2str(err)));
    }
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->handles_->cluster);
  return broker;
}

EmbeddedBroker::~EmbeddedBroker() = default;

Status EmbeddedBroker::push_request_errors(std::int16_t api_key, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  for (const int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(handles_->cluster, api_key, codes.size(), codes.data());
  return Status::ok();
}

Status EmbeddedBroker::set_broker_up(std::int32_t broker_id, bool up) {
  const rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(handles_->cluster, broker_id)
                                     : rd_kafka_mock_broker_set_down(handles_->cluster, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::invalid_argument(fmt::format("broker {}: {}", broker_id, rd_kafka_err2str(err)));
  }
  return Status::ok();
}

Result<TopicSpec> parse_topic_spec(const std::string& text) {
  TopicSpec spec;
  const auto colon = text.find(':');
  spec.name = text.substr(0, colon);
  if (spec.name.empty()) return Status::invalid_argument("empty topic name in '" + text + "'");
  if (colon == std::string::npos) return spec;
  const std::string count = text.substr(colon + 1);
  const auto [end, ec] =
      std::from_chars(count.data(), count.data() + count.size(), spec.partitions);
  if (ec != std::errc() || end != count.data() + count.size()) {
    return Status::invalid_argument("bad partition count in '" + text + "'");
  }
  return spec;
}

}  // namespace lf::streams
