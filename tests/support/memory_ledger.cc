#include "tests/support/memory_ledger.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <stdexcept>

#include "ledger/assert.h"
#include "ledger/limits.h"

namespace lf::test {

using ledger::Account;
using ledger::Balances;
using ledger::Command;
using ledger::CommandRecord;
using ledger::Event;
using ledger::Outcome;
using ledger::PendingTransfer;
using ledger::TimestampMs;
using ledger::WorkingSet;

namespace {

template <typename T>
std::optional<T> lookup(const std::map<std::string, T>& map, const std::string& id) {
  auto it = map.find(id);
  return it == map.end() ? std::nullopt : std::optional<T>(it->second);
}

template <typename T>
void store(std::map<std::string, T>& map, const std::string& id, const T* value) {
  if (value == nullptr) {
    map.erase(id);
  } else {
    map.insert_or_assign(id, *value);
  }
}

}  // namespace

std::vector<Outcome> MemoryLedger::apply(const std::vector<Command>& batch) {
  LF_ASSERT(batch.size() <= ledger::batch_commands_max);
  WorkingSet state(head_);
  state.set_shard(shard_);
  prefetch(batch, state);
  std::vector<Outcome> outcomes;
  outcomes.reserve(batch.size());
  std::vector<Event> events;
  for (const Command& command : batch) outcomes.push_back(ledger::decide(state, command, events));
  write_back(state);
  events_.insert(events_.end(), std::make_move_iterator(events.begin()),
                 std::make_move_iterator(events.end()));
  return outcomes;
}

Outcome MemoryLedger::apply(const Command& command) { return apply(std::vector{command}).front(); }

// Loads what the engine would: every key the commands name, the accounts of
// the pending transfers they resolve, and every stored expiry due by the
// batch's latest time with its pending transfer and that transfer's accounts.
void MemoryLedger::prefetch(const std::vector<Command>& batch, WorkingSet& state) const {
  ledger::KeySet keys;
  TimestampMs horizon_ms = head_.logical_time_ms;
  for (const Command& command : batch) {
    ledger::collect_keys(command, keys);
    horizon_ms = std::max(horizon_ms, command.timestamp_ms);
  }
  for (const std::string& id : keys.pendings) {
    std::optional<PendingTransfer> pending = lookup(pendings_, id);
    if (pending) ledger::add_pending_accounts(*pending, keys);
    state.load_pending(id, std::move(pending));
  }
  for (const ledger::ExpiryKey& expiry : expiries_) {
    if (expiry.first > horizon_ms) break;  // Sorted by time: the rest is later.
    std::optional<PendingTransfer> pending = lookup(pendings_, expiry.second);
    LF_ASSERT(pending.has_value());  // An expiry entry always has its pending transfer.
    ledger::add_pending_accounts(*pending, keys);
    state.load_pending(expiry.second, std::move(pending));
    state.load_expiry(expiry.first, expiry.second);
  }
  for (const std::string& id : keys.accounts) state.load_account(id, lookup(accounts_, id));
  for (const std::string& id : keys.commands) state.load_command(id, lookup(commands_, id));
}

void MemoryLedger::write_back(const WorkingSet& state) {
  state.for_each_dirty_account(
      [this](const std::string& id, const Account* value) { store(accounts_, id, value); });
  state.for_each_dirty_pending(
      [this](const std::string& id, const PendingTransfer* value) { store(pendings_, id, value); });
  state.for_each_dirty_command(
      [this](const std::string& id, const CommandRecord* value) { store(commands_, id, value); });
  for (const auto& [key, present] : state.expiry_changes()) {
    if (present) {
      expiries_.insert(key);
    } else {
      expiries_.erase(key);
    }
  }
  head_ = state.head();
}

const Account* MemoryLedger::find_account(const std::string& id) const {
  auto it = accounts_.find(id);
  return it == accounts_.end() ? nullptr : &it->second;
}

const PendingTransfer* MemoryLedger::find_pending(const std::string& id) const {
  auto it = pendings_.find(id);
  return it == pendings_.end() ? nullptr : &it->second;
}

std::map<std::string, Balances> MemoryLedger::rebuild_balances_from_events() const {
  std::map<std::string, Balances> balances;
  for (const Event& event : events_) {
    if (const auto* opened = std::get_if<ledger::AccountOpened>(&event.body)) {
      balances.emplace(opened->account.id, Balances{});
    }
    for (const ledger::Posting& posting : event.postings) {
      auto it = balances.find(posting.account);
      if (it == balances.end()) {
        throw std::runtime_error("event " + std::to_string(event.seq) +
                                 " posts to unopened account " + posting.account);
      }
      if (!ledger::apply_posting(it->second, posting)) {
        throw std::runtime_error("event " + std::to_string(event.seq) +
                                 " underflows or overflows account " + posting.account);
      }
    }
  }
  return balances;
}

std::map<std::string, Balances> MemoryLedger::balances() const {
  std::map<std::string, Balances> balances;
  for (const auto& [id, account] : accounts_) balances.emplace(id, account.balances);
  return balances;
}

}  // namespace lf::test
