// verify: the auditor's check of one shard store, trusting none of its
// projections.
//
//   1. Walks the event log from seq 1: every event must be present (no gap),
//      stored under its own seq, pass the FlatBuffers verifier, hash to its
//      recorded SHA-256, point to its predecessor's hash, and balance per
//      (asset, bucket).
//   2. The head record must point at the last event and its hash.
//   3. Rebuilds accounts, balances and pending transfers from the events
//      alone and compares them with the stored projections.
//   4. Checks the trial balance: per asset, all debits equal all credits.
//   5. Computes the state digest of the rebuilt state and checks that the
//      stored projections have the same one.
// The first problem found is reported with the sequence number it concerns.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "engine/engine.h"

namespace lf::engine {

struct AssetTotals {
  unsigned __int128 debits_posted = 0;
  unsigned __int128 credits_posted = 0;
  unsigned __int128 debits_pending = 0;
  unsigned __int128 credits_pending = 0;
};

struct VerifyReport {
  bool ok = true;
  // The sequence number the first problem concerns, when it concerns one.
  std::optional<ledger::Sequence> bad_seq;
  std::string problem;
  std::uint64_t events_checked = 0;
  std::uint64_t accounts_checked = 0;
  std::uint64_t pendings_checked = 0;
  Sha256 chain_head{};
  // The state digest (engine/digest.h) of the state the log implies; set only
  // when ok (then the stored projections have the same digest).
  Sha256 state_digest{};
  std::map<std::string, AssetTotals> totals;  // Per asset, rebuilt from events.
};

// Status errors are operating errors (I/O); a broken store is a report with
// ok == false.
Result<VerifyReport> verify(Engine& engine);

}  // namespace lf::engine
