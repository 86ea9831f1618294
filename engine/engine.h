// Engine: one shard of the ledger. Owns one RocksDB store directory and turns
// batches of commands into outcomes and durable, hash-chained events.
//
// apply() is the whole write path (TigerBeetle's prefetch/commit split):
//   1. prefetch: read every key the batch touches (accounts, pending
//      transfers, command ids, due expiries) into a ledger::WorkingSet;
//   2. decide: run the pure state machine over the batch, in memory;
//   3. commit: encode events (each chained to its predecessor by SHA-256),
//      the head and any caller-supplied meta entries (Kafka offsets) into ONE
//      rocksdb::WriteBatch, written with one WAL sync (group commit). Nothing
//      is ever half-applied.
// Outcomes are returned only after the commit is durable. submit() and
// complete() run the same three phases with phase 3 on a writer thread, so
// that the next batch is decided while this one is written (same bytes).
//
// Projections (accounts, pending transfers, idempotency records, the expiry
// index) are derived from the log, so they are not written with every batch:
// the engine keeps the entries decided since the last projection flush in
// memory and writes them with the batch that crosses
// projections_flush_events_max (and on checkpoint() and close). The meta
// entry "projected" says where the stored projections stand; open()
// re-executes the logged commands after it, requires them to reproduce the
// logged events byte for byte, and flushes (docs/storage.md#projections).
// Queries see the decided state: they read the unflushed entries first.
//
// Several engines (shards) can live in one process, one directory each.
//
// Failure: an operating error during commit leaves the store as it was before
// the batch (RocksDB's batch atomicity). The engine then refuses further
// writes (Status::failed) until reopened, because RocksDB may have stopped
// accepting writes and the caller must decide what to do.
//
// Thread-safety: an Engine is used by one thread at a time (the shard's
// writer); its own writer thread only ever runs phase 3 of submitted
// batches. Read-only queries may run concurrently with each other but not
// with apply() or with batches in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_block.h"
#include "engine/records.h"
#include "ledger/shard.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "schemas/codec.h"

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class Cache;
class WriteBatch;
}  // namespace rocksdb

namespace lf::engine {

struct EngineOptions {
  // Sync the write-ahead log once per batch before returning outcomes.
  // Default: true. false trades durability of the last batches for speed.
  bool sync_commits = true;
  // Create the store if the directory holds none. Default: true.
  bool create_if_missing = true;
  // Write the per-account history index in the commit's own batch (true) or
  // leave it to catch_up_history() just behind the log (false): history()
  // catches up before answering, and callers catch up when idle. Behind keeps
  // index writes off the commit path. Default: false.
  bool history_index_inline = false;
  // Accounts kept in memory between batches, each with its newest decided
  // value or known absent (prefetch reads the store only for the others).
  // After a batch that leaves more than this many, they are all dropped
  // (their written values go to the unflushed projections first), so at most
  // one batch's accounts more are held. Their memory is kept for reuse at its peak. Default: 1M.
  std::size_t account_cache_entries_max = 1u << 20;
  // RocksDB block cache. Default: 128 MiB.
  std::size_t block_cache_bytes = 128u << 20;
  // Memtable size per column family. Smaller memtables keep the skiplist
  // shallow, which measured faster for random account and command keys
  // (docs/benchmarks.md). Default: 16 MiB.
  std::size_t write_buffer_bytes = 16u << 20;
  // Read table files through memory mappings (docs/storage.md#reads): faster
  // (blocks come straight from the page cache), but a media error while
  // reading a mapped file ends the process with SIGBUS instead of returning
  // an I/O error. The store on disk is unchanged by it, and a restart
  // recovers as after any crash. Default: true.
  bool mmap_reads = true;
  // Table files the store keeps open (and mapped) at once; others are opened
  // when read and closed again, least recently used first. Without a cap
  // every file stays open: the log's files are never merged (about 170 per GB
  // of log, docs/storage.md#compression), so a store of a few GB would run
  // into the process's open-file limit (often 1,024) or vm.max_map_count.
  // RocksDB keeps 10 of these for other files and raises anything below 20
  // to 20; a negative value keeps every file open. Default: 1,000.
  int open_files_max = 1000;
  // RocksDB environment (tests inject faults through it). Default: the OS.
  rocksdb::Env* env = nullptr;
  // Which books this shard owns (ledger/shard.h). Recorded in the store when
  // it is created; opening it later with another rule fails, since the rule
  // is an input of every decision. Absent: the store's own rule (one shard
  // owning everything for a new store), which is what queries and audits use.
  std::optional<ledger::ShardRule> shard;
  // Open without writing anything (snapshot verification): apply() and every
  // other write then fail. A log tail after the stored projections is
  // re-executed in memory. Default: false.
  bool read_only = false;
  // Events decided between projection flushes (see above). Default:
  // projections_flush_events_max; tests lower it to flush often.
  std::uint64_t projections_flush_events = 0;
  // Flush projections when the engine closes. Default: true; tests of crash
  // recovery turn it off to leave a log tail for the next open.
  bool flush_projections_on_close = true;
  // Refuse batches holding a command that decodes to more than
  // codec::command_decode_bytes_max, or with a source topic longer than
  // codec::source_topic_bytes_max (apply, submit). Default: true; re-executing
  // a log turns it off, so that commands logged before the check existed
  // still re-execute.
  bool check_command_sizes = true;
};

// Batches decided and not yet durable at once (Engine::submit): one being
// written while the next ones are decided. A batch that flushes projections
// keeps the writer about four regular batches' time (engine_bench: 75k
// memtable inserts against a few); with room for 8, the deciding thread runs
// ahead instead of waiting for it. With 2, it waited about a quarter of the
// time and engine_bench was 10% to 25% slower (docs/benchmarks.md). Callers
// choose their depth up to this: each batch in flight adds its commit wait to
// the next ones' latency.
inline constexpr std::size_t pipeline_batches_max = 8;

// Projection entries are flushed to the store by the first batch that brings
// the events decided since the last flush to this many, or the unflushed
// entries (accounts, holds, command records, expiry changes) to the second.
// The first bounds the log tail that open() re-executes after a crash; the
// second bounds memory (a few hundred bytes per entry).
inline constexpr std::uint64_t projections_flush_events_max = 1u << 16;
inline constexpr std::size_t projections_unflushed_entries_max = 1u << 18;

// A meta entry written atomically with a batch (e.g. a Kafka offset).
struct MetaPut {
  std::string key;
  std::string value;
};

struct BatchResult {
  std::vector<ledger::Outcome> outcomes;  // One per command, in order.
  ledger::Sequence first_seq = 0;         // Events this batch appended:
  ledger::Sequence next_seq = 0;          //   [first_seq, next_seq).
};

// One entry of an account's history: an event that moved its balance.
struct HistoryEntry {
  ledger::Sequence seq = 0;
  ledger::Event event;
};

struct HistoryPage {
  std::vector<HistoryEntry> entries;
  ledger::Sequence indexed_through = 0;  // The index covers events 1..indexed_through.
  ledger::Sequence log_head = 0;         // Last event in the log.
};

// Where apply() spends its time, summed over all batches (for benchmarks and
// metrics; never an input to a decision).
struct ApplyStats {
  std::uint64_t batches = 0;
  std::uint64_t commands = 0;
  std::uint64_t prefetch_ns = 0;
  std::uint64_t decide_ns = 0;
  // Events chained (SHA-256 of each), projections and the write batch
  // encoded (writer thread). Since session 11, decide_ns includes encoding
  // and sealing the events (in rounds, as their commands are decided) and
  // encode_ns includes chaining them; before, both were a seal phase of
  // their own.
  std::uint64_t encode_ns = 0;
  std::uint64_t write_ns = 0;  // RocksDB write, WAL sync included.
  // CPU time of the writer thread (submit() only; apply() writes on the
  // caller's thread): write_ns less this is mostly waiting for the sync.
  std::uint64_t writer_cpu_ns = 0;
  // Of those, the batches that flushed projections.
  std::uint64_t flushes = 0;
  std::uint64_t flush_encode_ns = 0;
  std::uint64_t flush_write_ns = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(const std::string& directory,
                                              const EngineOptions& options = {});
  ~Engine();

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Decides and durably commits one batch. REQUIRES: 0..batch_commands_max
  // commands, and at least one command or meta entry; no command that decodes
  // to more than codec::command_decode_bytes_max or names a source topic
  // longer than codec::source_topic_bytes_max (else invalid_argument, nothing
  // applied: the decoders and the Kafka runner never produce one). `meta` entries are
  // written in the same atomic batch (a batch of meta entries alone is how a
  // consumer records dead letters and offsets of messages without commands).
  Result<BatchResult> apply(std::span<const ledger::Command> commands,
                            std::span<const MetaPut> meta = {});
  // ---- Pipelined writes: the same batches, decided and written by two
  // threads. submit() prefetches and decides a batch now, on the caller's
  // thread (prefetch reads the batches still in flight before the store),
  // and encodes its events; it hands their chaining, the write and the WAL
  // sync to the engine's writer thread, so that the next batch is decided while this one is
  // written. complete() waits until the oldest submitted batch is durable
  // and returns its result: outcomes count only once complete() returned
  // them, exactly as with apply(). The log is byte for byte the one apply()
  // writes (tests/engine/pipeline_test.cc).
  // REQUIRES for submit(): 1..batch_commands_max commands, fewer than
  // pipeline_batches_max batches in flight (else invalid_argument), and no
  // inline history indexing. A write failure fails its batch and every later
  // one (Status::failed). apply(), put_meta() and checkpoint() refuse to run
  // with batches in flight (invalid_argument); queries must not overlap them
  // either (they would not see them). The destructor writes the batches
  // still in flight before closing.
  Status submit(std::span<const ledger::Command> commands, std::span<const MetaPut> meta = {});
  Result<BatchResult> complete();
  std::size_t in_flight() const { return in_flight_.size(); }

  // Writes meta entries outside any batch of commands (e.g. an outbox
  // relay's progress), synced when `sync`.
  Status put_meta(std::span<const MetaPut> meta, bool sync);
  // The encoding new events are written with (Envelope.schema_version).
  // Default: codec::event_schema_version. Re-executing a log that was written
  // with an older one sets it, so that the events come out byte for byte as
  // logged. REQUIRES: no batch in flight (else invalid_argument), a version in
  // codec::event_schema_version_min..codec::event_schema_version.
  Status set_event_schema_version(std::uint16_t version);
  std::uint16_t event_schema_version() const { return event_schema_version_; }
  // Meta entries whose keys start with `prefix`, from `prefix + from_suffix`
  // on, in key order; fn returns false to stop.
  Status for_each_meta(std::string_view prefix, std::string_view from_suffix,
                       const std::function<bool(std::string_view key, std::string_view value)>& fn);
  // The rule the store was created with.
  const ledger::ShardRule& shard() const { return shard_; }

  const Head& head() const { return head_; }
  const ApplyStats& stats() const { return stats_; }
  const std::string& directory() const { return directory_; }

  // ---- Queries (read the decided state: projections decided, maybe not yet
  // durable, over the stored ones).
  Result<std::optional<ledger::Account>> account(std::string_view id);
  // Every account in id order; fn returns false to stop.
  Status for_each_account(const std::function<bool(const ledger::Account&)>& fn);
  Result<std::optional<ledger::PendingTransfer>> pending(std::string_view id);
  Status for_each_pending(const std::function<bool(const ledger::PendingTransfer&)>& fn);
  Result<std::optional<ledger::CommandRecord>> command_record(std::string_view id);
  // Every remembered command id in id order; fn returns false to stop.
  Status for_each_command_record(const std::function<bool(const ledger::CommandRecord&)>& fn);
  // Every stored expiry index entry in (expires_at_ms, id) order.
  Status for_each_expiry(const std::function<bool(const ledger::ExpiryKey&)>& fn);
  Result<std::optional<std::string>> meta(std::string_view key);
  // Every meta entry whose key starts with `prefix`, in key order.
  Status for_each_meta(std::string_view prefix,
                       const std::function<bool(std::string_view key, std::string_view value)>& fn);
  // Events with seq >= from, verified (hash, layout, balance) as they are
  // read; fn returns false to stop. The chain itself is checked by verify().
  Status for_each_event(ledger::Sequence from,
                        const std::function<bool(const codec::OpenedEvent&)>& fn);
  // The raw stored bytes of every event from `from` on (for verify/tests).
  Status for_each_raw_event(
      ledger::Sequence from,
      const std::function<bool(ledger::Sequence key_seq, std::string_view bytes)>& fn);
  // Events that touched `account`, newest first, up to `limit`, starting
  // below `before_seq` (0 = from the newest). Catches the index up first.
  Result<HistoryPage> history(std::string_view account, std::size_t limit,
                              ledger::Sequence before_seq = 0);
  // Indexes events the history index has not covered yet.
  Status catch_up_history();

  // Flushes memtables to SST files (for measuring bytes on disk).
  Status flush();
  // Writes the projection entries decided since the last flush (synced).
  // REQUIRES: no batch in flight.
  Status flush_projections();
  // Events decided since the last projection flush.
  std::uint64_t unflushed_events() const;
  // Accounts held in memory (EngineOptions::account_cache_entries_max).
  std::size_t resident_accounts() const;
  // Where the stored projections stand (== head() when all are flushed).
  const Head& projected() const { return projected_; }
  // Bytes of all files in the store directory.
  Result<std::uint64_t> disk_bytes() const;

  // ---- Snapshots and rebuilds (engine/snapshot.h, engine/replay.h).
  // A consistent RocksDB checkpoint of the whole store in `directory`, which
  // must not exist: SST files are hard-linked where the file system allows,
  // the rest copied. REQUIRES: no apply() running.
  Status checkpoint(const std::string& directory);
  // Turns the closed store in `directory` (a checkpoint of another store)
  // into its event log alone: every other column family is dropped and
  // created again, empty. A rebuild keeps the source's log files (hard links)
  // this way and rebuilds the rest (engine/replay.h). REQUIRES: `directory`
  // is such a checkpoint, never a live store: every projection in it is lost.
  static Status keep_only_log(const std::string& directory, const EngineOptions& options);
  // Column families that load_raw() may write.
  enum class Family : std::uint8_t { events, accounts, pending, commands, expiry, meta };
  struct RawPut {
    Family family = Family::meta;
    std::string key;
    std::string value;
  };
  // Writes already encoded entries in one atomic batch without the WAL, then
  // rereads the head: for building a fresh store from a log (engine/replay.h),
  // which flush()es when done. REQUIRES: no apply() running.
  Status load_raw(std::span<const RawPut> puts);
  // Bulk loading of one column family of a fresh store: entries go straight
  // into an SST file (no memtable, no WAL) that finish() ingests. Far cheaper
  // than load_raw() for a whole log or projection.
  class BulkLoad {
   public:
    virtual ~BulkLoad() = default;
    // REQUIRES: keys strictly ascending, and none present in the family yet.
    virtual Status add(std::string_view key, std::string_view value) = 0;
    // Ingests what was added (nothing to do when nothing was).
    virtual Status finish() = 0;
  };
  // REQUIRES: no batch is decided until finish() (accounts read meanwhile
  // would stay in memory as they were before the ingest).
  Result<std::unique_ptr<BulkLoad>> bulk_load(Family family);

  // For tests of tamper detection: raw access behind the engine's back.
  // Events are stored in one block per batch (engine/keys.h).
  Result<ledger::Sequence> debug_block_of(ledger::Sequence seq);  // First seq of its block.
  Result<std::vector<std::string>> debug_read_block(ledger::Sequence first_seq);
  Status debug_write_block(ledger::Sequence first_seq, const std::vector<std::string>& entries);
  Status debug_put_account_raw(std::string_view id, std::string_view bytes);

 private:
  Engine() = default;
  Status load_head();
  Status load_shard_rule();
  // Re-decides the commands logged after projected_ (a crash between
  // projection flushes), checks the events against the log byte for byte and
  // keeps the projections they imply as unflushed entries.
  Status catch_up_projections();
  Status prefetch(std::span<const ledger::Command> commands, ledger::WorkingSet& state);
  Status load_accounts(std::vector<std::string>& ids, ledger::WorkingSet& state);
  // Gives `id` a resident cell holding `value` and loads it. REQUIRES: no cell yet.
  void load_new_cell(std::string_view id, std::optional<ledger::Account> value,
                     ledger::WorkingSet& state);
  Status load_pendings(std::vector<std::string>& ids, ledger::WorkingSet& state,
                       std::vector<std::string>& accounts_out);
  Status load_commands(std::vector<std::string>& ids, ledger::WorkingSet& state);
  Status load_due_expiries(ledger::TimestampMs through, ledger::WorkingSet& state,
                           std::vector<std::string>& pendings_out);
  Result<std::optional<std::string>> get(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  Result<ledger::Sequence> history_indexed_through();
  // Writes `batch` (WAL synced when `sync`); a failure sets failed_.
  Status write(rocksdb::WriteBatch& batch, bool sync, std::string_view what);
  // Status::failed once a write has failed.
  Status require_writable() const;
  // invalid_argument naming `what` when batches are in flight.
  Status require_idle(std::string_view what) const;
  // invalid_argument naming `what` when projections are waiting in memory.
  Status require_flushed(std::string_view what) const;
  // With no batch in flight: the next batch is decided and chained from the
  // committed head.
  void start_from_committed_head();
  // Projection entries not yet in the store (engine.cc).
  struct Projections;
  // No projection entry is waiting in memory (unflushed_ or a written cell).
  bool projections_empty() const;
  // Copies the written account cells' values into unflushed_
  // (ResidentAccounts::cut_into): at a flush cut, before a scan of accounts.
  void cut_accounts();
  // cut_accounts(), then forgets every resident account: for writes that go
  // around the decided path (raw loads, bulk loads, debug tampering).
  void drop_resident_accounts();
  // The newest unflushed value of a key: from unflushed_, else from the
  // flushes of the batches in flight; nullptr when none has it. For accounts,
  // callers look in the resident cells first (they hold newer values).
  template <typename T>
  const std::optional<T>* unflushed_value(std::string_view id) const;
  template <typename T>  // REQUIRES: hash == ledger::id_hash(id).
  const std::optional<T>* unflushed_value(std::string_view id, std::uint64_t hash) const;
  // Prefetches the map slots that unflushed_value(id, hash) reads.
  template <typename T>
  void prefetch_unflushed(std::uint64_t hash) const;
  // Loads into the working set (through `load`) the ids with unflushed
  // values, and removes them from `ids`.
  template <typename T, typename Load>
  void load_unflushed(std::vector<std::string>& ids, Load&& load) const;
  // A decided batch on its way to disk (engine.cc).
  struct Decided;
  // Hands unflushed_ to `batch` when a flush limit is reached.
  void maybe_flush_with(Decided& batch);
  // Events after which decided projections are flushed (the option, or
  // projections_flush_events_max).
  std::uint64_t flush_events_max() const;
  class Writer;
  // Prefetches, decides and seals a batch (deciding thread); keeps its
  // events in Decided::events when `keep_events`, else drops them once
  // sealed.
  Result<std::unique_ptr<Decided>> decide_batch(std::span<const ledger::Command> commands,
                                                std::span<const MetaPut> meta, bool keep_events);
  // Encodes and seals the batch's next event into its block, its hashes
  // left for chain_events (deciding thread, in rounds as the batch's
  // commands are decided).
  void seal_event(Decided& batch, const ledger::Event& event);
  // Chains a sealed batch's events after `prev_hash` and sets its chain head
  // (on the writer thread when pipelined, since session 11: SHA-256 of every
  // event's bytes was a tenth of the deciding thread, then the limit of
  // uniform runs).
  static void chain_events(Decided& batch, const Sha256& prev_hash);
  // Keeps a written (or re-executed) batch's event block for a later batch to
  // reuse, up to pipeline_batches_max blocks.
  void keep_spare_block(Decided& done);
  // Chains and writes a decided, sealed batch (on the writer thread when
  // pipelined).
  // Sets failed_ on a write error.
  Status write_decided(Decided& batch);
  // Makes a written batch the engine's state (caller's thread).
  BatchResult finish_decided(Decided& batch);

  std::string directory_;
  EngineOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* accounts_ = nullptr;
  rocksdb::ColumnFamilyHandle* pending_ = nullptr;
  rocksdb::ColumnFamilyHandle* commands_ = nullptr;
  rocksdb::ColumnFamilyHandle* expiry_ = nullptr;
  rocksdb::ColumnFamilyHandle* history_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  Head head_;
  ledger::ShardRule shard_;
  ApplyStats stats_;
  std::atomic<bool> failed_ = false;  // Set by the writer thread too.
  codec::EventEncoder encoder_;       // Deciding thread only (seal_event, open).
  std::uint16_t event_schema_version_ = codec::event_schema_version;
  RecordEncoder records_;  // Whichever thread writes projection flushes.
  // Buffers kept between batches so that their memory is reused instead of
  // faulted in afresh: written batches' event blocks (about 2 MiB at 4,096
  // transfers; deciding thread) and the writer's WriteBatch (about 9 MiB with
  // a flush).
  std::vector<EventBlockWriter> spare_blocks_;
  std::unique_ptr<rocksdb::WriteBatch> write_batch_;
  // Head after the last decided batch (== head_.ledger when none is in
  // flight; deciding thread), and chain head after the last written one (the
  // writer thread's while batches are in flight; set by
  // start_from_committed_head() only when none is).
  ledger::LedgerHead decided_head_;
  Sha256 written_chain_head_{};
  // Where the stored projections stand: as loaded or last flushed (projected_)
  // and as the last written batch left them (the writer thread's copy).
  Head projected_;
  Head written_projected_;
  std::unique_ptr<Projections> unflushed_;          // Decided since the last flush.
  std::deque<std::unique_ptr<Decided>> in_flight_;  // Oldest first.
  std::unique_ptr<Writer> writer_;                  // Started by the first submit().
  // Accounts held in memory between batches, newest decided values.
  struct ResidentAccounts;
  std::unique_ptr<ResidentAccounts> resident_;
};

}  // namespace lf::engine
