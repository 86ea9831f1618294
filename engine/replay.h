// Replay: everything but the event log is rebuildable from it, and these
// functions prove it (docs/replay.md).
//
//   * rebuild_projections: folds a store's log into a fresh store (the log's
//     files hard-linked from a checkpoint, every projection rebuilt) and
//     compares the state digests;
//   * reexecute: re-runs the commands embedded in the log through the state
//     machine in a scratch store, from zero or from a snapshot, and checks
//     that the events produced are byte-identical to the logged ones;
//   * export_log / replay_log_file: a portable file of a range of the log
//     (engine/log_file.h), and the rebuild from that file alone.
//
// Status errors are operating errors; a log or file that does not replay is a
// report with ok == false, naming the seq (and for files the record and byte
// offset) concerned.
//
// Thread-safety: the engines passed in must be idle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/engine.h"
#include "engine/log_file.h"
#include "engine/snapshot.h"

namespace lf::engine {

// Events per block in a store rebuilt from an exported file (blocks are a
// storage detail: the events and their bytes are the same, the boundaries
// need not be). A store rebuilt from a store keeps that store's blocks.
inline constexpr std::size_t rebuild_block_events_max = 128;

// Threads that open (verify, hash and decode) events during a rebuild,
// besides the one reading them: opening is most of a rebuild's work.
inline constexpr std::size_t replay_openers = 2;

struct RebuildOptions {
  // Build the per-account history index too. Default: true. (Live stores
  // index behind the log as well; see docs/storage.md#history-index.)
  bool index_history = true;
};

struct RebuildReport {
  bool ok = true;
  std::optional<ledger::Sequence> bad_seq;
  std::string problem;
  std::uint64_t events = 0;
  Sha256 chain_head{};
  Sha256 rebuilt_digest{};  // Of the new store (or of the state, without one).
  Sha256 source_digest{};   // Of the source store's projections (rebuild only).
};

// Builds `into` (which must not exist; built as into + ".partial", then
// renamed) from `source`'s event log alone; ok when its digest equals the
// source store's. Checkpoints `source` (Engine::checkpoint(), which flushes a
// writable source's projections and memtables first).
Result<RebuildReport> rebuild_projections(Engine& source, const std::string& into,
                                          const RebuildOptions& options = {});

struct ReexecuteReport {
  bool ok = true;
  std::optional<ledger::Sequence> bad_seq;  // The first seq that differs.
  std::string problem;
  ledger::Sequence from_seq = 1;  // First event re-executed.
  std::uint64_t commands = 0;
  std::uint64_t events = 0;  // Events compared.
  Sha256 chain_head{};
};

// Re-executes `source`'s commands in `scratch_dir` (must not exist; removed
// afterwards), from an empty store or from `snapshot` (already verified).
// Batches hold up to batch_commands commands: batch boundaries do not change
// the log (tests/engine/engine_test.cc).
Result<ReexecuteReport> reexecute(Engine& source, const std::string& scratch_dir,
                                  const SnapshotInfo* snapshot = nullptr,
                                  std::size_t batch_commands = 4096);

struct ExportReport {
  ledger::Sequence first_seq = 1;
  ledger::Sequence last_seq = 0;
  Sha256 chain_head{};
};

// Writes events from..to (to == 0: the last) of `source` to `path`. Refuses a
// log that does not verify along the way (corruption).
Result<ExportReport> export_log(Engine& source, const std::string& path, ledger::Sequence from,
                                ledger::Sequence to, const std::string& shard);

struct LogReplayReport {
  LogFileReport file;     // The file's own check: ok, or where it is bad.
  bool rebuilt = false;   // The file starts at seq 1: the state was rebuilt.
  std::string problem;    // Why not, or what did not fit.
  Sha256 state_digest{};  // Of the rebuilt state (and store, with `into`).
};

// Verifies an exported file and, when it starts at seq 1, rebuilds the state
// from it alone (and a store in `into`, when not empty).
Result<LogReplayReport> replay_log_file(const std::string& path, const std::string& into);

}  // namespace lf::engine
