// ProjectedState: a shard's projected state rebuilt in memory from the event
// log alone (accounts, pending transfers, idempotency records, logical time and
// the chain head). verify, the projection rebuild, the state digest and the
// offline log replay all fold events into it with the same code, so "the state
// the log implies" has one definition (docs/replay.md).
//
// Thread-safety: none; one thread folds one log.
#pragma once

#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/huge_pages.h"
#include "ledger/sha256.h"
#include "ledger/types.h"
#include "ledger/working_set.h"
#include "schemas/codec.h"

namespace lf::engine {

// The first block a fold's monotonic buffer asks for: libstdc++ adds a
// 64-byte header to the request, and a block of exactly one huge page would
// map (and fault) a second one for those 64 bytes.
inline constexpr std::size_t fold_first_block_bytes = huge_page_bytes - 64;

struct ProjectedState {
  ProjectedState() = default;
  // The maps' nodes live in `nodes`: a copy or a move would leave a map with
  // nodes in another state's buffer.
  ProjectedState(const ProjectedState&) = delete;
  ProjectedState& operator=(const ProjectedState&) = delete;
  ProjectedState(ProjectedState&&) = delete;
  ProjectedState& operator=(ProjectedState&&) = delete;

  // The maps' nodes, which only ever grow during a fold: a monotonic buffer
  // over huge pages (engine/huge_pages.h). Declared first: built before the
  // maps, destroyed after them.
  std::unique_ptr<std::pmr::monotonic_buffer_resource> nodes =
      std::make_unique<std::pmr::monotonic_buffer_resource>(fold_first_block_bytes,
                                                            huge_page_resource());
  template <typename T>
  using IdMap = std::pmr::map<std::string, T>;
  IdMap<ledger::Account> accounts{nodes.get()};
  // The same accounts by id, hashed, for the fold's lookups (two per
  // transfer): a red-black tree of thousands of string keys costs a dozen
  // string compares per lookup. Points into `accounts`, whose nodes never
  // move; only apply_event() adds accounts, to both.
  std::unordered_map<std::string_view, ledger::Account*> account_index;
  IdMap<ledger::PendingTransfer> pendings{nodes.get()};
  IdMap<ledger::CommandRecord> commands{nodes.get()};  // Idempotency records.
  // Where the log stands: the next seq expected, the logical time of the last
  // event and its hash (zeros before event 1).
  ledger::Sequence next_seq = 1;
  ledger::TimestampMs logical_time_ms = 0;
  Sha256 chain_head{};

  // Last event touching each "account:ID" / "pending:ID" (for verify's
  // messages only: off by default, it costs a string per posting).
  bool track_last_seq = false;
  std::map<std::string, ledger::Sequence> last_seq;

  // The command whose events are being read, and its body when it is a linked
  // chain (its later events are its steps).
  std::string open_command;
  std::optional<ledger::Command> open_linked;

  std::optional<ledger::Sequence> last_seq_of(const std::string& key) const;
  // The expiry index this state implies: open holds with a timeout.
  std::set<ledger::ExpiryKey> expiry_index() const;
};

// Applies one decoded event; an empty string means it fits the state, else
// says why not ("opens a twice"). Does not check seq or chain (see below).
// `command_digest`: the content digest of event.command when the caller has
// it already (it is computed otherwise).
std::string apply_event(const ledger::Event& event, ProjectedState& state,
                        const ledger::ContentDigest* command_digest = nullptr);

// Why a sealed event does not fit: the seq it concerns and the words verify
// uses ("event 12: chain broken ...").
struct EventProblem {
  ledger::Sequence seq = 0;
  std::string text;
};

// Checks an opened event against the state (position == state.next_seq, its
// own seq == position, prev_hash == state.chain_head, time never goes back)
// and applies it. On success the state's next_seq, logical time and chain
// head move past the event.
std::optional<EventProblem> apply_opened(ledger::Sequence position,
                                         const codec::OpenedEvent& opened, ProjectedState& state);

// Opens one sealed event stored at `position`, checks it (verifier, hash,
// balance, position == state.next_seq, its own seq == position, prev_hash ==
// state.chain_head) and applies it. On success the state's next_seq, logical
// time and chain head move past the event.
std::optional<EventProblem> apply_sealed(ledger::Sequence position, std::string_view sealed,
                                         ProjectedState& state);

}  // namespace lf::engine
