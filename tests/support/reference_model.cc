#include "tests/support/reference_model.h"

#include <algorithm>
#include <limits>

#include "ledger/limits.h"

namespace lf::test {

using ledger::Account;
using ledger::Amount;
using ledger::Command;
using ledger::Outcome;
using ledger::OutcomeStatus;
using ledger::PendingState;
using ledger::PendingTransfer;
using ledger::RejectReason;

namespace {

constexpr Amount amount_max = std::numeric_limits<Amount>::max();

bool is_id(const std::string& s) {
  if (s.empty() || s.size() > ledger::id_bytes_max) return false;
  for (char c : s) {
    const bool ok = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_asset(const std::string& s) {
  if (s.empty() || s.size() > ledger::asset_bytes_max) return false;
  for (char c : s) {
    const bool ok = ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// counter += amount unless that would wrap.
bool add(Amount& counter, Amount amount) {
  if (amount > amount_max - counter) return false;
  counter += amount;
  return true;
}

// The limit a debit-limited account must respect: its debits (held and
// posted) may exceed its posted credits by at most the overdraft limit.
RejectReason debit_limit(const Account& a) {
  if (!a.debits_must_not_exceed_credits) return RejectReason::none;
  const auto& b = a.balances;
  const unsigned __int128 used = static_cast<unsigned __int128>(b.debits_pending) + b.debits_posted;
  const unsigned __int128 allowed =
      static_cast<unsigned __int128>(b.credits_posted) + a.overdraft_limit;
  if (used <= allowed) return RejectReason::none;
  return a.overdraft_limit == 0 ? RejectReason::exceeds_credits
                                : RejectReason::overdraft_limit_exceeded;
}

// The mirror image for a credit-limited account.
RejectReason credit_limit(const Account& a) {
  if (!a.credits_must_not_exceed_debits) return RejectReason::none;
  const auto& b = a.balances;
  const unsigned __int128 used =
      static_cast<unsigned __int128>(b.credits_pending) + b.credits_posted;
  const unsigned __int128 allowed =
      static_cast<unsigned __int128>(b.debits_posted) + a.overdraft_limit;
  if (used <= allowed) return RejectReason::none;
  return a.overdraft_limit == 0 ? RejectReason::exceeds_debits
                                : RejectReason::overdraft_limit_exceeded;
}

std::int32_t step_index(std::size_t i) { return static_cast<std::int32_t>(i); }

std::string indexed(const char* list, std::size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

ledger::CommandBody as_command_body(const ledger::StepBody& body) {
  return std::visit([](const auto& b) { return ledger::CommandBody(b); }, body);
}

}  // namespace

// ---------------------------------------------------------------- draft

const Account* ReferenceModel::Draft::account(const std::string& id) const {
  if (auto it = accounts.find(id); it != accounts.end()) return &it->second;
  auto it = base->accounts_.find(id);
  return it == base->accounts_.end() ? nullptr : &it->second;
}

const PendingTransfer* ReferenceModel::Draft::pending(const std::string& id) const {
  if (auto it = pendings.find(id); it != pendings.end()) return &it->second;
  auto it = base->pendings_.find(id);
  return it == base->pendings_.end() ? nullptr : &it->second;
}

void ReferenceModel::commit(const Draft& draft) {
  for (const auto& [id, account] : draft.accounts) accounts_.insert_or_assign(id, account);
  for (const auto& [id, pending] : draft.pendings) {
    if (auto old = pendings_.find(id); old != pendings_.end()) {
      timeouts_.erase({old->second.expires_at_ms, id});
    }
    if (pending.state == PendingState::pending && pending.expires_at_ms != 0) {
      timeouts_.insert({pending.expires_at_ms, id});
    }
    pendings_.insert_or_assign(id, pending);
  }
}

// ---------------------------------------------------------------- commands

Outcome ReferenceModel::submit(const Command& command) {
  if (!is_id(command.id)) {
    advance_time(command.timestamp_ms);
    return rejected(command.id, invalid("id"));  // Not remembered: a retry is judged again.
  }
  if (auto known = records_.find(command.id); known != records_.end()) {
    if (known->second.body == command.body) {
      Outcome original = known->second.outcome;
      original.duplicate = true;
      return original;  // Nothing moves, not even time.
    }
    advance_time(command.timestamp_ms);
    return rejected(command.id, fail(RejectReason::id_exists_with_different_fields, "id"));
  }

  advance_time(command.timestamp_ms);
  Outcome outcome;
  if (const auto* chain = std::get_if<ledger::Linked>(&command.body)) {
    outcome = decide_linked(command, *chain);
  } else {
    const ledger::StepBody body = std::visit(
        [](const auto& b) -> ledger::StepBody {
          if constexpr (std::is_same_v<std::decay_t<decltype(b)>, ledger::Linked>) {
            return {};  // Unreachable: handled above.
          } else {
            return b;
          }
        },
        command.body);
    Draft draft{this, {}, {}};
    const Check verdict = decide_step(draft, command.id, body);
    if (verdict.ok()) {
      commit(draft);
      outcome.command_id = command.id;
      outcome.first_seq = next_seq_++;
      outcome.event_count = 1;
    } else {
      outcome = rejected(command.id, verdict);
    }
  }
  records_.insert_or_assign(command.id, Record{command.body, outcome});
  return outcome;
}

Outcome ReferenceModel::rejected(const std::string& id, const Check& verdict,
                                 std::int32_t failed_step) {
  Outcome outcome;
  outcome.command_id = id;
  outcome.status = OutcomeStatus::rejected;
  outcome.reason = verdict.reason;
  outcome.field = verdict.field;
  outcome.failed_step = failed_step;
  outcome.first_seq = next_seq_++;
  outcome.event_count = 1;
  return outcome;
}

void ReferenceModel::advance_time(ledger::TimestampMs timestamp_ms) {
  time_ms_ = std::max(time_ms_, timestamp_ms);
  while (!timeouts_.empty() && timeouts_.begin()->first <= time_ms_) {
    const std::string id = timeouts_.begin()->second;  // A copy: expire() erases the entry.
    expire(id);
  }
}

void ReferenceModel::expire(const std::string& pending_id) {
  PendingTransfer& pending = pendings_.at(pending_id);
  timeouts_.erase({pending.expires_at_ms, pending_id});
  pending.state = PendingState::expired;
  accounts_.at(pending.debit_account).balances.debits_pending -= pending.amount;
  accounts_.at(pending.credit_account).balances.credits_pending -= pending.amount;
  expired_.push_back(pending_id);
  ++next_seq_;
}

Outcome ReferenceModel::decide_linked(const Command& command, const ledger::Linked& chain) {
  const auto& steps = chain.steps;
  if (steps.size() < ledger::linked_steps_min || steps.size() > ledger::linked_steps_max) {
    return rejected(command.id, invalid("steps"));
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    bool ok = is_id(steps[i].id) && steps[i].id != command.id;
    for (std::size_t j = 0; j < i; ++j) ok = ok && steps[j].id != steps[i].id;
    if (!ok) return rejected(command.id, invalid(indexed("steps", i) + ".id"), step_index(i));
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (knows(steps[i].id)) {
      return rejected(
          command.id,
          fail(RejectReason::id_exists_with_different_fields, indexed("steps", i) + ".id"),
          step_index(i));
    }
  }
  Draft draft{this, {}, {}};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    Check verdict = decide_step(draft, steps[i].id, steps[i].body);
    if (!verdict.ok()) {
      verdict.field = indexed("steps", i) + (verdict.field.empty() ? "" : "." + verdict.field);
      return rejected(command.id, verdict, step_index(i));
    }
  }
  commit(draft);
  Outcome outcome;
  outcome.command_id = command.id;
  outcome.first_seq = next_seq_;
  outcome.event_count = static_cast<std::uint32_t>(steps.size());
  for (const ledger::LinkedStep& step : steps) {
    Outcome remembered;
    remembered.command_id = step.id;
    remembered.first_seq = next_seq_++;
    remembered.event_count = 1;
    records_.insert_or_assign(step.id, Record{as_command_body(step.body), remembered});
  }
  return outcome;
}

ReferenceModel::Check ReferenceModel::decide_step(Draft& draft, const std::string& id,
                                                  const ledger::StepBody& body) const {
  static_assert(std::variant_size_v<ledger::StepBody> == 6, "a new step type needs a rule here");
  switch (body.index()) {
    case 0:
      return open_account(draft, std::get<ledger::OpenAccount>(body));
    case 1:
      return close_account(draft, std::get<ledger::CloseAccount>(body));
    case 2:
      return transfer(draft, id, std::get<ledger::Transfer>(body));
    case 3:
      return post_pending(draft, std::get<ledger::PostPending>(body));
    case 4:
      return void_pending(draft, std::get<ledger::VoidPending>(body));
    default:
      return journal(draft, std::get<ledger::Journal>(body));
  }
}

ReferenceModel::Check ReferenceModel::open_account(Draft& draft,
                                                   const ledger::OpenAccount& c) const {
  if (!is_id(c.account)) return invalid("account");
  if (!is_asset(c.asset)) return invalid("asset");
  if (c.scale > ledger::asset_scale_max) return invalid("scale");
  if (c.debits_must_not_exceed_credits && c.credits_must_not_exceed_debits) {
    return invalid("credits_must_not_exceed_debits");
  }
  const bool limited = c.debits_must_not_exceed_credits || c.credits_must_not_exceed_debits;
  if (c.overdraft_limit != 0 && !limited) return invalid("overdraft_limit");
  if (c.metadata.size() > ledger::metadata_bytes_max) return invalid("metadata");
  if (draft.account(c.account) != nullptr) {
    return fail(RejectReason::account_already_exists, "account");
  }
  Account a;
  a.id = c.account;
  a.asset = c.asset;
  a.scale = c.scale;
  a.debits_must_not_exceed_credits = c.debits_must_not_exceed_credits;
  a.credits_must_not_exceed_debits = c.credits_must_not_exceed_debits;
  a.overdraft_limit = c.overdraft_limit;
  a.metadata = c.metadata;
  draft.accounts.insert_or_assign(a.id, a);
  return ok();
}

ReferenceModel::Check ReferenceModel::close_account(Draft& draft,
                                                    const ledger::CloseAccount& c) const {
  if (!is_id(c.account)) return invalid("account");
  const Account* found = draft.account(c.account);
  if (found == nullptr) return fail(RejectReason::account_not_found, "account");
  if (found->closed) return fail(RejectReason::account_closed, "account");
  const auto& b = found->balances;
  if (b.debits_pending != 0 || b.credits_pending != 0) {
    return fail(RejectReason::account_has_pending_transfers, "account");
  }
  if (b.debits_posted != b.credits_posted) {
    return fail(RejectReason::account_balance_not_zero, "account");
  }
  Account closed = *found;
  closed.closed = true;
  draft.accounts.insert_or_assign(closed.id, closed);
  return ok();
}

ReferenceModel::Check ReferenceModel::transfer(Draft& draft, const std::string& id,
                                               const ledger::Transfer& c) const {
  if (!is_id(c.debit_account)) return invalid("debit_account");
  if (!is_id(c.credit_account)) return invalid("credit_account");
  if (c.amount == 0) return invalid("amount");
  if (!is_asset(c.asset)) return invalid("asset");
  if (c.timeout_s != 0 && !c.pending) return invalid("timeout_s");
  if (c.timeout_s > ledger::pending_timeout_s_max) return invalid("timeout_s");
  if (c.reference.size() > ledger::reference_bytes_max) return invalid("reference");
  if (c.debit_account == c.credit_account) {
    return fail(RejectReason::accounts_must_be_different, "credit_account");
  }
  const Account* found_debit = draft.account(c.debit_account);
  const Account* found_credit = draft.account(c.credit_account);
  if (found_debit == nullptr) return fail(RejectReason::account_not_found, "debit_account");
  if (found_credit == nullptr) return fail(RejectReason::account_not_found, "credit_account");
  if (found_debit->closed) return fail(RejectReason::account_closed, "debit_account");
  if (found_credit->closed) return fail(RejectReason::account_closed, "credit_account");
  if (found_debit->asset != c.asset) return fail(RejectReason::asset_mismatch, "debit_account");
  if (found_credit->asset != c.asset) return fail(RejectReason::asset_mismatch, "credit_account");
  if (found_debit->scale != found_credit->scale) {
    return fail(RejectReason::asset_mismatch, "credit_account");
  }
  Account debit = *found_debit;
  Account credit = *found_credit;
  auto& debits = c.pending ? debit.balances.debits_pending : debit.balances.debits_posted;
  auto& credits = c.pending ? credit.balances.credits_pending : credit.balances.credits_posted;
  if (!add(debits, c.amount)) return fail(RejectReason::overflow, "debit_account");
  if (!add(credits, c.amount)) return fail(RejectReason::overflow, "credit_account");
  if (RejectReason r = debit_limit(debit); r != RejectReason::none) return fail(r, "debit_account");
  if (RejectReason r = credit_limit(credit); r != RejectReason::none) {
    return fail(r, "credit_account");
  }
  PendingTransfer hold;
  if (c.pending) {
    hold.id = id;
    hold.debit_account = c.debit_account;
    hold.credit_account = c.credit_account;
    hold.asset = c.asset;
    hold.amount = c.amount;
    if (c.timeout_s != 0) {
      const Amount timeout_ms = Amount{c.timeout_s} * 1000;
      // Beyond the end of time: the timeout cannot be represented.
      if (timeout_ms > amount_max - time_ms_) return invalid("timeout_s");
      hold.expires_at_ms = time_ms_ + timeout_ms;
    }
    draft.pendings.insert_or_assign(id, hold);
  }
  draft.accounts.insert_or_assign(debit.id, debit);
  draft.accounts.insert_or_assign(credit.id, credit);
  return ok();
}

ReferenceModel::Check ReferenceModel::post_pending(Draft& draft,
                                                   const ledger::PostPending& c) const {
  if (!is_id(c.pending_id)) return invalid("pending_id");
  const PendingTransfer* found = draft.pending(c.pending_id);
  if (found == nullptr) return fail(RejectReason::pending_not_found, "pending_id");
  if (found->state == PendingState::posted) {
    return fail(RejectReason::pending_already_posted, "pending_id");
  }
  if (found->state == PendingState::voided) {
    return fail(RejectReason::pending_already_voided, "pending_id");
  }
  if (found->state == PendingState::expired) {
    return fail(RejectReason::pending_expired, "pending_id");
  }
  const Amount amount = c.amount == 0 ? found->amount : c.amount;
  if (amount > found->amount) return fail(RejectReason::amount_exceeds_pending, "amount");
  PendingTransfer pending = *found;
  Account debit = *draft.account(pending.debit_account);
  Account credit = *draft.account(pending.credit_account);
  debit.balances.debits_pending -= pending.amount;
  credit.balances.credits_pending -= pending.amount;
  if (!add(debit.balances.debits_posted, amount)) return fail(RejectReason::overflow, "amount");
  if (!add(credit.balances.credits_posted, amount)) return fail(RejectReason::overflow, "amount");
  pending.state = PendingState::posted;
  draft.pendings.insert_or_assign(pending.id, pending);
  draft.accounts.insert_or_assign(debit.id, debit);
  draft.accounts.insert_or_assign(credit.id, credit);
  return ok();
}

ReferenceModel::Check ReferenceModel::void_pending(Draft& draft,
                                                   const ledger::VoidPending& c) const {
  if (!is_id(c.pending_id)) return invalid("pending_id");
  const PendingTransfer* found = draft.pending(c.pending_id);
  if (found == nullptr) return fail(RejectReason::pending_not_found, "pending_id");
  if (found->state == PendingState::posted) {
    return fail(RejectReason::pending_already_posted, "pending_id");
  }
  if (found->state == PendingState::voided) {
    return fail(RejectReason::pending_already_voided, "pending_id");
  }
  if (found->state == PendingState::expired) {
    return fail(RejectReason::pending_expired, "pending_id");
  }
  PendingTransfer pending = *found;
  Account debit = *draft.account(pending.debit_account);
  Account credit = *draft.account(pending.credit_account);
  debit.balances.debits_pending -= pending.amount;
  credit.balances.credits_pending -= pending.amount;
  pending.state = PendingState::voided;
  draft.pendings.insert_or_assign(pending.id, pending);
  draft.accounts.insert_or_assign(debit.id, debit);
  draft.accounts.insert_or_assign(credit.id, credit);
  return ok();
}

ReferenceModel::Check ReferenceModel::journal(Draft& draft, const ledger::Journal& c) const {
  const auto& legs = c.legs;
  if (legs.size() < ledger::journal_legs_min || legs.size() > ledger::journal_legs_max) {
    return invalid("legs");
  }
  for (std::size_t i = 0; i < legs.size(); ++i) {
    const std::string prefix = indexed("legs", i) + ".";
    if (!is_id(legs[i].account)) return invalid(prefix + "account");
    if (!is_asset(legs[i].asset)) return invalid(prefix + "asset");
    if (legs[i].side != ledger::Side::debit && legs[i].side != ledger::Side::credit) {
      return invalid(prefix + "side");
    }
    if (legs[i].amount == 0) return invalid(prefix + "amount");
  }
  if (c.reference.size() > ledger::reference_bytes_max) return invalid("reference");
  for (std::size_t i = 0; i < legs.size(); ++i) {
    const std::string field = indexed("legs", i) + ".account";
    const Account* account = draft.account(legs[i].account);
    if (account == nullptr) return fail(RejectReason::account_not_found, field);
    if (account->closed) return fail(RejectReason::account_closed, field);
    if (account->asset != legs[i].asset) return fail(RejectReason::asset_mismatch, field);
    // Minor units of one asset at two scales do not add up.
    for (std::size_t j = 0; j < i; ++j) {
      const Account* earlier = draft.account(legs[j].account);
      if (earlier->asset == account->asset && earlier->scale != account->scale) {
        return fail(RejectReason::asset_mismatch, field);
      }
    }
  }
  std::map<std::string, unsigned __int128> debits;
  std::map<std::string, unsigned __int128> credits;
  for (const ledger::JournalLeg& leg : legs) {
    (leg.side == ledger::Side::debit ? debits : credits)[leg.asset] += leg.amount;
  }
  if (debits != credits) return fail(RejectReason::unbalanced_journal, "legs");
  // Accounts in the order the legs first name them, with their first leg.
  std::vector<Account> touched;
  std::vector<std::size_t> first_leg;
  for (std::size_t i = 0; i < legs.size(); ++i) {
    auto it = std::find_if(touched.begin(), touched.end(),
                           [&](const Account& a) { return a.id == legs[i].account; });
    if (it == touched.end()) {
      touched.push_back(*draft.account(legs[i].account));
      first_leg.push_back(i);
      it = touched.end() - 1;
    }
    auto& balances = it->balances;
    Amount& counter =
        legs[i].side == ledger::Side::debit ? balances.debits_posted : balances.credits_posted;
    if (!add(counter, legs[i].amount)) {
      return fail(RejectReason::overflow, indexed("legs", i) + ".amount");
    }
  }
  for (std::size_t k = 0; k < touched.size(); ++k) {
    RejectReason r = debit_limit(touched[k]);
    if (r == RejectReason::none) r = credit_limit(touched[k]);
    if (r != RejectReason::none) return fail(r, indexed("legs", first_leg[k]) + ".account");
  }
  for (const Account& account : touched) draft.accounts.insert_or_assign(account.id, account);
  return ok();
}

std::map<std::string, ledger::Balances> ReferenceModel::balances() const {
  std::map<std::string, ledger::Balances> result;
  for (const auto& [id, account] : accounts_) result.emplace(id, account.balances);
  return result;
}

}  // namespace lf::test
