#include "engine/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <span>
#include <thread>

#include "engine/digest.h"
#include "engine/event_block.h"
#include "engine/keys.h"
#include "engine/projection.h"
#include "engine/records.h"
#include "ledger/assert.h"
#include "ledger/limits.h"
#include "ledger/state_machine.h"

namespace lf::engine {

namespace fs = std::filesystem;

namespace {

// Where a store's Kafka consumption stands, as far as its log tells: the
// highest offset of a logged command per (topic, partition), plus one.
// Duplicates and poison messages leave no event, so this may trail the stored
// offsets: a rebuild from a store carries the stored ones over (and checks
// them against these); a rebuild from a file, which has no others, uses
// these, and consuming from them again meets only duplicates, which
// idempotency answers, and poison, which is dead-lettered again.
using DerivedOffsets = std::map<std::pair<std::string, std::uint32_t>, std::uint64_t>;

Engine::RawPut offset_put(const DerivedOffsets::value_type& offset) {
  const auto& [where, next] = offset;
  return {Engine::Family::meta, offset_meta_key(where.first, where.second), u64be_value(next)};
}

// Meta entries of the derived offsets (a store rebuilt from a file, which has
// no better source).
std::vector<Engine::RawPut> offset_puts(const DerivedOffsets& offsets) {
  std::vector<Engine::RawPut> puts;
  for (const auto& offset : offsets) puts.push_back(offset_put(offset));
  return puts;
}

// The source store's meta entries that are not the engine's own: the stored
// Kafka offsets (the consumer stores the offset after the last message it
// consumed, poison and duplicates included, which the log cannot tell), dead
// letters and the outbox relay's progress. A rebuilt store is the same shard
// with the same log, so they carry over verbatim. A stored offset behind the
// log's own (a command logged from an offset the store says it has not
// consumed) is a broken store: that is the returned problem. A partition the
// log names and the store has no offset for gets the log's.
Result<std::vector<Engine::RawPut>> carried_meta(Engine& source, const DerivedOffsets& derived,
                                                 std::string& problem) {
  std::vector<Engine::RawPut> puts;
  Status status = source.for_each_meta("", [&](std::string_view key, std::string_view value) {
    if (key == meta_head_key || key == meta_shard_key || key == meta_history_indexed_key ||
        key == meta_projected_key) {
      return true;  // Rebuilt, recorded at creation, or rebuilt by indexing.
    }
    puts.push_back({Engine::Family::meta, std::string(key), std::string(value)});
    return true;
  });
  LF_RETURN_IF_ERROR(status);
  for (const auto& offset : derived) {
    const auto& [where, next] = offset;
    const std::string key = offset_meta_key(where.first, where.second);
    auto stored = std::find_if(puts.begin(), puts.end(),
                               [&](const Engine::RawPut& put) { return put.key == key; });
    if (stored == puts.end()) {  // Commands applied with a source but no stored offset.
      puts.push_back(offset_put(offset));
      continue;
    }
    Result<KafkaOffset> parsed = parse_offset_entry(stored->key, stored->value);
    if (!parsed.is_ok()) return parsed.status();
    const std::uint64_t stored_next = parsed->next_offset;
    if (stored_next < next) {
      problem = fmt::format(
          "the stored Kafka offset of {}/{} is {}, but the log holds a command from offset {}",
          where.first, where.second, stored_next, next - 1);
      break;
    }
  }
  return puts;
}

void note_offset(const ledger::Event& event, DerivedOffsets& offsets) {
  if (!event.command) return;
  const ledger::SourcePosition& s = event.command->source;
  if (s.topic.empty() || s.partition < 0 || s.offset < 0) return;
  std::uint64_t& next = offsets[{s.topic, static_cast<std::uint32_t>(s.partition)}];
  next = std::max(next, static_cast<std::uint64_t>(s.offset) + 1);
}

// Writes a fresh store: its log, then its projections at the end, each
// projection bulk-loaded as one sorted SST file. The log is either the
// source store's, kept as it is (the files of a checkpoint, hard-linked), or
// written from a file as it is read (add_event()).
class StoreBuilder {
 public:
  // Starts a store in `into` + ".partial" (renamed to `into` by finish()),
  // which open() opens. `shard`: the rule of the store being rebuilt, recorded
  // in the new one. `log_of`: the store whose log the new store keeps (it is
  // checkpointed here), or null.
  static Result<std::unique_ptr<StoreBuilder>> create(const std::string& into,
                                                      std::optional<ledger::ShardRule> shard,
                                                      Engine* log_of) {
    std::error_code error;
    if (fs::exists(into, error)) return Status::invalid_argument(into + " exists");
    std::unique_ptr<StoreBuilder> builder(new StoreBuilder());
    builder->into_ = into;
    builder->partial_ = into + ".partial";
    builder->options_.sync_commits = false;
    builder->options_.shard = shard;
    builder->keeps_log_ = log_of != nullptr;
    fs::remove_all(builder->partial_, error);  // Left by an interrupted rebuild.
    if (error) return Status::io_error("remove " + builder->partial_ + ": " + error.message());
    if (log_of != nullptr) LF_RETURN_IF_ERROR(log_of->checkpoint(builder->partial_));
    return builder;
  }

  // Opens the new store (and, when it keeps a log, drops all but that first).
  // Touches nothing but the new store: may run beside reads of the source.
  Status open() {
    if (keeps_log_) LF_RETURN_IF_ERROR(Engine::keep_only_log(partial_, options_));
    Result<std::unique_ptr<Engine>> engine = Engine::open(partial_, options_);
    if (!engine.is_ok()) return engine.status();
    engine_ = std::move(engine).value();
    if (keeps_log_) return Status::ok();
    Result<std::unique_ptr<Engine::BulkLoad>> events = engine_->bulk_load(Engine::Family::events);
    if (!events.is_ok()) return events.status();
    events_ = std::move(events).value();
    return Status::ok();
  }

  // Why the new store's log does not end where `state` does (its last event's
  // seq and hash, nothing after it), or nothing when it does.
  Result<std::optional<std::string>> log_end_problem(const ProjectedState& state) {
    LF_ASSERT(engine_ != nullptr);
    const ledger::Sequence last = state.next_seq - 1;
    std::optional<std::string> problem;
    bool seen_last = last == 0;
    Status status = engine_->for_each_raw_event(
        std::max<ledger::Sequence>(last, 1), [&](ledger::Sequence seq, std::string_view bytes) {
          if (seq == last) {
            Result<codec::OpenedEvent> opened = codec::open_event(bytes);
            seen_last = opened.is_ok() && opened->hash == state.chain_head;
            return seen_last;
          }
          if (seq > last) {
            problem = fmt::format(
                "the source's log changed during the rebuild: the checkpoint holds event {}", seq);
            return false;
          }
          return true;
        });
    if (status.code() == Status::Code::corruption) {
      return std::optional<std::string>("the checkpoint's log: " + status.message());
    }
    LF_RETURN_IF_ERROR(status);
    if (!problem && !seen_last) {
      problem = fmt::format(
          "the source's log changed during the rebuild: the checkpoint's event {} is not the one "
          "folded",
          last);
    }
    return problem;
  }

  // REQUIRES: open(), created without `log_of`.
  Status add_event(ledger::Sequence seq, std::string_view sealed) {
    LF_ASSERT(events_ != nullptr);
    if (block_.count() == 0) block_first_ = seq;
    block_.add(sealed);
    if (block_.count() >= rebuild_block_events_max) return close_block();
    return Status::ok();
  }

  // Writes the projections and the head, indexes, and renames the store into
  // place. Returns the digest of the state written.
  // `meta`: entries besides the head (Kafka offsets and the like).
  Result<Sha256> finish(const ProjectedState& state, std::vector<Engine::RawPut> meta,
                        bool index_history) {
    // The new store's digest is computed from the state it is written from,
    // meanwhile; tests/replay/replay_test.cc reads a rebuilt store back.
    LF_ASSERT(engine_ != nullptr);  // open() ran.
    std::future<Sha256> digest =
        std::async(std::launch::async, [&state] { return projected_digest(state); });
    if (events_ != nullptr) {
      LF_RETURN_IF_ERROR(close_block());
      LF_RETURN_IF_ERROR(events_->finish());
    }
    RecordEncoder records;
    LF_RETURN_IF_ERROR(load(Engine::Family::accounts, [&](Engine::BulkLoad& out) {
      for (const auto& [id, a] : state.accounts)
        LF_RETURN_IF_ERROR(out.add(id, records.account(a)));
      return Status::ok();
    }));
    LF_RETURN_IF_ERROR(load(Engine::Family::pending, [&](Engine::BulkLoad& out) {
      for (const auto& [id, p] : state.pendings)
        LF_RETURN_IF_ERROR(out.add(id, records.pending(p)));
      return Status::ok();
    }));
    LF_RETURN_IF_ERROR(load(Engine::Family::commands, [&](Engine::BulkLoad& out) {
      for (std::size_t i = 0; i < state.commands.size(); ++i) {
        LF_RETURN_IF_ERROR(
            out.add(state.commands.id(i), records.command_record(state.commands.record(i))));
      }
      return Status::ok();
    }));
    LF_RETURN_IF_ERROR(load(Engine::Family::expiry, [&](Engine::BulkLoad& out) {
      for (const ledger::ExpiryKey& e : state.expiry_index()) {
        LF_RETURN_IF_ERROR(out.add(expiry_key(e.first, e.second), {}));
      }
      return Status::ok();
    }));
    Head head;
    head.ledger.next_seq = state.next_seq;
    head.ledger.logical_time_ms = state.logical_time_ms;
    head.chain_head = state.chain_head;
    meta.push_back({Engine::Family::meta, std::string(meta_head_key), encode_head(head)});
    LF_RETURN_IF_ERROR(engine_->load_raw(meta));
    LF_ASSERT(engine_->head() == head);
    if (index_history) LF_RETURN_IF_ERROR(engine_->catch_up_history());
    LF_RETURN_IF_ERROR(engine_->flush());  // load_raw() skipped the WAL.
    events_.reset();
    engine_.reset();  // Closes the store before it moves.
    std::error_code error;
    fs::rename(partial_, into_, error);
    if (error) return Status::io_error("rename " + partial_ + ": " + error.message());
    finished_ = true;
    return digest.get();
  }

  ~StoreBuilder() {
    if (finished_) return;
    events_.reset();
    engine_.reset();
    std::error_code ignored;
    fs::remove_all(partial_, ignored);
  }

 private:
  StoreBuilder() = default;

  // Bulk-loads one family: add_all(loader) adds its entries, in key order.
  template <typename AddAll>
  Status load(Engine::Family family, AddAll&& add_all) {
    Result<std::unique_ptr<Engine::BulkLoad>> loader = engine_->bulk_load(family);
    if (!loader.is_ok()) return loader.status();
    LF_RETURN_IF_ERROR(add_all(**loader));
    return (*loader)->finish();
  }

  Status close_block() {
    if (block_.count() == 0) return Status::ok();
    LF_RETURN_IF_ERROR(events_->add(event_key(block_first_), block_.finish()));
    block_.clear();
    return Status::ok();
  }

  std::string into_;
  std::string partial_;
  std::unique_ptr<Engine> engine_;
  EngineOptions options_;
  bool keeps_log_ = false;
  std::unique_ptr<Engine::BulkLoad> events_;  // Null when the log is kept.
  bool finished_ = false;                     // Renamed into place.
  EventBlockWriter block_;
  ledger::Sequence block_first_ = 0;
};

// Reads a store's events on one thread and opens them (verifier, hash,
// decode, command digest: most of a replay's work) on `openers` more, a chunk
// at a time, so that reading, opening and applying overlap. Chunks come out
// in log order. Chunks are recycled: the events of a chunk the caller is
// done with are decoded over (codec::open_event_into), which keeps their
// strings' and postings' buffers instead of allocating and freeing them for
// every event.
class OpenedEventStream {
 public:
  struct Item {
    ledger::Sequence seq = 0;
    std::string_view sealed;    // Into its chunk's bytes.
    bool ok = false;            // `opened` holds the event, else `error` says why not.
    codec::OpenedEvent opened;  // Valid only when ok; with its command's digest.
    std::string error;
  };
  struct Chunk {
    std::string bytes;        // The items' sealed events, back to back.
    std::vector<Item> slots;  // The first `size` are this chunk's; the rest wait for reuse.
    std::size_t size = 0;
    bool opened = false;  // GUARDED_BY(mutex_ of the stream)
    std::span<const Item> items() const { return {slots.data(), size}; }
  };
  using ChunkPtr = std::unique_ptr<Chunk>;

  OpenedEventStream(Engine& source, ledger::Sequence from, std::size_t openers) {
    LF_ASSERT(openers >= 1);  // Else next() would wait forever.
    reader_ = std::thread([this, &source, from] { read(source, from); });
    for (std::size_t i = 0; i < openers; ++i) openers_.emplace_back([this] { open_chunks(); });
  }
  ~OpenedEventStream() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    work_.notify_all();
    reader_.join();
    for (std::thread& opener : openers_) opener.join();
  }
  OpenedEventStream(const OpenedEventStream&) = delete;
  OpenedEventStream& operator=(const OpenedEventStream&) = delete;

  // The next chunk, opened; null at the end of the log (then status() says
  // how the read ended).
  // `used`, the chunk the caller is done with, goes back to the reader thread
  // to be filled again.
  ChunkPtr next(ChunkPtr used) {
    std::unique_lock lock(mutex_);
    if (used != nullptr) used_.push_back(std::move(used));
    ready_.wait(lock, [&] {
      return (!order_.empty() && order_.front()->opened) || (read_all_ && order_.empty());
    });
    if (order_.empty()) return nullptr;
    ChunkPtr chunk = std::move(order_.front());
    order_.pop_front();
    LF_ASSERT(taken_ > 0);  // The front was taken, since it is opened.
    --taken_;
    space_.notify_one();
    return chunk;
  }
  Status status() {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  static constexpr std::size_t chunk_events = 256;
  static constexpr std::size_t chunks_in_flight_max = 16;

  static ChunkPtr new_chunk() {
    ChunkPtr chunk = std::make_unique<Chunk>();
    chunk->slots.resize(chunk_events);
    return chunk;
  }

  // Hands `chunk` (its items' bytes at `spans`) to the openers and starts
  // another, a used one when there is one; false when the stream is stopping.
  bool push(ChunkPtr& chunk, std::vector<std::pair<std::size_t, std::size_t>>& spans) {
    const std::string_view bytes(chunk->bytes);
    for (std::size_t i = 0; i < spans.size(); ++i) {
      chunk->slots[i].sealed = bytes.substr(spans[i].first, spans[i].second);
    }
    spans.clear();
    ChunkPtr next;
    {
      std::unique_lock lock(mutex_);
      space_.wait(lock, [&] { return order_.size() < chunks_in_flight_max || stop_; });
      if (stop_) return false;
      order_.push_back(std::move(chunk));
      if (!used_.empty()) {
        next = std::move(used_.front());
        used_.pop_front();
      }
      work_.notify_one();
    }
    if (next == nullptr) next = new_chunk();
    next->bytes.clear();
    next->size = 0;
    next->opened = false;
    chunk = std::move(next);
    return true;
  }

  void read(Engine& source, ledger::Sequence from) {
    ChunkPtr chunk = new_chunk();
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // Offset and size in bytes.
    Status status =
        source.for_each_raw_event(from, [&](ledger::Sequence seq, std::string_view bytes) {
          chunk->slots[chunk->size++].seq = seq;
          spans.emplace_back(chunk->bytes.size(), bytes.size());
          chunk->bytes.append(bytes);
          return chunk->size < chunk_events || push(chunk, spans);
        });
    if (chunk->size > 0) (void)push(chunk, spans);
    std::lock_guard lock(mutex_);
    status_ = std::move(status);
    read_all_ = true;
    work_.notify_all();
    ready_.notify_all();
  }

  static void open(Chunk& chunk) {
    for (std::size_t i = 0; i < chunk.size; ++i) {
      Item& item = chunk.slots[i];
      Status status = codec::open_event_into(item.sealed, item.opened);
      item.ok = status.is_ok();
      if (item.ok) {
        const std::optional<ledger::Command>& command = item.opened.event.command;
        if (command) item.opened.command_digest = ledger::content_digest(*command);
      } else {
        item.error = status.message();
      }
    }
  }

  void open_chunks() {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return stop_ || taken_ < order_.size() || read_all_; });
      if (stop_ || taken_ == order_.size()) return;  // Stopped, or all read and taken.
      Chunk* chunk = order_[taken_++].get();         // Stays put: only opened chunks leave order_.
      lock.unlock();
      open(*chunk);
      lock.lock();
      chunk->opened = true;
      ready_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;  // The front chunk is opened, or all is read.
  std::condition_variable space_;  // order_ has room.
  std::condition_variable work_;   // A chunk to open, or all is read.
  std::deque<ChunkPtr> order_;     // GUARDED_BY(mutex_): read, in log order.
  std::size_t taken_ = 0;          // GUARDED_BY(mutex_): order_'s first ones an opener took.
  std::deque<ChunkPtr> used_;      // GUARDED_BY(mutex_): consumed, to be filled again.
  bool stop_ = false;              // GUARDED_BY(mutex_)
  bool read_all_ = false;          // GUARDED_BY(mutex_)
  Status status_;                  // GUARDED_BY(mutex_)
  std::thread reader_;
  std::vector<std::thread> openers_;
};

void fail(bool& ok, std::optional<ledger::Sequence>& bad_seq, std::string& problem,
          std::optional<ledger::Sequence> seq, std::string text) {
  if (!ok) return;
  ok = false;
  bad_seq = seq;
  problem = std::move(text);
}

}  // namespace

// ---------------------------------------------------------------- rebuild

Result<RebuildReport> rebuild_projections(Engine& source, const std::string& into,
                                          const RebuildOptions& options) {
  RebuildReport report;
  Result<std::unique_ptr<StoreBuilder>> builder =
      StoreBuilder::create(into, source.shard(), &source);
  if (!builder.is_ok()) return builder.status();
  // Opened meanwhile (mostly file system work). Declared after the builder:
  // an early return waits for it before the builder goes.
  std::future<Status> opened =
      std::async(std::launch::async, [&builder] { return (*builder)->open(); });
  ProjectedState state;
  DerivedOffsets offsets;
  // The live store's digest, computed meanwhile (reads only, like the stream).
  std::future<Result<Sha256>> live =
      std::async(std::launch::async, [&source] { return store_digest(source); });
  Status status;
  {
    OpenedEventStream stream(source, 1, replay_openers);
    // Stops at the first bad event without waiting for another chunk.
    for (OpenedEventStream::ChunkPtr chunk = stream.next(nullptr); chunk != nullptr;
         chunk = report.ok ? stream.next(std::move(chunk)) : nullptr) {
      for (const OpenedEventStream::Item& item : chunk->items()) {
        const ledger::Sequence seq = item.seq;
        std::optional<EventProblem> problem;
        if (seq != state.next_seq) {
          problem =
              EventProblem{state.next_seq, fmt::format("event {} is missing", state.next_seq)};
        } else if (!item.ok) {
          problem = EventProblem{seq, fmt::format("event {}: {}", seq, item.error)};
        } else {
          problem = apply_opened(seq, item.opened, state);
          if (!problem) note_offset(item.opened.event, offsets);
        }
        if (problem) {
          fail(report.ok, report.bad_seq, report.problem, problem->seq, std::move(problem->text));
          break;
        }
        ++report.events;
      }
    }
    if (report.ok) status = stream.status();
  }
  state.commands.sort();  // The fold is over.
  if (status.code() == Status::Code::corruption) {
    fail(report.ok, report.bad_seq, report.problem, state.next_seq,
         fmt::format("event {}: {}", state.next_seq, status.message()));
  } else if (!status.is_ok()) {
    return status;
  }
  if (!report.ok) return report;
  if (source.head().ledger.next_seq != state.next_seq ||
      source.head().chain_head != state.chain_head) {
    fail(report.ok, report.bad_seq, report.problem, state.next_seq,
         fmt::format("log ends at event {} but the head says {}", state.next_seq - 1,
                     source.head().ledger.next_seq - 1));
    return report;
  }
  report.chain_head = state.chain_head;
  LF_RETURN_IF_ERROR(opened.get());
  // The new store's log is the checkpoint's, the fold read the source's: the
  // same files, unless a writer changed the source in between (possible
  // when it is open read-only beside a writer). Then the two logs end apart.
  Result<std::optional<std::string>> log_end = (*builder)->log_end_problem(state);
  if (!log_end.is_ok()) return log_end.status();
  if (log_end->has_value()) {
    fail(report.ok, report.bad_seq, report.problem, std::nullopt, std::move(**log_end));
    return report;
  }
  std::string meta_problem;
  Result<std::vector<Engine::RawPut>> meta = carried_meta(source, offsets, meta_problem);
  if (!meta.is_ok()) return meta.status();
  if (!meta_problem.empty()) {
    fail(report.ok, report.bad_seq, report.problem, std::nullopt, std::move(meta_problem));
    return report;
  }
  Result<Sha256> rebuilt =
      (*builder)->finish(state, std::move(meta).value(), options.index_history);
  if (!rebuilt.is_ok()) return rebuilt.status();
  report.rebuilt_digest = *rebuilt;
  Result<Sha256> live_digest = live.get();
  if (!live_digest.is_ok()) return live_digest.status();
  report.source_digest = *live_digest;
  if (report.source_digest != report.rebuilt_digest) {
    fail(report.ok, report.bad_seq, report.problem, std::nullopt,
         "the source store's projections differ from the log's (run verify to see where)");
  }
  return report;
}

// ---------------------------------------------------------------- reexecute

namespace {

struct Reexecution {
  Engine& source;
  Engine& scratch;
  ReexecuteReport& report;
  std::size_t batch_max;
  std::vector<ledger::Command> batch;
  std::deque<std::pair<ledger::Sequence, std::string>> logged;  // Read, not yet compared.

  void differ(ledger::Sequence seq, std::string text) {
    fail(report.ok, report.bad_seq, report.problem, seq, std::move(text));
  }

  // Applies the batch and compares what it produced with the logged events.
  Status run_batch() {
    if (batch.empty()) return Status::ok();
    Result<BatchResult> result = scratch.apply(batch);
    if (!result.is_ok()) return result.status();
    report.commands += batch.size();
    batch.clear();
    return scratch.for_each_raw_event(
        result->first_seq, [&](ledger::Sequence seq, std::string_view produced) {
          if (seq >= result->next_seq) return false;
          if (logged.empty() || logged.front().first != seq) {
            differ(seq, fmt::format("re-execution produced event {}, which the log does not have "
                                    "there",
                                    seq));
            return false;
          }
          if (logged.front().second != produced) {
            differ(seq, fmt::format("event {} differs from the logged one", seq));
            return false;
          }
          logged.pop_front();
          ++report.events;
          return true;
        });
  }
};

}  // namespace

Result<ReexecuteReport> reexecute(Engine& source, const std::string& scratch_dir,
                                  const SnapshotInfo* snapshot, std::size_t batch_commands) {
  LF_ASSERT(batch_commands >= 1);
  LF_ASSERT(batch_commands <= ledger::batch_commands_max);
  ReexecuteReport report;
  std::error_code error;
  if (fs::exists(scratch_dir, error)) return Status::invalid_argument(scratch_dir + " exists");
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{scratch_dir};
  if (snapshot != nullptr) {
    report.from_seq = snapshot->manifest.seq + 1;
    LF_RETURN_IF_ERROR(restore_snapshot(*snapshot, scratch_dir, false));
    if (snapshot->manifest.seq > 0) {
      // The snapshot must be a prefix of this log.
      bool same = false;
      LF_RETURN_IF_ERROR(
          source.for_each_event(snapshot->manifest.seq, [&](const codec::OpenedEvent& e) {
            same = e.event.seq == snapshot->manifest.seq && e.hash == snapshot->manifest.chain_head;
            return false;
          }));
      if (!same) {
        fail(report.ok, report.bad_seq, report.problem, snapshot->manifest.seq,
             fmt::format("snapshot {} is not a prefix of this log (event {} differs)",
                         snapshot->name, snapshot->manifest.seq));
        return report;
      }
    }
  }
  EngineOptions options;
  options.sync_commits = false;
  options.create_if_missing = snapshot == nullptr;
  options.check_command_sizes = false;  // The log is what it is: re-execute all of it.
  // The shard rule is an input of every decision: re-execute under the same.
  options.shard = source.shard();
  Result<std::unique_ptr<Engine>> scratch = Engine::open(scratch_dir, options);
  if (!scratch.is_ok()) return scratch.status();
  Reexecution run{source, **scratch, report, batch_commands, {}, {}};
  Status failure;
  ledger::Sequence expected = report.from_seq;
  Status status =
      source.for_each_raw_event(report.from_seq, [&](ledger::Sequence seq, std::string_view bytes) {
        if (seq != expected) {
          run.differ(expected, fmt::format("event {} is missing from the log", expected));
          return false;
        }
        ++expected;
        Result<codec::OpenedEvent> opened = codec::open_event(bytes);
        if (!opened.is_ok()) {
          run.differ(seq, fmt::format("event {}: {}", seq, opened.status().message()));
          return false;
        }
        if (opened->event.command) {
          // A batch is encoded in one version: a command logged in another
          // one (written before an upgrade) starts a new batch.
          if (run.batch.size() >= run.batch_max ||
              opened->schema_version != run.scratch.event_schema_version()) {
            failure = run.run_batch();
            if (!failure.is_ok() || !report.ok) return false;
            failure = run.scratch.set_event_schema_version(opened->schema_version);
            if (!failure.is_ok()) return false;
          }
          run.batch.push_back(*opened->event.command);
        }
        run.logged.emplace_back(seq, std::string(bytes));
        return true;
      });
  if (status.code() == Status::Code::corruption) {
    run.differ(expected, fmt::format("event {}: {}", expected, status.message()));
  } else if (!status.is_ok()) {
    return status;
  }
  LF_RETURN_IF_ERROR(failure);
  if (report.ok) LF_RETURN_IF_ERROR(run.run_batch());
  if (!report.ok) return report;
  if (!run.logged.empty()) {
    run.differ(run.logged.front().first,
               fmt::format("the log has event {}, which re-execution did not produce",
                           run.logged.front().first));
    return report;
  }
  const Head& produced = (*scratch)->head();
  if (produced.ledger.next_seq != source.head().ledger.next_seq ||
      produced.chain_head != source.head().chain_head) {
    run.differ(produced.ledger.next_seq,
               fmt::format("re-execution ends at event {}, the log at {}",
                           produced.ledger.next_seq - 1, source.head().ledger.next_seq - 1));
    return report;
  }
  report.chain_head = produced.chain_head;
  return report;
}

// ---------------------------------------------------------------- export

Result<ExportReport> export_log(Engine& source, const std::string& path, ledger::Sequence from,
                                ledger::Sequence to, const std::string& shard) {
  const ledger::Sequence last = source.head().ledger.next_seq - 1;
  if (to == 0) to = last;
  if (from == 0 || to > last || from > to + 1) {
    return Status::invalid_argument(
        fmt::format("range {}..{} is outside the log (events 1..{})", from, to, last));
  }
  ExportReport report{from, to, {}};
  LogFileHeader header;
  header.shard = shard;
  header.first_seq = from;
  header.last_seq = to;
  if (from > 1) {
    bool found = false;
    LF_RETURN_IF_ERROR(source.for_each_event(from - 1, [&](const codec::OpenedEvent& e) {
      found = e.event.seq == from - 1;
      header.prev_hash = e.hash;
      return false;
    }));
    if (!found) return Status::corruption(fmt::format("event {} is missing", from - 1));
  }
  Result<std::unique_ptr<LogFileWriter>> writer = LogFileWriter::create(path, header);
  if (!writer.is_ok()) return writer.status();
  Sha256 prev = header.prev_hash;
  ledger::Sequence expected = from;
  Status failure;
  if (to >= from) {
    LF_RETURN_IF_ERROR(
        source.for_each_raw_event(from, [&](ledger::Sequence seq, std::string_view bytes) {
          Result<codec::OpenedEvent> opened = codec::open_event(bytes);
          if (seq != expected || !opened.is_ok() || opened->event.seq != seq ||
              opened->prev_hash != prev) {
            failure = Status::corruption(
                fmt::format("event {} does not verify; run ledgerflow verify", expected));
            return false;
          }
          prev = opened->hash;
          failure = (*writer)->add(bytes);
          ++expected;
          return failure.is_ok() && seq < to;
        }));
  }
  LF_RETURN_IF_ERROR(failure);
  if (expected != to + 1) {
    return Status::corruption(fmt::format("event {} is missing from the log", expected));
  }
  LF_RETURN_IF_ERROR((*writer)->finish(prev));
  report.chain_head = prev;
  return report;
}

// ---------------------------------------------------------------- replay log

Result<LogReplayReport> replay_log_file(const std::string& path, const std::string& into) {
  LogReplayReport report;
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return Status::io_error(path + " is not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("open " + path);
  std::unique_ptr<StoreBuilder> builder;
  ProjectedState state;
  DerivedOffsets offsets;
  Status write_failure;
  bool rebuild = true;
  const LogRecordFn fn = [&](ledger::Sequence seq, std::string_view sealed,
                             const codec::OpenedEvent& opened) -> std::optional<std::string> {
    if (!rebuild) return std::nullopt;
    std::optional<EventProblem> problem = apply_opened(seq, opened, state);
    if (problem) return problem->text;
    note_offset(opened.event, offsets);
    if (builder) {
      write_failure = builder->add_event(seq, sealed);
      if (!write_failure.is_ok()) return "cannot write the rebuilt store";
    }
    return std::nullopt;
  };
  // Peek at the header first (the read stops at the first record): a rebuild
  // needs the log from seq 1.
  {
    Result<LogFileReport> header_only =
        read_log_file(in, [](ledger::Sequence, std::string_view, const codec::OpenedEvent&) {
          return std::optional<std::string>("stop");
        });
    if (!header_only.is_ok()) return header_only.status();
    rebuild = header_only->header.first_seq == 1;
    in.clear();
    in.seekg(0);
  }
  if (!rebuild) {
    report.problem = "the file does not start at seq 1: verified only, nothing rebuilt";
  } else if (!into.empty()) {
    Result<std::unique_ptr<StoreBuilder>> created =
        StoreBuilder::create(into, std::nullopt, nullptr);
    if (!created.is_ok()) return created.status();
    builder = std::move(created).value();
    LF_RETURN_IF_ERROR(builder->open());
  }
  Result<LogFileReport> file = read_log_file(in, fn);
  if (!file.is_ok()) return file.status();
  LF_RETURN_IF_ERROR(write_failure);
  report.file = std::move(file).value();
  if (!report.file.ok || !rebuild) return report;
  state.commands.sort();  // The fold is over.
  report.rebuilt = true;
  report.state_digest = projected_digest(state);
  if (builder) {
    Result<Sha256> stored = builder->finish(state, offset_puts(offsets), true);
    if (!stored.is_ok()) return stored.status();
    LF_ASSERT(*stored == report.state_digest);
  }
  return report;
}

}  // namespace lf::engine
