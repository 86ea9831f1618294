#include "ledger/working_set.h"

#include "ledger/assert.h"

namespace lf::ledger {

namespace {

// Keeps the first value loaded for an id. One lookup: try_emplace leaves
// `value` alone when the id is there.
template <typename Map, typename T>
void load(Map& map, std::string_view id, std::optional<T> value) {
  map.try_emplace(id, typename Map::mapped_type{std::move(value), false, false});
}

template <typename Map>
const auto* find_loaded(const Map& map, std::string_view id) {
  auto it = map.find(id);
  LF_ASSERT(it != map.end());  // Prefetch must load every key a batch reads.
  return it->second.value ? &*it->second.value : nullptr;
}

// Puts back a slot's value and dirtiness; it stays in the order list if it was
// listed, so it is never listed twice.
template <typename Slot>
void restore(Slot& slot, Slot& previous) {
  const bool listed = slot.listed;
  slot = std::move(previous);
  slot.listed = listed;
}

}  // namespace

void WorkingSet::load_account(std::string_view id, std::optional<Account> value) {
  auto [entry, inserted] = accounts_.try_emplace(id);
  if (!inserted) return;
  entry->second.cell = &owned_cells_.emplace_back(AccountCell{std::move(value)});
  entry->second.owned = true;
}
void WorkingSet::load_account_cell(std::string_view id, AccountCell& cell) {
  auto [entry, inserted] = accounts_.try_emplace(id);
  if (inserted) entry->second.cell = &cell;
}
void WorkingSet::load_pending(std::string_view id, std::optional<PendingTransfer> value) {
  load(pendings_, id, std::move(value));
}
void WorkingSet::load_command(std::string_view id, std::optional<CommandRecord> value) {
  load(commands_, id, std::move(value));
}
void WorkingSet::reserve(std::size_t accounts, std::size_t pendings, std::size_t commands) {
  accounts_.reserve(accounts);
  pendings_.reserve(pendings);
  commands_.reserve(commands);
  account_order_.reserve(accounts);
  pending_order_.reserve(pendings);
  command_order_.reserve(commands);
}

void WorkingSet::load_expiry(TimestampMs expires_at_ms, std::string_view pending_id) {
  expiry_queue_.emplace(expires_at_ms, std::string(pending_id));
}

const Account* WorkingSet::find_account(std::string_view id) const {
  const auto* entry = accounts_.find_entry(id);
  LF_ASSERT(entry != nullptr);  // Prefetch must load every key a batch reads.
  const std::optional<Account>& value = entry->second.cell->value;
  return value ? &*value : nullptr;
}
const PendingTransfer* WorkingSet::find_pending(std::string_view id) const {
  return find_loaded(pendings_, id);
}
const CommandRecord* WorkingSet::find_command(std::string_view id) const {
  return find_loaded(commands_, id);
}
const ExpiryKey* WorkingSet::first_expiry() const {
  return expiry_queue_.empty() ? nullptr : &*expiry_queue_.begin();
}

template <typename T>
void WorkingSet::put(Map<T>& map, Order<T>& order, const std::string& id, const T& value) {
  auto it = map.find(id);
  if (it == map.end()) {
    // Writing a key nobody loaded is fine only for new keys the state machine
    // proved absent; every caller loads first, so this is a bug.
    LF_ASSERT(false);
  }
  Slot<T>& slot = it->second;
  if (savepoint_open_) {
    if constexpr (std::is_same_v<T, PendingTransfer>) undo_.emplace_back(PendingUndo{id, slot});
    if constexpr (std::is_same_v<T, CommandRecord>) undo_.emplace_back(CommandUndo{id, slot});
  }
  slot.value = value;
  slot.dirty = true;
  if (!slot.listed) {
    slot.listed = true;
    order.push_back(&*it);
  }
}

void WorkingSet::put_account(Account account) {
  auto* entry = accounts_.find_entry(account.id);
  LF_ASSERT(entry != nullptr);  // Every caller loads first (see put()).
  AccountSlot& slot = entry->second;
  AccountCell& cell = *slot.cell;
  if (savepoint_open_) undo_.emplace_back(AccountUndo{&slot, cell.value, cell.written, slot.dirty});
  cell.value = std::move(account);
  cell.written = true;
  slot.dirty = true;
  if (!slot.listed) {
    slot.listed = true;
    account_order_.push_back(entry);
  }
}
void WorkingSet::put_pending(const PendingTransfer& pending) {
  put(pendings_, pending_order_, pending.id, pending);
}
void WorkingSet::put_command(const std::string& id, const CommandRecord& record) {
  put(commands_, command_order_, id, record);
}

void WorkingSet::record_expiry_undo(const ExpiryKey& key) {
  if (!savepoint_open_) return;
  auto change = expiry_changes_.find(key);
  undo_.emplace_back(ExpiryUndo{
      key, expiry_queue_.contains(key),
      change == expiry_changes_.end() ? std::nullopt : std::optional<bool>(change->second)});
}

void WorkingSet::add_expiry(TimestampMs expires_at_ms, const std::string& pending_id) {
  ExpiryKey key{expires_at_ms, pending_id};
  record_expiry_undo(key);
  expiry_queue_.insert(key);
  expiry_changes_[key] = true;
}

void WorkingSet::remove_expiry(TimestampMs expires_at_ms, const std::string& pending_id) {
  ExpiryKey key{expires_at_ms, pending_id};
  record_expiry_undo(key);
  expiry_queue_.erase(key);
  expiry_changes_[key] = false;
}

void WorkingSet::set_head(const LedgerHead& head) {
  if (savepoint_open_) undo_.emplace_back(HeadUndo{head_});
  head_ = head;
}

void WorkingSet::savepoint() {
  LF_ASSERT(!savepoint_open_);
  LF_ASSERT(undo_.empty());
  savepoint_open_ = true;
}

void WorkingSet::release() {
  LF_ASSERT(savepoint_open_);
  savepoint_open_ = false;
  undo_.clear();
}

void WorkingSet::rollback() {
  LF_ASSERT(savepoint_open_);
  while (!undo_.empty()) {
    Undo& undo = undo_.back();
    if (auto* a = std::get_if<AccountUndo>(&undo)) {
      // It stays in the order list if it was listed, so it is never listed twice.
      a->slot->cell->value = std::move(a->value);
      a->slot->cell->written = a->written;
      a->slot->dirty = a->dirty;
    } else if (auto* p = std::get_if<PendingUndo>(&undo)) {
      restore(pendings_.find(p->id)->second, p->previous);
    } else if (auto* c = std::get_if<CommandUndo>(&undo)) {
      restore(commands_.find(c->id)->second, c->previous);
    } else if (auto* e = std::get_if<ExpiryUndo>(&undo)) {
      if (e->was_queued) {
        expiry_queue_.insert(e->key);
      } else {
        expiry_queue_.erase(e->key);
      }
      if (e->previous_change) {
        expiry_changes_[e->key] = *e->previous_change;
      } else {
        expiry_changes_.erase(e->key);
      }
    } else {
      head_ = std::get<HeadUndo>(undo).previous;
    }
    undo_.pop_back();
  }
  savepoint_open_ = false;
}

}  // namespace lf::ledger
