// The outbox relay: publishes what a shard has committed, after it is
// durable, to Kafka:
//   outcomes topic: one message per command, key = command id, value = the
//                   Outcome (LFO1) with its source position;
//   events topic:   one message per event, key = shard name (so a shard's
//                   events stay in order in one partition), value = the
//                   stored SealedEvent (LFE1), hash included;
//   dead-letter topic: one message per poison message, key and value as
//                   received, the reason in headers.
// Every message carries headers lf-shard (topic/partition of the shard) and
// lf-seq (the event's or outcome's first sequence number; for a dead letter,
// its index), stable across republishing, so that consumers drop duplicates.
//
// The outbox is the event log itself plus the dead-letter records: both are
// written in the commit's own WriteBatch, so nothing committed can miss the
// relay. Progress ("relay/events", "relay/dlq" in the shard's meta) is
// recorded only once the producer has delivered everything before it; after
// a crash the relay republishes from there (at least once, deduplicated by
// lf-seq). Outcomes are derived from the log (OutcomeAssembler): a command's
// first event embeds it; a retried duplicate writes no event and gets no
// second message, its original outcome is already on the topic under its id.
//
// Thread-safety: one thread (the run loop) per relay; a Publisher is shared
// by the relays of one process on that thread.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "streams/kafka.h"

namespace lf::streams {

inline constexpr int publish_queue_full_wait_ms = 50;
inline constexpr int publish_flush_timeout_ms = 60'000;

// Outcomes rebuilt from events, in log order. Feed every event of whole
// commands; take() returns the outcomes completed so far.
class OutcomeAssembler {
 public:
  void add(const ledger::Event& event);
  // Completes the last command (call at the end of a run of whole batches).
  void finish();
  std::vector<std::pair<ledger::Outcome, ledger::SourcePosition>> take();

 private:
  std::optional<std::pair<ledger::Outcome, ledger::SourcePosition>> open_;
  std::vector<std::pair<ledger::Outcome, ledger::SourcePosition>> done_;
};

// One idempotent producer with delivery tracking.
class Publisher {
 public:
  static Result<std::unique_ptr<Publisher>> create(const KafkaSettings& settings);
  ~Publisher();
  // Queues one message (copying it); waits while the local queue is full.
  Status publish(const std::string& topic, std::string_view key, std::string_view value,
                 const std::vector<std::pair<std::string, std::string>>& headers);
  void poll() { producer_->poll(0); }
  // True when everything queued so far has been delivered.
  bool idle() { return producer_->outq_len() == 0; }
  // Waits until everything queued is delivered; the first delivery failure.
  Status flush(int timeout_ms = publish_flush_timeout_ms);
  // The first delivery failure so far, if any.
  Status failure() const;

 private:
  struct Reporter;
  Publisher() = default;
  std::unique_ptr<Reporter> reporter_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

struct RelayTopics {
  std::string outcomes;      // Empty: not published.
  std::string events;        // Empty: not published.
  std::string dead_letters;  // Empty: not published.
};

struct RelayStats {
  std::uint64_t outcomes = 0;
  std::uint64_t events = 0;
  std::uint64_t dead_letters = 0;
};

class OutboxRelay {
 public:
  OutboxRelay(engine::Engine& engine, Publisher& publisher, RelayTopics topics,
              std::string shard_name);
  // Reads where the relay stands from the store.
  Status load();
  // Queues every message committed since the last pump (not yet delivered),
  // read back from the log: the path after a restart.
  Status pump();
  // Queues the messages of the batch just committed: when the relay is
  // caught up to it, its outcomes come from `batch` (equal to the ones the
  // log gives) and its events are the stored bytes, nothing decoded again;
  // otherwise as pump(). `commands` are the batch's, for source positions.
  Status pump_batch(const engine::BatchResult& batch, std::span<const ledger::Command> commands);
  // Records as published everything pumped so far. REQUIRES: the publisher
  // has delivered everything (idle() or a successful flush()).
  Status record_delivered();
  const RelayStats& stats() const { return stats_; }

 private:
  Status pump_events();
  Status publish_event(ledger::Sequence seq, std::string_view sealed);
  Status publish_outcome(const ledger::Outcome& outcome, const ledger::SourcePosition& source);
  Status pump_dead_letters();

  engine::Engine& engine_;
  Publisher& publisher_;
  RelayTopics topics_;
  std::string shard_name_;
  ledger::Sequence events_queued_through_ = 0;
  ledger::Sequence events_recorded_through_ = 0;
  std::uint64_t dead_letters_queued_ = 0;
  std::uint64_t dead_letters_recorded_ = 0;
  RelayStats stats_;
};

}  // namespace lf::streams
