// WorkingSet: the part of a ledger's state that one batch of commands may read
// or write, held in memory while the state machine decides the batch.
//
// Life of a batch (TigerBeetle's prefetch/commit split):
//   1. The engine asks the state machine which keys the batch touches
//      (StateMachine::collect_keys), reads them from storage and `load_*`s each
//      one, present or absent. Due expiries are loaded the same way.
//   2. The state machine decides every command in order against this set only.
//      Reading a key that was not loaded is a prefetch bug and aborts.
//   3. The engine writes the dirty entries, in the order they were first
//      dirtied (deterministic), with the events, in one atomic batch.
//
// Savepoints give linked chains and journals all-or-nothing semantics: every
// write after savepoint() is undone by rollback().
//
// Thread-safety: none; one batch is decided by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/shard.h"
#include "ledger/types.h"

namespace lf::ledger {

using ContentDigest = std::array<std::uint8_t, 32>;

// What the ledger remembers about a command id: a digest of its content (to
// tell a retry from a conflicting reuse) and its outcome.
struct CommandRecord {
  ContentDigest content_digest{};
  Outcome outcome;  // outcome.command_id is the key; duplicate is always false.
  bool operator==(const CommandRecord&) const = default;
};

// The ledger-wide scalars that every command may move.
struct LedgerHead {
  Sequence next_seq = 1;            // Sequence number of the next event.
  TimestampMs logical_time_ms = 0;  // Highest command timestamp seen so far.
  bool operator==(const LedgerHead&) const = default;
};

using ExpiryKey = std::pair<TimestampMs, std::string>;  // (expires_at_ms, pending id)

// An account's value kept by the caller from batch to batch (the engine keeps
// one per account it holds in memory: the newest decided value). A working
// set that loads a cell reads and writes the account in place instead of
// copying it in and out: with thousands of distinct accounts per batch, each
// copy and each lookup in another map was a cache miss (docs/benchmarks.md).
// REQUIRES: the cell outlives the working set's use of it, and nothing else
// changes it while the batch is decided.
struct AccountCell {
  std::optional<Account> value;  // Absent: no such account.
  // Set by a working set's write and put back by its rollback; only the
  // owner clears it (once it has taken the value for writing).
  bool written = false;
  bool listed = false;  // The owner's own mark (in its list of written cells); never touched here.
};

class WorkingSet {
 public:
  explicit WorkingSet(LedgerHead head) : head_(head) {}

  WorkingSet(const WorkingSet&) = delete;
  WorkingSet& operator=(const WorkingSet&) = delete;

  // ---- Prefetch (engine). Loading a key twice keeps the first value.
  void load_account(std::string_view id, std::optional<Account> value);
  // Loads the caller's cell: reads and writes go to it (see AccountCell).
  void load_account_cell(std::string_view id, AccountCell& cell);
  void load_pending(std::string_view id, std::optional<PendingTransfer> value);
  void load_command(std::string_view id, std::optional<CommandRecord> value);
  // A stored expiry entry that is due within the batch's time range.
  void load_expiry(TimestampMs expires_at_ms, std::string_view pending_id);
  // Room for this many loads of each kind, so that the maps do not rehash as
  // they fill (a hint: more loads still work).
  void reserve(std::size_t accounts, std::size_t pendings, std::size_t commands);
  bool account_loaded(std::string_view id) const { return accounts_.contains(key(id)); }
  bool pending_loaded(std::string_view id) const { return pendings_.contains(key(id)); }
  bool command_loaded(std::string_view id) const { return commands_.contains(key(id)); }

  // ---- Reads (state machine). REQUIRES: the key was loaded.
  const Account* find_account(std::string_view id) const;
  const PendingTransfer* find_pending(std::string_view id) const;
  const CommandRecord* find_command(std::string_view id) const;
  // The earliest expiry entry, if any.
  const ExpiryKey* first_expiry() const;
  const LedgerHead& head() const { return head_; }
  // Which accounts and holds this shard owns (set by the engine).
  const ShardRule& shard() const { return shard_; }
  void set_shard(const ShardRule& rule) { shard_ = rule; }

  // ---- Writes (state machine).
  void put_account(Account account);  // Moved in: callers hand over staged copies.
  void put_pending(const PendingTransfer& pending);
  void put_command(const std::string& id, const CommandRecord& record);
  void add_expiry(TimestampMs expires_at_ms, const std::string& pending_id);
  void remove_expiry(TimestampMs expires_at_ms, const std::string& pending_id);
  void set_head(const LedgerHead& head);

  // ---- Savepoints. REQUIRES: at most one open at a time.
  void savepoint();
  void rollback();  // Undoes every write since savepoint() and closes it.
  void release();   // Keeps the writes and closes the savepoint.

  // ---- Output (engine): entries written, in the order first dirtied.
  template <typename T>
  struct Slot {
    std::optional<T> value;
    bool dirty = false;
    bool listed = false;  // Already in the dirty order list.
  };
  // Calls fn(id, value-or-nullptr) for each account written during the batch.
  template <typename Fn>
  void for_each_dirty_account(Fn&& fn) const {
    for (const auto* entry : account_order_) {
      const AccountSlot& slot = entry->second;
      if (slot.dirty) fn(entry->first, slot.cell->value ? &*slot.cell->value : nullptr);
    }
  }
  // Calls fn(AccountCell&) for each of the caller's cells (load_account_cell)
  // written during the batch, in the order first dirtied. Accounts loaded by
  // value are left out: their cells die with the working set.
  template <typename Fn>
  void for_each_dirty_account_cell(Fn&& fn) {
    for (auto* entry : account_order_) {
      if (entry->second.dirty && !entry->second.owned) fn(*entry->second.cell);
    }
  }
  template <typename Fn>
  void for_each_dirty_pending(Fn&& fn) const {
    for_each_dirty<PendingTransfer>(pending_order_, fn);
  }
  template <typename Fn>
  void for_each_dirty_command(Fn&& fn) const {
    for_each_dirty<CommandRecord>(command_order_, fn);
  }
  // Moves every written entry out, in the order first dirtied:
  // fn(id, std::optional<T>&& value), empty for absent. The working set is
  // spent afterwards: call these last, once per batch.
  template <typename Fn>
  void take_dirty_pendings(Fn&& fn) {
    take_dirty<PendingTransfer>(pending_order_, fn);
  }
  template <typename Fn>
  void take_dirty_commands(Fn&& fn) {
    take_dirty<CommandRecord>(command_order_, fn);
  }
  // Expiry index changes: key -> present (put) or absent (delete), key order.
  const std::map<ExpiryKey, bool>& expiry_changes() const { return expiry_changes_; }

 private:
  template <typename T>
  using Map = IdMap<Slot<T>>;
  // An account's slot: where its value is (a cell in owned_cells_, or the
  // caller's). Kept small: a batch's map holds thousands of slots, and a
  // value inline would spread them over several times the cache lines.
  struct AccountSlot {
    AccountCell* cell = nullptr;
    bool owned = false;  // The cell is in owned_cells_ (loaded by value).
    bool dirty = false;
    bool listed = false;  // Already in account_order_.
  };

  static std::string_view key(std::string_view id) { return id; }

  // The entries first dirtied, in order: pointers into a map's nodes, which
  // stay put (entries are never erased), so listing them needs no lookups.
  template <typename T>
  using Order = std::vector<typename Map<T>::value_type*>;

  template <typename T, typename Fn>
  static void take_dirty(Order<T>& order, Fn& fn) {
    for (auto* entry : order) {
      Slot<T>& slot = entry->second;
      if (slot.dirty) fn(entry->first, std::move(slot.value));
      slot.dirty = false;
    }
    order.clear();
  }
  template <typename T, typename Fn>
  static void for_each_dirty(const Order<T>& order, Fn& fn) {
    for (const auto* entry : order) {
      const Slot<T>& slot = entry->second;
      if (slot.dirty) fn(entry->first, slot.value ? &*slot.value : nullptr);
    }
  }

  template <typename T>
  void put(Map<T>& map, Order<T>& order, const std::string& id, const T& value);

  struct AccountUndo {
    AccountSlot* slot;  // Entries never move.
    std::optional<Account> value;
    bool written = false;
    bool dirty = false;
  };
  struct PendingUndo {
    std::string id;
    Slot<PendingTransfer> previous;
  };
  struct CommandUndo {
    std::string id;
    Slot<CommandRecord> previous;
  };
  struct ExpiryUndo {
    ExpiryKey key;
    bool was_queued = false;
    std::optional<bool> previous_change;
  };
  struct HeadUndo {
    LedgerHead previous;
  };
  using Undo = std::variant<AccountUndo, PendingUndo, CommandUndo, ExpiryUndo, HeadUndo>;

  void record_expiry_undo(const ExpiryKey& key);

  LedgerHead head_;
  ShardRule shard_;
  IdMap<AccountSlot> accounts_;
  std::deque<AccountCell> owned_cells_;  // Accounts loaded by value (never move).
  Map<PendingTransfer> pendings_;
  Map<CommandRecord> commands_;
  std::vector<IdMap<AccountSlot>::value_type*> account_order_;
  Order<PendingTransfer> pending_order_;
  Order<CommandRecord> command_order_;
  std::set<ExpiryKey> expiry_queue_;
  std::map<ExpiryKey, bool> expiry_changes_;
  bool savepoint_open_ = false;
  std::vector<Undo> undo_;
};

}  // namespace lf::ledger
