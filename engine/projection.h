// ProjectedState: a shard's projected state rebuilt in memory from the event
// log alone (accounts, pending transfers, idempotency records, logical time and
// the chain head). verify, the projection rebuild, the state digest and the
// offline log replay all fold events into it with the same code, so "the state
// the log implies" has one definition (docs/replay.md).
//
// Thread-safety: none; one thread folds one log.
#pragma once

#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "engine/huge_pages.h"
#include "ledger/sha256.h"
#include "ledger/types.h"
#include "ledger/working_set.h"
#include "schemas/codec.h"

namespace lf::engine {

// The first block a fold's monotonic buffer asks for: libstdc++ adds a
// 64-byte header to the request, and a block of exactly one huge page would
// map (and fault) a second one for those 64 bytes.
inline constexpr std::size_t fold_first_block_bytes = huge_page_bytes - 64;

// The idempotency records a fold rebuilds: appended in log order, then
// sorted by id once, by sort(), when the fold is over. Ids and fields are
// copied into `memory` (a monotonic buffer), records are kept in chunks
// (never moved), and the sort orders 4-byte slot numbers.
//
// Why not a map of CommandRecords: one insert per command cost a dozen
// string compares, and each node about 200 bytes of fresh memory, whose first
// touch (a page fault, a zeroed page) was a third of a rebuild's folding
// thread on the reference VM. A record here takes 88 bytes plus its id.
//
// Semantics are the map's: add() for an id seen before replaces its record
// (the last one added wins); add_event() counts one more event for the record
// in `slot`, as long as no later add() replaced it.
class FoldedCommands {
 public:
  explicit FoldedCommands(std::pmr::memory_resource* memory) : memory_(memory) {}
  FoldedCommands(const FoldedCommands&) = delete;
  FoldedCommands& operator=(const FoldedCommands&) = delete;

  // Remembers `record` (its outcome.command_id is ignored) under `id`;
  // returns its slot. REQUIRES: sort() has not run.
  std::size_t add(std::string_view id, const ledger::CommandRecord& record);
  // One more event for the record in `slot` (a linked chain's later steps).
  void add_event(std::size_t slot);
  // Orders the records by id and drops the replaced ones. Runs once, when
  // the fold is over; nothing is added after it. Splits the work over two
  // threads when there are many records.
  void sort();

  // In id order. REQUIRES: sort() ran after the last add().
  std::size_t size() const;
  std::string_view id(std::size_t i) const;
  ledger::CommandRecord record(std::size_t i) const;
  // Calls fn(id, record) for every record, in id order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t i = 0; i < size(); ++i) fn(id(i), record(i));
  }

 private:
  // Slots are 32-bit in order_: four billion commands is far past any fold
  // that fits in memory.
  static constexpr std::size_t slots_max = UINT32_MAX;
  // Fewer records are sorted on the calling thread alone.
  static constexpr std::size_t parallel_sort_records_min = 1u << 16;

  struct Entry {
    std::string_view id;     // Into memory_.
    std::string_view field;  // Into memory_; the rejected field, when there is one.
    ledger::ContentDigest digest{};
    ledger::Sequence first_seq = 0;
    std::uint32_t event_count = 0;
    std::int32_t failed_step = -1;
    ledger::OutcomeStatus status = ledger::OutcomeStatus::accepted;
    ledger::RejectReason reason = ledger::RejectReason::none;
  };
  static_assert(std::is_trivially_destructible_v<Entry>);  // Never destroyed: memory_ is.
  static constexpr std::size_t chunk_entries = 8192;

  std::string_view copy(std::string_view bytes);
  Entry& entry(std::size_t slot) { return chunks_[slot / chunk_entries][slot % chunk_entries]; }
  const Entry& entry(std::size_t slot) const {
    return chunks_[slot / chunk_entries][slot % chunk_entries];
  }

  std::pmr::memory_resource* memory_;
  std::vector<Entry*> chunks_;        // Each of chunk_entries, in memory_.
  std::size_t count_ = 0;             // Entries added.
  std::vector<std::uint32_t> order_;  // After sort(): the slots kept, in id order.
  bool sort_ran_ = false;
  // The records can be listed: sorted, or none ever added.
  bool listable() const { return sort_ran_ || count_ == 0; }
};

struct ProjectedState {
  ProjectedState() = default;
  // The maps' nodes live in `nodes`: a copy or a move would leave a map with
  // nodes in another state's buffer.
  ProjectedState(const ProjectedState&) = delete;
  ProjectedState& operator=(const ProjectedState&) = delete;
  ProjectedState(ProjectedState&&) = delete;
  ProjectedState& operator=(ProjectedState&&) = delete;

  // The maps' nodes, which only ever grow during a fold: a monotonic buffer
  // over huge pages (engine/huge_pages.h). Declared first: built before the
  // maps, destroyed after them.
  std::unique_ptr<std::pmr::monotonic_buffer_resource> nodes =
      std::make_unique<std::pmr::monotonic_buffer_resource>(fold_first_block_bytes,
                                                            huge_page_resource());
  template <typename T>
  using IdMap = std::pmr::map<std::string, T>;
  IdMap<ledger::Account> accounts{nodes.get()};
  // The same accounts by id, hashed, for the fold's lookups (two per
  // transfer): a red-black tree of thousands of string keys costs a dozen
  // string compares per lookup. Points into `accounts`, whose nodes never
  // move; only apply_event() adds accounts, to both.
  std::unordered_map<std::string_view, ledger::Account*> account_index;
  IdMap<ledger::PendingTransfer> pendings{nodes.get()};
  FoldedCommands commands{nodes.get()};  // Idempotency records: sort() them when the fold ends.
  // Where the log stands: the next seq expected, the logical time of the last
  // event and its hash (zeros before event 1).
  ledger::Sequence next_seq = 1;
  ledger::TimestampMs logical_time_ms = 0;
  Sha256 chain_head{};

  // Last event touching each "account:ID" / "pending:ID" (for verify's
  // messages only: off by default, it costs a string per posting).
  bool track_last_seq = false;
  std::map<std::string, ledger::Sequence> last_seq;

  // The command whose events are being read, and its body when it is a linked
  // chain (its later events are its steps).
  std::string open_command;
  std::optional<std::size_t> open_command_slot;  // Its record in `commands`, once it has one.
  // The record of the empty id, once it has one: only a hand-made log gets
  // one (see remember_command), and later such events count on it.
  std::optional<std::size_t> empty_id_slot;
  std::optional<ledger::Command> open_linked;

  std::optional<ledger::Sequence> last_seq_of(const std::string& key) const;
  // The expiry index this state implies: open holds with a timeout.
  std::set<ledger::ExpiryKey> expiry_index() const;
};

// Applies one decoded event; an empty string means it fits the state, else
// says why not ("opens a twice"). Does not check seq or chain (see below).
// `command_digest`: the content digest of event.command when the caller has
// it already (it is computed otherwise).
std::string apply_event(const ledger::Event& event, ProjectedState& state,
                        const ledger::ContentDigest* command_digest = nullptr);

// Why a sealed event does not fit: the seq it concerns and the words verify
// uses ("event 12: chain broken ...").
struct EventProblem {
  ledger::Sequence seq = 0;
  std::string text;
};

// Checks an opened event against the state (position == state.next_seq, its
// own seq == position, prev_hash == state.chain_head, time never goes back)
// and applies it. On success the state's next_seq, logical time and chain
// head move past the event.
std::optional<EventProblem> apply_opened(ledger::Sequence position,
                                         const codec::OpenedEvent& opened, ProjectedState& state);

// Opens one sealed event stored at `position`, checks it (verifier, hash,
// balance, position == state.next_seq, its own seq == position, prev_hash ==
// state.chain_head) and applies it. On success the state's next_seq, logical
// time and chain head move past the event.
std::optional<EventProblem> apply_sealed(ledger::Sequence position, std::string_view sealed,
                                         ProjectedState& state);

}  // namespace lf::engine
