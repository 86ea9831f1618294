#include "tests/support/commands.h"

namespace lf::test {

using ledger::Amount;
using ledger::CloseAccount;
using ledger::Command;
using ledger::CommandBody;
using ledger::Journal;
using ledger::JournalLeg;
using ledger::Linked;
using ledger::LinkedStep;
using ledger::OpenAccount;
using ledger::PostPending;
using ledger::Side;
using ledger::StepBody;
using ledger::TimestampMs;
using ledger::Transfer;
using ledger::VoidPending;

Command cmd(std::string id, CommandBody body, TimestampMs timestamp_ms) {
  Command command;
  command.id = std::move(id);
  command.timestamp_ms = timestamp_ms;
  command.body = std::move(body);
  return command;
}

OpenAccount open_account(std::string account, std::string asset, std::uint8_t scale) {
  OpenAccount open;
  open.account = std::move(account);
  open.asset = std::move(asset);
  open.scale = scale;
  return open;
}

OpenAccount open_debit_limited(std::string account, std::string asset, Amount overdraft_limit) {
  OpenAccount open = open_account(std::move(account), std::move(asset));
  open.debits_must_not_exceed_credits = true;
  open.overdraft_limit = overdraft_limit;
  return open;
}

OpenAccount open_credit_limited(std::string account, std::string asset, Amount overdraft_limit) {
  OpenAccount open = open_account(std::move(account), std::move(asset));
  open.credits_must_not_exceed_debits = true;
  open.overdraft_limit = overdraft_limit;
  return open;
}

CloseAccount close_account(std::string account) { return CloseAccount{std::move(account)}; }

Transfer transfer(std::string debit, std::string credit, Amount amount, std::string asset) {
  Transfer t;
  t.debit_account = std::move(debit);
  t.credit_account = std::move(credit);
  t.amount = amount;
  t.asset = std::move(asset);
  return t;
}

Transfer hold(std::string debit, std::string credit, Amount amount, std::uint32_t timeout_s,
              std::string asset) {
  Transfer t = transfer(std::move(debit), std::move(credit), amount, std::move(asset));
  t.pending = true;
  t.timeout_s = timeout_s;
  return t;
}

PostPending post(std::string pending_id, Amount amount) {
  return PostPending{std::move(pending_id), amount};
}

VoidPending void_pending(std::string pending_id) { return VoidPending{std::move(pending_id)}; }

JournalLeg debit_leg(std::string account, Amount amount, std::string asset) {
  return JournalLeg{std::move(account), std::move(asset), Side::debit, amount};
}

JournalLeg credit_leg(std::string account, Amount amount, std::string asset) {
  return JournalLeg{std::move(account), std::move(asset), Side::credit, amount};
}

Journal journal(std::vector<JournalLeg> legs, std::string reference) {
  return Journal{std::move(legs), std::move(reference)};
}

LinkedStep step(std::string id, StepBody body) {
  return LinkedStep{std::move(id), std::move(body)};
}

Linked linked(std::vector<LinkedStep> steps) { return Linked{std::move(steps)}; }

}  // namespace lf::test
