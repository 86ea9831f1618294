#include "engine/records.h"

#include <algorithm>

#include "schemas/codec.h"
#include "schemas/storage_generated.h"

namespace lf::engine {

namespace {

namespace st = ::ledgerflow::storage;
namespace fb = ::ledgerflow::schema;
using flatbuffers::FlatBufferBuilder;

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }
flatbuffers::Offset<flatbuffers::String> str(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? 0 : b.CreateString(s);
}

std::string finish(FlatBufferBuilder& b) {
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

// REQUIRES: `bytes` outlives the returned pointer; `storage` holds an aligned
// copy when `bytes` is not aligned (RocksDB values need not be).
template <typename T>
const T* verified(std::string_view input, std::string& storage) {
  const std::string_view bytes = codec::aligned(input, storage);
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!verifier.VerifyBuffer<T>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<T>(bytes.data());
}

fb::Hash256 to_fb(const Sha256& h) {
  return fb::Hash256(flatbuffers::span<const uint8_t, 32>(h.data(), h.size()));
}
Sha256 from_fb(const fb::Hash256* h) {
  Sha256 out{};
  if (h != nullptr) std::copy(h->bytes()->begin(), h->bytes()->end(), out.begin());
  return out;
}

std::string_view view_of(const FlatBufferBuilder& b) {
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

}  // namespace

std::string_view RecordEncoder::account(const ledger::Account& a) {
  FlatBufferBuilder& b = builder_;
  b.Clear();
  const ledger::Balances& bal = a.balances;
  b.Finish(st::CreateAccountRecord(b, str(b, a.asset), a.scale, a.debits_must_not_exceed_credits,
                                   a.credits_must_not_exceed_debits, a.overdraft_limit,
                                   str(b, a.metadata), a.closed, bal.debits_pending,
                                   bal.debits_posted, bal.credits_pending, bal.credits_posted));
  return view_of(b);
}

std::string_view RecordEncoder::pending(const ledger::PendingTransfer& p) {
  FlatBufferBuilder& b = builder_;
  b.Clear();
  b.Finish(st::CreatePendingRecord(b, str(b, p.debit_account), str(b, p.credit_account),
                                   str(b, p.asset), p.amount, p.expires_at_ms,
                                   static_cast<fb::PendingState>(p.state)));
  return view_of(b);
}

std::string_view RecordEncoder::command_record(const ledger::CommandRecord& record) {
  FlatBufferBuilder& b = builder_;
  b.Clear();
  const ledger::Outcome& o = record.outcome;
  const fb::Hash256 digest = to_fb(record.content_digest);
  b.Finish(st::CreateCommandRecord(b, &digest, static_cast<fb::OutcomeStatus>(o.status),
                                   static_cast<fb::RejectReason>(o.reason), str(b, o.field),
                                   o.failed_step, o.first_seq, o.event_count));
  return view_of(b);
}

std::string encode_account(const ledger::Account& a) {
  return std::string(RecordEncoder().account(a));
}

Result<ledger::Account> decode_account(std::string_view id, std::string_view bytes) {
  std::string storage;
  const auto* r = verified<st::AccountRecord>(bytes, storage);
  if (r == nullptr) return Status::corruption("account record fails verify: " + std::string(id));
  ledger::Account a;
  a.id = std::string(id);
  a.asset = str(r->asset());
  a.scale = r->scale();
  a.debits_must_not_exceed_credits = r->debits_must_not_exceed_credits();
  a.credits_must_not_exceed_debits = r->credits_must_not_exceed_debits();
  a.overdraft_limit = r->overdraft_limit();
  a.metadata = str(r->metadata());
  a.closed = r->closed();
  a.balances = {r->debits_pending(), r->debits_posted(), r->credits_pending(), r->credits_posted()};
  return a;
}

std::string encode_pending(const ledger::PendingTransfer& p) {
  return std::string(RecordEncoder().pending(p));
}

Result<ledger::PendingTransfer> decode_pending(std::string_view id, std::string_view bytes) {
  std::string storage;
  const auto* r = verified<st::PendingRecord>(bytes, storage);
  if (r == nullptr || static_cast<int>(r->state()) > 3) {
    return Status::corruption("pending record fails verify: " + std::string(id));
  }
  return ledger::PendingTransfer{std::string(id),
                                 str(r->debit_account()),
                                 str(r->credit_account()),
                                 str(r->asset()),
                                 r->amount(),
                                 r->expires_at_ms(),
                                 static_cast<ledger::PendingState>(r->state())};
}

std::string encode_command_record(const ledger::CommandRecord& record) {
  return std::string(RecordEncoder().command_record(record));
}

Result<ledger::CommandRecord> decode_command_record(std::string_view id, std::string_view bytes) {
  std::string storage;
  const auto* r = verified<st::CommandRecord>(bytes, storage);
  if (r == nullptr || r->status() > fb::OutcomeStatus::MAX || r->reason() > fb::RejectReason::MAX) {
    return Status::corruption("command record fails verify: " + std::string(id));
  }
  ledger::CommandRecord record;
  record.content_digest = from_fb(r->content_digest());
  ledger::Outcome& o = record.outcome;
  o.command_id = std::string(id);
  o.status = static_cast<ledger::OutcomeStatus>(r->status());
  o.reason = static_cast<ledger::RejectReason>(r->reason());
  o.field = str(r->field());
  o.failed_step = r->failed_step();
  o.first_seq = r->first_seq();
  o.event_count = r->event_count();
  return record;
}

std::string encode_head(const Head& head) {
  FlatBufferBuilder b(128);
  const fb::Hash256 chain = to_fb(head.chain_head);
  b.Finish(st::CreateHeadRecord(b, head.ledger.next_seq, head.ledger.logical_time_ms, &chain));
  return finish(b);
}

Result<Head> decode_head(std::string_view bytes) {
  std::string storage;
  const auto* r = verified<st::HeadRecord>(bytes, storage);
  if (r == nullptr) return Status::corruption("head record fails verify");
  if (r->format_version() != 1) {
    return Status::corruption("unsupported store format version " +
                              std::to_string(r->format_version()));
  }
  Head head;
  head.ledger.next_seq = r->next_seq();
  head.ledger.logical_time_ms = r->logical_time_ms();
  head.chain_head = from_fb(r->chain_head());
  return head;
}

}  // namespace lf::engine
