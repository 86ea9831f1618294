#include "streams/outcomes.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "schemas/codec.h"
#include "streams/runner.h"

namespace lf::streams {

namespace {

std::string header(RdKafka::Message& message, const std::string& name) {
  RdKafka::Headers* headers = message.headers();
  if (headers == nullptr) return {};
  RdKafka::Headers::Header h = headers->get_last(name);
  if (h.err() != RdKafka::ERR_NO_ERROR || h.value() == nullptr) return {};
  return std::string(static_cast<const char*>(h.value()), h.value_size());
}

}  // namespace

Result<OutcomesRead> read_outcomes(const OutcomesReadOptions& options,
                                   const std::function<void(const PublishedOutcome&)>& fn) {
  Result<std::unique_ptr<RdKafka::Conf>> conf =
      make_conf(options.kafka,
                {{"group.id", "ledgerflow-outcomes-reader"},
                 {"enable.auto.commit", "false"},
                 {"enable.partition.eof", "true"}},
                {"enable.partition.eof"});
  if (!conf.is_ok()) return conf.status();
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  if (consumer == nullptr) return Status::io_error("cannot create the Kafka consumer: " + error);
  Result<std::int32_t> partitions = partition_count(*consumer, options.topic);
  if (!partitions.is_ok()) return partitions.status();

  OutcomesRead read;
  std::vector<RdKafka::TopicPartition*> assignment;
  for (std::int32_t p = 0; p < *partitions; ++p) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (consumer->query_watermark_offsets(options.topic, p, &low, &high, 5000) ==
            RdKafka::ERR_NO_ERROR &&
        low > 0) {
      read.truncated = true;
    }
    assignment.push_back(
        RdKafka::TopicPartition::create(options.topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  const RdKafka::ErrorCode assigned = consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (assigned != RdKafka::ERR_NO_ERROR) return kafka_error("assign", assigned);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  std::set<std::int32_t> at_end;
  std::map<std::pair<std::string, std::uint64_t>, std::string> seen;  // -> value
  auto last_message = Clock::now();
  Status status;
  while (Clock::now() < deadline) {
    if (static_cast<std::int32_t>(at_end.size()) == *partitions &&
        Clock::now() - last_message >= std::chrono::milliseconds(options.idle_ms)) {
      break;
    }
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      at_end.insert(m->partition());
      continue;
    }
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      status = kafka_error("consume " + options.topic, m->err());
      break;
    }
    at_end.erase(m->partition());
    last_message = Clock::now();
    PublishedOutcome published;
    published.shard = header(*m, "lf-shard");
    published.seq = std::strtoull(header(*m, "lf-seq").c_str(), nullptr, 10);
    const std::string value(static_cast<const char*>(m->payload()), m->len());
    auto [at, fresh] = seen.try_emplace({published.shard, published.seq}, value);
    if (!fresh) {
      ++(at->second == value ? read.duplicates_dropped : read.conflicting);
      continue;
    }
    Result<ledger::Outcome> outcome =
        codec::decode_outcome(std::string_view(static_cast<const char*>(m->payload()), m->len()));
    if (!outcome.is_ok()) {
      ++read.undecodable;
      continue;
    }
    published.outcome = std::move(outcome).value();
    ++read.unique;
    if (published.outcome.status == ledger::OutcomeStatus::accepted) {
      ++read.accepted;
    } else {
      ++read.rejected_by_reason[ledger::reject_reason_name(published.outcome.reason)];
    }
    fn(published);
  }
  consumer->close();
  if (!status.is_ok()) return status;
  if (Clock::now() >= deadline) {
    return Status::failed(
        fmt::format("reading {} did not finish in {} ms", options.topic, options.timeout_ms));
  }
  return read;
}

}  // namespace lf::streams
