#include "streams/runner.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

#include "engine/snapshot.h"
#include "engine/verify.h"
#include "ledger/assert.h"
#include "ledger/limits.h"
#include "schemas/codec.h"
#include "streams/message.h"
#include "streams/meta_keys.h"

namespace lf::streams {

namespace {

using Clock = std::chrono::steady_clock;

struct Shard {
  ShardReport report;
  std::unique_ptr<engine::AutoSnapshot> snapshots;  // Null: no automatic snapshots.
  std::string name;                                 // topic/partition, the lf-shard header.
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<OutboxRelay> relay;
  std::int64_t next_offset = 0;    // Stored: the first offset not yet applied.
  std::uint64_t dead_letters = 0;  // Stored "dlq_count".
  // The batch being filled.
  std::vector<ledger::Command> commands;
  std::vector<engine::MetaPut> letters;
  std::int64_t pending_next_offset = -1;  // -1: nothing pending.
  Clock::time_point first_pending;
  bool at_eof = false;
};

class Runner : public RdKafka::RebalanceCb {
 public:
  explicit Runner(const RunOptions& options) : options_(options) {}

  Result<RunReport> run();

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;

 private:
  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  Status open_shard(std::int32_t partition);
  Status assign_static();
  Status close_shard(std::int32_t partition);
  Status handle(RdKafka::Message& message);
  Status add_message(Shard& shard, const RdKafka::Message& message);
  Status flush(Shard& shard);
  Status flush_all();
  Status relay_progress(bool force);
  bool drained() const;
  Status finish();

  const RunOptions& options_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<Publisher> publisher_;
  std::int32_t partition_count_ = 0;
  std::map<std::int32_t, Shard> shards_;  // Ordered: deterministic logs and reports.
  std::map<std::int32_t, ShardReport> closed_;
  Status fatal_;  // An error inside the rebalance callback.
  std::size_t batches_since_relay_flush_ = 0;
  Clock::time_point last_message_ = Clock::now();
  bool assigned_once_ = false;
};

// The last event's hash must be the head's chain head: catches a store whose
// tail was lost or damaged without reading the whole log.
Status check_tail(engine::Engine& engine) {
  const engine::Head& head = engine.head();
  if (head.ledger.next_seq == 1) return Status::ok();
  bool matches = false;
  LF_RETURN_IF_ERROR(
      engine.for_each_event(head.ledger.next_seq - 1, [&](const codec::OpenedEvent& opened) {
        matches = opened.hash == head.chain_head;
        return false;
      }));
  if (!matches) return Status::corruption("the last event does not match the head's chain head");
  return Status::ok();
}

// Opens an existing store as it is (its own shard rule) and checks its tail.
Result<std::unique_ptr<engine::Engine>> open_existing(const std::string& directory,
                                                      const engine::EngineOptions& options,
                                                      bool full_verify) {
  engine::EngineOptions existing = options;
  existing.create_if_missing = false;
  existing.shard.reset();
  Result<std::unique_ptr<engine::Engine>> engine = engine::Engine::open(directory, existing);
  if (!engine.is_ok()) return engine.status();
  LF_RETURN_IF_ERROR(check_tail(**engine));
  if (full_verify) {
    Result<engine::VerifyReport> report = engine::verify(**engine);
    if (!report.is_ok()) return report.status();
    if (!report->ok) return Status::corruption("verify: " + report->problem);
  }
  return engine;
}

// Replaces a missing or broken store by the newest snapshot that verifies.
// Returns what it did, for the log; empty when there was nothing to do (a new
// store).
Result<std::string> recover_store(const std::string& directory, const Status& why) {
  std::error_code error;
  std::string action;
  if (std::filesystem::exists(directory, error)) {
    const std::string aside = directory + ".corrupt";
    std::filesystem::remove_all(aside, error);
    std::filesystem::rename(directory, aside, error);
    if (error)
      return Status::io_error(fmt::format("move {} aside: {}", directory, error.message()));
    action = fmt::format("store unusable ({}), moved to {}; ", why.to_string(), aside);
  }
  const std::string snapshot_dir = engine::default_snapshot_dir(directory);
  Result<engine::SnapshotListing> listing = engine::list_snapshots(snapshot_dir);
  if (!listing.is_ok()) return listing.status();
  if (action.empty() && listing->snapshots.empty()) return std::string();  // A new shard.
  if (action.empty()) action = "store missing; ";
  for (auto it = listing->snapshots.rbegin(); it != listing->snapshots.rend(); ++it) {
    Result<engine::SnapshotCheck> check =
        engine::verify_snapshot(*it, engine::SnapshotCheckDepth::recovery);
    if (!check.is_ok() || !check->ok) {
      action += fmt::format("snapshot {} rejected ({}); ", it->name,
                            check.is_ok() ? check->problem : check.status().to_string());
      continue;
    }
    LF_RETURN_IF_ERROR(engine::restore_snapshot(*it, directory, false));
    return action + fmt::format("restored snapshot {} (seq {})", it->name, it->manifest.seq);
  }
  return action + "no good snapshot: starting empty from offset 0";
}

Status Runner::open_shard(std::int32_t partition) {
  if (shards_.contains(partition)) return Status::ok();
  Shard shard;
  shard.report.partition = partition;
  shard.report.directory = shard_directory(options_.db_dir, options_.topic, partition);
  shard.name = fmt::format("{}/{}", options_.topic, partition);
  engine::EngineOptions engine_options = options_.engine;
  engine_options.shard = ledger::ShardRule{static_cast<std::uint32_t>(partition),
                                           static_cast<std::uint32_t>(partition_count_)};
  std::error_code error;
  Status unusable = Status::not_found("no store");
  if (std::filesystem::exists(shard.report.directory + "/CURRENT", error)) {
    Result<std::unique_ptr<engine::Engine>> existing =
        open_existing(shard.report.directory, engine_options, options_.verify_on_start);
    if (existing.is_ok()) {
      // The open below checks the shard rule: another rule is a configuration
      // error, not damage, and is never "recovered". (A store killed right
      // after its creation has no rule and no events yet: it gets its rule.)
      unusable = Status::ok();
    } else {
      unusable = existing.status();
    }
  }
  if (!unusable.is_ok()) {
    Result<std::string> recovered = recover_store(shard.report.directory, unusable);
    if (!recovered.is_ok()) return recovered.status();
    if (!recovered->empty()) log(fmt::format("run: shard {}: {}", shard.name, *recovered));
  }
  Result<std::unique_ptr<engine::Engine>> engine =
      engine::Engine::open(shard.report.directory, engine_options);
  if (!engine.is_ok()) {
    return engine.status().with_context(fmt::format("shard {} (topic {} has {} partitions)",
                                                    shard.name, options_.topic, partition_count_));
  }
  shard.engine = std::move(engine).value();
  if (options_.snapshot_every_events != 0) {
    engine::SnapshotPolicy policy;
    policy.directory = engine::default_snapshot_dir(shard.report.directory);
    policy.every_events = options_.snapshot_every_events;
    policy.keep = options_.snapshot_keep;
    Result<engine::PruneReport> pruned = engine::prune_snapshots(policy.directory, policy.keep);
    if (!pruned.is_ok()) return pruned.status().with_context("shard " + shard.name);
    for (const std::string& name : pruned->removed) {
      log(fmt::format("run: shard {}: removed snapshot {} (retention or interrupted)", shard.name,
                      name));
    }
    shard.snapshots = std::make_unique<engine::AutoSnapshot>(policy);
  }
  Result<std::uint64_t> offset =
      read_meta_u64(*shard.engine, offset_key(options_.topic, partition));
  if (!offset.is_ok()) return offset.status();
  Result<std::uint64_t> letters = read_meta_u64(*shard.engine, meta_dlq_count_key);
  if (!letters.is_ok()) return letters.status();
  shard.next_offset = static_cast<std::int64_t>(*offset);
  shard.dead_letters = *letters;
  shard.relay =
      std::make_unique<OutboxRelay>(*shard.engine, *publisher_, options_.relay, shard.name);
  LF_RETURN_IF_ERROR(shard.relay->load());
  // Publish whatever an earlier run committed but did not get out.
  LF_RETURN_IF_ERROR(shard.relay->pump());
  shard.report.next_offset = shard.next_offset;
  shard.report.next_seq = shard.engine->head().ledger.next_seq;
  log(fmt::format("run: shard {} opened at {}: next seq {}, next offset {}", shard.name,
                  shard.report.directory, shard.report.next_seq, shard.next_offset));
  shards_.emplace(partition, std::move(shard));
  return Status::ok();
}

Status Runner::close_shard(std::int32_t partition) {
  auto it = shards_.find(partition);
  if (it == shards_.end()) return Status::ok();
  LF_RETURN_IF_ERROR(flush(it->second));
  LF_RETURN_IF_ERROR(publisher_->flush());
  LF_RETURN_IF_ERROR(it->second.relay->record_delivered());
  it->second.report.relay = it->second.relay->stats();
  log(fmt::format("run: shard {} closed at next offset {}", it->second.name,
                  it->second.next_offset));
  closed_[partition] = it->second.report;
  shards_.erase(it);
  return Status::ok();
}

void Runner::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                          std::vector<RdKafka::TopicPartition*>& partitions) {
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    for (RdKafka::TopicPartition* tp : partitions) {
      Status opened = tp->topic() == options_.topic
                          ? open_shard(tp->partition())
                          : Status::invalid_argument("assigned unknown topic " + tp->topic());
      if (!opened.is_ok()) {
        if (fatal_.is_ok()) fatal_ = opened;
        continue;
      }
      // The store, not Kafka, says where to start: exactly once.
      tp->set_offset(shards_.at(tp->partition()).next_offset);
    }
    assigned_once_ = true;
    const RdKafka::ErrorCode assigned = consumer->assign(partitions);
    if (assigned != RdKafka::ERR_NO_ERROR && fatal_.is_ok()) {
      fatal_ = kafka_error("assign", assigned);
    }
    return;
  }
  for (RdKafka::TopicPartition* tp : partitions) {
    Status closed = close_shard(tp->partition());
    if (!closed.is_ok() && fatal_.is_ok()) fatal_ = closed;
  }
  consumer->unassign();
}

Status Runner::assign_static() {
  std::vector<std::int32_t> partitions = options_.partitions;
  if (options_.all_partitions) {
    partitions.clear();
    for (std::int32_t p = 0; p < partition_count_; ++p) partitions.push_back(p);
  }
  std::vector<RdKafka::TopicPartition*> assignment;
  Status status;
  for (const std::int32_t partition : partitions) {
    if (partition < 0 || partition >= partition_count_) {
      status = Status::invalid_argument(
          fmt::format("topic {} has no partition {}", options_.topic, partition));
      break;
    }
    status = open_shard(partition);
    if (!status.is_ok()) break;
    assignment.push_back(RdKafka::TopicPartition::create(options_.topic, partition,
                                                         shards_.at(partition).next_offset));
  }
  if (status.is_ok()) {
    const RdKafka::ErrorCode assigned = consumer_->assign(assignment);
    if (assigned != RdKafka::ERR_NO_ERROR) status = kafka_error("assign", assigned);
  }
  RdKafka::TopicPartition::destroy(assignment);
  LF_RETURN_IF_ERROR(status);
  assigned_once_ = true;
  log(fmt::format("run: consuming {} partitions of {} ({} in all), offsets committed as group {}",
                  partitions.size(), options_.topic, partition_count_, options_.group));
  return Status::ok();
}

Status Runner::add_message(Shard& shard, const RdKafka::Message& message) {
  const std::int64_t offset = message.offset();
  if (offset < shard.next_offset ||
      (shard.pending_next_offset >= 0 && offset < shard.pending_next_offset)) {
    return Status::ok();  // Already applied (a redelivery): never twice.
  }
  const std::int64_t expected =
      shard.pending_next_offset >= 0 ? shard.pending_next_offset : shard.next_offset;
  if (offset > expected) {
    // Legitimate on real Kafka (transaction markers, compaction); logged so
    // that an operator sees it.
    log(fmt::format("run: shard {}: offsets {}..{} absent from the topic", shard.name, expected,
                    offset - 1));
  }
  const ledger::SourcePosition source{options_.topic, message.partition(), offset};
  const std::string_view payload(static_cast<const char*>(message.payload()), message.len());
  const RdKafka::MessageTimestamp ts = message.timestamp();
  DecodedMessage decoded = decode_message(payload, source, ts.timestamp);
  if (shard.commands.size() + decoded.commands.size() > options_.batch_commands) {
    LF_RETURN_IF_ERROR(flush(shard));
  }
  if (shard.pending_next_offset < 0) shard.first_pending = Clock::now();
  if (decoded.poison != PoisonReason::none) {
    DeadLetter letter;
    letter.source = source;
    letter.timestamp_ms = ts.timestamp;
    letter.reason = decoded.poison;
    letter.detail = decoded.detail;
    if (message.key_pointer() != nullptr) {
      letter.key.assign(static_cast<const char*>(message.key_pointer()), message.key_len());
    }
    letter.payload.assign(payload);
    const std::uint64_t index = shard.dead_letters + shard.letters.size();
    shard.letters.push_back({dlq_key(index), encode_dead_letter(letter)});
    log(fmt::format("run: shard {}: offset {} dead-lettered ({}: {})", shard.name, offset,
                    poison_reason_name(decoded.poison), decoded.detail));
  }
  for (ledger::Command& command : decoded.commands) shard.commands.push_back(std::move(command));
  shard.pending_next_offset = offset + 1;
  return Status::ok();
}

Status Runner::flush(Shard& shard) {
  if (shard.pending_next_offset < 0) return Status::ok();
  std::vector<engine::MetaPut> meta = std::move(shard.letters);
  shard.letters.clear();
  const std::uint64_t letters = meta.size();
  if (letters != 0) {
    meta.push_back(
        {std::string(meta_dlq_count_key), engine::u64be_value(shard.dead_letters + letters)});
  }
  meta.push_back({offset_key(options_.topic, shard.report.partition),
                  engine::u64be_value(static_cast<std::uint64_t>(shard.pending_next_offset))});
  Result<engine::BatchResult> result = shard.engine->apply(shard.commands, meta);
  if (!result.is_ok()) {
    return result.status().with_context("shard " + shard.name);
  }
  for (const ledger::Outcome& outcome : result->outcomes) {
    if (outcome.duplicate) {
      ++shard.report.duplicates;
    } else if (outcome.status == ledger::OutcomeStatus::accepted) {
      ++shard.report.accepted;
    } else {
      ++shard.report.rejected;
    }
  }
  ++shard.report.batches;
  shard.report.commands += shard.commands.size();
  shard.report.dead_letters += letters;
  shard.dead_letters += letters;
  shard.next_offset = shard.pending_next_offset;
  shard.report.next_offset = shard.next_offset;
  shard.report.next_seq = result->next_seq;
  LF_RETURN_IF_ERROR(shard.relay->pump_batch(*result, shard.commands));
  shard.commands.clear();
  shard.pending_next_offset = -1;
  if (shard.snapshots) {
    Result<std::optional<engine::SnapshotInfo>> taken =
        shard.snapshots->maybe_snapshot(*shard.engine);
    if (!taken.is_ok()) return taken.status().with_context("shard " + shard.name + " snapshot");
    if (taken->has_value()) {
      log(fmt::format("run: shard {}: snapshot {} at seq {}", shard.name, (*taken)->name,
                      (*taken)->manifest.seq));
    }
  }
  if (options_.on_commit) options_.on_commit(shard.report);
  // Kafka's committed offset is for lag monitoring only (and for producers
  // that throttle on it); the stored one is the truth.
  std::vector<RdKafka::TopicPartition*> offsets{
      RdKafka::TopicPartition::create(options_.topic, shard.report.partition, shard.next_offset)};
  consumer_->commitAsync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
  ++batches_since_relay_flush_;
  return relay_progress(false);
}

Status Runner::flush_all() {
  for (auto& [partition, shard] : shards_) LF_RETURN_IF_ERROR(flush(shard));
  return Status::ok();
}

// Records relay progress once the producer has delivered everything: at once
// when it is idle, else every relay_flush_every_batches batches (waiting).
Status Runner::relay_progress(bool force) {
  publisher_->poll();
  if (!publisher_->idle()) {
    if (!force && batches_since_relay_flush_ < relay_flush_every_batches) {
      return publisher_->failure();
    }
    LF_RETURN_IF_ERROR(publisher_->flush());
  }
  batches_since_relay_flush_ = 0;
  for (auto& [partition, shard] : shards_) {
    LF_RETURN_IF_ERROR(shard.relay->record_delivered());
    shard.report.relay = shard.relay->stats();
  }
  return Status::ok();
}

bool Runner::drained() const {
  if (!assigned_once_ || shards_.empty()) return false;
  for (const auto& [partition, shard] : shards_) {
    if (!shard.at_eof || shard.pending_next_offset >= 0) return false;
  }
  return true;
}

Status Runner::handle(RdKafka::Message& message) {
  switch (message.err()) {
    case RdKafka::ERR_NO_ERROR: {
      auto it = shards_.find(message.partition());
      if (message.topic_name() != options_.topic || it == shards_.end()) return Status::ok();
      it->second.at_eof = false;
      last_message_ = Clock::now();
      return add_message(it->second, message);
    }
    case RdKafka::ERR__TIMED_OUT:
      return Status::ok();
    case RdKafka::ERR__PARTITION_EOF: {
      auto it = shards_.find(message.partition());
      if (it != shards_.end()) it->second.at_eof = true;
      return Status::ok();
    }
    case RdKafka::ERR__AUTO_OFFSET_RESET:
    case RdKafka::ERR_OFFSET_OUT_OF_RANGE:
      return Status::failed(fmt::format(
          "partition {}: the stored offset is no longer on the broker ({}); refusing to skip "
          "commands. Restore the shard from a snapshot taken after the broker's earliest offset, "
          "or re-publish the missing commands",
          message.partition(), message.errstr()));
    default:
      // Transient (broker down, leader change): librdkafka retries by itself.
      log(fmt::format("run: Kafka: {}", message.errstr()));
      return Status::ok();
  }
}

Status Runner::finish() {
  LF_RETURN_IF_ERROR(flush_all());
  LF_RETURN_IF_ERROR(relay_progress(true));
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [partition, shard] : shards_) {
    offsets.push_back(
        RdKafka::TopicPartition::create(options_.topic, partition, shard.next_offset));
  }
  if (!offsets.empty()) consumer_->commitSync(offsets);  // Monitoring only: best effort.
  RdKafka::TopicPartition::destroy(offsets);
  return Status::ok();
}

Result<RunReport> Runner::run() {
  if (options_.batch_commands < 1 || options_.batch_commands > ledger::batch_commands_max) {
    return Status::invalid_argument(fmt::format(
        "batch of {} commands outside 1..{}", options_.batch_commands, ledger::batch_commands_max));
  }
  std::error_code mkdir_error;
  std::filesystem::create_directories(options_.db_dir, mkdir_error);
  if (mkdir_error) {
    return Status::io_error(
        fmt::format("cannot create {}: {}", options_.db_dir, mkdir_error.message()));
  }
  Result<std::unique_ptr<Publisher>> publisher = Publisher::create(options_.kafka);
  if (!publisher.is_ok()) return publisher.status();
  publisher_ = std::move(publisher).value();

  Result<std::unique_ptr<RdKafka::Conf>> conf =
      make_conf(options_.kafka,
                {{"group.id", options_.group},
                 {"enable.auto.commit", "false"},
                 {"enable.auto.offset.store", "false"},
                 {"auto.offset.reset", "error"},
                 {"enable.partition.eof", "true"},
                 {"fetch.wait.max.ms", "10"},
                 // A crashed member's partitions move after this long (Kafka's
                 // default is 45 s); -X overrides it.
                 {"session.timeout.ms", "10000"}},
                {"enable.auto.commit", "enable.auto.offset.store", "auto.offset.reset",
                 "enable.partition.eof", "group.id"});
  if (!conf.is_ok()) return conf.status();
  std::string error;
  if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), error) !=
      RdKafka::Conf::CONF_OK) {
    return Status::invalid_argument(error);
  }
  consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
  if (consumer_ == nullptr) return Status::io_error("cannot create the Kafka consumer: " + error);

  Result<std::int32_t> count = partition_count(*consumer_, options_.topic);
  if (!count.is_ok()) return count.status();
  partition_count_ = *count;
  for (const std::string* relay_topic :
       {&options_.relay.outcomes, &options_.relay.events, &options_.relay.dead_letters}) {
    if (relay_topic->empty()) continue;
    Result<std::int32_t> exists = partition_count(*consumer_, *relay_topic);
    if (!exists.is_ok()) {
      return Status::not_found(exists.status().message() +
                               " (create it, or give '' to publish nothing there)");
    }
  }
  if (options_.partitions.empty() && !options_.all_partitions) {
    const RdKafka::ErrorCode subscribed = consumer_->subscribe({options_.topic});
    if (subscribed != RdKafka::ERR_NO_ERROR) return kafka_error("subscribe", subscribed);
    log(fmt::format("run: consuming {} ({} partitions) as a member of group {}", options_.topic,
                    partition_count_, options_.group));
  } else {
    LF_RETURN_IF_ERROR(assign_static());
  }

  Status status;
  while (status.is_ok() && !(options_.stop != nullptr && options_.stop->load())) {
    int wait_ms = consume_poll_ms;
    for (const auto& [partition, shard] : shards_) {
      if (shard.pending_next_offset < 0) continue;
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - shard.first_pending)
              .count();
      wait_ms = std::min<int>(wait_ms, std::max<int>(0, options_.batch_wait_ms - waited));
    }
    std::unique_ptr<RdKafka::Message> message(consumer_->consume(wait_ms));
    if (!fatal_.is_ok()) {
      status = fatal_;
      break;
    }
    status = handle(*message);
    if (!status.is_ok()) break;
    const bool timed_out = message->err() != RdKafka::ERR_NO_ERROR;
    for (auto& [partition, shard] : shards_) {
      if (shard.pending_next_offset < 0) continue;
      const bool due =
          timed_out || shard.at_eof ||
          Clock::now() - shard.first_pending >= std::chrono::milliseconds(options_.batch_wait_ms);
      if (due) status = flush(shard);
      if (!status.is_ok()) break;
    }
    if (!status.is_ok()) break;
    if (timed_out) status = relay_progress(false);
    if (options_.until_idle && drained() &&
        Clock::now() - last_message_ >= std::chrono::milliseconds(options_.idle_ms)) {
      log("run: every shard is drained and idle; stopping");
      break;
    }
  }
  if (status.is_ok()) status = finish();
  consumer_->close();
  if (!status.is_ok()) return status;

  RunReport report;
  report.partition_count = partition_count_;
  for (auto& [partition, shard] : shards_) closed_[partition] = shard.report;
  for (auto& [partition, shard_report] : closed_) report.shards.push_back(shard_report);
  return report;
}

}  // namespace

std::string shard_directory(const std::string& db_dir, const std::string& topic,
                            std::int32_t partition) {
  return fmt::format("{}/{}-{}", db_dir, topic, partition);
}

Result<std::int32_t> partition_count(RdKafka::Handle& handle, const std::string& topic) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(metadata_timeout_ms);
  std::string last_error = "no metadata";
  while (Clock::now() < deadline) {
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode err = handle.metadata(true, nullptr, &raw, 2000);
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (err != RdKafka::ERR_NO_ERROR) {
      last_error = RdKafka::err2str(err);
      continue;
    }
    for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
      if (t->topic() != topic) continue;
      if (t->err() != RdKafka::ERR_NO_ERROR) {
        return Status::not_found(
            fmt::format("Kafka topic {}: {}", topic, RdKafka::err2str(t->err())));
      }
      const auto n = static_cast<std::int32_t>(t->partitions()->size());
      if (n < 1 || static_cast<std::uint32_t>(n) > ledger::shard_count_max) {
        return Status::invalid_argument(fmt::format("topic {} has {} partitions; allowed 1..{}",
                                                    topic, n, ledger::shard_count_max));
      }
      return n;
    }
    last_error = "topic " + topic + " does not exist";
    break;
  }
  return Status::not_found(fmt::format("Kafka topic {}: {}", topic, last_error));
}

Result<RunReport> run(const RunOptions& options) {
  Runner runner(options);
  return runner.run();
}

}  // namespace lf::streams
