// Exported log files: a self-describing, portable copy of a range of a shard's
// event log (`ledgerflow log export`), readable without the store
// (`ledgerflow replay log`). docs/replay.md#exported-log-files is the
// reference; keep the two in step.
//
//   file    := header record[count] trailer
//   header  := magic: "LFEXLOG1"  format_version: fixed32 (= 1)
//              schema_version: fixed32  rules_version: fixed32 -- schema_version: the event
//                                                         -- encoding the exporting engine
//                                                         -- writes (1 or 2); records may
//                                                         -- hold older ones
//              shard_length: fixed32  shard: bytes[shard_length]
//              first_seq: fixed64  last_seq: fixed64      -- count = last - first + 1
//              prev_hash: bytes32                         -- hash of event first_seq - 1
//              header_digest: bytes32                     -- SHA-256 of the header before it
//   record  := length: fixed32  sealed: bytes[length]  link: bytes32
//              -- sealed: the stored SealedEvent bytes of event first_seq + i
//              -- link(i) = SHA-256(link(i - 1) || length || sealed), link(-1) = header_digest
//   trailer := end: fixed32 (= 0xFFFFFFFF)  count: fixed64  chain_head: bytes32
//              last_link: bytes32  trailer_digest: bytes32 -- SHA-256 of the trailer before it
//
// Every byte is covered: header bytes by header_digest, a record's bytes by
// its link, the trailer by trailer_digest; the events by their own hash chain.
// A reader reports the first bad piece with its record index and byte offset.
//
// Thread-safety: none; one writer or reader per file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "schemas/codec.h"

namespace lf::engine {

inline constexpr std::string_view log_file_magic = "LFEXLOG1";
inline constexpr std::uint32_t log_file_format_version = 1;
// Largest shard label, in bytes.
inline constexpr std::size_t log_file_shard_bytes_max = 256;
// Largest record (one sealed event), in bytes.
inline constexpr std::size_t log_file_record_bytes_max = 16u << 20;
// Marks the trailer where a record length would be.
inline constexpr std::uint32_t log_file_end_marker = 0xFFFFFFFF;
// Sizes of the fixed parts, in bytes.
inline constexpr std::size_t log_file_header_fixed_bytes = 8 + 4 + 4 + 4 + 4 + 8 + 8 + 32 + 32;
inline constexpr std::size_t log_file_trailer_bytes = 4 + 8 + 32 + 32 + 32;

struct LogFileHeader {
  std::uint32_t schema_version = codec::event_schema_version;
  std::uint32_t rules_version = ledger::rules_version;
  std::string shard;
  ledger::Sequence first_seq = 1;
  ledger::Sequence last_seq = 0;  // first_seq - 1 for an empty range.
  Sha256 prev_hash{};
};

// The whole file for `records` (the sealed events first_seq..last_seq) in
// memory: what LogFileWriter writes, byte for byte (tests and fuzzing).
std::string encode_log_file(const LogFileHeader& header, std::span<const std::string> records,
                            const Sha256& chain_head);

// Writes FILE.partial, then fsyncs and renames it to FILE on finish(): a file
// under its final name is always complete.
class LogFileWriter {
 public:
  static Result<std::unique_ptr<LogFileWriter>> create(const std::string& path,
                                                       const LogFileHeader& header);
  ~LogFileWriter();
  LogFileWriter(const LogFileWriter&) = delete;
  LogFileWriter& operator=(const LogFileWriter&) = delete;

  // REQUIRES: exactly last_seq - first_seq + 1 calls, in seq order.
  Status add(std::string_view sealed);
  Status finish(const Sha256& chain_head);

 private:
  LogFileWriter() = default;
  Status write(std::string_view bytes);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::uint64_t expected_ = 0;
  std::uint64_t count_ = 0;
  Sha256 link_{};
  std::string buffer_;
};

// The outcome of reading a file: ok, or the first problem and where it is.
struct LogFileReport {
  bool ok = true;
  bool not_a_log_file = false;          // Bad magic or version: not ours at all.
  std::string problem;                  // Starts with the position.
  std::optional<std::uint64_t> record;  // 0-based index of the bad record.
  std::uint64_t byte_offset = 0;        // Where the bad piece starts.
  LogFileHeader header;
  std::uint64_t count = 0;  // Records read and checked.
  Sha256 chain_head{};      // Hash of the last event (prev_hash when none).
};

// Called per record after its framing, link, event hash, seq and chain check;
// returns a problem to stop the read with it (reported at that record).
using LogRecordFn = std::function<std::optional<std::string>(
    ledger::Sequence seq, std::string_view sealed, const codec::OpenedEvent& event)>;

// Reads and checks a whole file. Status errors are I/O errors; a bad file is a
// report with ok == false. `fn` may be empty.
Result<LogFileReport> read_log_file(std::istream& in, const LogRecordFn& fn);

}  // namespace lf::engine
