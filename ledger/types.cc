#include "ledger/types.h"

#include <array>
#include <utility>

namespace lf::ledger {

const char* reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::none:
      return "none";
    case RejectReason::invalid_field:
      return "invalid_field";
    case RejectReason::id_exists_with_different_fields:
      return "id_exists_with_different_fields";
    case RejectReason::account_not_found:
      return "account_not_found";
    case RejectReason::account_already_exists:
      return "account_already_exists";
    case RejectReason::account_closed:
      return "account_closed";
    case RejectReason::asset_mismatch:
      return "asset_mismatch";
    case RejectReason::accounts_must_be_different:
      return "accounts_must_be_different";
    case RejectReason::exceeds_credits:
      return "exceeds_credits";
    case RejectReason::exceeds_debits:
      return "exceeds_debits";
    case RejectReason::overdraft_limit_exceeded:
      return "overdraft_limit_exceeded";
    case RejectReason::overflow:
      return "overflow";
    case RejectReason::unbalanced_journal:
      return "unbalanced_journal";
    case RejectReason::pending_not_found:
      return "pending_not_found";
    case RejectReason::pending_already_posted:
      return "pending_already_posted";
    case RejectReason::pending_already_voided:
      return "pending_already_voided";
    case RejectReason::pending_expired:
      return "pending_expired";
    case RejectReason::amount_exceeds_pending:
      return "amount_exceeds_pending";
    case RejectReason::account_balance_not_zero:
      return "account_balance_not_zero";
    case RejectReason::account_has_pending_transfers:
      return "account_has_pending_transfers";
    case RejectReason::linked_step_failed:
      return "linked_step_failed";
    case RejectReason::wrong_shard:
      return "wrong_shard";
  }
  return "unknown";
}

const char* command_type_name(const CommandBody& body) {
  static constexpr const char* names[] = {"open_account", "close_account", "transfer",
                                          "post_pending", "void_pending",  "journal",
                                          "linked"};
  static_assert(std::size(names) == std::variant_size_v<CommandBody>);
  return names[body.index()];
}

const char* event_type_name(const EventBody& body) {
  static constexpr const char* names[] = {"account_opened",  "account_closed", "transfer_posted",
                                          "pending_created", "pending_posted", "pending_voided",
                                          "pending_expired", "journal_posted", "command_rejected"};
  static_assert(std::size(names) == std::variant_size_v<EventBody>);
  return names[body.index()];
}

bool postings_balance(const std::vector<Posting>& postings) {
  // (asset, bucket) -> signed debit total minus signed credit total. A flat
  // list searched linearly: events have a handful of keys (a journal at most
  // journal_legs_max), and a std::map allocated a node per key on every
  // event, twice per event (as it is decided, then before it is written).
  struct Net {
    std::string_view asset;
    Bucket bucket;
    __int128 total;
  };
  constexpr std::size_t inline_nets = 8;
  std::array<Net, inline_nets> inline_storage{};
  std::vector<Net> spilled;  // Only past inline_nets distinct keys.
  std::size_t count = 0;
  const auto at = [&](std::size_t i) -> Net& {
    return i < inline_nets ? inline_storage[i] : spilled[i - inline_nets];
  };
  for (const Posting& p : postings) {
    const __int128 signed_amount = p.increase ? __int128(p.amount) : -__int128(p.amount);
    const __int128 change = p.side == Side::debit ? signed_amount : -signed_amount;
    std::size_t i = 0;
    while (i < count && (at(i).bucket != p.bucket || at(i).asset != p.asset)) ++i;
    if (i == count) {
      if (count < inline_nets) {
        inline_storage[count] = Net{p.asset, p.bucket, 0};
      } else {
        spilled.push_back(Net{p.asset, p.bucket, 0});
      }
      ++count;
    }
    at(i).total += change;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (at(i).total != 0) return false;
  }
  return true;
}

bool apply_posting(Balances& balances, const Posting& posting) {
  Amount* counter = nullptr;
  if (posting.side == Side::debit) {
    counter = posting.bucket == Bucket::posted ? &balances.debits_posted : &balances.debits_pending;
  } else {
    counter =
        posting.bucket == Bucket::posted ? &balances.credits_posted : &balances.credits_pending;
  }
  Amount result = 0;
  const bool wrapped = posting.increase ? __builtin_add_overflow(*counter, posting.amount, &result)
                                        : __builtin_sub_overflow(*counter, posting.amount, &result);
  if (wrapped) return false;
  *counter = result;
  return true;
}

}  // namespace lf::ledger
