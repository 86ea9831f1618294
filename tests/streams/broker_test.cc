// The embedded broker speaks real Kafka: a librdkafka producer and consumer
// connect by its bootstrap address, and every message comes back, in order
// per partition.
#include "streams/broker.h"

#include <librdkafka/rdkafkacpp.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>

namespace lf::test {
namespace {

constexpr int messages = 100;
constexpr int partitions = 4;
constexpr int poll_ms = 100;
constexpr int polls_max = 300;  // 30 s at most, then the test fails.

std::unique_ptr<RdKafka::Conf> conf(const std::string& bootstrap) {
  std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  REQUIRE(c->set("bootstrap.servers", bootstrap, error) == RdKafka::Conf::CONF_OK);
  return c;
}

TEST_CASE("the embedded broker carries messages from a producer to a consumer") {
  auto broker = streams::EmbeddedBroker::start(1, {{"commands", partitions}});
  INFO(broker.status().to_string());
  REQUIRE(broker.is_ok());
  const std::string bootstrap = (*broker)->bootstrap_servers();
  CHECK_THAT(bootstrap, Catch::StartsWith("127.0.0.1:"));

  std::string error;
  auto producer_conf = conf(bootstrap);
  REQUIRE(producer_conf->set("enable.idempotence", "true", error) == RdKafka::Conf::CONF_OK);
  std::unique_ptr<RdKafka::Producer> producer(
      RdKafka::Producer::create(producer_conf.get(), error));
  REQUIRE(producer != nullptr);
  for (int i = 0; i < messages; ++i) {
    const std::string key = "key-" + std::to_string(i % 7);
    const std::string value = "message-" + std::to_string(i);
    const auto err = producer->produce(
        "commands", RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, nullptr);
    REQUIRE(err == RdKafka::ERR_NO_ERROR);
  }
  REQUIRE(producer->flush(30000) == RdKafka::ERR_NO_ERROR);

  auto consumer_conf = conf(bootstrap);
  REQUIRE(consumer_conf->set("group.id", "test", error) == RdKafka::Conf::CONF_OK);
  REQUIRE(consumer_conf->set("enable.auto.commit", "false", error) == RdKafka::Conf::CONF_OK);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(consumer_conf.get(), error));
  REQUIRE(consumer != nullptr);
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int p = 0; p < partitions; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create("commands", p, 0));
  }
  REQUIRE(consumer->assign(assignment) == RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(assignment);

  std::map<std::string, int> seen;
  std::map<int, std::int64_t> last_offset;
  for (int poll = 0; poll < polls_max && static_cast<int>(seen.size()) < messages; ++poll) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(poll_ms));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    REQUIRE(m->err() == RdKafka::ERR_NO_ERROR);
    ++seen[std::string(static_cast<const char*>(m->payload()), m->len())];
    auto [it, fresh] = last_offset.emplace(m->partition(), m->offset());
    if (!fresh) {
      CHECK(m->offset() == it->second + 1);  // In order, no gap, per partition.
      it->second = m->offset();
    }
  }
  consumer->close();
  REQUIRE(static_cast<int>(seen.size()) == messages);
  for (const auto& [value, count] : seen) CHECK(count == 1);
}

TEST_CASE("topic specs and broker counts are checked") {
  CHECK(streams::parse_topic_spec("commands:8").is_ok());
  CHECK(streams::parse_topic_spec("commands:8")->partitions == 8);
  CHECK(streams::parse_topic_spec("commands")->partitions == 1);
  CHECK_FALSE(streams::parse_topic_spec(":3").is_ok());
  CHECK_FALSE(streams::parse_topic_spec("t:x").is_ok());
  CHECK_FALSE(streams::EmbeddedBroker::start(0, {}).is_ok());
  CHECK_FALSE(streams::EmbeddedBroker::start(1, {{"t", 0}}).is_ok());
}

}  // namespace
}  // namespace lf::test
