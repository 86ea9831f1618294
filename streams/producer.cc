#include "streams/producer.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>

#include "ledger/assert.h"
#include "ledger/shard.h"
#include "streams/runner.h"

namespace lf::streams {

namespace {

struct Delivered {
  std::int64_t offset = 0;
  std::size_t bytes = 0;
};

}  // namespace

struct CommandProducer::State : RdKafka::DeliveryReportCb {
  ProduceOptions options;
  std::unique_ptr<RdKafka::Producer> producer;
  std::unique_ptr<RdKafka::KafkaConsumer> lag_reader;  // Reads wait_group's offsets only.
  std::int32_t partitions = 0;
  ProduceReport report;
  std::string first_failure;
  // Per partition: the batch being filled, and what is in flight/delivered.
  std::vector<std::vector<ledger::Command>> pending;
  std::vector<std::string> pending_key;
  std::vector<std::size_t> in_flight_bytes;
  std::vector<std::deque<Delivered>> delivered;

  void dr_cb(RdKafka::Message& message) override {
    const auto p = static_cast<std::size_t>(message.partition());
    if (p < in_flight_bytes.size())
      in_flight_bytes[p] -= std::min(in_flight_bytes[p], message.len());
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      ++report.failed;
      if (first_failure.empty()) {
        first_failure = fmt::format("partition {}: {}", message.partition(), message.errstr());
      }
      return;
    }
    ++report.delivered;
    if (lag_reader && p < delivered.size())
      delivered[p].push_back({message.offset(), message.len()});
  }
};

Result<std::unique_ptr<CommandProducer>> CommandProducer::create(const ProduceOptions& options) {
  if (options.commands_per_message < 1 || options.commands_per_message > message_commands_max) {
    return Status::invalid_argument(fmt::format("{} commands per message outside 1..{}",
                                                options.commands_per_message,
                                                message_commands_max));
  }
  std::unique_ptr<CommandProducer> out(new CommandProducer());
  out->state_ = std::make_unique<State>();
  State& s = *out->state_;
  s.options = options;
  Result<std::unique_ptr<RdKafka::Conf>> conf =
      make_conf(options.kafka,
                {{"enable.idempotence", "true"},
                 {"linger.ms", "5"},
                 {"message.timeout.ms", std::to_string(options.delivery_timeout_ms)},
                 {"message.max.bytes", std::to_string(codec::message_bytes_max + 65536)}},
                {"enable.idempotence"});
  if (!conf.is_ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&s), error) !=
      RdKafka::Conf::CONF_OK) {
    return Status::invalid_argument(error);
  }
  s.producer.reset(RdKafka::Producer::create(conf->get(), error));
  if (s.producer == nullptr) return Status::io_error("cannot create the Kafka producer: " + error);
  Result<std::int32_t> count = partition_count(*s.producer, options.topic);
  if (!count.is_ok()) return count.status();
  s.partitions = *count;
  const auto n = static_cast<std::size_t>(s.partitions);
  s.pending.resize(n);
  s.pending_key.resize(n);
  s.in_flight_bytes.assign(n, 0);
  s.delivered.resize(n);
  s.report.commands_per_partition.assign(n, 0);
  if (!options.wait_group.empty()) {
    Result<std::unique_ptr<RdKafka::Conf>> lag_conf = make_conf(
        options.kafka, {{"group.id", options.wait_group}, {"enable.auto.commit", "false"}},
        {"group.id"});
    if (!lag_conf.is_ok()) return lag_conf.status();
    s.lag_reader.reset(RdKafka::KafkaConsumer::create(lag_conf->get(), error));
    if (s.lag_reader == nullptr) return Status::io_error("cannot create the lag reader: " + error);
  }
  return out;
}

CommandProducer::~CommandProducer() {
  if (state_ && state_->lag_reader) state_->lag_reader->close();
}

const ProduceReport& CommandProducer::report() const { return state_->report; }
std::int32_t CommandProducer::partitions() const { return state_->partitions; }

Status CommandProducer::add(const ledger::Command& command) {
  State& s = *state_;
  const std::string_view book = ledger::book_of(ledger::route_id(command));
  const auto p = ledger::shard_of_book(book, static_cast<std::uint32_t>(s.partitions));
  if (s.pending[p].empty()) s.pending_key[p] = std::string(book);
  s.pending[p].push_back(command);
  ++s.report.commands;
  ++s.report.commands_per_partition[p];
  if (s.pending[p].size() >= s.options.commands_per_message) {
    return send(static_cast<std::int32_t>(p));
  }
  return Status::ok();
}

Status CommandProducer::send(std::int32_t partition) {
  State& s = *state_;
  auto& batch = s.pending[static_cast<std::size_t>(partition)];
  if (batch.empty()) return Status::ok();
  std::string value = encode_message(batch);
  batch.clear();
  return produce(partition, s.pending_key[static_cast<std::size_t>(partition)], std::move(value));
}

Status CommandProducer::add_raw(std::int32_t partition, std::string_view key,
                                std::string_view value) {
  if (partition < 0 || partition >= state_->partitions) {
    return Status::invalid_argument(fmt::format("no partition {}", partition));
  }
  return produce(partition, key, std::string(value));
}

Status CommandProducer::produce(std::int32_t partition, std::string_view key, std::string value) {
  State& s = *state_;
  LF_RETURN_IF_ERROR(throttle(partition));
  for (;;) {
    const RdKafka::ErrorCode err = s.producer->produce(
        s.options.topic, partition, RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(),
        key.data(), key.size(), 0, nullptr, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) break;
    if (err != RdKafka::ERR__QUEUE_FULL) return kafka_error("produce to " + s.options.topic, err);
    s.producer->poll(lag_poll_ms);
  }
  s.in_flight_bytes[static_cast<std::size_t>(partition)] += value.size();
  ++s.report.messages;
  s.producer->poll(0);
  return Status::ok();
}

// Holds back while the partition's unconsumed bytes would pass lag_bytes_max.
Status CommandProducer::throttle(std::int32_t partition) {
  State& s = *state_;
  if (!s.lag_reader) return Status::ok();
  const auto p = static_cast<std::size_t>(partition);
  auto lag_bytes = [&] {
    std::size_t bytes = s.in_flight_bytes[p];
    for (const Delivered& d : s.delivered[p]) bytes += d.bytes;
    return bytes;
  };
  using Clock = std::chrono::steady_clock;
  auto last_progress = Clock::now();
  while (lag_bytes() > s.options.lag_bytes_max) {
    s.producer->poll(lag_poll_ms);
    std::vector<RdKafka::TopicPartition*> tps{
        RdKafka::TopicPartition::create(s.options.topic, partition)};
    const RdKafka::ErrorCode err = s.lag_reader->committed(tps, 5000);
    const std::int64_t committed = tps[0]->offset();
    RdKafka::TopicPartition::destroy(tps);
    if (err == RdKafka::ERR_NO_ERROR && committed >= 0) {
      auto& queue = s.delivered[p];
      bool progressed = false;
      while (!queue.empty() && queue.front().offset < committed) {
        queue.pop_front();
        progressed = true;
      }
      if (progressed) last_progress = Clock::now();
    }
    if (Clock::now() - last_progress > std::chrono::milliseconds(s.options.lag_timeout_ms)) {
      return Status::failed(fmt::format(
          "consumer group {} has not consumed partition {} for {} ms; stopping rather than "
          "outrun it (the embedded broker drops unconsumed messages beyond ~5 MiB)",
          s.options.wait_group, partition, s.options.lag_timeout_ms));
    }
  }
  return Status::ok();
}

Status CommandProducer::flush() {
  State& s = *state_;
  for (std::int32_t p = 0; p < s.partitions; ++p) LF_RETURN_IF_ERROR(send(p));
  const RdKafka::ErrorCode err = s.producer->flush(s.options.delivery_timeout_ms);
  if (!s.first_failure.empty()) {
    return Status::io_error(fmt::format("{} of {} messages not delivered; first: {}",
                                        s.report.failed, s.report.messages, s.first_failure));
  }
  if (err != RdKafka::ERR_NO_ERROR) return kafka_error("flush", err);
  return Status::ok();
}

}  // namespace lf::streams
