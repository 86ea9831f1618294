#include "streams/relay.h"

#include <fmt/format.h>

#include <mutex>
#include <variant>

#include "ledger/assert.h"
#include "schemas/codec.h"
#include "streams/message.h"
#include "streams/meta_keys.h"

namespace lf::streams {

// ---------------------------------------------------------------- outcomes

void OutcomeAssembler::add(const ledger::Event& event) {
  if (event.command.has_value()) {
    finish();
    ledger::Outcome outcome;
    outcome.command_id = event.command_id;
    outcome.first_seq = event.seq;
    outcome.event_count = 1;
    if (const auto* rejected = std::get_if<ledger::CommandRejected>(&event.body)) {
      outcome.status = ledger::OutcomeStatus::rejected;
      outcome.reason = rejected->reason;
      outcome.field = rejected->field;
      outcome.failed_step = rejected->failed_step;
    }
    open_.emplace(std::move(outcome), event.source);
    return;
  }
  // Later steps of an accepted linked chain belong to the open command;
  // expiries belong to the command after them and are not its events.
  if (open_ && event.command_id == open_->first.command_id &&
      !std::holds_alternative<ledger::PendingExpired>(event.body)) {
    ++open_->first.event_count;
  }
}

void OutcomeAssembler::finish() {
  if (open_) done_.push_back(std::move(*open_));
  open_.reset();
}

std::vector<std::pair<ledger::Outcome, ledger::SourcePosition>> OutcomeAssembler::take() {
  return std::exchange(done_, {});
}

// ---------------------------------------------------------------- publisher

struct Publisher::Reporter : RdKafka::DeliveryReportCb {
  mutable std::mutex mutex;
  Status first_failure;
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) return;
    std::lock_guard<std::mutex> lock(mutex);
    if (first_failure.is_ok()) {
      first_failure = Status::io_error(
          fmt::format("Kafka delivery to {}: {}", message.topic_name(), message.errstr()));
    }
  }
};

Result<std::unique_ptr<Publisher>> Publisher::create(const KafkaSettings& settings) {
  std::unique_ptr<Publisher> publisher(new Publisher());
  publisher->reporter_ = std::make_unique<Reporter>();
  Result<std::unique_ptr<RdKafka::Conf>> conf =
      make_conf(settings,
                {{"enable.idempotence", "true"},
                 {"linger.ms", "5"},
                 {"queue.buffering.max.messages", "1000000"},
                 {"queue.buffering.max.kbytes", "1048576"}},
                {"enable.idempotence"});
  if (!conf.is_ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", publisher->reporter_.get(), error) != RdKafka::Conf::CONF_OK) {
    return Status::invalid_argument(error);
  }
  publisher->producer_.reset(RdKafka::Producer::create(conf->get(), error));
  if (publisher->producer_ == nullptr) {
    return Status::io_error("cannot create the Kafka producer: " + error);
  }
  return publisher;
}

Publisher::~Publisher() {
  // Whatever is still queued is republished after a restart (from the
  // recorded progress); do not block the exit for long.
  if (producer_) producer_->flush(1000);
}

Status Publisher::publish(const std::string& topic, std::string_view key, std::string_view value,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  for (;;) {
    RdKafka::Headers* h = RdKafka::Headers::create();
    for (const auto& [name, text] : headers) h->add(name, text);
    const RdKafka::ErrorCode err = producer_->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, h, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return Status::ok();  // The headers are librdkafka's now.
    delete h;
    if (err != RdKafka::ERR__QUEUE_FULL) return kafka_error("produce to " + topic, err);
    producer_->poll(publish_queue_full_wait_ms);  // Serves delivery reports: room frees up.
  }
}

Status Publisher::flush(int timeout_ms) {
  const RdKafka::ErrorCode err = producer_->flush(timeout_ms);
  LF_RETURN_IF_ERROR(failure());
  if (err != RdKafka::ERR_NO_ERROR) return kafka_error("flush", err);
  return Status::ok();
}

Status Publisher::failure() const {
  std::lock_guard<std::mutex> lock(reporter_->mutex);
  return reporter_->first_failure;
}

// ---------------------------------------------------------------- relay

OutboxRelay::OutboxRelay(engine::Engine& engine, Publisher& publisher, RelayTopics topics,
                         std::string shard_name)
    : engine_(engine),
      publisher_(publisher),
      topics_(std::move(topics)),
      shard_name_(std::move(shard_name)) {}

Status OutboxRelay::load() {
  Result<std::uint64_t> events = read_meta_u64(engine_, meta_relay_events_key);
  if (!events.is_ok()) return events.status();
  Result<std::uint64_t> letters = read_meta_u64(engine_, meta_relay_dlq_key);
  if (!letters.is_ok()) return letters.status();
  events_queued_through_ = events_recorded_through_ = *events;
  dead_letters_queued_ = dead_letters_recorded_ = *letters;
  return Status::ok();
}

Status OutboxRelay::pump() {
  LF_RETURN_IF_ERROR(publisher_.failure());
  LF_RETURN_IF_ERROR(pump_events());
  LF_RETURN_IF_ERROR(pump_dead_letters());
  publisher_.poll();
  return Status::ok();
}

Status OutboxRelay::pump_events() {
  const ledger::Sequence head = engine_.head().ledger.next_seq - 1;
  if (events_queued_through_ >= head) return Status::ok();
  OutcomeAssembler assembler;
  Status failure;
  auto publish_outcomes = [&]() -> Status {
    for (const auto& [outcome, source] : assembler.take()) {
      LF_RETURN_IF_ERROR(publish_outcome(outcome, source));
    }
    return Status::ok();
  };
  LF_RETURN_IF_ERROR(engine_.for_each_raw_event(
      events_queued_through_ + 1, [&](ledger::Sequence seq, std::string_view bytes) {
        if (seq > head) return false;
        Result<codec::OpenedEvent> opened = codec::open_event(bytes);
        if (!opened.is_ok()) {
          failure = Status::corruption(
              fmt::format("relay: event {}: {}", seq, opened.status().message()));
          return false;
        }
        LF_ASSERT(opened->event.seq == seq);
        assembler.add(opened->event);
        failure = publish_outcomes();
        if (failure.is_ok()) failure = publish_event(seq, bytes);
        if (!failure.is_ok()) return false;
        events_queued_through_ = seq;
        return true;
      }));
  LF_RETURN_IF_ERROR(failure);
  // The log ends with whole commands: the last one is complete.
  assembler.finish();
  return publish_outcomes();
}

Status OutboxRelay::publish_event(ledger::Sequence seq, std::string_view sealed) {
  ++stats_.events;
  if (topics_.events.empty()) return Status::ok();
  return publisher_.publish(topics_.events, shard_name_, sealed,
                            {{"lf-shard", shard_name_}, {"lf-seq", std::to_string(seq)}});
}

Status OutboxRelay::publish_outcome(const ledger::Outcome& outcome,
                                    const ledger::SourcePosition& source) {
  ++stats_.outcomes;
  if (topics_.outcomes.empty()) return Status::ok();
  return publisher_.publish(
      topics_.outcomes, outcome.command_id, codec::encode_outcome(outcome, source),
      {{"lf-shard", shard_name_}, {"lf-seq", std::to_string(outcome.first_seq)}});
}

Status OutboxRelay::pump_batch(const engine::BatchResult& batch,
                               std::span<const ledger::Command> commands) {
  if (events_queued_through_ + 1 != batch.first_seq) return pump();
  LF_RETURN_IF_ERROR(publisher_.failure());
  LF_ASSERT(batch.outcomes.size() == commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    // A retried duplicate wrote no event: the log-derived relay skips it too.
    if (batch.outcomes[i].duplicate) continue;
    LF_RETURN_IF_ERROR(publish_outcome(batch.outcomes[i], commands[i].source));
  }
  Status failure;
  LF_RETURN_IF_ERROR(engine_.for_each_raw_event(batch.first_seq,
                                                [&](ledger::Sequence seq, std::string_view bytes) {
                                                  if (seq >= batch.next_seq) return false;
                                                  failure = publish_event(seq, bytes);
                                                  if (!failure.is_ok()) return false;
                                                  events_queued_through_ = seq;
                                                  return true;
                                                }));
  LF_RETURN_IF_ERROR(failure);
  LF_ASSERT(events_queued_through_ + 1 == batch.next_seq);
  LF_RETURN_IF_ERROR(pump_dead_letters());
  publisher_.poll();
  return Status::ok();
}

Status OutboxRelay::pump_dead_letters() {
  Status failure;
  LF_RETURN_IF_ERROR(engine_.for_each_meta(
      meta_dlq_prefix, engine::u64be_value(dead_letters_queued_),
      [&](std::string_view, std::string_view value) {
        Result<DeadLetter> letter = decode_dead_letter(value);
        if (!letter.is_ok()) {
          failure = Status::corruption(fmt::format(
              "relay: dead letter {}: {}", dead_letters_queued_, letter.status().message()));
          return false;
        }
        ++stats_.dead_letters;
        if (!topics_.dead_letters.empty()) {
          failure =
              publisher_.publish(topics_.dead_letters, letter->key, letter->payload,
                                 {{"lf-shard", shard_name_},
                                  {"lf-seq", std::to_string(dead_letters_queued_)},
                                  {"lf-reason", poison_reason_name(letter->reason)},
                                  {"lf-detail", letter->detail},
                                  {"lf-source-topic", letter->source.topic},
                                  {"lf-source-partition", std::to_string(letter->source.partition)},
                                  {"lf-source-offset", std::to_string(letter->source.offset)}});
          if (!failure.is_ok()) return false;
        }
        ++dead_letters_queued_;
        return true;
      }));
  return failure;
}

Status OutboxRelay::record_delivered() {
  LF_RETURN_IF_ERROR(publisher_.failure());
  if (events_queued_through_ == events_recorded_through_ &&
      dead_letters_queued_ == dead_letters_recorded_) {
    return Status::ok();
  }
  const engine::MetaPut puts[] = {
      {std::string(meta_relay_events_key), engine::u64be_value(events_queued_through_)},
      {std::string(meta_relay_dlq_key), engine::u64be_value(dead_letters_queued_)}};
  // Not synced: losing it only means publishing some messages again.
  LF_RETURN_IF_ERROR(engine_.put_meta(puts, false));
  events_recorded_through_ = events_queued_through_;
  dead_letters_recorded_ = dead_letters_queued_;
  return Status::ok();
}

}  // namespace lf::streams
