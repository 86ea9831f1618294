// CheckedLedger: a MemoryLedger shadowed by the ReferenceModel.
//
// Every command goes to both; the outcomes must be equal (Catch2 CHECK), so
// each hand-written unit test is also a test of the model and the model's
// randomized comparison rests on cases a person has read. Commands get fresh
// ids ("t1", "t2", ...) and the harness's current time unless given.
//
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/types.h"
#include "tests/support/commands.h"
#include "tests/support/memory_ledger.h"
#include "tests/support/printing.h"
#include "tests/support/reference_model.h"

namespace lf::test {

// The decision part of an Outcome (no sequence numbers), for terse checks:
//   CHECK(verdict(h.submit(...)) == rejected(RejectReason::overflow, "amount"));
struct Verdict {
  ledger::OutcomeStatus status = ledger::OutcomeStatus::accepted;
  ledger::RejectReason reason = ledger::RejectReason::none;
  std::string field;
  std::int32_t failed_step = -1;
  bool duplicate = false;
  bool operator==(const Verdict&) const = default;
};
Verdict verdict(const ledger::Outcome& outcome);
Verdict accepted();
Verdict rejected(ledger::RejectReason reason, std::string field, std::int32_t failed_step = -1);
// The same verdict, as replayed to a retry.
Verdict duplicate(Verdict original);

// Differences between the ledger's state and the model's: accounts (all
// fields, balances included), pending transfers, logical time and the next
// sequence number. Empty when they agree.
std::string diff_state(const MemoryLedger& ledger, const ReferenceModel& model);

// Errors in the event log: postings that do not balance, sequence gaps, and
// balances rebuilt from events that differ from the state. Empty when sound.
std::string audit_events(const MemoryLedger& ledger);

class CheckedLedger {
 public:
  // A command with a fresh id at the current time.
  ledger::Outcome submit(ledger::CommandBody body);
  // A command as given. CHECKs that ledger and model agree on the outcome.
  ledger::Outcome run(const ledger::Command& command);
  // One batch. CHECKs that ledger and model agree on every outcome.
  std::vector<ledger::Outcome> run_batch(const std::vector<ledger::Command>& batch);

  // The time of later submit()s.
  void set_time(ledger::TimestampMs now_ms) { now_ms_ = now_ms; }
  ledger::TimestampMs now() const { return now_ms_; }
  // The id the next submit() will use.
  std::string next_id() const { return "t" + std::to_string(next_id_); }

  // REQUIRES: the account exists.
  const ledger::Balances& balances(const std::string& account) const;
  const ledger::Account& account(const std::string& account) const;
  // REQUIRES: the pending transfer exists.
  const ledger::PendingTransfer& pending(const std::string& id) const;

  // Events with seq >= first_seq.
  std::vector<ledger::Event> events_since(ledger::Sequence first_seq) const;
  // The events of one outcome (not the expiries before them).
  std::vector<ledger::Event> events_of(const ledger::Outcome& outcome) const;
  std::size_t event_count() const { return ledger_.events().size(); }

  const MemoryLedger& ledger() const { return ledger_; }
  const ReferenceModel& model() const { return model_; }

 private:
  MemoryLedger ledger_;
  ReferenceModel model_;
  std::uint64_t next_id_ = 1;
  ledger::TimestampMs now_ms_ = default_timestamp_ms;
};

}  // namespace lf::test
