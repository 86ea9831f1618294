// ReferenceModel: the ledger's rules restated independently of
// ledger/state_machine.cc, as an auditor for randomized tests.
//
// It shares only the domain types (ledger/types.h, ledger/limits.h) and none
// of the decision code: validation, precedence, balance limits, holds,
// expiries, idempotency and linked chains are written again here from the
// contract, as directly as possible and with no concern for speed. State is
// plain std::maps; a command is decided against a Draft (copy-on-write overlay)
// that is committed only if the command is accepted, which is what makes
// linked chains all-or-nothing.
//
// submit() returns the complete expected Outcome, including the field, the
// failed step and the sequence numbers of the command's events, so a test can
// compare it to the real one with ==.
//
// Thread-safety: none.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ledger/types.h"

namespace lf::test {

class ReferenceModel {
 public:
  // Decides one command and applies its effects.
  ledger::Outcome submit(const ledger::Command& command);

  const std::map<std::string, ledger::Account>& accounts() const { return accounts_; }
  const std::map<std::string, ledger::PendingTransfer>& pendings() const { return pendings_; }
  std::map<std::string, ledger::Balances> balances() const;
  ledger::TimestampMs logical_time_ms() const { return time_ms_; }
  // Sequence number the next event would get.
  ledger::Sequence next_seq() const { return next_seq_; }
  // Pending transfer ids in the order they expired.
  const std::vector<std::string>& expired() const { return expired_; }
  // True when `id` is remembered (a command, or a step of an accepted chain).
  bool knows(const std::string& id) const { return records_.contains(id); }

 private:
  // What the model remembers under an id: the content, to tell a retry from
  // a conflicting reuse, and the outcome to replay.
  struct Record {
    ledger::CommandBody body;
    ledger::Outcome outcome;
  };
  // A check's verdict; reason none means the step may proceed.
  struct Check {
    ledger::RejectReason reason = ledger::RejectReason::none;
    std::string field;
    bool ok() const { return reason == ledger::RejectReason::none; }
  };
  // The tentative state of one command: changed entries over the committed
  // maps. Thrown away on rejection.
  struct Draft {
    const ReferenceModel* base = nullptr;
    std::map<std::string, ledger::Account> accounts;
    std::map<std::string, ledger::PendingTransfer> pendings;
    const ledger::Account* account(const std::string& id) const;
    const ledger::PendingTransfer* pending(const std::string& id) const;
  };

  static Check ok() { return {}; }
  static Check fail(ledger::RejectReason reason, std::string field) {
    return {reason, std::move(field)};
  }
  static Check invalid(std::string field) {
    return fail(ledger::RejectReason::invalid_field, std::move(field));
  }

  void advance_time(ledger::TimestampMs timestamp_ms);
  void expire(const std::string& pending_id);
  void commit(const Draft& draft);
  ledger::Outcome rejected(const std::string& id, const Check& verdict,
                           std::int32_t failed_step = -1);

  ledger::Outcome decide_linked(const ledger::Command& command, const ledger::Linked& linked);
  Check decide_step(Draft& draft, const std::string& id, const ledger::StepBody& body) const;
  Check open_account(Draft& draft, const ledger::OpenAccount& c) const;
  Check close_account(Draft& draft, const ledger::CloseAccount& c) const;
  Check transfer(Draft& draft, const std::string& id, const ledger::Transfer& c) const;
  Check post_pending(Draft& draft, const ledger::PostPending& c) const;
  Check void_pending(Draft& draft, const ledger::VoidPending& c) const;
  Check journal(Draft& draft, const ledger::Journal& c) const;

  std::map<std::string, Record> records_;
  std::map<std::string, ledger::Account> accounts_;
  std::map<std::string, ledger::PendingTransfer> pendings_;
  // (expires_at_ms, id) of every outstanding hold that has a timeout.
  std::set<std::pair<ledger::TimestampMs, std::string>> timeouts_;
  ledger::TimestampMs time_ms_ = 0;
  ledger::Sequence next_seq_ = 1;
  std::vector<std::string> expired_;
};

}  // namespace lf::test
