#include "engine/digest.h"

#include "engine/keys.h"
#include "ledger/assert.h"

namespace lf::engine {

namespace {

// Entries are buffered and hashed in pieces of about this size.
constexpr std::size_t digest_buffer_bytes = 64u << 10;

constexpr char tag_account = 'A';
constexpr char tag_pending = 'P';
constexpr char tag_command = 'C';
constexpr char tag_expiry = 'X';
constexpr char tag_end = 'E';

void put_str(std::string& out, std::string_view s) {
  LF_ASSERT(s.size() <= UINT32_MAX);
  put_u32be(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_hash(std::string& out, const Sha256& h) {
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

void StateDigest::enter(Section section) {
  LF_ASSERT(section_ != Section::start);
  LF_ASSERT(section_ != Section::done);
  LF_ASSERT(section >= section_);
  if (section != section_) have_key_ = false;
  section_ = section;
  if (buffer_.size() >= digest_buffer_bytes) {
    hasher_.update(buffer_);
    buffer_.clear();
  }
}

void StateDigest::key(std::string_view id) {
  if (have_key_) LF_ASSERT(last_key_ < id);  // Canonical order: strictly ascending.
  last_key_.assign(id);
  have_key_ = true;
}

void StateDigest::head(ledger::Sequence next_seq, ledger::TimestampMs logical_time_ms,
                       const Sha256& chain_head) {
  LF_ASSERT(section_ == Section::start);
  section_ = Section::head;
  buffer_.append("LFSD");
  put_u32be(buffer_, state_digest_version);
  put_u64be(buffer_, next_seq);
  put_u64be(buffer_, logical_time_ms);
  put_hash(buffer_, chain_head);
}

void StateDigest::account(const ledger::Account& a) {
  enter(Section::accounts);
  key(a.id);
  ++counts_[0];
  buffer_.push_back(tag_account);
  put_str(buffer_, a.id);
  put_str(buffer_, a.asset);
  put_u8(buffer_, a.scale);
  put_u8(buffer_, static_cast<std::uint8_t>((a.debits_must_not_exceed_credits ? 1 : 0) |
                                            (a.credits_must_not_exceed_debits ? 2 : 0)));
  put_u64be(buffer_, a.overdraft_limit);
  put_str(buffer_, a.metadata);
  put_u8(buffer_, a.closed ? 1 : 0);
  put_u64be(buffer_, a.balances.debits_pending);
  put_u64be(buffer_, a.balances.debits_posted);
  put_u64be(buffer_, a.balances.credits_pending);
  put_u64be(buffer_, a.balances.credits_posted);
}

void StateDigest::pending(const ledger::PendingTransfer& p) {
  enter(Section::pendings);
  key(p.id);
  ++counts_[1];
  buffer_.push_back(tag_pending);
  put_str(buffer_, p.id);
  put_str(buffer_, p.debit_account);
  put_str(buffer_, p.credit_account);
  put_str(buffer_, p.asset);
  put_u64be(buffer_, p.amount);
  put_u64be(buffer_, p.expires_at_ms);
  put_u8(buffer_, static_cast<std::uint8_t>(p.state));
}

void StateDigest::command(const ledger::CommandRecord& r) {
  enter(Section::commands);
  const ledger::Outcome& o = r.outcome;
  key(o.command_id);
  ++counts_[2];
  buffer_.push_back(tag_command);
  put_str(buffer_, o.command_id);
  buffer_.append(reinterpret_cast<const char*>(r.content_digest.data()), r.content_digest.size());
  put_u8(buffer_, static_cast<std::uint8_t>(o.status));
  put_u32be(buffer_, static_cast<std::uint16_t>(o.reason));
  put_str(buffer_, o.field);
  put_u32be(buffer_, static_cast<std::uint32_t>(o.failed_step));  // Two's complement.
  put_u64be(buffer_, o.first_seq);
  put_u32be(buffer_, o.event_count);
}

void StateDigest::expiry(const ledger::ExpiryKey& e) {
  enter(Section::expiry);
  std::string sort_key;  // The stored key: (expires_at_ms, id) sorts bytewise.
  put_u64be(sort_key, e.first);
  sort_key.append(e.second);
  key(sort_key);
  ++counts_[3];
  buffer_.push_back(tag_expiry);
  put_u64be(buffer_, e.first);
  put_str(buffer_, e.second);
}

Sha256 StateDigest::finish() {
  LF_ASSERT(section_ != Section::start);
  LF_ASSERT(section_ != Section::done);
  section_ = Section::done;
  buffer_.push_back(tag_end);
  for (std::uint64_t count : counts_) put_u64be(buffer_, count);
  hasher_.update(buffer_);
  buffer_.clear();
  return hasher_.finish();
}

Result<Sha256> store_digest(Engine& engine) {
  StateDigest digest;
  const Head& head = engine.head();
  digest.head(head.ledger.next_seq, head.ledger.logical_time_ms, head.chain_head);
  LF_RETURN_IF_ERROR(engine.for_each_account([&](const ledger::Account& a) {
    digest.account(a);
    return true;
  }));
  LF_RETURN_IF_ERROR(engine.for_each_pending([&](const ledger::PendingTransfer& p) {
    digest.pending(p);
    return true;
  }));
  LF_RETURN_IF_ERROR(engine.for_each_command_record([&](const ledger::CommandRecord& r) {
    digest.command(r);
    return true;
  }));
  LF_RETURN_IF_ERROR(engine.for_each_expiry([&](const ledger::ExpiryKey& e) {
    digest.expiry(e);
    return true;
  }));
  return digest.finish();
}

Sha256 projected_digest(const ProjectedState& state) {
  StateDigest digest;
  digest.head(state.next_seq, state.logical_time_ms, state.chain_head);
  for (const auto& [id, a] : state.accounts) digest.account(a);
  for (const auto& [id, p] : state.pendings) digest.pending(p);
  state.commands.for_each(
      [&](std::string_view, const ledger::CommandRecord& r) { digest.command(r); });
  for (const ledger::ExpiryKey& e : state.expiry_index()) digest.expiry(e);
  return digest.finish();
}

}  // namespace lf::engine
