// MemoryLedger: the pure state machine driven the way the engine drives it,
// over std::map storage instead of RocksDB.
//
// apply() is one batch: collect the keys every command touches, prefetch them
// (with the accounts of the pending transfers found, and every stored expiry
// due by the batch's latest timestamp), decide each command in order against a
// WorkingSet, then write the dirty entries back. It is what tests use to check
// the state machine against the reference model, and what engine tests can
// compare a real store against.
//
// Thread-safety: none.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ledger/state_machine.h"
#include "ledger/types.h"
#include "ledger/working_set.h"

namespace lf::test {

class MemoryLedger {
 public:
  // Decides one batch and commits it. REQUIRES: batch.size() <= batch_commands_max.
  std::vector<ledger::Outcome> apply(const std::vector<ledger::Command>& batch);
  // Convenience: a batch of one.
  ledger::Outcome apply(const ledger::Command& command);
  // Which accounts and holds this ledger owns (default: all).
  void set_shard(const ledger::ShardRule& rule) { shard_ = rule; }

  // Every event written so far, in sequence order.
  const std::vector<ledger::Event>& events() const { return events_; }
  const std::map<std::string, ledger::Account>& accounts() const { return accounts_; }
  const std::map<std::string, ledger::PendingTransfer>& pendings() const { return pendings_; }
  const std::map<std::string, ledger::CommandRecord>& commands() const { return commands_; }
  const std::set<ledger::ExpiryKey>& expiries() const { return expiries_; }
  const ledger::LedgerHead& head() const { return head_; }

  const ledger::Account* find_account(const std::string& id) const;
  const ledger::PendingTransfer* find_pending(const std::string& id) const;

  // Balances of every opened account recomputed from the event log alone:
  // AccountOpened starts an account at zero, postings move it. Throws
  // std::runtime_error on a posting to an unopened account or one that
  // underflows or overflows: the log itself would be corrupt.
  std::map<std::string, ledger::Balances> rebuild_balances_from_events() const;
  // The balances held in state, keyed like rebuild_balances_from_events().
  std::map<std::string, ledger::Balances> balances() const;

 private:
  void prefetch(const std::vector<ledger::Command>& batch, ledger::WorkingSet& state) const;
  void write_back(const ledger::WorkingSet& state);

  std::map<std::string, ledger::Account> accounts_;
  std::map<std::string, ledger::PendingTransfer> pendings_;
  std::map<std::string, ledger::CommandRecord> commands_;
  std::set<ledger::ExpiryKey> expiries_;
  ledger::LedgerHead head_;
  ledger::ShardRule shard_;
  std::vector<ledger::Event> events_;
};

}  // namespace lf::test
