// State digest: one SHA-256 over a shard's whole projected state (head,
// accounts with balances, pending transfers, idempotency records, expiry
// index) in a canonical encoding, so that two stores, a rebuild, a replay and
// a snapshot compare in one line. docs/replay.md#state-digest gives the
// encoding as a grammar; keep the two in step.
//
// The digest has one definition, StateDigest, fed entry by entry in canonical
// order; it asserts that order. Two sources feed it:
//   * store_digest(): the stored head and projections of an Engine;
//   * projected_digest(): a ProjectedState rebuilt from the log alone.
// Kafka offsets and the history index are not part of the state digest: the
// offsets are not derivable from the log, and the index lags by design.
//
// Thread-safety: none; a StateDigest is fed by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "engine/projection.h"
#include "ledger/sha256.h"

namespace lf::engine {

// Version of the canonical encoding. DO NOT CHANGE the encoding of version 1:
// digests are recorded in snapshot manifests and by auditors.
inline constexpr std::uint32_t state_digest_version = 1;

class StateDigest {
 public:
  // REQUIRES: called first, once.
  void head(ledger::Sequence next_seq, ledger::TimestampMs logical_time_ms,
            const Sha256& chain_head);
  // REQUIRES: sections in this order, keys strictly ascending in each.
  void account(const ledger::Account& account);
  void pending(const ledger::PendingTransfer& pending);
  void command(const ledger::CommandRecord& record);  // Keyed by outcome.command_id.
  void expiry(const ledger::ExpiryKey& key);
  Sha256 finish();

 private:
  enum class Section : std::uint8_t { start, head, accounts, pendings, commands, expiry, done };
  void enter(Section section);
  void key(std::string_view id);  // Checks ascending order within a section.

  Sha256Hasher hasher_;
  std::string buffer_;  // Entries are hashed in chunks of this buffer.
  Section section_ = Section::start;
  std::string last_key_;
  bool have_key_ = false;
  std::uint64_t counts_[4] = {0, 0, 0, 0};  // accounts, pendings, commands, expiry
};

// The digest of an Engine's stored head and projections. Corruption when a
// stored record fails to decode.
Result<Sha256> store_digest(Engine& engine);

// The digest of a state rebuilt from the log (its expiry index is derived).
Sha256 projected_digest(const ProjectedState& state);

}  // namespace lf::engine
