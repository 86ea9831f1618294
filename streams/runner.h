// The engine daemon: consumes the commands topic, applies every command
// exactly once, and relays outcomes, events and dead letters.
//
// Exactly once, by construction:
//   * each partition of the commands topic is one shard: its own store
//     directory (<db>/<topic>-<partition>), its own sequence, hash chain and
//     ShardRule {partition, partition count};
//   * the next offset to consume is stored in the shard's meta in the SAME
//     RocksDB WriteBatch as the events its messages produced, and on
//     assignment the consumer starts from it (never from Kafka's committed
//     offsets, which are committed asynchronously for lag monitoring only);
//   * a crash anywhere leaves either the whole batch and its offset or
//     neither, so a restart re-reads exactly the messages not applied;
//   * commands are idempotent by id as a second line of defence.
// Nothing is skipped: auto.offset.reset is "error", so a stored offset the
// broker no longer has stops the shard with a message instead of jumping.
// A poison message becomes a dead-letter record in the batch (its offset
// advances); valid commands around it are applied.
//
// Thread-safety: run() owns its consumer, producer and engines; `stop` may be
// set from another thread (a signal handler thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "ledger/status.h"
#include "streams/kafka.h"
#include "streams/relay.h"

namespace lf::streams {

inline constexpr int consume_poll_ms = 100;
inline constexpr int metadata_timeout_ms = 10'000;
inline constexpr std::size_t relay_flush_every_batches = 64;

struct ShardReport {
  std::int32_t partition = -1;
  std::string directory;
  std::uint64_t batches = 0;
  std::uint64_t commands = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t dead_letters = 0;
  std::int64_t next_offset = 0;
  ledger::Sequence next_seq = 1;
  RelayStats relay;
};

struct RunOptions {
  KafkaSettings kafka;
  std::string topic;                 // The commands topic.
  std::string group = "ledgerflow";  // Kafka consumer group.
  // Empty: join `group` and own the partitions it assigns (scale-out across
  // engine instances). Else own exactly these partitions, without group
  // membership (no rebalance wait at start or after a crash); offsets are
  // still committed under `group` for lag monitoring.
  std::vector<std::int32_t> partitions;
  bool all_partitions = false;        // Own every partition, without group membership.
  std::string db_dir;                 // One store per shard below it.
  RelayTopics relay;                  // Where outcomes, events and dead letters go.
  bool until_idle = false;            // Exit once every shard is drained and idle.
  int idle_ms = 2000;                 // How long "idle" is.
  std::size_t batch_commands = 4096;  // Commands per engine batch (<= batch_commands_max).
  int batch_wait_ms = 10;             // Longest wait to fill a batch.
  engine::EngineOptions engine;       // Per shard; its shard rule is set here.
  // Snapshots of each shard every this many events (0: none), kept in
  // <store>.snapshots (engine/snapshot.h), the newest snapshot_keep kept.
  std::uint64_t snapshot_every_events = 0;
  std::size_t snapshot_keep = 3;
  // Run a full verify() of each shard at start (reads the whole log); a store
  // that fails it is recovered like a damaged one. Default: only the cheap
  // tail check.
  bool verify_on_start = false;
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const std::string&)> log;  // Progress lines; may be empty.
  // Called after each durable batch (metrics, tests); may be empty.
  std::function<void(const ShardReport&)> on_commit;
};

struct RunReport {
  std::int32_t partition_count = 0;
  std::vector<ShardReport> shards;  // Every shard this run owned, by partition.
};

// Recovery at startup, per shard (logged): a missing store, or one that
// cannot be opened or whose head does not match its last event (or, with
// verify_on_start, that fails verify()), is moved
// aside (<store>.corrupt) and replaced by the newest snapshot that verifies;
// consumption resumes from the offsets stored in it. Without a good snapshot
// the shard starts empty from offset 0 (and stops if the broker no longer
// has offset 0). Interrupted snapshot creations are removed.
//
// Runs until *stop, or until idle with until_idle. An operating error
// (RocksDB, Kafka, a stored offset the broker lost) ends the run with it.
Result<RunReport> run(const RunOptions& options);

// The store directory of a shard.
std::string shard_directory(const std::string& db_dir, const std::string& topic,
                            std::int32_t partition);

// The number of partitions of `topic` (waits up to metadata_timeout_ms).
Result<std::int32_t> partition_count(RdKafka::Handle& handle, const std::string& topic);

}  // namespace lf::streams
