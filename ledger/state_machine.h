// The ledger's decision function: a command and the working set in, an
// outcome and events out. Pure and deterministic: the result depends only on
// the command (id, logical timestamp, body, source) and the state loaded into
// the WorkingSet, never on a clock, randomness or batch boundaries.
//
// Order of work for one command (docs/rejections.md has the full precedence):
//   1. `id` must be valid, else the command is rejected (and not remembered).
//   2. A known id with the same content returns the original outcome and changes
//      nothing (duplicate); with other content it is rejected
//      (`id_exists_with_different_fields`).
//   3. Logical time moves to max(time, command timestamp); pending transfers
//      whose timeout has passed expire first, each with its own event.
//   4. The body is checked and applied; a rejection is an event too.
//   5. The outcome is remembered under the id (and each step id of an accepted
//      linked chain).
//
// Thread-safety: stateless; all state is in the WorkingSet.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ledger/types.h"
#include "ledger/working_set.h"

namespace lf::ledger {

// The keys one batch reads, to prefetch before deciding.
struct KeySet {
  std::vector<std::string> accounts;
  std::vector<std::string> pendings;
  std::vector<std::string> commands;
};

// True for 1..id_bytes_max bytes of [A-Za-z0-9._:@-].
bool valid_id(std::string_view id);
// True for 1..asset_bytes_max bytes of [A-Z0-9_].
bool valid_asset(std::string_view asset);

// Adds the ids a command may read (command and step ids, accounts it names,
// pending transfers it creates or resolves). Accounts of pending transfers it
// resolves are known only once those are loaded: see add_pending_accounts.
void collect_keys(const Command& command, KeySet& keys);
// Adds the two accounts of a loaded pending transfer.
void add_pending_accounts(const PendingTransfer& pending, KeySet& keys);

// Digest of what makes two commands "the same" for idempotency: id and body.
// The timestamp and source are excluded: a retry may arrive later or elsewhere.
ContentDigest content_digest(const Command& command);

// Decides one command, appending its events (and the expiries its time
// triggered) to `events`. REQUIRES: every key from collect_keys loaded, and
// every due expiry up to the command's time loaded with its pending transfer
// and that transfer's accounts.
Outcome decide(WorkingSet& state, const Command& command, std::vector<Event>& events);

}  // namespace lf::ledger
