// Short builders for commands, so that a test reads like the scenario it
// checks: cmd("t1", transfer("alice", "bob", 100)).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ledger/types.h"

namespace lf::test {

inline constexpr ledger::TimestampMs default_timestamp_ms = 1'700'000'000'000;

ledger::Command cmd(std::string id, ledger::CommandBody body,
                    ledger::TimestampMs timestamp_ms = default_timestamp_ms);

// An account without balance limits.
ledger::OpenAccount open_account(std::string account, std::string asset = "USD",
                                 std::uint8_t scale = 2);
// An account whose debits may not exceed its credits by more than overdraft_limit
// (a customer's funds).
ledger::OpenAccount open_debit_limited(std::string account, std::string asset = "USD",
                                       ledger::Amount overdraft_limit = 0);
// An account whose credits may not exceed its debits by more than overdraft_limit.
ledger::OpenAccount open_credit_limited(std::string account, std::string asset = "USD",
                                        ledger::Amount overdraft_limit = 0);
ledger::CloseAccount close_account(std::string account);

ledger::Transfer transfer(std::string debit, std::string credit, ledger::Amount amount,
                          std::string asset = "USD");
// A pending transfer (a hold) that expires after timeout_s (0: never).
ledger::Transfer hold(std::string debit, std::string credit, ledger::Amount amount,
                      std::uint32_t timeout_s = 0, std::string asset = "USD");
ledger::PostPending post(std::string pending_id, ledger::Amount amount = 0);
ledger::VoidPending void_pending(std::string pending_id);

ledger::JournalLeg debit_leg(std::string account, ledger::Amount amount, std::string asset = "USD");
ledger::JournalLeg credit_leg(std::string account, ledger::Amount amount,
                              std::string asset = "USD");
ledger::Journal journal(std::vector<ledger::JournalLeg> legs, std::string reference = {});

ledger::LinkedStep step(std::string id, ledger::StepBody body);
ledger::Linked linked(std::vector<ledger::LinkedStep> steps);

}  // namespace lf::test
