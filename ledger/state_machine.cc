#include "ledger/state_machine.h"

#include <algorithm>
#include <map>

#include "ledger/assert.h"
#include "ledger/limits.h"
#include "ledger/sha256.h"

namespace lf::ledger {

namespace {

using u128 = unsigned __int128;

// A rejection in progress: the reason and, where it helps, the field.
struct Rejection {
  RejectReason reason = RejectReason::none;
  std::string field;
  explicit operator bool() const { return reason != RejectReason::none; }
};

Rejection reject(RejectReason reason, std::string field = {}) {
  return Rejection{reason, std::move(field)};
}
Rejection invalid(std::string field) {
  return reject(RejectReason::invalid_field, std::move(field));
}
const Rejection accepted{};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '-';
}

// ---------------------------------------------------------------- canonical content

constexpr std::size_t canonical_bytes_reserved = 256;
// A buffer grown past this (a big journal's content) is given back.
constexpr std::size_t canonical_bytes_kept_max = 64u << 10;

// Length-prefixed, tagged encoding of a command's id and body: the input of
// content_digest. Never persisted, but it must stay stable across versions or
// retries of old commands would stop being recognised.
class Canonical {
 public:
  // Writes into the calling thread's buffer, kept from command to command:
  // a fresh one per command cost an allocation and a free each time (the
  // deciding thread digests every command).
  // One at a time per thread: a second would clear the first one's bytes.
  Canonical() : out_(thread_buffer()) {
    LF_ASSERT(!in_use());
    in_use() = true;
    out_.clear();
    out_.reserve(canonical_bytes_reserved);
  }
  ~Canonical() {
    if (out_.capacity() > canonical_bytes_kept_max) std::string().swap(out_);
    in_use() = false;
  }
  Canonical(const Canonical&) = delete;
  Canonical& operator=(const Canonical&) = delete;
  void u64(std::uint64_t v) {
    char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (8 * (7 - i)));
    out_.append(bytes, 8);
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void flag(bool b) { out_.push_back(b ? 1 : 0); }
  void body(const StepBody& b);
  std::string& bytes() { return out_; }

 private:
  static std::string& thread_buffer() {
    thread_local std::string buffer;
    return buffer;
  }
  static bool& in_use() {
    thread_local bool used = false;
    return used;
  }
  std::string& out_;
};

void Canonical::body(const StepBody& b) {
  u64(b.index());
  std::visit(
      [this](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, OpenAccount>) {
          str(v.account), str(v.asset), u64(v.scale), flag(v.debits_must_not_exceed_credits),
              flag(v.credits_must_not_exceed_debits), u64(v.overdraft_limit), str(v.metadata);
        } else if constexpr (std::is_same_v<T, CloseAccount>) {
          str(v.account);
        } else if constexpr (std::is_same_v<T, Transfer>) {
          str(v.debit_account), str(v.credit_account), u64(v.amount), str(v.asset), flag(v.pending),
              u64(v.timeout_s), str(v.reference);
        } else if constexpr (std::is_same_v<T, PostPending>) {
          str(v.pending_id), u64(v.amount);
        } else if constexpr (std::is_same_v<T, VoidPending>) {
          str(v.pending_id);
        } else {
          static_assert(std::is_same_v<T, Journal>);
          u64(v.legs.size());
          for (const JournalLeg& leg : v.legs) {
            str(leg.account), str(leg.asset), u64(static_cast<std::uint8_t>(leg.side)),
                u64(leg.amount);
          }
          str(v.reference);
        }
      },
      b);
}

// A linked step as a command of its own (its id, its body): what the step id
// is remembered as.
Command step_command(const Command& parent, const LinkedStep& step) {
  Command c;
  c.id = step.id;
  c.timestamp_ms = parent.timestamp_ms;
  c.source = parent.source;
  c.body = std::visit([](const auto& v) { return CommandBody(v); }, step.body);
  return c;
}

// ---------------------------------------------------------------- balances

// Checks an account's balance limits. The constrained side counts pending
// and posted amounts against the other side's posted amount only, so a hold
// can never be spent twice.
Rejection check_limits(const Account& a) {
  const Balances& b = a.balances;
  const u128 limit = a.overdraft_limit;
  if (a.debits_must_not_exceed_credits) {
    if (u128(b.debits_pending) + b.debits_posted > u128(b.credits_posted) + limit) {
      return reject(a.overdraft_limit == 0 ? RejectReason::exceeds_credits
                                           : RejectReason::overdraft_limit_exceeded);
    }
  }
  if (a.credits_must_not_exceed_debits) {
    if (u128(b.credits_pending) + b.credits_posted > u128(b.debits_posted) + limit) {
      return reject(a.overdraft_limit == 0 ? RejectReason::exceeds_debits
                                           : RejectReason::overdraft_limit_exceeded);
    }
  }
  return accepted;
}

Posting posting(const Account& account, Side side, Bucket bucket, bool increase, Amount amount) {
  return Posting{account.id, account.asset, side, bucket, increase, amount};
}

// ---------------------------------------------------------------- events

// What a decision produces before it is sealed into the log.
struct Effect {
  EventBody body;
  std::vector<Posting> postings;
};

class Decider {
 public:
  Decider(WorkingSet& state, const Command& command, std::vector<Event>& events)
      : state_(state), command_(command), events_(events) {}

  Outcome run();

 private:
  void advance_time();
  void expire(const ExpiryKey& key);
  Sequence emit(const std::string& step_id, EventBody body, std::vector<Posting> postings,
                bool with_command);
  Rejection decide_step(const std::string& id, const StepBody& body, const std::string& step_id,
                        bool with_command);
  Rejection decide_linked(const Linked& linked, Outcome& outcome);

  // Each returns a rejection or, on success, fills `effect` without touching
  // the state; apply() then writes it.
  Rejection open_account(const OpenAccount& c, Effect& effect);
  Rejection close_account(const CloseAccount& c, Effect& effect);
  Rejection transfer(const std::string& id, const Transfer& c, Effect& effect);
  Rejection post_pending(const PostPending& c, Effect& effect);
  Rejection void_pending(const VoidPending& c, Effect& effect);
  Rejection journal(const std::string& id, const Journal& c, Effect& effect);

  // Writes the accounts/pending changed by the step (staged by the checks).
  void apply_staged();

  // A hold's release: postings that take it off both pending balances,
  // applied to copies of its two accounts.
  struct HoldRelease {
    Account debit;
    Account credit;
    std::vector<Posting> postings;
  };
  HoldRelease release_hold(const PendingTransfer& hold) const;
  // Stages a resolved hold (posted or voided) and its accounts.
  void stage_resolution(const PendingTransfer& hold, PendingState to, HoldRelease release,
                        Effect& effect);

  WorkingSet& state_;
  const Command& command_;
  std::vector<Event>& events_;
  // Changes staged by a check, written by apply_staged.
  std::vector<Account> staged_accounts_;
  std::optional<PendingTransfer> staged_pending_;
  std::optional<ExpiryKey> staged_expiry_add_;
  std::optional<ExpiryKey> staged_expiry_remove_;
};

Sequence Decider::emit(const std::string& step_id, EventBody body, std::vector<Posting> postings,
                       bool with_command) {
  LF_ASSERT(postings_balance(postings));  // Double entry, before anything is written.
  LedgerHead head = state_.head();
  Event& event = events_.emplace_back();  // Built in place: an Event is costly to move.
  event.seq = head.next_seq;
  event.command_id = command_.id;
  event.step_id = step_id;
  event.timestamp_ms = head.logical_time_ms;
  event.source = command_.source;
  if (with_command) event.command = command_;
  event.body = std::move(body);
  event.postings = std::move(postings);
  LF_ASSERT(head.next_seq < UINT64_MAX);
  ++head.next_seq;
  state_.set_head(head);
  return events_.back().seq;
}

void Decider::advance_time() {
  LedgerHead head = state_.head();
  head.logical_time_ms = std::max(head.logical_time_ms, command_.timestamp_ms);
  state_.set_head(head);
  while (const ExpiryKey* next = state_.first_expiry()) {
    if (next->first > head.logical_time_ms) break;
    expire(ExpiryKey(*next));
  }
}

void Decider::expire(const ExpiryKey& key) {
  const PendingTransfer* found = state_.find_pending(key.second);
  LF_ASSERT(found != nullptr);
  LF_ASSERT(found->state == PendingState::pending);
  LF_ASSERT(found->expires_at_ms == key.first);
  HoldRelease release = release_hold(*found);
  PendingTransfer pending = *found;
  pending.state = PendingState::expired;
  state_.put_account(std::move(release.debit));
  state_.put_account(std::move(release.credit));
  state_.put_pending(pending);
  state_.remove_expiry(key.first, key.second);
  emit({}, PendingExpired{pending.id, pending.amount}, std::move(release.postings), false);
}

Outcome Decider::run() {
  Outcome outcome;
  outcome.command_id = command_.id;
  const bool id_ok = valid_id(command_.id);
  ContentDigest digest{};
  Rejection rejection;
  bool id_taken = false;  // The id is remembered for another command.
  if (id_ok) {
    digest = content_digest(command_);
    if (const CommandRecord* record = state_.find_command(command_.id)) {
      if (record->content_digest == digest) {
        Outcome original = record->outcome;
        original.duplicate = true;
        return original;
      }
      rejection = reject(RejectReason::id_exists_with_different_fields, "id");
      id_taken = true;
    }
  } else {
    rejection = invalid("id");
  }

  advance_time();
  const std::size_t events_before = events_.size();
  if (!rejection) {
    if (const auto* linked = std::get_if<Linked>(&command_.body)) {
      rejection = decide_linked(*linked, outcome);
    } else {
      const StepBody body = std::visit(
          [](const auto& v) -> StepBody {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Linked>) {
              LF_ASSERT(false);
              return StepBody{};
            } else {
              return v;
            }
          },
          command_.body);
      rejection = decide_step(command_.id, body, {}, true);
    }
  }
  if (rejection) {
    LF_ASSERT(events_.size() == events_before);
    outcome.status = OutcomeStatus::rejected;
    outcome.reason = rejection.reason;
    outcome.field = rejection.field;
    CommandRejected body{rejection.reason, rejection.field, outcome.failed_step};
    outcome.first_seq = emit({}, std::move(body), {}, true);
    outcome.event_count = 1;
  } else {
    outcome.status = OutcomeStatus::accepted;
    outcome.first_seq = events_[events_before].seq;
    outcome.event_count = static_cast<std::uint32_t>(events_.size() - events_before);
  }
  // A conflicting reuse keeps the original record; a malformed id has none.
  if (id_ok && !id_taken) {
    state_.put_command(command_.id, CommandRecord{digest, outcome});
  }
  return outcome;
}

Rejection Decider::decide_linked(const Linked& linked, Outcome& outcome) {
  if (linked.steps.size() < linked_steps_min || linked.steps.size() > linked_steps_max) {
    return invalid("steps");
  }
  for (std::size_t i = 0; i < linked.steps.size(); ++i) {
    const std::string& id = linked.steps[i].id;
    const std::string field = "steps[" + std::to_string(i) + "].id";
    bool distinct = valid_id(id) && id != command_.id;
    for (std::size_t j = 0; distinct && j < i; ++j) distinct = linked.steps[j].id != id;
    if (!distinct) {
      outcome.failed_step = static_cast<std::int32_t>(i);
      return invalid(field);
    }
  }
  for (std::size_t i = 0; i < linked.steps.size(); ++i) {
    if (state_.find_command(linked.steps[i].id) != nullptr) {
      outcome.failed_step = static_cast<std::int32_t>(i);
      return reject(RejectReason::id_exists_with_different_fields,
                    "steps[" + std::to_string(i) + "].id");
    }
  }
  const std::size_t events_before = events_.size();
  state_.savepoint();
  for (std::size_t i = 0; i < linked.steps.size(); ++i) {
    const LinkedStep& step = linked.steps[i];
    Rejection r = decide_step(step.id, step.body, step.id, i == 0);
    if (r) {
      state_.rollback();
      events_.resize(events_before);
      outcome.failed_step = static_cast<std::int32_t>(i);
      r.field = "steps[" + std::to_string(i) + "]" + (r.field.empty() ? "" : "." + r.field);
      return r;
    }
  }
  state_.release();
  for (std::size_t i = 0; i < linked.steps.size(); ++i) {
    const LinkedStep& step = linked.steps[i];
    Outcome step_outcome;
    step_outcome.command_id = step.id;
    step_outcome.first_seq = events_[events_before + i].seq;
    step_outcome.event_count = 1;
    state_.put_command(step.id,
                       CommandRecord{content_digest(step_command(command_, step)), step_outcome});
  }
  return accepted;
}

Rejection Decider::decide_step(const std::string& id, const StepBody& body,
                               const std::string& step_id, bool with_command) {
  staged_accounts_.clear();
  staged_pending_.reset();
  staged_expiry_add_.reset();
  staged_expiry_remove_.reset();
  Effect effect;
  Rejection r = std::visit(
      [&](const auto& c) -> Rejection {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, OpenAccount>) return open_account(c, effect);
        if constexpr (std::is_same_v<T, CloseAccount>) return close_account(c, effect);
        if constexpr (std::is_same_v<T, Transfer>) return transfer(id, c, effect);
        if constexpr (std::is_same_v<T, PostPending>) return post_pending(c, effect);
        if constexpr (std::is_same_v<T, VoidPending>) return void_pending(c, effect);
        if constexpr (std::is_same_v<T, Journal>) return journal(id, c, effect);
      },
      body);
  if (r) return r;
  apply_staged();
  emit(step_id, std::move(effect.body), std::move(effect.postings), with_command);
  return accepted;
}

void Decider::apply_staged() {
  for (Account& account : staged_accounts_) {
    LF_ASSERT(!check_limits(account));  // Limits hold after every accepted change.
    state_.put_account(std::move(account));
  }
  if (staged_pending_) state_.put_pending(*staged_pending_);
  if (staged_expiry_add_) state_.add_expiry(staged_expiry_add_->first, staged_expiry_add_->second);
  if (staged_expiry_remove_) {
    state_.remove_expiry(staged_expiry_remove_->first, staged_expiry_remove_->second);
  }
}

// ---------------------------------------------------------------- commands

Rejection Decider::open_account(const OpenAccount& c, Effect& effect) {
  if (!valid_id(c.account)) return invalid("account");
  if (!valid_asset(c.asset)) return invalid("asset");
  if (c.scale > asset_scale_max) return invalid("scale");
  if (c.debits_must_not_exceed_credits && c.credits_must_not_exceed_debits) {
    return invalid("credits_must_not_exceed_debits");
  }
  if (c.overdraft_limit != 0 && !c.debits_must_not_exceed_credits &&
      !c.credits_must_not_exceed_debits) {
    return invalid("overdraft_limit");
  }
  if (c.metadata.size() > metadata_bytes_max) return invalid("metadata");
  if (!state_.shard().owns(c.account)) return reject(RejectReason::wrong_shard, "account");
  if (state_.find_account(c.account) != nullptr) {
    return reject(RejectReason::account_already_exists, "account");
  }
  Account account;
  account.id = c.account;
  account.asset = c.asset;
  account.scale = c.scale;
  account.debits_must_not_exceed_credits = c.debits_must_not_exceed_credits;
  account.credits_must_not_exceed_debits = c.credits_must_not_exceed_debits;
  account.overdraft_limit = c.overdraft_limit;
  account.metadata = c.metadata;
  staged_accounts_.push_back(account);
  effect.body = AccountOpened{std::move(account)};
  return accepted;
}

Rejection Decider::close_account(const CloseAccount& c, Effect& effect) {
  if (!valid_id(c.account)) return invalid("account");
  if (!state_.shard().owns(c.account)) return reject(RejectReason::wrong_shard, "account");
  const Account* found = state_.find_account(c.account);
  if (found == nullptr) return reject(RejectReason::account_not_found, "account");
  if (found->closed) return reject(RejectReason::account_closed, "account");
  const Balances& b = found->balances;
  if (b.debits_pending != 0 || b.credits_pending != 0) {
    return reject(RejectReason::account_has_pending_transfers, "account");
  }
  if (b.debits_posted != b.credits_posted) {
    return reject(RejectReason::account_balance_not_zero, "account");
  }
  Account account = *found;
  account.closed = true;
  staged_accounts_.push_back(std::move(account));
  effect.body = AccountClosed{c.account};
  return accepted;
}

Rejection Decider::transfer(const std::string& id, const Transfer& c, Effect& effect) {
  if (!valid_id(c.debit_account)) return invalid("debit_account");
  if (!valid_id(c.credit_account)) return invalid("credit_account");
  if (c.amount == 0) return invalid("amount");
  if (!valid_asset(c.asset)) return invalid("asset");
  if (c.timeout_s != 0 && (!c.pending || c.timeout_s > pending_timeout_s_max)) {
    return invalid("timeout_s");
  }
  if (c.reference.size() > reference_bytes_max) return invalid("reference");
  if (c.debit_account == c.credit_account) {
    return reject(RejectReason::accounts_must_be_different, "credit_account");
  }
  if (!state_.shard().owns(c.debit_account)) {
    return reject(RejectReason::wrong_shard, "debit_account");
  }
  if (!state_.shard().owns(c.credit_account)) {
    return reject(RejectReason::wrong_shard, "credit_account");
  }
  // A hold is resolved where its id routes (ledger/shard.h), so it must live there.
  if (c.pending && !state_.shard().owns(id)) return reject(RejectReason::wrong_shard, "id");
  const Account* debit = state_.find_account(c.debit_account);
  if (debit == nullptr) return reject(RejectReason::account_not_found, "debit_account");
  const Account* credit = state_.find_account(c.credit_account);
  if (credit == nullptr) return reject(RejectReason::account_not_found, "credit_account");
  if (debit->closed) return reject(RejectReason::account_closed, "debit_account");
  if (credit->closed) return reject(RejectReason::account_closed, "credit_account");
  if (debit->asset != c.asset) return reject(RejectReason::asset_mismatch, "debit_account");
  if (credit->asset != c.asset) return reject(RejectReason::asset_mismatch, "credit_account");
  if (debit->scale != credit->scale) return reject(RejectReason::asset_mismatch, "credit_account");

  const Bucket bucket = c.pending ? Bucket::pending : Bucket::posted;
  std::vector<Posting> postings{posting(*debit, Side::debit, bucket, true, c.amount),
                                posting(*credit, Side::credit, bucket, true, c.amount)};
  Account new_debit = *debit;
  Account new_credit = *credit;
  if (!apply_posting(new_debit.balances, postings[0])) {
    return reject(RejectReason::overflow, "debit_account");
  }
  if (!apply_posting(new_credit.balances, postings[1])) {
    return reject(RejectReason::overflow, "credit_account");
  }
  if (Rejection r = check_limits(new_debit)) return r.field = "debit_account", r;
  if (Rejection r = check_limits(new_credit)) return r.field = "credit_account", r;

  staged_accounts_.push_back(std::move(new_debit));
  staged_accounts_.push_back(std::move(new_credit));
  effect.postings = std::move(postings);
  if (!c.pending) {
    effect.body =
        TransferPosted{id, c.debit_account, c.credit_account, c.asset, c.amount, c.reference};
    return accepted;
  }
  PendingTransfer pending;
  pending.id = id;
  pending.debit_account = c.debit_account;
  pending.credit_account = c.credit_account;
  pending.asset = c.asset;
  pending.amount = c.amount;
  if (c.timeout_s != 0) {
    // Cannot overflow in practice (time < 2^63 ms); checked all the same.
    const u128 expires = u128(state_.head().logical_time_ms) + u128(c.timeout_s) * 1000;
    if (expires > UINT64_MAX) return invalid("timeout_s");
    pending.expires_at_ms = static_cast<TimestampMs>(expires);
    staged_expiry_add_ = ExpiryKey{pending.expires_at_ms, id};
  }
  LF_ASSERT(state_.find_pending(id) == nullptr);  // Ids are unique: the id check proved it.
  staged_pending_ = pending;
  effect.body = PendingCreated{std::move(pending), c.reference};
  return accepted;
}

// Shared checks of post_pending and void_pending: the hold must exist and
// still be pending.
Rejection resolvable(const PendingTransfer* pending) {
  if (pending == nullptr) return reject(RejectReason::pending_not_found, "pending_id");
  switch (pending->state) {
    case PendingState::pending:
      return accepted;
    case PendingState::posted:
      return reject(RejectReason::pending_already_posted, "pending_id");
    case PendingState::voided:
      return reject(RejectReason::pending_already_voided, "pending_id");
    case PendingState::expired:
      return reject(RejectReason::pending_expired, "pending_id");
  }
  LF_ASSERT(false);
  return accepted;
}

Decider::HoldRelease Decider::release_hold(const PendingTransfer& hold) const {
  const Account* debit = state_.find_account(hold.debit_account);
  const Account* credit = state_.find_account(hold.credit_account);
  LF_ASSERT(debit != nullptr && credit != nullptr);
  LF_ASSERT(!debit->closed && !credit->closed);  // Accounts with holds cannot close.
  HoldRelease release{*debit,
                      *credit,
                      {posting(*debit, Side::debit, Bucket::pending, false, hold.amount),
                       posting(*credit, Side::credit, Bucket::pending, false, hold.amount)}};
  // The hold is counted in both pending balances, so releasing it cannot fail.
  LF_ASSERT(apply_posting(release.debit.balances, release.postings[0]));
  LF_ASSERT(apply_posting(release.credit.balances, release.postings[1]));
  return release;
}

void Decider::stage_resolution(const PendingTransfer& hold, PendingState to, HoldRelease release,
                               Effect& effect) {
  PendingTransfer resolved = hold;
  resolved.state = to;
  if (resolved.expires_at_ms != 0) {
    staged_expiry_remove_ = ExpiryKey{resolved.expires_at_ms, resolved.id};
  }
  staged_accounts_.push_back(std::move(release.debit));
  staged_accounts_.push_back(std::move(release.credit));
  effect.postings = std::move(release.postings);
  staged_pending_ = std::move(resolved);
}

Rejection Decider::post_pending(const PostPending& c, Effect& effect) {
  if (!valid_id(c.pending_id)) return invalid("pending_id");
  if (!state_.shard().owns(c.pending_id)) return reject(RejectReason::wrong_shard, "pending_id");
  const PendingTransfer* found = state_.find_pending(c.pending_id);
  if (Rejection r = resolvable(found)) return r;
  const Amount amount = c.amount == 0 ? found->amount : c.amount;
  if (amount > found->amount) return reject(RejectReason::amount_exceeds_pending, "amount");
  HoldRelease release = release_hold(*found);
  release.postings.push_back(posting(release.debit, Side::debit, Bucket::posted, true, amount));
  release.postings.push_back(posting(release.credit, Side::credit, Bucket::posted, true, amount));
  if (!apply_posting(release.debit.balances, release.postings[2])) {
    return reject(RejectReason::overflow, "amount");
  }
  if (!apply_posting(release.credit.balances, release.postings[3])) {
    return reject(RejectReason::overflow, "amount");
  }
  effect.body = PendingPosted{found->id, amount, found->amount - amount};
  stage_resolution(*found, PendingState::posted, std::move(release), effect);
  return accepted;
}

Rejection Decider::void_pending(const VoidPending& c, Effect& effect) {
  if (!valid_id(c.pending_id)) return invalid("pending_id");
  if (!state_.shard().owns(c.pending_id)) return reject(RejectReason::wrong_shard, "pending_id");
  const PendingTransfer* found = state_.find_pending(c.pending_id);
  if (Rejection r = resolvable(found)) return r;
  effect.body = PendingVoided{found->id, found->amount};
  stage_resolution(*found, PendingState::voided, release_hold(*found), effect);
  return accepted;
}

Rejection Decider::journal(const std::string& id, const Journal& c, Effect& effect) {
  if (c.legs.size() < journal_legs_min || c.legs.size() > journal_legs_max) return invalid("legs");
  for (std::size_t i = 0; i < c.legs.size(); ++i) {
    const JournalLeg& leg = c.legs[i];
    const std::string prefix = "legs[" + std::to_string(i) + "].";
    if (!valid_id(leg.account)) return invalid(prefix + "account");
    if (!valid_asset(leg.asset)) return invalid(prefix + "asset");
    if (leg.side != Side::debit && leg.side != Side::credit) return invalid(prefix + "side");
    if (leg.amount == 0) return invalid(prefix + "amount");
  }
  if (c.reference.size() > reference_bytes_max) return invalid("reference");
  for (std::size_t i = 0; i < c.legs.size(); ++i) {
    const JournalLeg& leg = c.legs[i];
    const std::string field = "legs[" + std::to_string(i) + "].account";
    if (!state_.shard().owns(leg.account)) return reject(RejectReason::wrong_shard, field);
    const Account* account = state_.find_account(leg.account);
    if (account == nullptr) return reject(RejectReason::account_not_found, field);
    if (account->closed) return reject(RejectReason::account_closed, field);
    if (account->asset != leg.asset) return reject(RejectReason::asset_mismatch, field);
    // One asset, one scale: minor units of different scales do not add up.
    for (std::size_t j = 0; j < i; ++j) {
      const Account* earlier = state_.find_account(c.legs[j].account);
      if (earlier->asset == account->asset && earlier->scale != account->scale) {
        return reject(RejectReason::asset_mismatch, field);
      }
    }
  }
  // Balanced per asset. std::map: ordered, so the check is deterministic.
  std::map<std::string, std::pair<u128, u128>> totals;
  for (const JournalLeg& leg : c.legs) {
    auto& [debits, credits] = totals[leg.asset];
    (leg.side == Side::debit ? debits : credits) += leg.amount;
  }
  for (const auto& [asset, sums] : totals) {
    if (sums.first != sums.second) return reject(RejectReason::unbalanced_journal, "legs");
  }
  // Apply to copies, one per distinct account in first-appearance order.
  std::vector<Account> accounts;
  std::vector<Posting> postings;
  for (std::size_t i = 0; i < c.legs.size(); ++i) {
    const JournalLeg& leg = c.legs[i];
    auto it = std::find_if(accounts.begin(), accounts.end(),
                           [&](const Account& a) { return a.id == leg.account; });
    if (it == accounts.end()) {
      accounts.push_back(*state_.find_account(leg.account));
      it = accounts.end() - 1;
    }
    postings.push_back(posting(*it, leg.side, Bucket::posted, true, leg.amount));
    if (!apply_posting(it->balances, postings.back())) {
      return reject(RejectReason::overflow, "legs[" + std::to_string(i) + "].amount");
    }
  }
  for (const Account& account : accounts) {
    if (Rejection r = check_limits(account)) {
      for (std::size_t i = 0; i < c.legs.size(); ++i) {
        if (c.legs[i].account == account.id) {
          r.field = "legs[" + std::to_string(i) + "].account";
          break;
        }
      }
      return r;
    }
  }
  staged_accounts_ = std::move(accounts);
  effect.body = JournalPosted{id, c.reference};
  effect.postings = std::move(postings);
  return accepted;
}

void collect_step_keys(const std::string& id, const StepBody& body, KeySet& keys) {
  auto add = [](std::vector<std::string>& to, const std::string& s) {
    if (valid_id(s)) to.push_back(s);
  };
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, OpenAccount> || std::is_same_v<T, CloseAccount>) {
          add(keys.accounts, c.account);
        } else if constexpr (std::is_same_v<T, Transfer>) {
          add(keys.accounts, c.debit_account);
          add(keys.accounts, c.credit_account);
          if (c.pending) add(keys.pendings, id);
        } else if constexpr (std::is_same_v<T, PostPending> || std::is_same_v<T, VoidPending>) {
          add(keys.pendings, c.pending_id);
        } else {
          for (const JournalLeg& leg : c.legs) add(keys.accounts, leg.account);
        }
      },
      body);
}

}  // namespace

// ---------------------------------------------------------------- public

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= id_bytes_max && std::all_of(id.begin(), id.end(), id_char);
}

bool valid_asset(std::string_view asset) {
  return !asset.empty() && asset.size() <= asset_bytes_max &&
         std::all_of(asset.begin(), asset.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
}

void collect_keys(const Command& command, KeySet& keys) {
  if (!valid_id(command.id)) return;  // Rejected before anything is read.
  keys.commands.push_back(command.id);
  if (const auto* linked = std::get_if<Linked>(&command.body)) {
    for (const LinkedStep& step : linked->steps) {
      if (valid_id(step.id)) keys.commands.push_back(step.id);
      collect_step_keys(step.id, step.body, keys);
    }
    return;
  }
  std::visit(
      [&](const auto& c) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(c)>, Linked>) {
          collect_step_keys(command.id, c, keys);
        }
      },
      command.body);
}

void add_pending_accounts(const PendingTransfer& pending, KeySet& keys) {
  keys.accounts.push_back(pending.debit_account);
  keys.accounts.push_back(pending.credit_account);
}

ContentDigest content_digest(const Command& command) {
  Canonical canonical;
  canonical.str(command.id);
  if (const auto* linked = std::get_if<Linked>(&command.body)) {
    canonical.u64(6);  // The Linked alternative's index.
    canonical.u64(linked->steps.size());
    for (const LinkedStep& step : linked->steps) {
      canonical.str(step.id);
      canonical.body(step.body);
    }
  } else {
    std::visit(
        [&](const auto& c) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(c)>, Linked>) canonical.body(c);
        },
        command.body);
  }
  return sha256(canonical.bytes());
}

Outcome decide(WorkingSet& state, const Command& command, std::vector<Event>& events) {
  return Decider(state, command, events).run();
}

}  // namespace lf::ledger
