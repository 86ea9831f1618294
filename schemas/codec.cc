#include "schemas/codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <variant>

#include "ledger/assert.h"

namespace lf::codec {

namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// While an event is encoded in encoding 2 (EventEncoder::encode), the strings
// already written into it; else null. Thread-local like the decode budget
// below: the writers of every table reach it without a parameter each.
thread_local WrittenStrings* written_strings = nullptr;

// The offset of a string equal to `s` already written into this event, or 0.
flatbuffers::uoffset_t find_written(const WrittenStrings& written, std::string_view s) {
  if (written.list.size() < WrittenStrings::list_entries_max) {
    for (const auto& [text, offset] : written.list) {
      if (text == s) return offset.o;
    }
    return 0;
  }
  const auto* entry = written.index.find_entry(s);
  return entry != nullptr ? entry->second : 0;
}

void remember_written(WrittenStrings& written, std::string_view s,
                      Offset<flatbuffers::String> offset) {
  if (written.list.size() < WrittenStrings::list_entries_max) {
    written.list.emplace_back(s, offset);
    if (written.list.size() < WrittenStrings::list_entries_max) return;
    for (const auto& [text, at] : written.list) written.index.try_emplace(text, at.o);
    return;
  }
  written.index.try_emplace(s, offset.o);
}

// Empty strings are left out of the buffer (offset 0) and read back as "".
// In encoding 2, a string equal to one already written points at it.
Offset<flatbuffers::String> str(FlatBufferBuilder& b, const std::string& s) {
  if (s.empty()) return 0;
  if (written_strings == nullptr) return b.CreateString(s);
  if (const flatbuffers::uoffset_t at = find_written(*written_strings, s); at != 0) {
    return Offset<flatbuffers::String>(at);
  }
  const Offset<flatbuffers::String> offset = b.CreateString(s);
  remember_written(*written_strings, s, offset);
  return offset;
}

// Sets written_strings for one event's encoding.
class WrittenStringsScope {
 public:
  WrittenStringsScope(WrittenStrings& strings, bool share) {
    strings.clear();
    if (share) written_strings = &strings;
  }
  ~WrittenStringsScope() { written_strings = nullptr; }
  WrittenStringsScope(const WrittenStringsScope&) = delete;
  WrittenStringsScope& operator=(const WrittenStringsScope&) = delete;
};

// What one decode may still produce. A hostile buffer can point many vector
// elements at one table holding a long string; without a budget a 4 MiB
// message could decode to gigabytes. Every string byte and every vector
// element is charged; a decode that runs out fails.
struct DecodeBudget {
  std::size_t bytes_left = SIZE_MAX;
  bool exhausted = false;
};
thread_local DecodeBudget decode_budget;

// Sets the budget for one top-level decode of `input_bytes` and restores an
// unlimited budget afterwards.
class BudgetScope {
 public:
  explicit BudgetScope(std::size_t input_bytes, std::size_t floor_bytes = 0) {
    decode_budget = {std::max(decode_amplification_max * input_bytes + 4096, floor_bytes), false};
  }
  ~BudgetScope() { decode_budget = {}; }
  bool exhausted() const { return decode_budget.exhausted; }
};

bool charge(std::size_t bytes) {
  if (bytes > decode_budget.bytes_left) {
    decode_budget.exhausted = true;
    decode_budget.bytes_left = 0;
    return false;
  }
  decode_budget.bytes_left -= bytes;
  return true;
}

std::string str(const flatbuffers::String* s) {
  if (s == nullptr || !charge(s->size())) return std::string();
  return s->str();
}

// str() into `out`, keeping its buffer: a replay decodes into recycled events.
void assign(std::string& out, const flatbuffers::String* s) {
  if (s == nullptr || !charge(s->size())) {
    out.clear();
    return;
  }
  out.assign(s->c_str(), s->size());
}

// Cost charged per decoded vector element (legs, steps, postings, commands).
constexpr std::size_t element_charge_bytes = 64;

template <typename Vector>
bool charge_elements(const Vector* v) {
  return v == nullptr || charge(v->size() * element_charge_bytes);
}

fb::Hash256 to_fb(const Sha256& h) {
  return fb::Hash256(flatbuffers::span<const uint8_t, 32>(h.data(), h.size()));
}
Sha256 from_fb(const fb::Hash256* h) {
  Sha256 out{};
  if (h != nullptr) std::copy(h->bytes()->begin(), h->bytes()->end(), out.begin());
  return out;
}

flatbuffers::Verifier::Options verifier_options() {
  flatbuffers::Verifier::Options options;
  options.max_depth = verifier_depth_max;
  options.max_tables = verifier_tables_max;
  return options;
}

// ---- command bodies
//
// The order strings are written in decides the bytes, which the hash chain
// covers, so it is spelled out: a table's strings are written last field
// first (the order GCC evaluated them in as call arguments, when the log's
// bytes were fixed; tests/engine/event_encoding_test.cc pins them). Never
// write two strings inside one call's arguments: C++ leaves that order to the
// compiler.

Offset<fb::OpenAccount> write(FlatBufferBuilder& b, const ledger::OpenAccount& c) {
  const auto metadata = str(b, c.metadata);
  const auto asset = str(b, c.asset);
  const auto account = str(b, c.account);
  return fb::CreateOpenAccount(b, account, asset, c.scale, c.debits_must_not_exceed_credits,
                               c.credits_must_not_exceed_debits, c.overdraft_limit, metadata);
}
Offset<fb::CloseAccount> write(FlatBufferBuilder& b, const ledger::CloseAccount& c) {
  return fb::CreateCloseAccount(b, str(b, c.account));
}
Offset<fb::Transfer> write(FlatBufferBuilder& b, const ledger::Transfer& c) {
  const auto reference = str(b, c.reference);
  const auto asset = str(b, c.asset);
  const auto credit = str(b, c.credit_account);
  const auto debit = str(b, c.debit_account);
  return fb::CreateTransfer(b, debit, credit, c.amount, asset, c.pending, c.timeout_s, reference);
}
Offset<fb::PostPending> write(FlatBufferBuilder& b, const ledger::PostPending& c) {
  return fb::CreatePostPending(b, str(b, c.pending_id), c.amount);
}
Offset<fb::VoidPending> write(FlatBufferBuilder& b, const ledger::VoidPending& c) {
  return fb::CreateVoidPending(b, str(b, c.pending_id));
}
Offset<fb::Journal> write(FlatBufferBuilder& b, const ledger::Journal& c) {
  std::vector<Offset<fb::JournalLeg>> legs;
  legs.reserve(c.legs.size());
  for (const ledger::JournalLeg& leg : c.legs) {
    const auto asset = str(b, leg.asset);
    const auto account = str(b, leg.account);
    legs.push_back(
        fb::CreateJournalLeg(b, account, asset, static_cast<fb::Side>(leg.side), leg.amount));
  }
  const auto reference = str(b, c.reference);
  const auto legs_vector = b.CreateVector(legs);
  return fb::CreateJournal(b, legs_vector, reference);
}

// Union tag = variant index + 1, for both StepBody and CommandBody.
template <typename Variant>
std::pair<std::uint8_t, Offset<void>> write_body(FlatBufferBuilder& b, const Variant& body) {
  Offset<void> offset = std::visit(
      [&](const auto& v) -> Offset<void> {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, ledger::Linked>) {
          std::vector<Offset<fb::LinkedStep>> steps;
          for (const ledger::LinkedStep& step : v.steps) {
            auto [type, step_body] = write_body(b, step.body);
            steps.push_back(fb::CreateLinkedStep(b, str(b, step.id),
                                                 static_cast<fb::StepBody>(type), step_body));
          }
          return fb::CreateLinked(b, b.CreateVector(steps)).Union();
        } else {
          return write(b, v).Union();
        }
      },
      body);
  return {static_cast<std::uint8_t>(body.index() + 1), offset};
}

ledger::OpenAccount read(const fb::OpenAccount& c) {
  return {str(c.account()),
          str(c.asset()),
          c.scale(),
          c.debits_must_not_exceed_credits(),
          c.credits_must_not_exceed_debits(),
          c.overdraft_limit(),
          str(c.metadata())};
}
ledger::CloseAccount read(const fb::CloseAccount& c) { return {str(c.account())}; }
ledger::Transfer read(const fb::Transfer& c) {
  return {str(c.debit_account()), str(c.credit_account()), c.amount(), str(c.asset()), c.pending(),
          c.timeout_s(),          str(c.reference())};
}
ledger::PostPending read(const fb::PostPending& c) { return {str(c.pending_id()), c.amount()}; }
ledger::VoidPending read(const fb::VoidPending& c) { return {str(c.pending_id())}; }
ledger::Journal read(const fb::Journal& c) {
  ledger::Journal j;
  if (c.legs() != nullptr && charge_elements(c.legs())) {
    for (const fb::JournalLeg* leg : *c.legs()) {
      j.legs.push_back({str(leg->account()), str(leg->asset()),
                        static_cast<ledger::Side>(leg->side()), leg->amount()});
    }
  }
  j.reference = str(c.reference());
  return j;
}

// Reads a union member of the types shared by StepBody and CommandBody.
template <typename Variant>
Result<Variant> read_simple_body(std::uint8_t type, const void* body) {
  if (body == nullptr) return Status::invalid_argument("command has no body");
  switch (type) {
    case 1:
      return Variant(read(*static_cast<const fb::OpenAccount*>(body)));
    case 2:
      return Variant(read(*static_cast<const fb::CloseAccount*>(body)));
    case 3:
      return Variant(read(*static_cast<const fb::Transfer*>(body)));
    case 4:
      return Variant(read(*static_cast<const fb::PostPending*>(body)));
    case 5:
      return Variant(read(*static_cast<const fb::VoidPending*>(body)));
    case 6:
      return Variant(read(*static_cast<const fb::Journal*>(body)));
    default:
      break;
  }
  return Status::invalid_argument(fmt::format("unknown command type {}", type));
}

template <typename Builder>
std::string finish(Builder& b) {
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

Status over_budget() {
  return Status::invalid_argument("message decodes to far more than it holds (shared offsets)");
}

const std::uint8_t* bytes_of(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

// The identifier sits at bytes 4..8: check the length before looking.
bool has_identifier(std::string_view bytes, const char* identifier) {
  return bytes.size() >= 8 && flatbuffers::BufferHasIdentifier(bytes.data(), identifier);
}

// ---- events

Offset<fb::SourcePosition> write_source(FlatBufferBuilder& b, const ledger::SourcePosition& s) {
  if (s.topic.empty() && s.partition == -1 && s.offset == -1) return 0;
  return fb::CreateSourcePosition(b, str(b, s.topic), s.partition, s.offset);
}
ledger::SourcePosition read_source(const fb::SourcePosition* s) {
  if (s == nullptr) return {};
  return {str(s->topic()), s->partition(), s->offset()};
}

std::pair<fb::EventBody, Offset<void>> write_event_body(FlatBufferBuilder& b,
                                                        const ledger::EventBody& body) {
  Offset<void> offset = std::visit(
      [&](const auto& v) -> Offset<void> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ledger::AccountOpened>) {
          const ledger::Account& a = v.account;
          const auto metadata = str(b, a.metadata);
          const auto asset = str(b, a.asset);
          const auto id = str(b, a.id);
          return fb::CreateAccountOpened(b, id, asset, a.scale, a.debits_must_not_exceed_credits,
                                         a.credits_must_not_exceed_debits, a.overdraft_limit,
                                         metadata)
              .Union();
        } else if constexpr (std::is_same_v<T, ledger::AccountClosed>) {
          return fb::CreateAccountClosed(b, str(b, v.account)).Union();
        } else if constexpr (std::is_same_v<T, ledger::TransferPosted>) {
          const auto reference = str(b, v.reference);
          const auto asset = str(b, v.asset);
          const auto credit = str(b, v.credit_account);
          const auto debit = str(b, v.debit_account);
          const auto id = str(b, v.transfer_id);
          return fb::CreateTransferPosted(b, id, debit, credit, asset, v.amount, reference).Union();
        } else if constexpr (std::is_same_v<T, ledger::PendingCreated>) {
          const ledger::PendingTransfer& p = v.pending;
          const auto reference = str(b, v.reference);
          const auto asset = str(b, p.asset);
          const auto credit = str(b, p.credit_account);
          const auto debit = str(b, p.debit_account);
          const auto id = str(b, p.id);
          return fb::CreatePendingCreated(b, id, debit, credit, asset, p.amount, p.expires_at_ms,
                                          reference)
              .Union();
        } else if constexpr (std::is_same_v<T, ledger::PendingPosted>) {
          return fb::CreatePendingPosted(b, str(b, v.pending_id), v.amount_posted,
                                         v.amount_released)
              .Union();
        } else if constexpr (std::is_same_v<T, ledger::PendingVoided>) {
          return fb::CreatePendingVoided(b, str(b, v.pending_id), v.amount_released).Union();
        } else if constexpr (std::is_same_v<T, ledger::PendingExpired>) {
          return fb::CreatePendingExpired(b, str(b, v.pending_id), v.amount_released).Union();
        } else if constexpr (std::is_same_v<T, ledger::JournalPosted>) {
          const auto reference = str(b, v.reference);
          const auto id = str(b, v.journal_id);
          return fb::CreateJournalPosted(b, id, reference).Union();
        } else {
          static_assert(std::is_same_v<T, ledger::CommandRejected>);
          return fb::CreateCommandRejected(b, static_cast<fb::RejectReason>(v.reason),
                                           str(b, v.field), v.failed_step)
              .Union();
        }
      },
      body);
  return {static_cast<fb::EventBody>(body.index() + 1), offset};
}

// Decodes the body into `body`, in place (an event body's alternatives are
// built where they stay, not moved through a Result).
Status read_event_body(const fb::Event& e, ledger::EventBody& body) {
  if (e.body() == nullptr) return Status::corruption("event has no body");
  switch (e.body_type()) {
    case fb::EventBody::AccountOpened: {
      const auto* v = e.body_as_AccountOpened();
      ledger::Account& a = body.emplace<ledger::AccountOpened>().account;
      a.id = str(v->account());
      a.asset = str(v->asset());
      a.scale = v->scale();
      a.debits_must_not_exceed_credits = v->debits_must_not_exceed_credits();
      a.credits_must_not_exceed_debits = v->credits_must_not_exceed_debits();
      a.overdraft_limit = v->overdraft_limit();
      a.metadata = str(v->metadata());
      return Status::ok();
    }
    case fb::EventBody::AccountClosed:
      body.emplace<ledger::AccountClosed>(str(e.body_as_AccountClosed()->account()));
      return Status::ok();
    case fb::EventBody::TransferPosted: {
      const auto* v = e.body_as_TransferPosted();
      auto* t = std::get_if<ledger::TransferPosted>(&body);
      if (t == nullptr) t = &body.emplace<ledger::TransferPosted>();
      assign(t->transfer_id, v->transfer_id());
      assign(t->debit_account, v->debit_account());
      assign(t->credit_account, v->credit_account());
      assign(t->asset, v->asset());
      t->amount = v->amount();
      assign(t->reference, v->reference());
      return Status::ok();
    }
    case fb::EventBody::PendingCreated: {
      const auto* v = e.body_as_PendingCreated();
      ledger::PendingTransfer p{str(v->pending_id()),
                                str(v->debit_account()),
                                str(v->credit_account()),
                                str(v->asset()),
                                v->amount(),
                                v->expires_at_ms(),
                                ledger::PendingState::pending};
      body.emplace<ledger::PendingCreated>(std::move(p), str(v->reference()));
      return Status::ok();
    }
    case fb::EventBody::PendingPosted: {
      const auto* v = e.body_as_PendingPosted();
      body.emplace<ledger::PendingPosted>(str(v->pending_id()), v->amount_posted(),
                                          v->amount_released());
      return Status::ok();
    }
    case fb::EventBody::PendingVoided: {
      const auto* v = e.body_as_PendingVoided();
      body.emplace<ledger::PendingVoided>(str(v->pending_id()), v->amount_released());
      return Status::ok();
    }
    case fb::EventBody::PendingExpired: {
      const auto* v = e.body_as_PendingExpired();
      body.emplace<ledger::PendingExpired>(str(v->pending_id()), v->amount_released());
      return Status::ok();
    }
    case fb::EventBody::JournalPosted: {
      const auto* v = e.body_as_JournalPosted();
      body.emplace<ledger::JournalPosted>(str(v->journal_id()), str(v->reference()));
      return Status::ok();
    }
    case fb::EventBody::CommandRejected: {
      const auto* v = e.body_as_CommandRejected();
      if (v->reason() > fb::RejectReason::MAX) return Status::corruption("unknown reject reason");
      body.emplace<ledger::CommandRejected>(static_cast<ledger::RejectReason>(v->reason()),
                                            str(v->field()), v->failed_step());
      return Status::ok();
    }
    default:
      break;
  }
  return Status::corruption(fmt::format("unknown event type {}", static_cast<int>(e.body_type())));
}

// Decodes into `event`, in place, overwriting every field; an event decoded
// before keeps its buffers (strings, postings) for this one.
Status read_event(const fb::Event& e, ledger::Event& event) {
  const fb::Envelope* env = e.envelope();
  if (env == nullptr) return Status::corruption("event has no envelope");
  event.seq = env->seq();
  assign(event.command_id, env->command_id());
  assign(event.step_id, env->step_id());
  event.timestamp_ms = env->timestamp_ms();
  event.source = read_source(env->source());
  event.rules_version = env->rules_version();
  if (e.command() != nullptr) {
    if (!event.command) event.command.emplace();
    Status status = read_command_into(*e.command(), *event.command);
    if (!status.is_ok()) return Status::corruption(status.message());
    event.command->source = event.source;
  } else {
    event.command.reset();
  }
  LF_RETURN_IF_ERROR(read_event_body(e, event.body));
  // resize(), not clear(): the postings kept are overwritten field by field,
  // so their strings keep their buffers.
  if (e.postings() == nullptr || !charge_elements(e.postings())) {
    event.postings.clear();
  } else {
    event.postings.resize(e.postings()->size());
    auto out = event.postings.begin();
    for (const fb::Posting* p : *e.postings()) {
      if (static_cast<int>(p->side()) > 1 || static_cast<int>(p->bucket()) > 1) {
        return Status::corruption("posting has an unknown side or bucket");
      }
      assign(out->account, p->account());
      assign(out->asset, p->asset());
      out->side = static_cast<ledger::Side>(p->side());
      out->bucket = static_cast<ledger::Bucket>(p->bucket());
      out->increase = p->increase();
      out->amount = p->amount();
      ++out;
    }
  }
  return Status::ok();
}

}  // namespace

// ---------------------------------------------------------------- commands

Offset<fb::Command> write_command(FlatBufferBuilder& b, const ledger::Command& command) {
  auto id = str(b, command.id);
  auto [type, body] = write_body(b, command.body);
  return fb::CreateCommand(b, id, command.timestamp_ms, static_cast<fb::CommandBody>(type), body);
}

Status read_command_into(const fb::Command& c, ledger::Command& command) {
  assign(command.id, c.id());
  command.timestamp_ms = c.timestamp_ms();
  command.source = {};
  if (c.body_type() == fb::CommandBody::Linked) {
    const fb::Linked* linked = c.body_as_Linked();
    if (linked == nullptr) return Status::invalid_argument("command has no body");
    ledger::Linked& out = command.body.emplace<ledger::Linked>();
    if (linked->steps() != nullptr && charge_elements(linked->steps())) {
      for (const fb::LinkedStep* step : *linked->steps()) {
        Result<ledger::StepBody> body = read_simple_body<ledger::StepBody>(
            static_cast<std::uint8_t>(step->body_type()), step->body());
        if (!body.is_ok()) {
          return Status::invalid_argument(
              fmt::format("step {}: {}", out.steps.size(), body.status().message()));
        }
        out.steps.push_back({str(step->id()), std::move(body).value()});
      }
    }
    return Status::ok();
  }
  if (c.body() == nullptr) return Status::invalid_argument("command has no body");
  switch (c.body_type()) {
    case fb::CommandBody::Transfer: {
      // The common case, decoded where it stays (a recycled command keeps
      // its strings' buffers).
      const fb::Transfer& v = *c.body_as_Transfer();
      auto* t = std::get_if<ledger::Transfer>(&command.body);
      if (t == nullptr) t = &command.body.emplace<ledger::Transfer>();
      assign(t->debit_account, v.debit_account());
      assign(t->credit_account, v.credit_account());
      t->amount = v.amount();
      assign(t->asset, v.asset());
      t->pending = v.pending();
      t->timeout_s = v.timeout_s();
      assign(t->reference, v.reference());
      return Status::ok();
    }
    default: {
      Result<ledger::CommandBody> body =
          read_simple_body<ledger::CommandBody>(static_cast<std::uint8_t>(c.body_type()), c.body());
      if (!body.is_ok()) return body.status();
      command.body = std::move(body).value();
      return Status::ok();
    }
  }
}

Result<ledger::Command> read_command(const fb::Command& c) {
  ledger::Command command;
  LF_RETURN_IF_ERROR(read_command_into(c, command));
  return command;
}

std::string encode_command(const ledger::Command& command) {
  FlatBufferBuilder b(256);
  b.Finish(write_command(b, command), fb::CommandIdentifier());
  return finish(b);
}

std::string_view aligned(std::string_view bytes, std::string& storage) {
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(std::uint64_t) == 0) return bytes;
  storage.reserve(std::max<std::size_t>(bytes.size(), 32));  // Heap: malloc aligns it.
  storage.assign(bytes);
  return storage;
}

Result<ledger::Command> decode_command(std::string_view input) {
  std::string storage;
  const std::string_view bytes = aligned(input, storage);
  if (bytes.size() > message_bytes_max) {
    return Status::invalid_argument(
        fmt::format("command of {} bytes exceeds {} bytes", bytes.size(), message_bytes_max));
  }
  flatbuffers::Verifier verifier(bytes_of(bytes), bytes.size(), verifier_options());
  if (!has_identifier(bytes, fb::CommandIdentifier()) || !fb::VerifyCommandBuffer(verifier)) {
    return Status::invalid_argument("not a valid ledgerflow command buffer (LFC1)");
  }
  BudgetScope budget(bytes.size());
  Result<ledger::Command> command = read_command(*fb::GetCommand(bytes.data()));
  if (budget.exhausted()) return over_budget();
  return command;
}

std::string encode_command_batch(std::span<const ledger::Command> commands) {
  FlatBufferBuilder b(256 * commands.size() + 64);
  std::vector<Offset<fb::Command>> offsets;
  offsets.reserve(commands.size());
  for (const ledger::Command& c : commands) offsets.push_back(write_command(b, c));
  b.Finish(fb::CreateCommandBatch(b, b.CreateVector(offsets)), fb::CommandBatchIdentifier());
  return finish(b);
}

Result<std::vector<ledger::Command>> decode_command_batch(std::string_view input) {
  std::string storage;
  const std::string_view bytes = aligned(input, storage);
  if (bytes.size() > message_bytes_max) {
    return Status::invalid_argument(
        fmt::format("batch of {} bytes exceeds {} bytes", bytes.size(), message_bytes_max));
  }
  flatbuffers::Verifier verifier(bytes_of(bytes), bytes.size(), verifier_options());
  if (!has_identifier(bytes, fb::CommandBatchIdentifier()) ||
      !fb::VerifyCommandBatchBuffer(verifier)) {
    return Status::invalid_argument("not a valid ledgerflow command batch buffer (LFB1)");
  }
  std::vector<ledger::Command> out;
  const auto* batch = fb::GetCommandBatch(bytes.data());
  if (batch->commands() == nullptr) return out;
  BudgetScope budget(bytes.size());
  if (!charge_elements(batch->commands())) return over_budget();
  out.reserve(batch->commands()->size());
  for (const fb::Command* c : *batch->commands()) {
    Result<ledger::Command> command = read_command(*c);
    if (budget.exhausted()) return over_budget();
    if (!command.is_ok()) {
      return Status::invalid_argument(
          fmt::format("command {}: {}", out.size(), command.status().message()));
    }
    out.push_back(std::move(command).value());
  }
  return out;
}

// ---------------------------------------------------------------- events

std::size_t command_decode_bytes(const ledger::Command& command) {
  std::size_t bytes = command.id.size();
  const auto add = [&](const auto& body) {
    using T = std::decay_t<decltype(body)>;
    if constexpr (std::is_same_v<T, ledger::OpenAccount>) {
      bytes += body.account.size() + body.asset.size() + body.metadata.size();
    } else if constexpr (std::is_same_v<T, ledger::CloseAccount>) {
      bytes += body.account.size();
    } else if constexpr (std::is_same_v<T, ledger::Transfer>) {
      bytes += body.debit_account.size() + body.credit_account.size() + body.asset.size() +
               body.reference.size();
    } else if constexpr (std::is_same_v<T, ledger::PostPending> ||
                         std::is_same_v<T, ledger::VoidPending>) {
      bytes += body.pending_id.size();
    } else if constexpr (std::is_same_v<T, ledger::Journal>) {
      bytes += body.reference.size() + body.legs.size() * element_charge_bytes;
      for (const ledger::JournalLeg& leg : body.legs)
        bytes += leg.account.size() + leg.asset.size();
    }
  };
  if (const auto* linked = std::get_if<ledger::Linked>(&command.body)) {
    bytes += linked->steps.size() * element_charge_bytes;
    for (const ledger::LinkedStep& step : linked->steps) {
      bytes += step.id.size();
      std::visit(add, step.body);
    }
  } else {
    std::visit(add, command.body);
  }
  return bytes;
}

std::string_view EventEncoder::encode(const ledger::Event& event, const Sha256& prev_hash,
                                      std::uint16_t schema_version) {
  LF_ASSERT(known_event_schema_version(schema_version));
  FlatBufferBuilder& b = builder_;
  b.Clear();
  const WrittenStringsScope sharing(written_, schema_version >= 2);
  auto command_id = str(b, event.command_id);
  auto step_id = str(b, event.step_id);
  auto source = write_source(b, event.source);
  const fb::Hash256 prev = to_fb(prev_hash);
  auto envelope = fb::CreateEnvelope(b, event.seq, command_id, step_id, event.timestamp_ms, source,
                                     schema_version, event.rules_version, &prev);
  Offset<fb::Command> command = 0;
  if (event.command) command = write_command(b, *event.command);
  auto [body_type, body] = write_event_body(b, event.body);
  std::vector<Offset<fb::Posting>> postings;
  postings.reserve(event.postings.size());
  for (const ledger::Posting& p : event.postings) {
    const auto asset = str(b, p.asset);
    const auto account = str(b, p.account);
    postings.push_back(fb::CreatePosting(b, account, asset, static_cast<fb::Side>(p.side),
                                         static_cast<fb::Bucket>(p.bucket), p.increase, p.amount));
  }
  auto postings_vector = postings.empty() ? 0 : b.CreateVector(postings);
  b.Finish(fb::CreateEvent(b, envelope, command, body_type, body, postings_vector));
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

std::string EventEncoder::seal(std::string_view event_bytes, const Sha256& hash) {
  return std::string(seal_view(event_bytes, hash));
}

std::string_view EventEncoder::seal_view(std::string_view event_bytes, const Sha256& hash) {
  FlatBufferBuilder& b = seal_builder_;
  b.Clear();
  b.ForceVectorAlignment(event_bytes.size(), sizeof(std::uint8_t), 8);
  auto nested = b.CreateVector(bytes_of(event_bytes), event_bytes.size());
  const fb::Hash256 h = to_fb(hash);
  b.Finish(fb::CreateSealedEvent(b, nested, &h), fb::SealedEventIdentifier());
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

std::string_view EventEncoder::seal_unchained(const ledger::Event& event,
                                              std::uint16_t schema_version, SealedLayout& layout) {
  const std::string_view event_bytes = encode(event, Sha256{}, schema_version);
  // Read back through the accessors of the buffers just built (trusted: no
  // verifier), to find where the builders put each struct.
  const auto* built = flatbuffers::GetRoot<fb::Event>(event_bytes.data());
  LF_ASSERT(built->envelope() != nullptr);
  LF_ASSERT(built->envelope()->prev_hash() != nullptr);
  const auto* prev = reinterpret_cast<const char*>(built->envelope()->prev_hash());
  const std::string_view sealed = seal_view(event_bytes, Sha256{});
  const auto* seal = fb::GetSealedEvent(sealed.data());
  LF_ASSERT(seal->event() != nullptr);
  LF_ASSERT(seal->hash() != nullptr);
  const auto* nested = reinterpret_cast<const char*>(seal->event()->data());
  const auto* hash = reinterpret_cast<const char*>(seal->hash());
  layout.sealed_size = static_cast<std::uint32_t>(sealed.size());
  layout.event_at = static_cast<std::uint32_t>(nested - sealed.data());
  layout.event_size = static_cast<std::uint32_t>(event_bytes.size());
  layout.prev_hash_at = layout.event_at + static_cast<std::uint32_t>(prev - event_bytes.data());
  layout.hash_at = static_cast<std::uint32_t>(hash - sealed.data());
  return sealed;
}

Sha256 chain_sealed(std::span<char> sealed, const SealedLayout& layout, const Sha256& prev_hash) {
  constexpr std::size_t hash_bytes = sizeof(Sha256);
  static_assert(sizeof(fb::Hash256) == hash_bytes);
  const std::size_t event_end = std::size_t{layout.event_at} + layout.event_size;
  LF_ASSERT(sealed.size() == layout.sealed_size);
  LF_ASSERT(event_end <= sealed.size());
  LF_ASSERT(layout.prev_hash_at >= layout.event_at);
  LF_ASSERT(layout.prev_hash_at + hash_bytes <= event_end);
  // The seal's hash lies outside the bytes it is the hash of.
  LF_ASSERT(layout.hash_at + hash_bytes <= sealed.size());
  LF_ASSERT(layout.hash_at + hash_bytes <= layout.event_at || layout.hash_at >= event_end);
  char* const prev_at = sealed.data() + layout.prev_hash_at;
  char* const hash_at = sealed.data() + layout.hash_at;
  // Not chained yet: chaining twice would hash a different envelope.
  LF_ASSERT(std::all_of(prev_at, prev_at + hash_bytes, [](char c) { return c == 0; }));
  LF_ASSERT(std::all_of(hash_at, hash_at + hash_bytes, [](char c) { return c == 0; }));
  std::memcpy(prev_at, prev_hash.data(), hash_bytes);
  const Sha256 hash = sha256(std::string_view(sealed.data() + layout.event_at, layout.event_size));
  std::memcpy(hash_at, hash.data(), hash_bytes);
  return hash;
}

Result<OpenedEvent> open_event(std::string_view input) {
  OpenedEvent opened;
  LF_RETURN_IF_ERROR(open_event_into(input, opened));
  return opened;
}

Status open_event_into(std::string_view input, OpenedEvent& opened) {
  opened.command_digest.reset();
  const std::string_view sealed = aligned(input, opened.storage);
  flatbuffers::Verifier verifier(bytes_of(sealed), sealed.size(), verifier_options());
  if (!has_identifier(sealed, fb::SealedEventIdentifier()) ||
      !fb::VerifySealedEventBuffer(verifier)) {
    return Status::corruption("not a valid sealed event (LFE1)");
  }
  const fb::SealedEvent* s = fb::GetSealedEvent(sealed.data());
  if (s->event() == nullptr || s->hash() == nullptr) {
    return Status::corruption("sealed event lacks its event or hash");
  }
  // The nested Event buffer, verified here once, with our limits (the
  // schema does not declare it nested_flatbuffer, see ledgerflow.fbs).
  std::string_view event_bytes(reinterpret_cast<const char*>(s->event()->data()),
                               s->event()->size());
  flatbuffers::Verifier nested(bytes_of(event_bytes), event_bytes.size(), verifier_options());
  if (!nested.VerifyBuffer<fb::Event>(nullptr)) return Status::corruption("event fails verify");
  opened.hash = from_fb(s->hash());
  opened.event_bytes = event_bytes;
  if (sha256(event_bytes) != opened.hash) return Status::corruption("event hash mismatch");
  const fb::Event* e = flatbuffers::GetRoot<fb::Event>(event_bytes.data());
  BudgetScope budget(sealed.size(), event_decode_bytes_min);
  Status status = read_event(*e, opened.event);
  if (budget.exhausted()) return Status::corruption("event decodes to more than it holds");
  LF_RETURN_IF_ERROR(status);
  opened.prev_hash = from_fb(e->envelope()->prev_hash());
  opened.schema_version = e->envelope()->schema_version();
  if (!known_event_schema_version(opened.schema_version)) {
    return Status::corruption(fmt::format("event schema version {} not supported (known: {}..{})",
                                          opened.schema_version, event_schema_version_min,
                                          event_schema_version));
  }
  if (!ledger::postings_balance(opened.event.postings)) {
    return Status::corruption("event postings do not balance");  // Double entry, after reading.
  }
  return Status::ok();
}

// ---------------------------------------------------------------- outcomes

std::string encode_outcome(const ledger::Outcome& o, const ledger::SourcePosition& source) {
  FlatBufferBuilder b(256);
  auto id = str(b, o.command_id);
  auto field = str(b, o.field);
  auto src = write_source(b, source);
  b.Finish(fb::CreateOutcome(b, id, static_cast<fb::OutcomeStatus>(o.status),
                             static_cast<fb::RejectReason>(o.reason), field, o.failed_step,
                             o.first_seq, o.event_count, o.duplicate, src),
           fb::OutcomeIdentifier());
  return finish(b);
}

Result<ledger::Outcome> decode_outcome(std::string_view input) {
  std::string storage;
  const std::string_view bytes = aligned(input, storage);
  flatbuffers::Verifier verifier(bytes_of(bytes), bytes.size(), verifier_options());
  if (!has_identifier(bytes, fb::OutcomeIdentifier()) || !fb::VerifyOutcomeBuffer(verifier)) {
    return Status::invalid_argument("not a valid outcome buffer (LFO1)");
  }
  const fb::Outcome* o = fb::GetOutcome(bytes.data());
  if (o->status() > fb::OutcomeStatus::MAX || o->reason() > fb::RejectReason::MAX) {
    return Status::invalid_argument("outcome has an unknown status or reason");
  }
  BudgetScope budget(bytes.size());
  ledger::Outcome out;
  out.command_id = str(o->command_id());
  out.status = static_cast<ledger::OutcomeStatus>(o->status());
  out.reason = static_cast<ledger::RejectReason>(o->reason());
  out.field = str(o->field());
  out.failed_step = o->failed_step();
  out.first_seq = o->first_seq();
  out.event_count = o->event_count();
  out.duplicate = o->duplicate();
  return out;
}

}  // namespace lf::codec
