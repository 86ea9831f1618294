// Snapshots of a shard store: consistent RocksDB checkpoints (SST files hard
// linked) with a manifest that says what the snapshot holds and lets it be
// verified before it is trusted. docs/snapshots.md is the reference for the
// layout, the manifest grammar and the retention policy; keep them in step.
//
//   SNAPDIR/                         default: the store directory + ".snapshots"
//     snap-<seq: 20 digits>/         a complete snapshot (seq = its last event)
//       manifest                     text, grammar below
//       store/                       the RocksDB checkpoint
//     .partial-snap-<seq: 20 digits>/   a creation in progress or interrupted
//
// Creation writes into the .partial- name, fsyncs every file and directory,
// then renames it: a snapshot under its final name is complete. list and
// restore ignore partial ones; prune removes them.
//
// Thread-safety: functions that take an Engine need it idle (no apply()
// running); the rest are free functions over the file system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "ledger/sha256.h"

namespace lf::engine {

inline constexpr std::string_view snapshot_name_prefix = "snap-";
inline constexpr std::string_view snapshot_partial_prefix = ".partial-";
inline constexpr std::string_view snapshot_manifest_file = "manifest";
inline constexpr std::string_view snapshot_store_dir = "store";
inline constexpr std::string_view snapshot_manifest_magic = "ledgerflow-snapshot 1";
// Largest manifest accepted, in bytes.
inline constexpr std::size_t snapshot_manifest_bytes_max = 4u << 20;
// Most files one snapshot's store may have.
inline constexpr std::size_t snapshot_files_max = 100000;
// Most Kafka offsets one manifest may list.
inline constexpr std::size_t snapshot_offsets_max = 65536;
// Retention: prune keeps the newest this many complete snapshots by default.
inline constexpr std::size_t snapshot_keep_default = 3;

// meta key "offset/" topic "/" partition: fixed32  ->  next_offset: fixed64.
inline constexpr std::string_view meta_offset_prefix = "offset/";
struct KafkaOffset {
  std::string topic;
  std::uint32_t partition = 0;
  std::uint64_t next_offset = 0;
  bool operator==(const KafkaOffset&) const = default;
};
std::string offset_meta_key(std::string_view topic, std::uint32_t partition);
// Corruption when the key or value is not an offset entry.
Result<KafkaOffset> parse_offset_entry(std::string_view key, std::string_view value);

struct SnapshotFile {
  std::string name;  // Inside store/, no directories.
  std::uint64_t bytes = 0;
  Sha256 sha256{};
  bool operator==(const SnapshotFile&) const = default;
};

struct SnapshotManifest {
  ledger::Sequence seq = 0;  // Last event in the snapshot; 0 for an empty log.
  Sha256 chain_head{};
  Sha256 state_digest{};
  ledger::TimestampMs logical_time_ms = 0;  // The head's logical time, never the wall clock.
  std::uint32_t schema_version = codec::event_schema_version;  // Of the engine that made it.
  std::uint32_t rules_version = ledger::rules_version;
  std::uint32_t store_format_version = 1;
  std::vector<KafkaOffset> offsets;  // (topic, partition) order.
  std::vector<SnapshotFile> files;   // Name order.
  bool operator==(const SnapshotManifest&) const = default;
};

std::string encode_manifest(const SnapshotManifest& manifest);
// Parses untrusted text: invalid_argument naming the line when it is bad.
Result<SnapshotManifest> parse_manifest(std::string_view text);

std::string default_snapshot_dir(const std::string& store_directory);
std::string snapshot_name(ledger::Sequence seq);

struct SnapshotInfo {
  std::string name;
  std::string path;
  SnapshotManifest manifest;
};

// Checkpoints an idle engine into SNAPDIR/snap-<seq>, computes the state
// digest from the checkpoint's own files (which verifies them) and hashes
// them for the manifest. invalid_argument when a snapshot of that seq exists
// already.
Result<SnapshotInfo> create_snapshot(Engine& engine, const std::string& snapshot_dir);

struct SnapshotListing {
  std::vector<SnapshotInfo> snapshots;  // Complete ones, oldest first.
  std::vector<std::string> partial;     // Interrupted creations (names).
  // Complete-looking snapshots whose manifest cannot be read: (name, why).
  std::vector<std::pair<std::string, std::string>> unreadable;
};
// A missing directory lists as empty.
Result<SnapshotListing> list_snapshots(const std::string& snapshot_dir);

struct SnapshotCheck {
  bool ok = true;
  std::string problem;  // Names the file, or the seq, concerned.
};
// How deep verify_snapshot() looks.
enum class SnapshotCheckDepth {
  // The auditor's check (`snapshot verify`, `snapshot restore`): every file
  // listed with its size and SHA-256 and no other; then the store, opened
  // read-only, must pass verify() (hash chain, double entry, every balance
  // rebuilt from the log) and match the manifest's seq, chain head, logical
  // time and state digest. Reads and folds the whole log: minutes at 10M
  // events.
  full,
  // Before an automatic recovery trusts a snapshot (streams::run at start):
  // every file listed with its size and no other, the small ones (MANIFEST,
  // CURRENT, OPTIONS) with their SHA-256; every block of every SST file
  // passes its checksum (CRC32c; two threads), so a byte changed
  // anywhere since creation is caught; the store opens read-only and matches
  // the manifest's seq, chain head and logical time. The state digest is not
  // recomputed here: create_snapshot() recomputed it from these same files
  // before the snapshot could be listed, and the checksums show that they
  // are unchanged. Reads each file once: about a second at 10M events.
  recovery,
};
// Verifies a snapshot before it is trusted. Status errors are I/O errors; a
// snapshot that fails is a check with ok == false naming the file or seq.
Result<SnapshotCheck> verify_snapshot(const SnapshotInfo& snapshot,
                                      SnapshotCheckDepth depth = SnapshotCheckDepth::full);

// Copies a verified snapshot's store to `store_directory` (SST files hard
// linked). The directory must not exist unless `replace`, which first moves
// it to store_directory + ".replaced" (removing an older one there).
Status restore_snapshot(const SnapshotInfo& snapshot, const std::string& store_directory,
                        bool replace);

struct PruneReport {
  std::vector<std::string> removed;  // Names, partial ones included.
  std::size_t kept = 0;
};
// Retention: keeps the newest `keep` complete snapshots (REQUIRES keep >= 1)
// and removes older ones and every partial one.
Result<PruneReport> prune_snapshots(const std::string& snapshot_dir, std::size_t keep);

// "Every N events" snapshots for a run loop: call maybe_snapshot() after each
// batch; it snapshots when the log has grown by every_events since the newest
// snapshot, then prunes to `keep`.
struct SnapshotPolicy {
  std::string directory;
  std::uint64_t every_events = 1'000'000;  // Default: 1M events.
  std::size_t keep = snapshot_keep_default;
};

class AutoSnapshot {
 public:
  explicit AutoSnapshot(SnapshotPolicy policy) : policy_(std::move(policy)) {}
  // The snapshot taken, if one was due.
  Result<std::optional<SnapshotInfo>> maybe_snapshot(Engine& engine);

 private:
  SnapshotPolicy policy_;
  std::optional<ledger::Sequence> newest_;  // Seq of the newest snapshot, once listed.
};

// SHA-256 and size of a file, read in pieces.
Result<SnapshotFile> hash_file(const std::string& path);

}  // namespace lf::engine
