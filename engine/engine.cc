#include "engine/engine.h"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "engine/event_block.h"
#include "engine/keys.h"
#include "ledger/assert.h"
#include "ledger/limits.h"
#include "ledger/state_machine.h"

namespace lf::engine {

template <typename T>
using UnflushedMap = ledger::IdMap<std::optional<T>>;

// The accounts the engine holds in memory between batches, each in a cell
// with its newest decided value (or known absent): prefetch hands the cells
// to the working set, which reads and writes them in place (one lookup per
// account per batch, no copies in and out). The cells written since the last
// projection flush are listed; a flush takes a copy of their values
// (cut_into), so that later batches may go on changing the cells while the
// writer encodes the copy. An account without a cell is read from a flush
// still in flight, else from the store.
struct Engine::ResidentAccounts {
  ledger::IdMap<ledger::AccountCell> cells;
  std::vector<ledger::AccountCell*> written;  // Cells written since the last cut.

  // Lists the cells a decided batch wrote (all of them resident: prefetch
  // loads every account by cell).
  void note_written(ledger::WorkingSet& state) {
    state.for_each_dirty_account_cell([this](ledger::AccountCell& cell) {
      if (!cell.listed) {
        cell.listed = true;
        written.push_back(&cell);
      }
    });
  }
  // Copies the written values into `flush` (newest wins) and unlists them.
  void cut_into(UnflushedMap<ledger::Account>& flush) {
    for (ledger::AccountCell* cell : written) {
      LF_ASSERT(cell->written && cell->value);  // Accounts are never deleted.
      auto [entry, inserted] = flush.try_emplace(cell->value->id, cell->value);
      if (!inserted) entry->second = cell->value;
      cell->written = false;
      cell->listed = false;
    }
    written.clear();
  }
};

namespace {

// A sink for WorkingSet::take_dirty_*: the newest value of each id wins.
template <typename T>
auto store_into(UnflushedMap<T>& map) {
  return [&map](const std::string& id, std::optional<T>&& value) {
    // One lookup: try_emplace leaves `value` alone when the id is there.
    auto [it, inserted] = map.try_emplace(id, std::move(value));
    if (!inserted) it->second = std::move(value);
  };
}

}  // namespace

// The newest decided value of every projection entry written since the last
// flush (absent: deleted, or created and rolled back). Lookups only: what is
// written comes out sorted (put(), merged scans), never in hash order.
struct Engine::Projections {
  // Most entries are idempotency records, one per command: room for a whole
  // flush's worth (`flush_events`) from the start, so that the map never
  // rehashes its tens of thousands of nodes while batches are decided.
  explicit Projections(std::uint64_t flush_events) {
    commands.reserve(static_cast<std::size_t>(flush_events));
  }

  UnflushedMap<ledger::Account> accounts;
  UnflushedMap<ledger::PendingTransfer> pendings;
  UnflushedMap<ledger::CommandRecord> commands;
  std::map<ledger::ExpiryKey, bool> expiry;  // Present (put) or absent (delete).
  std::uint64_t events = 0;

  std::size_t entries() const {
    return accounts.size() + pendings.size() + commands.size() + expiry.size();
  }
  bool empty() const { return events == 0 && entries() == 0; }
  // Puts every entry into `batch`, each family in key order.
  void put(rocksdb::WriteBatch& batch, RecordEncoder& records,
           rocksdb::ColumnFamilyHandle* accounts_cf, rocksdb::ColumnFamilyHandle* pending_cf,
           rocksdb::ColumnFamilyHandle* commands_cf, rocksdb::ColumnFamilyHandle* expiry_cf) const;

  template <typename T>
  const UnflushedMap<T>& map() const {
    if constexpr (std::is_same_v<T, ledger::Account>) {
      return accounts;
    } else if constexpr (std::is_same_v<T, ledger::PendingTransfer>) {
      return pendings;
    } else {
      return commands;
    }
  }

  // Takes in (moves out) what a decided batch wrote, accounts aside: they
  // stay in their cells (ResidentAccounts) until the flush is cut.
  void absorb(ledger::WorkingSet& state, std::uint64_t batch_events) {
    events += batch_events;
    state.take_dirty_pendings(store_into(pendings));
    state.take_dirty_commands(store_into(commands));
    for (const auto& [key, present] : state.expiry_changes()) expiry.insert_or_assign(key, present);
  }
};

struct Engine::Decided {
  explicit Decided(const ledger::LedgerHead& head) : state(head) {}
  // Spent once decide_batch() returns: only head() may be read after that
  // (its account slots point at resident cells, which a cut may free).
  ledger::WorkingSet state;
  // The decided events not sealed yet (a round: decide_batch), or all of
  // the batch's when the caller keeps them (for an inline history index).
  std::vector<ledger::Event> events;
  std::vector<MetaPut> meta;
  BatchResult result;
  std::size_t commands = 0;
  std::uint64_t prefetch_ns = 0;
  std::uint64_t decide_ns = 0;  // Sealing included.
  // Projection entries this batch writes (maybe_flush_with), else null. Until
  // it is written, the next batches' prefetch reads them here.
  std::unique_ptr<Projections> flush;
  // The batch's events, encoded and sealed by seal_event() on the deciding
  // thread; chained by chain_events() on the writer thread, which also sets
  // chain_head (handed over by Writer::push and back by Writer::wait, under
  // the writer's mutex).
  EventBlockWriter block;
  // Set by write_decided().
  Sha256 chain_head{};  // After the batch's events.
  Status status;
  Head head;       // After the batch, chain head included.
  Head projected;  // Where the stored projections stand after it.
  std::uint64_t encode_ns = 0;
  std::uint64_t write_ns = 0;
  std::uint64_t writer_cpu_ns = 0;  // Set by the writer thread.
};

namespace {

// Column families, in handle order. DO NOT reorder: open() maps them by name,
// but tests and docs refer to this list.
constexpr const char* column_family_names[] = {"default",  "events", "accounts", "pending",
                                               "commands", "expiry", "history",  "meta"};

// Decided events sealed together (decide_batch): few enough to stay in the
// core's cache between being built and being sealed, many enough that
// deciding and encoding do not take turns at evicting each other's data.
constexpr std::size_t seal_events_per_round = 256;

// Events read per step of a history catch-up (one write batch each).
constexpr std::size_t history_catch_up_events_max = 4096;

Status from_rocksdb(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(fmt::format("{}: {}", what, s.ToString()));
  return Status::io_error(fmt::format("{}: {}", what, s.ToString()));
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view view(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Only used without mmap_reads: RocksDB does not read ahead mapped files
// (the kernel's own readahead of the mapping does).
constexpr std::size_t log_scan_readahead_bytes = 4u << 20;

// ZSTD level of the log's files (see use_log_compaction): -1, ZSTD's first
// "fast" level. On a file of transfer events in 2.3 MB blocks (a batch's
// event block), zstd's own benchmark on the project VM gave 1,268 MB/s and a
// ratio of 7.35 at -1, against 894 MB/s and 7.53 at level 1: the flush thread
// compresses every logged byte, on a machine whose two vCPUs also run the
// decider and the writer.
constexpr int log_zstd_level = -1;

// Read options of a scan in key order over a point-lookup family: explicit
// total order, so that a prefix extractor added to those families later
// cannot silently confine scans to one prefix. A whole-family scan (trial
// balance, digest) reads each block once, so it stays out of the block cache
// that prefetch's point lookups need: inserting every block and evicting
// others made a rebuild's digest of the source about 12% of its time slower.
rocksdb::ReadOptions scan_options() {
  rocksdb::ReadOptions options;
  options.total_order_seek = true;
  options.fill_cache = false;
  return options;
}

// Read options of a pass over the log (replay, verify, the relay, history
// catch-up): sequential, so read ahead, and each block read once, so keep it
// out of the block cache, which holds the accounts and ids that prefetch
// needs.
rocksdb::ReadOptions log_scan_options() {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = log_scan_readahead_bytes;
  return options;
}

rocksdb::ColumnFamilyOptions family_options(const EngineOptions& options,
                                            const std::shared_ptr<rocksdb::Cache>& cache,
                                            bool point_lookups) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_bytes;
  // LZ4 at every level, the bottommost too. With ZSTD there (level 3), every
  // compaction into the last level recompressed with it, and the idempotency
  // records these families mostly hold are a third random digest: a profile
  // put 40% of the compaction thread in ZSTD, for about 10 bytes on disk per
  // transfer (docs/storage.md#compression).
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kDisableCompressionOption;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Block checksums as XXH3 rather than RocksDB's default CRC32c: Debian's
  // RocksDB is built for any x86-64, so its CRC32c runs in software (about
  // 1.2 GB/s on the project VM), and every flushed, compacted and read block
  // pays it. Each file records its own checksum type, so stores written with
  // CRC32c stay readable (docs/storage.md#compression).
  table.checksum = rocksdb::kXXH3;
  if (point_lookups) {
    // Most command ids and many account ids are looked up and not found:
    // bloom filters in SSTs and in the memtable answer those without a seek.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
    cf.memtable_whole_key_filtering = true;
    cf.memtable_prefix_bloom_size_ratio = 0.05;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// The log is appended in key order and never rewritten, so every flushed
// file can move down the levels whole (a trivial move) instead of being
// merged and compressed again, provided it is compressed as every level
// wants it: one compression for all levels, and compaction as soon as one
// file lands in level 0. ZSTD (level -1) compresses the log a little better
// than the LZ4 + ZSTD (level 3) it was written with until session 6, and the
// background threads no longer recompress it (docs/storage.md#compression).
void use_log_compaction(rocksdb::ColumnFamilyOptions& cf) {
  cf.compression = rocksdb::kZSTD;
  cf.compression_opts.level = log_zstd_level;
  cf.bottommost_compression = rocksdb::kDisableCompressionOption;
  cf.level0_file_num_compaction_trigger = 1;
}

// RocksDB's table cache rounds each shard's capacity up to at least one file,
// so with its default 64 shards a cap of 20 files kept 48 of 89 open. Shards of at
// least 16 files each keep the overshoot under a sixteenth.
int table_cache_shard_bits(int open_files_max) {
  constexpr int rocksdb_other_files = 10;  // What RocksDB keeps of the cap for non-table files.
  constexpr int files_per_shard_min = 16;
  constexpr int shard_bits_max = 6;               // RocksDB's default.
  if (open_files_max < 0) return shard_bits_max;  // No cap (-1): every file stays open anyway.
  int bits = 0;
  while (bits < shard_bits_max &&
         (2 << bits) * files_per_shard_min <= open_files_max - rocksdb_other_files) {
    ++bits;
  }
  return bits;
}

rocksdb::DBOptions store_db_options(const EngineOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1u << 20;
  db_options.paranoid_checks = true;
  // One writer per store.
  db_options.allow_concurrent_memtable_write = false;
  // A block comes straight from the page cache instead of being copied into a
  // fresh buffer first: rebuilds about 11% and engine_bench 4% to 10% faster
  // on the project VM (docs/storage.md#reads).
  db_options.allow_mmap_reads = options.mmap_reads;
  // Any negative value means no cap (RocksDB's -1; it would clip other
  // negative values to 20).
  db_options.max_open_files = options.open_files_max < 0 ? -1 : options.open_files_max;
  db_options.table_cache_numshardbits = table_cache_shard_bits(options.open_files_max);
  if (options.env != nullptr) db_options.env = options.env;
  return db_options;
}

// Every column family of a store, in handle order, sharing one block cache.
std::vector<rocksdb::ColumnFamilyDescriptor> store_families(const EngineOptions& options) {
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : column_family_names) {
    const std::string_view n(name);
    const bool point_lookups = n == "accounts" || n == "pending" || n == "commands";
    families.emplace_back(name, family_options(options, cache, point_lookups));
    if (n == "events") use_log_compaction(families.back().options);
  }
  return families;
}

// Sorts views and copies each distinct id once: sorting the strings
// themselves moved them about a dozen times each (10% of the deciding
// thread for 8,192 account ids a batch).
void sort_unique(std::vector<std::string>& v) {
  std::vector<std::string_view> views(v.begin(), v.end());
  std::sort(views.begin(), views.end());
  views.erase(std::unique(views.begin(), views.end()), views.end());
  std::vector<std::string> sorted(views.begin(), views.end());
  v = std::move(sorted);
}

// Accounts an event concerns, for the history index: each distinct account in
// its postings, plus the account opened or closed.
std::vector<std::string_view> event_accounts(const ledger::Event& event) {
  std::vector<std::string_view> accounts;
  if (const auto* opened = std::get_if<ledger::AccountOpened>(&event.body)) {
    accounts.push_back(opened->account.id);
  } else if (const auto* closed = std::get_if<ledger::AccountClosed>(&event.body)) {
    accounts.push_back(closed->account);
  }
  for (const ledger::Posting& p : event.postings) {
    if (std::find(accounts.begin(), accounts.end(), p.account) == accounts.end()) {
      accounts.push_back(p.account);
    }
  }
  return accounts;
}

// History index entries of a run of events: per account, the seqs that
// touched it, written as one key per account (engine/keys.h).
class HistoryBatch {
 public:
  void add(const ledger::Event& event) {
    for (std::string_view account : event_accounts(event)) {
      auto it = seqs_.find(account);
      if (it == seqs_.end()) it = seqs_.emplace(std::string(account), std::string()).first;
      put_u64be(it->second, event.seq);
    }
  }
  // std::map: key order, the cheapest order for RocksDB's memtable.
  void write(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf) const {
    for (const auto& [account, seqs] : seqs_) {
      batch.Put(cf, history_key(account, get_u64be(seqs)), seqs);
    }
  }

 private:
  std::map<std::string, std::string, std::less<>> seqs_;
};

// An unflushed map's entries in key order.
template <typename T>
std::vector<const typename UnflushedMap<T>::value_type*> sorted_entries(
    const UnflushedMap<T>& map) {
  std::vector<const typename UnflushedMap<T>::value_type*> entries;
  entries.reserve(map.size());
  for (const auto& entry : map) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return entries;
}

// Writes one column family's unflushed entries in key order (absent =
// delete): consecutive memtable inserts then land next to each other.
template <typename T, typename Encode>
void write_sorted(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf,
                  const UnflushedMap<T>& map, Encode&& encode) {
  for (const auto* entry : sorted_entries(map)) {
    if (!entry->second) {
      batch.Delete(cf, slice(entry->first));
    } else {
      batch.Put(cf, slice(entry->first), slice(encode(*entry->second)));
    }
  }
}

// Calls fn over the entries of the column family under `it` with the
// unflushed ones laid over them, in key order: an unflushed entry replaces
// the stored one, an absent one hides it. fn returns false to stop.
template <typename T, typename Decode, typename Fn>
Status merged_scan(rocksdb::Iterator& it, const UnflushedMap<T>& unflushed, Decode&& decode,
                   Fn&& fn, std::string_view what) {
  const auto overlay = sorted_entries(unflushed);
  auto next = overlay.begin();
  it.SeekToFirst();
  while (it.Valid() || next != overlay.end()) {
    if (next != overlay.end() && (!it.Valid() || (*next)->first <= view(it.key()))) {
      if (it.Valid() && (*next)->first == view(it.key())) it.Next();
      const std::optional<T>& value = (*next)->second;
      ++next;
      if (value && !fn(*value)) return Status::ok();
      continue;
    }
    Result<T> stored = decode(view(it.key()), view(it.value()));
    if (!stored.is_ok()) return stored.status();
    if (!fn(*stored)) return Status::ok();
    it.Next();
  }
  return from_rocksdb(it.status(), what);
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::open(const std::string& directory,
                                             const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->directory_ = directory;
  engine->options_ = options;
  engine->resident_ = std::make_unique<ResidentAccounts>();
  engine->write_batch_ = std::make_unique<rocksdb::WriteBatch>();
  engine->unflushed_ = std::make_unique<Projections>(engine->flush_events_max());

  const rocksdb::DBOptions db_options = store_db_options(options);
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = store_families(options);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, directory, families, &engine->handles_, &db)
          : rocksdb::DB::Open(db_options, directory, families, &engine->handles_, &db);
  if (!s.ok()) return from_rocksdb(s, "open " + directory);
  engine->db_.reset(db);
  engine->events_ = engine->handles_[1];
  engine->accounts_ = engine->handles_[2];
  engine->pending_ = engine->handles_[3];
  engine->commands_ = engine->handles_[4];
  engine->expiry_ = engine->handles_[5];
  engine->history_ = engine->handles_[6];
  engine->meta_ = engine->handles_[7];
  Status loaded = engine->load_head();
  // The shard rule is an input of every decision: load it before re-deciding.
  if (loaded.is_ok()) loaded = engine->load_shard_rule();
  if (loaded.is_ok()) loaded = engine->catch_up_projections();
  if (loaded.is_ok() && !options.read_only) loaded = engine->flush_projections();
  if (!loaded.is_ok()) {
    // The destructor must not flush: the projections of a tail not (or not
    // wholly) re-executed would be recorded as complete, and lost for good.
    engine->failed_ = true;
    return loaded;
  }
  return engine;
}

Engine::~Engine() {
  // Writes what was submitted, then the projections, before the store closes
  // (a failure leaves them to the next open, which re-executes the tail).
  while (!in_flight_.empty()) (void)complete();
  writer_.reset();
  if (db_ != nullptr && !options_.read_only && !failed_ && options_.flush_projections_on_close) {
    (void)flush_projections();
  }
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    (void)db_->DestroyColumnFamilyHandle(handle);  // Only fails for the default handle.
  }
  (void)db_->Close();  // Nothing to do about a failed close: the WAL has the data.
}

Status Engine::load_head() {
  Result<std::optional<std::string>> bytes = get(meta_, meta_head_key);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) {
    head_ = Head{};
    return Status::ok();
  }
  Result<Head> head = decode_head(**bytes);
  if (!head.is_ok()) return head.status();
  head_ = *head;
  Result<std::optional<std::string>> projected = get(meta_, meta_projected_key);
  if (!projected.is_ok()) return projected.status();
  projected_ = head_;
  if (projected->has_value()) {
    Result<Head> decoded = decode_head(**projected);
    if (!decoded.is_ok()) return decoded.status();
    projected_ = *decoded;
  }
  return Status::ok();
}

Status Engine::catch_up_projections() {
  if (projected_ == head_) return Status::ok();
  if (projected_.ledger.next_seq >= head_.ledger.next_seq) {
    return Status::corruption(
        fmt::format("meta 'projected' stands at event {}, the log's head at {} with another hash",
                    projected_.ledger.next_seq - 1, head_.ledger.next_seq - 1));
  }
  const ledger::Sequence from = projected_.ledger.next_seq;
  const auto differs = [&](ledger::Sequence seq) {
    return Status::corruption(fmt::format(
        "event {}: re-executing the log after the stored projections (event {} on) does not "
        "reproduce it",
        seq, from));
  };
  decided_head_ = projected_.ledger;
  Sha256 chain = projected_.chain_head;
  std::vector<ledger::Command> commands;
  std::deque<std::pair<ledger::Sequence, std::string>> logged;  // Read, not yet compared.
  const auto run = [&]() -> Status {
    if (commands.empty()) return Status::ok();
    Result<std::unique_ptr<Decided>> decided = decide_batch(commands, {}, false);
    if (!decided.is_ok()) return decided.status();
    commands.clear();
    // Sealed (by decide_batch) and chained as the live path does (the same
    // functions encode every event), then compared entry by entry with what
    // the log holds.
    chain_events(**decided, chain);
    const BatchResult& result = (*decided)->result;
    Result<std::vector<std::string_view>> sealed = split_event_block((*decided)->block.finish());
    LF_ASSERT(sealed.is_ok());  // Framed by EventBlockWriter just now.
    LF_ASSERT(sealed->size() == result.next_seq - result.first_seq);
    for (std::size_t i = 0; i < sealed->size(); ++i) {
      const ledger::Sequence seq = result.first_seq + i;
      if (logged.empty() || logged.front().first != seq || (*sealed)[i] != logged.front().second) {
        return differs(seq);
      }
      logged.pop_front();
    }
    chain = (*decided)->chain_head;
    keep_spare_block(**decided);
    return Status::ok();
  };
  Status failure;
  ledger::Sequence expected = from;
  LF_RETURN_IF_ERROR(for_each_raw_event(from, [&](ledger::Sequence seq, std::string_view bytes) {
    if (seq != expected) {
      failure = differs(expected);  // Missing from the log.
      return false;
    }
    ++expected;
    Result<codec::OpenedEvent> opened = codec::open_event(bytes);
    if (!opened.is_ok()) {
      failure = Status::corruption(fmt::format("event {}: {}", seq, opened.status().message()));
      return false;
    }
    if (opened->event.command) {
      // A batch is encoded in one version: a command logged in another one
      // (written before an upgrade) starts a new batch.
      if (commands.size() >= ledger::batch_commands_max ||
          opened->schema_version != event_schema_version_) {
        failure = run();
        if (!failure.is_ok()) return false;
        event_schema_version_ = opened->schema_version;
      }
      commands.push_back(*opened->event.command);
    }
    logged.emplace_back(seq, std::string(bytes));
    return true;
  }));
  LF_RETURN_IF_ERROR(failure);
  LF_RETURN_IF_ERROR(run());
  event_schema_version_ = codec::event_schema_version;  // New events: the current one.
  if (!logged.empty()) return differs(logged.front().first);
  if (decided_head_ != head_.ledger || chain != head_.chain_head) return differs(expected);
  return Status::ok();
}

Status Engine::set_event_schema_version(std::uint16_t version) {
  LF_RETURN_IF_ERROR(require_idle("set_event_schema_version()"));
  if (!codec::known_event_schema_version(version)) {
    return Status::invalid_argument(
        fmt::format("event schema version {} not supported (known: {}..{})", version,
                    codec::event_schema_version_min, codec::event_schema_version));
  }
  event_schema_version_ = version;
  return Status::ok();
}

Status Engine::flush_projections() {
  LF_RETURN_IF_ERROR(require_writable());
  LF_RETURN_IF_ERROR(require_idle("flush_projections()"));
  if (projections_empty() && projected_ == head_) return Status::ok();
  cut_accounts();
  rocksdb::WriteBatch batch;
  unflushed_->put(batch, records_, accounts_, pending_, commands_, expiry_);
  batch.Put(meta_, meta_projected_key, encode_head(head_));
  LF_RETURN_IF_ERROR(write(batch, options_.sync_commits, "flush projections"));
  unflushed_ = std::make_unique<Projections>(flush_events_max());
  projected_ = head_;
  return Status::ok();
}

std::uint64_t Engine::unflushed_events() const { return unflushed_->events; }

std::size_t Engine::resident_accounts() const { return resident_->cells.size(); }

bool Engine::projections_empty() const { return unflushed_->empty() && resident_->written.empty(); }

void Engine::cut_accounts() { resident_->cut_into(unflushed_->accounts); }

void Engine::drop_resident_accounts() {
  cut_accounts();
  resident_->cells.clear();
}

Status Engine::load_shard_rule() {
  if (options_.shard && !options_.shard->valid()) {
    return Status::invalid_argument(fmt::format("shard {} of {} is not a valid shard rule",
                                                options_.shard->index, options_.shard->count));
  }
  Result<std::optional<std::string>> bytes = get(meta_, meta_shard_key);
  if (!bytes.is_ok()) return bytes.status();
  ledger::ShardRule stored;  // A store without the key predates shards: one shard.
  if (bytes->has_value()) {
    if ((*bytes)->size() != 8) return Status::corruption("meta 'shard' is not 8 bytes");
    stored.index = get_u32be(**bytes);
    stored.count = get_u32be(std::string_view(**bytes).substr(4));
    if (!stored.valid()) return Status::corruption("meta 'shard' holds an invalid rule");
  } else if (head_.ledger.next_seq == 1 && options_.shard && *options_.shard != stored) {
    std::string value;
    put_u32be(value, options_.shard->index);
    put_u32be(value, options_.shard->count);
    const MetaPut put{std::string(meta_shard_key), value};
    LF_RETURN_IF_ERROR(put_meta(std::span<const MetaPut>(&put, 1), true));
    stored = *options_.shard;
  }
  if (options_.shard && stored != *options_.shard) {
    return Status::invalid_argument(
        fmt::format("store {} is shard {} of {}, opened as shard {} of {}", directory_,
                    stored.index, stored.count, options_.shard->index, options_.shard->count));
  }
  shard_ = stored;
  return Status::ok();
}

// Writes stop after a failed one, until the store is reopened (engine.h).
Status Engine::require_writable() const {
  if (!failed_) return Status::ok();
  return Status::failed("engine stopped after an earlier write error; reopen it");
}

// Writes outside the pipeline must come after every batch in flight.
Status Engine::require_idle(std::string_view what) const {
  if (in_flight_.empty()) return Status::ok();
  return Status::invalid_argument(
      fmt::format("{} with {} batches in flight: complete() them first", what, in_flight_.size()));
}

// Every write of the store goes through here: a failed one stops the engine.
Status Engine::write(rocksdb::WriteBatch& batch, bool sync, std::string_view what) {
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  rocksdb::Status s = db_->Write(write_options, &batch);
  if (s.ok()) return Status::ok();
  failed_ = true;
  return from_rocksdb(s, what);
}

// Bulk writes of projections assume none are waiting in memory.
Status Engine::require_flushed(std::string_view what) const {
  if (projections_empty() && projected_ == head_) return Status::ok();
  return Status::invalid_argument(
      fmt::format("{} with unflushed projections: flush_projections() first", what));
}

Status Engine::put_meta(std::span<const MetaPut> meta, bool sync) {
  LF_RETURN_IF_ERROR(require_writable());
  LF_RETURN_IF_ERROR(require_idle("put_meta()"));
  rocksdb::WriteBatch batch;
  for (const MetaPut& put : meta) batch.Put(meta_, put.key, put.value);
  return write(batch, sync, "write meta");
}

Status Engine::for_each_meta(
    std::string_view prefix, std::string_view from_suffix,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const std::string start = std::string(prefix) + std::string(from_suffix);
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "scan meta");
  return Status::ok();
}

Result<std::optional<std::string>> Engine::get(rocksdb::ColumnFamilyHandle* cf,
                                               std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocksdb(s, "get");
  return std::optional<std::string>(std::move(value));
}

// ---------------------------------------------------------------- prefetch

// Reads `ids` from `cf` with one MultiGet; calls fn(id, bytes-or-null).
template <typename Fn>
Status multi_get(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf,
                 const std::vector<std::string>& ids, Fn&& fn) {
  if (ids.empty()) return Status::ok();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(ids.size());
  for (const std::string& id : ids) keys.emplace_back(id);
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  db.MultiGet(rocksdb::ReadOptions(), cf, keys.size(), keys.data(), values.data(), statuses.data(),
              /*sorted_input=*/true);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      LF_RETURN_IF_ERROR(fn(ids[i], nullptr));
    } else if (!statuses[i].ok()) {
      return from_rocksdb(statuses[i], "multiget");
    } else {
      const std::string_view bytes = view(values[i]);
      LF_RETURN_IF_ERROR(fn(ids[i], &bytes));
    }
  }
  return Status::ok();
}

namespace {

// A batch's lookups in maps larger than the CPU's caches prefetch this many
// ids ahead: map slots, and (for maps where lookups mostly hit) entries
// (IdMap::prefetch_slot). Measured on engine_bench's uniform run, where most
// of prefetch's time was waiting for those reads.
constexpr std::size_t prefetch_slots_ahead = 16;
constexpr std::size_t prefetch_entries_ahead = 8;

std::vector<std::uint64_t> id_hashes(const std::vector<std::string>& ids) {
  std::vector<std::uint64_t> hashes(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) hashes[i] = ledger::id_hash(ids[i]);
  return hashes;
}

}  // namespace

template <typename T>
const std::optional<T>* Engine::unflushed_value(std::string_view id) const {
  return unflushed_value<T>(id, ledger::id_hash(id));
}

template <typename T>
const std::optional<T>* Engine::unflushed_value(std::string_view id, std::uint64_t hash) const {
  if (const auto* entry = unflushed_->map<T>().find_entry(id, hash)) return &entry->second;
  for (auto batch = in_flight_.rbegin(); batch != in_flight_.rend(); ++batch) {
    if ((*batch)->flush == nullptr) continue;
    if (const auto* entry = (*batch)->flush->map<T>().find_entry(id, hash)) return &entry->second;
  }
  return nullptr;
}

template <typename T>
void Engine::prefetch_unflushed(std::uint64_t hash) const {
  unflushed_->map<T>().prefetch_slot(hash);
  for (const std::unique_ptr<Decided>& batch : in_flight_) {
    if (batch->flush != nullptr) batch->flush->map<T>().prefetch_slot(hash);
  }
}

// Loads the ids that have unflushed values and removes them from `ids`: the
// rest is read from the store.
template <typename T, typename Load>
void Engine::load_unflushed(std::vector<std::string>& ids, Load&& load) const {
  const std::vector<std::uint64_t> hashes = id_hashes(ids);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i + prefetch_slots_ahead < ids.size()) {
      prefetch_unflushed<T>(hashes[i + prefetch_slots_ahead]);
    }
    if (const std::optional<T>* value = unflushed_value<T>(ids[i], hashes[i])) {
      load(ids[i], *value);
    } else {
      if (kept != i) ids[kept] = std::move(ids[i]);
      ++kept;
    }
  }
  ids.resize(kept);
}

Status Engine::load_commands(std::vector<std::string>& ids, ledger::WorkingSet& state) {
  sort_unique(ids);
  load_unflushed<ledger::CommandRecord>(
      ids, [&](const std::string& id, const std::optional<ledger::CommandRecord>& value) {
        state.load_command(id, value);
      });
  return multi_get(*db_, commands_, ids, [&](const std::string& id, const std::string_view* bytes) {
    if (bytes == nullptr) {
      state.load_command(id, std::nullopt);
      return Status::ok();
    }
    Result<ledger::CommandRecord> record = decode_command_record(id, *bytes);
    if (!record.is_ok()) return record.status();
    state.load_command(id, std::move(record).value());
    return Status::ok();
  });
}

Status Engine::load_pendings(std::vector<std::string>& ids, ledger::WorkingSet& state,
                             std::vector<std::string>& accounts_out) {
  sort_unique(ids);
  std::erase_if(ids, [&](const std::string& id) { return state.pending_loaded(id); });
  load_unflushed<ledger::PendingTransfer>(
      ids, [&](const std::string& id, const std::optional<ledger::PendingTransfer>& value) {
        if (value) {
          accounts_out.push_back(value->debit_account);
          accounts_out.push_back(value->credit_account);
        }
        state.load_pending(id, value);
      });
  return multi_get(*db_, pending_, ids, [&](const std::string& id, const std::string_view* bytes) {
    if (bytes == nullptr) {
      state.load_pending(id, std::nullopt);
      return Status::ok();
    }
    Result<ledger::PendingTransfer> pending = decode_pending(id, *bytes);
    if (!pending.is_ok()) return pending.status();
    accounts_out.push_back(pending->debit_account);
    accounts_out.push_back(pending->credit_account);
    state.load_pending(id, std::move(pending).value());
    return Status::ok();
  });
}

Status Engine::load_accounts(std::vector<std::string>& ids, ledger::WorkingSet& state) {
  // Accounts in memory first (their cells hold the newest decided values),
  // then those of a flush still in flight, then the store for the rest, each
  // given a cell. Only the misses are sorted (for MultiGet): sorting every id
  // cost a tenth of the deciding thread, and the working set already drops
  // duplicates.
  std::vector<std::string> misses;
  const std::vector<std::uint64_t> hashes = id_hashes(ids);
  ledger::IdMap<ledger::AccountCell>& cells = resident_->cells;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i + prefetch_slots_ahead < ids.size()) {
      cells.prefetch_slot(hashes[i + prefetch_slots_ahead]);
    }
    if (i + prefetch_entries_ahead < ids.size()) {
      cells.prefetch_entry(hashes[i + prefetch_entries_ahead]);
    }
    std::string& id = ids[i];
    if (state.account_loaded(id)) continue;
    if (auto* cell = cells.find_entry(id, hashes[i])) {
      state.load_account_cell(id, cell->second);
    } else if (const auto* flushing = unflushed_value<ledger::Account>(id, hashes[i])) {
      load_new_cell(id, *flushing, state);
    } else {
      misses.push_back(std::move(id));
    }
  }
  sort_unique(misses);
  // Cells are made only for values read: a failed read leaves none behind
  // that would claim an account absent.
  return multi_get(*db_, accounts_, misses, [&](const std::string& id, const std::string_view* b) {
    if (b == nullptr) {
      load_new_cell(id, std::nullopt, state);
      return Status::ok();
    }
    Result<ledger::Account> account = decode_account(id, *b);
    if (!account.is_ok()) return account.status();
    load_new_cell(id, std::move(account).value(), state);
    return Status::ok();
  });
}

void Engine::load_new_cell(std::string_view id, std::optional<ledger::Account> value,
                           ledger::WorkingSet& state) {
  auto [cell, inserted] = resident_->cells.try_emplace(id);
  LF_ASSERT(inserted);
  cell->second.value = std::move(value);
  state.load_account_cell(id, cell->second);
}

Status Engine::load_due_expiries(ledger::TimestampMs through, ledger::WorkingSet& state,
                                 std::vector<std::string>& pendings_out) {
  // The stored entries due by `through`, then the unflushed changes on top,
  // oldest first: those of the batches in flight, then the newest.
  std::set<ledger::ExpiryKey> due;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), expiry_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = view(it->key());
    if (key.size() < 9) return Status::corruption("expiry key too short");
    const ledger::TimestampMs at = get_u64be(key);
    if (at > through) break;
    due.emplace(at, std::string(key.substr(8)));
  }
  LF_RETURN_IF_ERROR(from_rocksdb(it->status(), "scan expiry"));
  const auto apply_changes = [&](const Projections& unflushed) {
    for (const auto& [key, present] : unflushed.expiry) {
      if (!present) {
        due.erase(key);
      } else if (key.first <= through) {
        due.insert(key);
      }
    }
  };
  for (const std::unique_ptr<Decided>& batch : in_flight_) {
    if (batch->flush != nullptr) apply_changes(*batch->flush);
  }
  apply_changes(*unflushed_);
  for (const ledger::ExpiryKey& key : due) {
    state.load_expiry(key.first, key.second);
    pendings_out.push_back(key.second);
  }
  return Status::ok();
}

Status Engine::prefetch(std::span<const ledger::Command> commands, ledger::WorkingSet& state) {
  ledger::KeySet keys;
  ledger::TimestampMs time_max = decided_head_.logical_time_ms;
  for (const ledger::Command& command : commands) {
    ledger::collect_keys(command, keys);
    time_max = std::max(time_max, command.timestamp_ms);
  }
  // Pendings bring their two accounts; expiries add a few of each.
  state.reserve(keys.accounts.size() + 2 * keys.pendings.size(), keys.pendings.size(),
                keys.commands.size());
  LF_RETURN_IF_ERROR(load_commands(keys.commands, state));
  LF_RETURN_IF_ERROR(load_due_expiries(time_max, state, keys.pendings));
  LF_RETURN_IF_ERROR(load_pendings(keys.pendings, state, keys.accounts));
  return load_accounts(keys.accounts, state);
}

// ---------------------------------------------------------------- apply

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t nanos_since(Clock::time_point start) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

// CPU time of the calling thread.
std::uint64_t thread_cpu_ns() {
  timespec now{};
  LF_ASSERT(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) == 0);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace

// The writer thread: writes submitted batches in order, one at a time.
class Engine::Writer {
 public:
  explicit Writer(Engine& engine) : engine_(engine), thread_([this] { run(); }) {}
  ~Writer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();  // After writing what was queued: submitted batches are not dropped.
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void push(Decided* batch) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(batch);
    }
    wake_.notify_all();
  }
  // Waits until `batch` is written (or failed).
  void wait(const Decided* batch) {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [&] { return done_.contains(batch); });
    done_.erase(batch);
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopped, nothing left.
      Decided* batch = queue_.front();
      queue_.pop_front();
      lock.unlock();
      const std::uint64_t cpu_start_ns = thread_cpu_ns();
      batch->status = engine_.failed_ ? Status::failed("an earlier batch failed to write")
                                      : engine_.write_decided(*batch);
      batch->writer_cpu_ns = thread_cpu_ns() - cpu_start_ns;
      lock.lock();
      done_.insert(batch);
      done_cv_.notify_all();
    }
  }

  Engine& engine_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::deque<Decided*> queue_;     // GUARDED_BY(mutex_)
  std::set<const Decided*> done_;  // GUARDED_BY(mutex_)
  bool stop_ = false;              // GUARDED_BY(mutex_)
  std::thread thread_;             // Last: starts once the rest is built.
};

Result<std::unique_ptr<Engine::Decided>> Engine::decide_batch(
    std::span<const ledger::Command> commands, std::span<const MetaPut> meta, bool keep_events) {
  LF_ASSERT(!commands.empty());
  auto phase = Clock::now();
  auto batch = std::make_unique<Decided>(decided_head_);
  if (!spare_blocks_.empty()) {  // A written batch's buffer: its memory is already mapped.
    batch->block = std::move(spare_blocks_.back());
    spare_blocks_.pop_back();
  }
  ledger::WorkingSet& state = batch->state;
  state.set_shard(shard_);
  LF_RETURN_IF_ERROR(prefetch(commands, state));
  batch->prefetch_ns = nanos_since(phase);
  phase = Clock::now();

  BatchResult& result = batch->result;
  result.first_seq = decided_head_.next_seq;
  result.outcomes.reserve(commands.size());
  batch->block.clear();
  // Events are sealed in rounds of about seal_events_per_round as their
  // commands are decided, while they are still in the core's cache, and
  // then dropped unless the caller keeps them: a batch's events are
  // megabytes, and building them all, then sealing them all, then freeing
  // them all went three times through memory the cache no longer held.
  std::vector<ledger::Event>& events = batch->events;
  events.reserve(keep_events ? commands.size() : 2 * seal_events_per_round);
  std::size_t unsealed_from = 0;
  const auto seal_decided = [&] {
    for (std::size_t i = unsealed_from; i < events.size(); ++i) seal_event(*batch, events[i]);
    if (!keep_events) events.clear();
    unsealed_from = events.size();
  };
  for (const ledger::Command& command : commands) {
    result.outcomes.push_back(ledger::decide(state, command, events));
    if (events.size() - unsealed_from >= seal_events_per_round) seal_decided();
  }
  seal_decided();
  result.next_seq = state.head().next_seq;
  const std::uint64_t event_count = batch->block.count();
  LF_ASSERT(result.next_seq == result.first_seq + event_count);
  batch->meta.assign(meta.begin(), meta.end());
  batch->commands = commands.size();
  // The batch's writes become the engine's unflushed state now, before they
  // are durable: a batch that then fails to write stops the engine
  // (require_writable), and reopening it drops everything in memory.
  unflushed_->absorb(state, event_count);
  resident_->note_written(state);
  // Cells are made for every account a batch reads, absent ones and those
  // of rejected commands too, and only here: the one place to bound them
  // (dropping them loses nothing, their written values are cut first).
  if (resident_->cells.size() > options_.account_cache_entries_max) drop_resident_accounts();
  batch->decide_ns = nanos_since(phase);
  decided_head_ = state.head();
  return batch;
}

std::uint64_t Engine::flush_events_max() const {
  return options_.projections_flush_events != 0 ? options_.projections_flush_events
                                                : projections_flush_events_max;
}

void Engine::maybe_flush_with(Decided& batch) {
  if (unflushed_->events < flush_events_max() &&
      unflushed_->entries() + resident_->written.size() < projections_unflushed_entries_max) {
    return;
  }
  cut_accounts();
  batch.flush = std::move(unflushed_);
  unflushed_ = std::make_unique<Projections>(flush_events_max());
}

void Engine::Projections::put(rocksdb::WriteBatch& batch, RecordEncoder& records,
                              rocksdb::ColumnFamilyHandle* accounts_cf,
                              rocksdb::ColumnFamilyHandle* pending_cf,
                              rocksdb::ColumnFamilyHandle* commands_cf,
                              rocksdb::ColumnFamilyHandle* expiry_cf) const {
  write_sorted(batch, accounts_cf, accounts, [&](const auto& a) { return records.account(a); });
  write_sorted(batch, pending_cf, pendings, [&](const auto& p) { return records.pending(p); });
  write_sorted(batch, commands_cf, commands,
               [&](const auto& r) { return records.command_record(r); });
  for (const auto& [key, present] : expiry) {
    const std::string k = expiry_key(key.first, key.second);
    if (present) {
      batch.Put(expiry_cf, k, rocksdb::Slice());
    } else {
      batch.Delete(expiry_cf, k);
    }
  }
}

Status Engine::write_decided(Decided& decided) {
  auto phase = Clock::now();
  chain_events(decided, written_chain_head_);
  written_chain_head_ = decided.chain_head;
  const ledger::WorkingSet& state = decided.state;
  const std::vector<ledger::Event>& events = decided.events;
  const BatchResult& result = decided.result;
  rocksdb::WriteBatch& batch = *write_batch_;
  batch.Clear();
  Head head{state.head(), decided.chain_head};
  // Inline indexing needs the index caught up; the default path (index
  // behind the log) never reads where the index stands.
  bool index_inline = false;
  if (options_.history_index_inline) {
    Result<ledger::Sequence> indexed = history_indexed_through();
    if (!indexed.is_ok()) {
      // The batch is already in the unflushed state: stop the engine, as a
      // failed write does (require_writable), never decide on it.
      failed_ = true;
      return indexed.status();
    }
    index_inline = *indexed + 1 == result.first_seq;
  }
  LF_ASSERT(decided.block.count() == result.next_seq - result.first_seq);
  if (decided.block.count() > 0) {
    batch.Put(events_, event_key(result.first_seq), decided.block.finish());
  }
  HistoryBatch history;
  // Inline indexing needs every event of the batch (decide_batch kept them).
  LF_ASSERT(!index_inline || events.size() == decided.block.count());
  if (index_inline) {
    for (const ledger::Event& event : events) history.add(event);
  }
  if (index_inline && !events.empty()) {
    history.write(batch, history_);
    batch.Put(meta_, meta_history_indexed_key, u64be_value(result.next_seq - 1));
  }
  const Head projected = decided.flush != nullptr ? head : written_projected_;
  if (decided.flush != nullptr) {
    decided.flush->put(batch, records_, accounts_, pending_, commands_, expiry_);
  }
  for (const MetaPut& put : decided.meta) batch.Put(meta_, put.key, put.value);
  batch.Put(meta_, meta_head_key, encode_head(head));
  batch.Put(meta_, meta_projected_key, encode_head(projected));
  decided.encode_ns = nanos_since(phase);

  phase = Clock::now();
  LF_RETURN_IF_ERROR(write(batch, options_.sync_commits, "commit batch"));
  decided.write_ns = nanos_since(phase);
  decided.head = head;
  decided.projected = projected;
  written_projected_ = projected;
  return Status::ok();
}

// Encodes and seals one decided event into its batch's block on the
// deciding thread (since session 8, when the writer was the slower of the
// two threads), its hashes left for chain_events().
void Engine::seal_event(Decided& decided, const ledger::Event& event) {
  // In order: the block holds the batch's events before this one.
  LF_ASSERT(event.seq == decided.result.first_seq + decided.block.count());
  LF_ASSERT(ledger::postings_balance(event.postings));  // Double entry, before writing.
  codec::SealedLayout layout;
  const std::string_view sealed = encoder_.seal_unchained(event, event_schema_version_, layout);
  decided.block.add_unchained(sealed, layout);
}

void Engine::chain_events(Decided& decided, const Sha256& prev_hash) {
  decided.chain_head = decided.block.chain(prev_hash);
}

void Engine::start_from_committed_head() {
  decided_head_ = head_.ledger;
  written_chain_head_ = head_.chain_head;
  written_projected_ = projected_;
}

BatchResult Engine::finish_decided(Decided& decided) {
  stats_.prefetch_ns += decided.prefetch_ns;
  stats_.decide_ns += decided.decide_ns;
  stats_.encode_ns += decided.encode_ns;
  stats_.write_ns += decided.write_ns;
  stats_.writer_cpu_ns += decided.writer_cpu_ns;
  if (decided.flush != nullptr) {
    ++stats_.flushes;
    stats_.flush_encode_ns += decided.encode_ns;
    stats_.flush_write_ns += decided.write_ns;
  }
  ++stats_.batches;
  stats_.commands += decided.commands;
  head_ = decided.head;
  projected_ = decided.projected;
  keep_spare_block(decided);
  return std::move(decided.result);
}

void Engine::keep_spare_block(Decided& done) {
  if (spare_blocks_.size() < pipeline_batches_max) spare_blocks_.push_back(std::move(done.block));
}

namespace {

// Commands from the decoders are within their decode budget. One built in
// process may be larger than what a reader of its event would accept (every
// command is logged, a rejected one too): such a batch is refused whole.
Status check_command_sizes(std::span<const ledger::Command> commands) {
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].source.topic.size() > codec::source_topic_bytes_max) {
      return Status::invalid_argument(
          fmt::format("command {}: source topic of {} bytes; at most {}", i,
                      commands[i].source.topic.size(), codec::source_topic_bytes_max));
    }
    const std::size_t bytes = codec::command_decode_bytes(commands[i]);
    if (bytes > codec::command_decode_bytes_max) {
      return Status::invalid_argument(fmt::format(
          "command {} (id starting {:?}) decodes to {} bytes; at most {}", i,
          std::string_view(commands[i].id).substr(0, 64), bytes, codec::command_decode_bytes_max));
    }
  }
  return Status::ok();
}

}  // namespace

Result<BatchResult> Engine::apply(std::span<const ledger::Command> commands,
                                  std::span<const MetaPut> meta) {
  LF_RETURN_IF_ERROR(require_writable());
  LF_RETURN_IF_ERROR(require_idle("apply()"));
  if (commands.size() > ledger::batch_commands_max) {
    return Status::invalid_argument(fmt::format("batch of {} commands; allowed 0..{}",
                                                commands.size(), ledger::batch_commands_max));
  }
  if (options_.check_command_sizes) LF_RETURN_IF_ERROR(check_command_sizes(commands));
  if (commands.empty()) {
    if (meta.empty()) return Status::invalid_argument("empty batch: no commands, no meta entries");
    LF_RETURN_IF_ERROR(put_meta(meta, options_.sync_commits));
    BatchResult empty;
    empty.first_seq = empty.next_seq = head_.ledger.next_seq;
    return empty;
  }
  start_from_committed_head();
  // Indexing history inline reads the batch's events when it is written.
  Result<std::unique_ptr<Decided>> decided =
      decide_batch(commands, meta, options_.history_index_inline);
  if (!decided.is_ok()) return decided.status();
  maybe_flush_with(**decided);
  LF_RETURN_IF_ERROR(write_decided(**decided));
  return finish_decided(**decided);
}

Status Engine::submit(std::span<const ledger::Command> commands, std::span<const MetaPut> meta) {
  LF_RETURN_IF_ERROR(require_writable());
  if (commands.empty() || commands.size() > ledger::batch_commands_max) {
    return Status::invalid_argument(fmt::format("batch of {} commands; submit() takes 1..{}",
                                                commands.size(), ledger::batch_commands_max));
  }
  if (in_flight_.size() >= pipeline_batches_max) {
    return Status::invalid_argument("pipeline full: complete() a batch first");
  }
  if (options_.check_command_sizes) LF_RETURN_IF_ERROR(check_command_sizes(commands));
  if (options_.history_index_inline) {
    return Status::invalid_argument("submit() does not index history inline; use apply()");
  }
  if (in_flight_.empty()) start_from_committed_head();  // The writer is idle: no race.
  Result<std::unique_ptr<Decided>> decided = decide_batch(commands, meta, false);
  if (!decided.is_ok()) return decided.status();  // Nothing of it is anywhere.
  maybe_flush_with(**decided);
  if (writer_ == nullptr) writer_ = std::make_unique<Writer>(*this);
  in_flight_.push_back(std::move(decided).value());
  writer_->push(in_flight_.back().get());
  return Status::ok();
}

Result<BatchResult> Engine::complete() {
  if (in_flight_.empty()) return Status::invalid_argument("complete() with no batch in flight");
  std::unique_ptr<Decided> oldest = std::move(in_flight_.front());
  writer_->wait(oldest.get());
  in_flight_.pop_front();
  if (!oldest->status.is_ok()) return oldest->status;
  return finish_decided(*oldest);
}

// ---------------------------------------------------------------- queries

Result<std::optional<ledger::Account>> Engine::account(std::string_view id) {
  // A cell holds the newest value; a written one may not be in any flush yet.
  if (const auto* cell = resident_->cells.find_entry(id)) return cell->second.value;
  if (const auto* unflushed = unflushed_value<ledger::Account>(id)) return *unflushed;
  Result<std::optional<std::string>> bytes = get(accounts_, id);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<ledger::Account>();
  Result<ledger::Account> account = decode_account(id, **bytes);
  if (!account.is_ok()) return account.status();
  return std::optional<ledger::Account>(std::move(account).value());
}

Status Engine::for_each_account(const std::function<bool(const ledger::Account&)>& fn) {
  cut_accounts();  // The written cells' values into the unflushed map, which the scan reads.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan_options(), accounts_));
  return merged_scan(*it, unflushed_->accounts, decode_account, fn, "scan accounts");
}

Result<std::optional<ledger::PendingTransfer>> Engine::pending(std::string_view id) {
  if (const auto* unflushed = unflushed_value<ledger::PendingTransfer>(id)) return *unflushed;
  Result<std::optional<std::string>> bytes = get(pending_, id);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<ledger::PendingTransfer>();
  Result<ledger::PendingTransfer> pending = decode_pending(id, **bytes);
  if (!pending.is_ok()) return pending.status();
  return std::optional<ledger::PendingTransfer>(std::move(pending).value());
}

Status Engine::for_each_pending(const std::function<bool(const ledger::PendingTransfer&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan_options(), pending_));
  return merged_scan(*it, unflushed_->pendings, decode_pending, fn, "scan pending");
}

Result<std::optional<ledger::CommandRecord>> Engine::command_record(std::string_view id) {
  if (const auto* unflushed = unflushed_value<ledger::CommandRecord>(id)) return *unflushed;
  Result<std::optional<std::string>> bytes = get(commands_, id);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<ledger::CommandRecord>();
  Result<ledger::CommandRecord> record = decode_command_record(id, **bytes);
  if (!record.is_ok()) return record.status();
  return std::optional<ledger::CommandRecord>(std::move(record).value());
}

Status Engine::for_each_command_record(
    const std::function<bool(const ledger::CommandRecord&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan_options(), commands_));
  return merged_scan(*it, unflushed_->commands, decode_command_record, fn, "scan commands");
}

Status Engine::for_each_expiry(const std::function<bool(const ledger::ExpiryKey&)>& fn) {
  // The unflushed changes as a map keyed like the family (the key is the
  // value: present entries map to themselves).
  UnflushedMap<ledger::ExpiryKey> unflushed;
  for (const auto& [key, present] : unflushed_->expiry) {
    unflushed.try_emplace(expiry_key(key.first, key.second),
                          present ? std::optional<ledger::ExpiryKey>(key) : std::nullopt);
  }
  const auto decode = [](std::string_view key, std::string_view) -> Result<ledger::ExpiryKey> {
    if (key.size() < 9) return Status::corruption("expiry key too short");
    return ledger::ExpiryKey(get_u64be(key), std::string(key.substr(8)));
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), expiry_));
  return merged_scan(*it, unflushed, decode, fn, "scan expiry");
}

Result<std::optional<std::string>> Engine::meta(std::string_view key) { return get(meta_, key); }

Status Engine::for_each_meta(
    std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
    const std::string_view key = view(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, view(it->value()))) break;
  }
  return from_rocksdb(it->status(), "scan meta");
}

Status Engine::for_each_raw_event(
    ledger::Sequence from, const std::function<bool(ledger::Sequence, std::string_view)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(log_scan_options(), events_));
  it->SeekForPrev(event_key(from));  // The block holding `from`, if any.
  if (!it->Valid()) it->SeekToFirst();
  for (; it->Valid(); it->Next()) {
    if (it->key().size() != 8) return Status::corruption("event block key is not 8 bytes");
    const ledger::Sequence first = get_u64be(view(it->key()));
    Result<std::vector<std::string_view>> entries = split_event_block(view(it->value()));
    if (!entries.is_ok()) {
      return Status::corruption(
          fmt::format("event block at {}: {}", first, entries.status().message()));
    }
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const ledger::Sequence seq = first + i;
      if (seq < from) continue;
      if (!fn(seq, (*entries)[i])) return Status::ok();
    }
  }
  return from_rocksdb(it->status(), "scan events");
}

Status Engine::for_each_event(ledger::Sequence from,
                              const std::function<bool(const codec::OpenedEvent&)>& fn) {
  Status failure;
  LF_RETURN_IF_ERROR(for_each_raw_event(from, [&](ledger::Sequence seq, std::string_view bytes) {
    Result<codec::OpenedEvent> opened = codec::open_event(bytes);
    if (!opened.is_ok()) {
      failure = Status::corruption(fmt::format("event {}: {}", seq, opened.status().message()));
      return false;
    }
    if (opened->event.seq != seq) {
      failure =
          Status::corruption(fmt::format("event stored at {} says seq {}", seq, opened->event.seq));
      return false;
    }
    return fn(*opened);
  }));
  return failure;
}

Result<ledger::Sequence> Engine::history_indexed_through() {
  Result<std::optional<std::string>> bytes = get(meta_, meta_history_indexed_key);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return ledger::Sequence{0};
  if ((*bytes)->size() != 8) return Status::corruption("history_indexed_seq is not 8 bytes");
  return get_u64be(**bytes);
}

Status Engine::catch_up_history() {
  LF_RETURN_IF_ERROR(require_writable());
  while (true) {
    Result<ledger::Sequence> indexed = history_indexed_through();
    if (!indexed.is_ok()) return indexed.status();
    if (*indexed + 1 >= head_.ledger.next_seq) return Status::ok();
    rocksdb::WriteBatch batch;
    ledger::Sequence last = *indexed;
    std::size_t count = 0;
    HistoryBatch history;
    LF_RETURN_IF_ERROR(for_each_event(*indexed + 1, [&](const codec::OpenedEvent& e) {
      history.add(e.event);
      last = e.event.seq;
      return ++count < history_catch_up_events_max;
    }));
    history.write(batch, history_);
    if (last == *indexed) return Status::corruption("history index cannot advance: event missing");
    batch.Put(meta_, meta_history_indexed_key, u64be_value(last));
    LF_RETURN_IF_ERROR(write(batch, options_.sync_commits, "write history index"));
  }
}

Result<HistoryPage> Engine::history(std::string_view account, std::size_t limit,
                                    ledger::Sequence before_seq) {
  LF_RETURN_IF_ERROR(catch_up_history());
  HistoryPage page;
  Result<ledger::Sequence> indexed = history_indexed_through();
  if (!indexed.is_ok()) return indexed.status();
  page.indexed_through = *indexed;
  page.log_head = head_.ledger.next_seq - 1;
  const std::string prefix = history_prefix(account);
  const ledger::Sequence below = before_seq == 0 ? UINT64_MAX : before_seq;
  std::vector<ledger::Sequence> seqs;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), history_));
  for (it->SeekForPrev(history_key(account, below - 1)); it->Valid() && seqs.size() < limit;
       it->Prev()) {
    const std::string_view key = view(it->key());
    if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) break;
    const std::string_view value = view(it->value());
    if (value.empty() || value.size() % 8 != 0) {
      return Status::corruption("history entry of " + std::string(account) + " is malformed");
    }
    for (std::size_t at = value.size(); at > 0 && seqs.size() < limit; at -= 8) {
      const ledger::Sequence seq = get_u64be(value.substr(at - 8));
      if (seq < below) seqs.push_back(seq);
    }
  }
  LF_RETURN_IF_ERROR(from_rocksdb(it->status(), "scan history"));
  for (const ledger::Sequence seq : seqs) {
    bool found = false;
    LF_RETURN_IF_ERROR(for_each_event(seq, [&](const codec::OpenedEvent& e) {
      found = e.event.seq == seq;
      if (found) page.entries.push_back({seq, e.event});
      return false;
    }));
    if (!found) return Status::corruption(fmt::format("event {} missing", seq));
  }
  return page;
}

// ---------------------------------------------------------------- maintenance

Status Engine::flush() {
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  return from_rocksdb(db_->Flush(flush_options, handles_), "flush");
}

Result<std::uint64_t> Engine::disk_bytes() const {
  std::error_code error;
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory_, error)) {
    if (entry.is_regular_file(error)) total += entry.file_size(error);
    if (error) break;
  }
  if (error) return Status::io_error("size of " + directory_ + ": " + error.message());
  return total;
}

// ---------------------------------------------------------------- snapshots

Status Engine::checkpoint(const std::string& directory) {
  LF_RETURN_IF_ERROR(require_idle("checkpoint()"));
  // A checkpoint holds its projections in its files: a snapshot store then
  // opens read-only without re-executing anything.
  if (!options_.read_only) LF_RETURN_IF_ERROR(flush_projections());
  rocksdb::Checkpoint* raw = nullptr;
  LF_RETURN_IF_ERROR(from_rocksdb(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush first, so the checkpoint is mostly SST files
  // (hard links) and a short WAL.
  return from_rocksdb(checkpoint->CreateCheckpoint(directory, /*log_size_for_flush=*/0),
                      "checkpoint into " + directory);
}

Status Engine::keep_only_log(const std::string& directory, const EngineOptions& options) {
  rocksdb::DBOptions db_options = store_db_options(options);
  db_options.create_if_missing = false;
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = store_families(options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  LF_RETURN_IF_ERROR(from_rocksdb(
      rocksdb::DB::Open(db_options, directory, families, &handles, &raw), "open " + directory));
  std::unique_ptr<rocksdb::DB> db(raw);
  // Dropped and created all at once: each change rewrites the OPTIONS file.
  std::vector<rocksdb::ColumnFamilyHandle*> dropped;
  std::vector<rocksdb::ColumnFamilyDescriptor> recreated;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    if (families[i].name == "default" || families[i].name == "events") continue;  // Kept.
    dropped.push_back(handles[i]);
    recreated.push_back(families[i]);
  }
  Status status = from_rocksdb(db->DropColumnFamilies(dropped), "drop families");
  std::vector<rocksdb::ColumnFamilyHandle*> created;
  if (status.is_ok()) {
    status = from_rocksdb(db->CreateColumnFamilies(recreated, &created), "create families");
  }
  for (auto* list : {&handles, &created}) {
    for (rocksdb::ColumnFamilyHandle* handle : *list) (void)db->DestroyColumnFamilyHandle(handle);
  }
  if (status.is_ok()) status = from_rocksdb(db->Close(), "close " + directory);
  return status;
}

Status Engine::load_raw(std::span<const RawPut> puts) {
  LF_RETURN_IF_ERROR(require_writable());
  LF_RETURN_IF_ERROR(require_idle("load_raw()"));
  LF_RETURN_IF_ERROR(require_flushed("load_raw()"));
  rocksdb::ColumnFamilyHandle* const families[] = {events_,   accounts_, pending_,
                                                   commands_, expiry_,   meta_};
  // Reserve the batch's bytes up front: growing a large batch by doubling
  // costs more in copies and page faults than the puts themselves.
  constexpr std::size_t put_overhead_bytes = 16;  // Tag, family id, two varint lengths.
  std::size_t bytes = 0;
  for (const RawPut& put : puts) bytes += put.key.size() + put.value.size() + put_overhead_bytes;
  rocksdb::WriteBatch batch(bytes + 64);
  for (const RawPut& put : puts) {
    const auto index = static_cast<std::size_t>(put.family);
    LF_ASSERT(index < std::size(families));
    batch.Put(families[index], slice(put.key), slice(put.value));
  }
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  rocksdb::Status s = db_->Write(write_options, &batch);
  if (!s.ok()) {
    failed_ = true;
    return from_rocksdb(s, "load raw entries");
  }
  drop_resident_accounts();
  return load_head();
}

namespace {

// Bulk-loaded files are compressed as flushed ones are (the family's
// `compression`), never with a bottommost compression of its own: the writer
// runs in the caller's thread, where a flush would run in the background. No
// family sets one today (family_options); this keeps it so if one does.
rocksdb::Options bulk_options(rocksdb::Options options) {
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  return options;
}

class SstBulkLoad final : public Engine::BulkLoad {
 public:
  SstBulkLoad(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, std::string path)
      : db_(db),
        family_(family),
        path_(std::move(path)),
        writer_(rocksdb::EnvOptions(), bulk_options(db->GetOptions(family)), family) {}
  ~SstBulkLoad() override {
    if (!path_.empty()) std::filesystem::remove(path_, ignored_);
  }

  Status add(std::string_view key, std::string_view value) override {
    if (!opened_) {
      LF_RETURN_IF_ERROR(from_rocksdb(writer_.Open(path_), "bulk load open " + path_));
      opened_ = true;
    }
    return from_rocksdb(writer_.Put(slice(key), slice(value)), "bulk load add");
  }

  Status finish() override {
    if (!opened_) return Status::ok();
    LF_RETURN_IF_ERROR(from_rocksdb(writer_.Finish(), "bulk load finish " + path_));
    rocksdb::IngestExternalFileOptions options;
    options.move_files = true;
    LF_RETURN_IF_ERROR(
        from_rocksdb(db_->IngestExternalFile(family_, {path_}, options), "bulk load ingest"));
    path_.clear();  // Moved into the store.
    return Status::ok();
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  std::string path_;
  rocksdb::SstFileWriter writer_;
  bool opened_ = false;
  std::error_code ignored_;
};

}  // namespace

Result<std::unique_ptr<Engine::BulkLoad>> Engine::bulk_load(Family family) {
  LF_RETURN_IF_ERROR(require_writable());
  LF_RETURN_IF_ERROR(require_idle("bulk_load()"));
  LF_RETURN_IF_ERROR(require_flushed("bulk_load()"));
  rocksdb::ColumnFamilyHandle* const families[] = {events_,   accounts_, pending_,
                                                   commands_, expiry_,   meta_};
  const auto index = static_cast<std::size_t>(family);
  LF_ASSERT(index < std::size(families));
  static std::atomic<std::uint64_t> counter{0};
  const std::string path = fmt::format("{}/bulk-{}-{}.sst.tmp", directory_, index, counter++);
  drop_resident_accounts();
  return std::unique_ptr<BulkLoad>(new SstBulkLoad(db_.get(), families[index], path));
}

// ---------------------------------------------------------------- debug

Result<ledger::Sequence> Engine::debug_block_of(ledger::Sequence seq) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekForPrev(event_key(seq));
  if (!it->Valid()) return Status::not_found(fmt::format("no block holds event {}", seq));
  if (it->key().size() != 8) return Status::corruption("event block key is not 8 bytes");
  return get_u64be(view(it->key()));
}

Result<std::vector<std::string>> Engine::debug_read_block(ledger::Sequence first_seq) {
  Result<std::optional<std::string>> bytes = get(events_, event_key(first_seq));
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return Status::not_found("no such event block");
  Result<std::vector<std::string_view>> entries = split_event_block(**bytes);
  if (!entries.is_ok()) return entries.status();
  return std::vector<std::string>(entries->begin(), entries->end());
}

Status Engine::debug_write_block(ledger::Sequence first_seq,
                                 const std::vector<std::string>& entries) {
  EventBlockWriter block;
  block.clear();
  for (const std::string& entry : entries) block.add(entry);
  return from_rocksdb(
      db_->Put(rocksdb::WriteOptions(), events_, event_key(first_seq), block.finish()),
      "debug write block");
}

Status Engine::debug_put_account_raw(std::string_view id, std::string_view bytes) {
  LF_RETURN_IF_ERROR(flush_projections());  // Else a later flush would undo the tampering.
  drop_resident_accounts();
  return from_rocksdb(db_->Put(rocksdb::WriteOptions(), accounts_, slice(id), slice(bytes)),
                      "debug put account");
}

}  // namespace lf::engine
