// The ledger's domain types: accounts, pending transfers, commands, events and
// outcomes. Pure values: no I/O, no clock, no threads.
//
// Money is an unsigned 64-bit count of an asset's minor units (cents for USD
// with scale 2). Balances are four such counters per account; every addition is
// checked and an overflow rejects the command (`RejectReason::overflow`).
//
// Persisted enum values are embedded in the event log and in the FlatBuffers
// schemas (schemas/*.fbs). DO NOT CHANGE THEM; only append.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lf::ledger {

using Amount = std::uint64_t;
using Sequence = std::uint64_t;
using TimestampMs = std::uint64_t;

// The version of the decision rules below. Recorded in every event's envelope
// so that a replay knows which rules produced it.
inline constexpr std::uint32_t rules_version = 1;

// Why a command was rejected. The order of checks is documented in
// docs/rejections.md and tested in tests/ledger/.
// DO NOT CHANGE the values: they are embedded in the event log.
enum class RejectReason : std::uint16_t {
  none = 0,
  invalid_field = 1,  // Outcome::field names the field.
  id_exists_with_different_fields = 2,
  account_not_found = 3,
  account_already_exists = 4,
  account_closed = 5,
  asset_mismatch = 6,
  accounts_must_be_different = 7,
  exceeds_credits = 8,  // Debits would exceed credits (insufficient funds).
  exceeds_debits = 9,   // Credits would exceed debits.
  overdraft_limit_exceeded = 10,
  overflow = 11,
  unbalanced_journal = 12,
  pending_not_found = 13,
  pending_already_posted = 14,
  pending_already_voided = 15,
  pending_expired = 16,
  amount_exceeds_pending = 17,
  account_balance_not_zero = 18,       // close_account on a non-zero balance.
  account_has_pending_transfers = 19,  // close_account with holds outstanding.
  linked_step_failed = 20,             // Reserved; linked chains report the step's own reason.
  wrong_shard = 21,  // Names an account or hold of another shard (ledger/shard.h).
};

// Stable snake_case name of a reason, as used in JSON and docs.
const char* reject_reason_name(RejectReason reason);

// Which side of an account a posting moves.
enum class Side : std::uint8_t { debit = 0, credit = 1 };
// Pending (held, authorised) or posted (settled) money.
enum class Bucket : std::uint8_t { pending = 0, posted = 1 };

struct Balances {
  Amount debits_pending = 0;
  Amount debits_posted = 0;
  Amount credits_pending = 0;
  Amount credits_posted = 0;

  bool operator==(const Balances&) const = default;
};

struct Account {
  std::string id;
  std::string asset;
  std::uint8_t scale = 0;
  bool debits_must_not_exceed_credits = false;
  bool credits_must_not_exceed_debits = false;
  // How far the constrained side may exceed the other; 0 = not at all.
  Amount overdraft_limit = 0;
  std::string metadata;
  bool closed = false;
  Balances balances;

  bool operator==(const Account&) const = default;
};

// DO NOT CHANGE the values: they are persisted.
enum class PendingState : std::uint8_t { pending = 0, posted = 1, voided = 2, expired = 3 };

struct PendingTransfer {
  std::string id;
  std::string debit_account;
  std::string credit_account;
  std::string asset;
  Amount amount = 0;
  TimestampMs expires_at_ms = 0;  // 0 = never.
  PendingState state = PendingState::pending;

  bool operator==(const PendingTransfer&) const = default;
};

// ---------------------------------------------------------------- commands

struct OpenAccount {
  std::string account;
  std::string asset;
  std::uint8_t scale = 0;
  bool debits_must_not_exceed_credits = false;
  bool credits_must_not_exceed_debits = false;
  Amount overdraft_limit = 0;
  std::string metadata;
  bool operator==(const OpenAccount&) const = default;
};

struct CloseAccount {
  std::string account;
  bool operator==(const CloseAccount&) const = default;
};

// Moves `amount` from `debit_account` to `credit_account`. With `pending` it
// only places a hold (pending balances) until posted, voided or expired.
struct Transfer {
  std::string debit_account;
  std::string credit_account;
  Amount amount = 0;
  std::string asset;
  bool pending = false;
  std::uint32_t timeout_s = 0;  // Only with pending; 0 = never expires.
  std::string reference;
  bool operator==(const Transfer&) const = default;
};

// Captures a pending transfer: `amount` 0 posts the full amount; a smaller
// amount posts that much and releases the rest.
struct PostPending {
  std::string pending_id;
  Amount amount = 0;
  bool operator==(const PostPending&) const = default;
};

struct VoidPending {
  std::string pending_id;
  bool operator==(const VoidPending&) const = default;
};

struct JournalLeg {
  std::string account;
  std::string asset;
  Side side = Side::debit;
  Amount amount = 0;
  bool operator==(const JournalLeg&) const = default;
};

// A multi-leg entry: balanced per asset, applied atomically.
struct Journal {
  std::vector<JournalLeg> legs;
  std::string reference;
  bool operator==(const Journal&) const = default;
};

using StepBody =
    std::variant<OpenAccount, CloseAccount, Transfer, PostPending, VoidPending, Journal>;

struct LinkedStep {
  std::string id;
  StepBody body;
  bool operator==(const LinkedStep&) const = default;
};

// A chain of steps that all succeed or none do.
struct Linked {
  std::vector<LinkedStep> steps;
  bool operator==(const Linked&) const = default;
};

// The alternative index is persisted (it is the FlatBuffers union tag minus 1).
using CommandBody =
    std::variant<OpenAccount, CloseAccount, Transfer, PostPending, VoidPending, Journal, Linked>;

// Where a command came from: a Kafka topic, partition and offset, or nothing
// for commands applied from a file.
struct SourcePosition {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  bool operator==(const SourcePosition&) const = default;
};

struct Command {
  std::string id;
  TimestampMs timestamp_ms = 0;  // Logical time, from the producer or Kafka record.
  CommandBody body;
  SourcePosition source;
  bool operator==(const Command&) const = default;
};

// Canonical name of a command type ("open_account", "transfer", ...).
const char* command_type_name(const CommandBody& body);

// ---------------------------------------------------------------- events

struct Posting {
  std::string account;
  std::string asset;
  Side side = Side::debit;
  Bucket bucket = Bucket::posted;
  bool increase = true;  // false: the amount is taken off the balance.
  Amount amount = 0;
  bool operator==(const Posting&) const = default;
};

struct AccountOpened {
  Account account;  // As opened: zero balances, not closed.
  bool operator==(const AccountOpened&) const = default;
};
struct AccountClosed {
  std::string account;
  bool operator==(const AccountClosed&) const = default;
};
struct TransferPosted {
  std::string transfer_id;
  std::string debit_account;
  std::string credit_account;
  std::string asset;
  Amount amount = 0;
  std::string reference;
  bool operator==(const TransferPosted&) const = default;
};
struct PendingCreated {
  PendingTransfer pending;
  std::string reference;
  bool operator==(const PendingCreated&) const = default;
};
struct PendingPosted {
  std::string pending_id;
  Amount amount_posted = 0;
  Amount amount_released = 0;
  bool operator==(const PendingPosted&) const = default;
};
struct PendingVoided {
  std::string pending_id;
  Amount amount_released = 0;
  bool operator==(const PendingVoided&) const = default;
};
struct PendingExpired {
  std::string pending_id;
  Amount amount_released = 0;
  bool operator==(const PendingExpired&) const = default;
};
struct JournalPosted {
  std::string journal_id;
  std::string reference;
  bool operator==(const JournalPosted&) const = default;
};
struct CommandRejected {
  RejectReason reason = RejectReason::none;
  std::string field;              // For invalid_field: which one ("amount", "steps[2].id").
  std::int32_t failed_step = -1;  // For linked chains: index of the failing step.
  bool operator==(const CommandRejected&) const = default;
};

using EventBody =
    std::variant<AccountOpened, AccountClosed, TransferPosted, PendingCreated, PendingPosted,
                 PendingVoided, PendingExpired, JournalPosted, CommandRejected>;

// Canonical name of an event type ("transfer_posted", ...).
const char* event_type_name(const EventBody& body);

// One record of the log. A command yields one event (one per step for an
// accepted linked chain); logical time passing a pending transfer's timeout
// yields a PendingExpired event attributed to the command that moved time.
struct Event {
  Sequence seq = 0;
  std::string command_id;        // The command that caused it.
  std::string step_id;           // For linked steps: the step's id; else empty.
  TimestampMs timestamp_ms = 0;  // The ledger's logical time when it happened.
  SourcePosition source;
  std::uint32_t rules_version = ledger::rules_version;
  // The input command, on the first event each command produces (absent on
  // expiries and on later steps of a linked chain): re-execution reads it.
  std::optional<Command> command;
  EventBody body;
  std::vector<Posting> postings;
  bool operator==(const Event&) const = default;
};

// True when the postings balance per (asset, bucket): the sum of debit changes
// equals the sum of credit changes. Computed with 128-bit accumulators.
bool postings_balance(const std::vector<Posting>& postings);

// Applies one posting to an account's balances; false on underflow/overflow.
[[nodiscard]] bool apply_posting(Balances& balances, const Posting& posting);

// ---------------------------------------------------------------- outcomes

// DO NOT CHANGE the values: they are persisted in idempotency records.
enum class OutcomeStatus : std::uint8_t { accepted = 0, rejected = 1 };

// The fate of a command, as recorded under its id and returned to producers.
struct Outcome {
  std::string command_id;
  OutcomeStatus status = OutcomeStatus::accepted;
  RejectReason reason = RejectReason::none;
  std::string field;
  std::int32_t failed_step = -1;
  // The command's own events: first_seq .. first_seq + event_count - 1 (one,
  // or one per step of an accepted linked chain). Expiries that the command's
  // logical time triggered come just before and are not counted.
  Sequence first_seq = 0;
  std::uint32_t event_count = 0;
  bool duplicate = false;  // True when this is a replayed answer to a retry.
  bool operator==(const Outcome&) const = default;
};

}  // namespace lf::ledger
