#include "engine/log_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/keys.h"
#include "ledger/assert.h"

namespace lf::engine {

namespace {

std::string_view hash_view(const Sha256& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

Sha256 read_hash(std::string_view bytes) {
  Sha256 h{};
  LF_ASSERT(bytes.size() >= h.size());
  std::memcpy(h.data(), bytes.data(), h.size());
  return h;
}

Sha256 next_link(const Sha256& link, std::string_view length_and_sealed) {
  Sha256Hasher hasher;
  hasher.update(hash_view(link));
  hasher.update(length_and_sealed);
  return hasher.finish();
}

Status sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::io_error("open " + dir.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::io_error("fsync " + dir.string() + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace

// ---------------------------------------------------------------- encoding

namespace {

// The header's bytes, its digest included; `link` is set to that digest.
std::string encode_header(const LogFileHeader& header, Sha256& link) {
  LF_ASSERT(header.shard.size() <= log_file_shard_bytes_max);
  LF_ASSERT(header.first_seq >= 1);
  LF_ASSERT(header.last_seq + 1 >= header.first_seq);
  std::string bytes(log_file_magic);
  put_u32be(bytes, log_file_format_version);
  put_u32be(bytes, header.schema_version);
  put_u32be(bytes, header.rules_version);
  put_u32be(bytes, static_cast<std::uint32_t>(header.shard.size()));
  bytes += header.shard;
  put_u64be(bytes, header.first_seq);
  put_u64be(bytes, header.last_seq);
  bytes += hash_view(header.prev_hash);
  link = sha256(bytes);
  bytes += hash_view(link);
  return bytes;
}

// Appends one record; `link` moves to its link.
void encode_record(std::string_view sealed, Sha256& link, std::string& out) {
  LF_ASSERT(!sealed.empty());
  LF_ASSERT(sealed.size() <= log_file_record_bytes_max);
  const std::size_t start = out.size();
  put_u32be(out, static_cast<std::uint32_t>(sealed.size()));
  out += sealed;
  link = next_link(link, std::string_view(out).substr(start));
  out += hash_view(link);
}

std::string encode_trailer(std::uint64_t count, const Sha256& chain_head, const Sha256& link) {
  std::string trailer;
  put_u32be(trailer, log_file_end_marker);
  put_u64be(trailer, count);
  trailer += hash_view(chain_head);
  trailer += hash_view(link);
  trailer += hash_view(sha256(trailer));
  LF_ASSERT(trailer.size() == log_file_trailer_bytes);
  return trailer;
}

}  // namespace

std::string encode_log_file(const LogFileHeader& header, std::span<const std::string> records,
                            const Sha256& chain_head) {
  LF_ASSERT(records.size() == header.last_seq + 1 - header.first_seq);
  Sha256 link{};
  std::string bytes = encode_header(header, link);
  for (const std::string& sealed : records) encode_record(sealed, link, bytes);
  return bytes + encode_trailer(records.size(), chain_head, link);
}

// ---------------------------------------------------------------- writer

Result<std::unique_ptr<LogFileWriter>> LogFileWriter::create(const std::string& path,
                                                             const LogFileHeader& header) {
  if (header.shard.size() > log_file_shard_bytes_max) {
    return Status::invalid_argument(
        fmt::format("shard label is longer than {} bytes", log_file_shard_bytes_max));
  }
  std::unique_ptr<LogFileWriter> writer(new LogFileWriter());
  writer->path_ = path;
  writer->file_ = std::fopen((path + ".partial").c_str(), "wb");
  if (writer->file_ == nullptr) {
    return Status::io_error("create " + path + ".partial: " + std::strerror(errno));
  }
  writer->expected_ = header.last_seq + 1 - header.first_seq;
  LF_RETURN_IF_ERROR(writer->write(encode_header(header, writer->link_)));
  return writer;
}

LogFileWriter::~LogFileWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::error_code ignored;
    std::filesystem::remove(path_ + ".partial", ignored);  // Never finished.
  }
}

Status LogFileWriter::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Status::io_error("write " + path_ + ".partial: " + std::strerror(errno));
  }
  return Status::ok();
}

Status LogFileWriter::add(std::string_view sealed) {
  LF_ASSERT(count_ < expected_);
  if (sealed.empty() || sealed.size() > log_file_record_bytes_max) {
    return Status::invalid_argument(
        fmt::format("event of {} bytes cannot be exported", sealed.size()));
  }
  buffer_.clear();
  encode_record(sealed, link_, buffer_);
  ++count_;
  return write(buffer_);
}

Status LogFileWriter::finish(const Sha256& chain_head) {
  LF_ASSERT(count_ == expected_);
  LF_RETURN_IF_ERROR(write(encode_trailer(count_, chain_head, link_)));
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    return Status::io_error("sync " + path_ + ".partial: " + std::strerror(errno));
  }
  std::fclose(file_);
  file_ = nullptr;
  std::error_code error;
  std::filesystem::rename(path_ + ".partial", path_, error);
  if (error) return Status::io_error("rename to " + path_ + ": " + error.message());
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  return sync_directory(dir.empty() ? "." : dir);
}

// ---------------------------------------------------------------- reader

namespace {

// Reads exact byte counts from a stream of known size, tracking the offset.
class Source {
 public:
  explicit Source(std::istream& in) : in_(in) {}
  Status init() {
    in_.seekg(0, std::ios::end);
    const std::streamoff end = in_.tellg();
    in_.seekg(0, std::ios::beg);
    if (end < 0 || !in_) return Status::io_error("cannot size the log file");
    size_ = static_cast<std::uint64_t>(end);
    return Status::ok();
  }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t remaining() const { return size_ - offset_; }
  // REQUIRES: n <= remaining().
  Status read(std::size_t n, std::string& out) {
    LF_ASSERT(n <= remaining());
    out.resize(n);
    in_.read(out.data(), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in_.gcount()) != n) return Status::io_error("short read");
    offset_ += n;
    return Status::ok();
  }

 private:
  std::istream& in_;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
};

void bad(LogFileReport& report, std::optional<std::uint64_t> record, std::uint64_t offset,
         std::string problem) {
  report.ok = false;
  report.record = record;
  report.byte_offset = offset;
  report.problem = record ? fmt::format("record {} (byte {}): {}", *record, offset, problem)
                          : std::move(problem);
}

// Reads and checks the header; false (with the report set) when it is bad.
Result<bool> read_header(Source& source, LogFileReport& report, Sha256& link) {
  constexpr std::size_t prefix_bytes = 8 + 4 + 4 + 4 + 4;
  std::string bytes;
  if (source.remaining() < prefix_bytes) {
    bad(report, std::nullopt, 0, "header (byte 0): file is too short for a header");
    report.not_a_log_file = true;
    return false;
  }
  LF_RETURN_IF_ERROR(source.read(prefix_bytes, bytes));
  if (std::string_view(bytes).substr(0, 8) != log_file_magic) {
    bad(report, std::nullopt, 0, "header (byte 0): not an exported ledgerflow log (bad magic)");
    report.not_a_log_file = true;
    return false;
  }
  const std::uint32_t version = get_u32be(std::string_view(bytes).substr(8));
  if (version != log_file_format_version) {
    bad(report, std::nullopt, 8,
        fmt::format("header (byte 8): unknown format version {}", version));
    report.not_a_log_file = true;
    return false;
  }
  report.header.schema_version = get_u32be(std::string_view(bytes).substr(12));
  report.header.rules_version = get_u32be(std::string_view(bytes).substr(16));
  const std::uint32_t shard_bytes = get_u32be(std::string_view(bytes).substr(20));
  const std::size_t rest_bytes = shard_bytes + 8 + 8 + 32 + 32;
  if (shard_bytes > log_file_shard_bytes_max || source.remaining() < rest_bytes) {
    bad(report, std::nullopt, 20, "header (byte 20): bad shard label length or truncated header");
    return false;
  }
  std::string rest;
  LF_RETURN_IF_ERROR(source.read(rest_bytes, rest));
  bytes += rest;
  const std::string_view v(bytes);
  std::size_t at = prefix_bytes;
  report.header.shard = std::string(v.substr(at, shard_bytes));
  at += shard_bytes;
  report.header.first_seq = get_u64be(v.substr(at));
  report.header.last_seq = get_u64be(v.substr(at + 8));
  report.header.prev_hash = read_hash(v.substr(at + 16));
  at += 48;
  link = read_hash(v.substr(at));
  if (sha256(v.substr(0, at)) != link) {
    bad(report, std::nullopt, 0,
        fmt::format("header (bytes 0..{}): header digest mismatch (a header byte changed)",
                    at + 31));
    return false;
  }
  if (report.header.first_seq == 0 || report.header.last_seq == UINT64_MAX ||
      report.header.last_seq + 1 < report.header.first_seq) {
    bad(report, std::nullopt, prefix_bytes + shard_bytes, "header: bad seq range");
    return false;
  }
  if (!codec::known_event_schema_version(report.header.schema_version) ||
      report.header.rules_version != ledger::rules_version) {
    bad(report, std::nullopt, 12,
        fmt::format("header (byte 12): schema version {} / rules version {} not supported",
                    report.header.schema_version, report.header.rules_version));
    return false;
  }
  return true;
}

// The end marker (already read into `marker`) starts the trailer.
Status read_trailer(Source& source, LogFileReport& report, const Sha256& link,
                    const std::string& marker) {
  const std::uint64_t at = source.offset() - marker.size();
  if (source.remaining() != log_file_trailer_bytes - marker.size()) {
    bad(report, std::nullopt, at,
        fmt::format("trailer (byte {}): {} bytes where the trailer's {} should be", at,
                    source.remaining() + marker.size(), log_file_trailer_bytes));
    return Status::ok();
  }
  std::string rest;
  LF_RETURN_IF_ERROR(source.read(log_file_trailer_bytes - marker.size(), rest));
  const std::string bytes = marker + rest;
  const std::string_view v(bytes);
  const std::uint64_t count = get_u64be(v.substr(4));
  if (sha256(v.substr(0, 4 + 8 + 32 + 32)) != read_hash(v.substr(4 + 8 + 32 + 32))) {
    bad(report, std::nullopt, at,
        fmt::format("trailer (bytes {}..{}): trailer digest mismatch (a trailer byte changed)", at,
                    at + log_file_trailer_bytes - 1));
  } else if (count != report.count) {
    bad(report, std::nullopt, at,
        fmt::format("trailer (byte {}): says {} records, the file has {}", at, count,
                    report.count));
  } else if (read_hash(v.substr(12)) != report.chain_head) {
    bad(report, std::nullopt, at, fmt::format("trailer (byte {}): chain head mismatch", at));
  } else if (read_hash(v.substr(44)) != link) {
    bad(report, std::nullopt, at, fmt::format("trailer (byte {}): last link mismatch", at));
  }
  return Status::ok();
}

}  // namespace

Result<LogFileReport> read_log_file(std::istream& in, const LogRecordFn& fn) {
  LogFileReport report;
  Source source(in);
  LF_RETURN_IF_ERROR(source.init());
  Sha256 link{};
  Result<bool> header_ok = read_header(source, report, link);
  if (!header_ok.is_ok()) return header_ok.status();
  if (!*header_ok) return report;
  const std::uint64_t expected = report.header.last_seq + 1 - report.header.first_seq;
  report.chain_head = report.header.prev_hash;
  std::string framed;
  std::string sealed_storage;
  while (true) {
    const std::uint64_t at = source.offset();
    const std::uint64_t index = report.count;
    if (source.remaining() < 4) {
      bad(report, index, at, "truncated: no record length and no trailer");
      return report;
    }
    LF_RETURN_IF_ERROR(source.read(4, framed));
    const std::uint32_t length = get_u32be(framed);
    if (length == log_file_end_marker) {
      if (index != expected) {
        bad(report, std::nullopt, at,
            fmt::format("trailer (byte {}): after {} records, the header's range has {}", at, index,
                        expected));
        return report;
      }
      LF_RETURN_IF_ERROR(read_trailer(source, report, link, framed));
      return report;
    }
    if (index >= expected) {
      bad(report, std::nullopt, at,
          fmt::format("trailer (byte {}): no end marker after the header's {} records", at,
                      expected));
      return report;
    }
    if (length == 0 || length > log_file_record_bytes_max || source.remaining() < length + 32ull) {
      bad(report, index, at, fmt::format("bad record length {}", length));
      return report;
    }
    std::string rest;
    LF_RETURN_IF_ERROR(source.read(length + 32, rest));
    framed.append(rest, 0, length);
    const Sha256 next = next_link(link, framed);
    if (next != read_hash(std::string_view(rest).substr(length))) {
      bad(report, index, at,
          fmt::format("link mismatch: a byte in {}..{} changed", at, at + 4 + length + 31));
      return report;
    }
    link = next;
    const ledger::Sequence seq = report.header.first_seq + index;
    Result<codec::OpenedEvent> opened = codec::open_event(std::string_view(framed).substr(4));
    if (!opened.is_ok()) {
      bad(report, index, at, fmt::format("event {}: {}", seq, opened.status().message()));
      return report;
    }
    if (opened->event.seq != seq) {
      bad(report, index, at, fmt::format("event {} says seq {}", seq, opened->event.seq));
      return report;
    }
    if (opened->prev_hash != report.chain_head) {
      bad(report, index, at, fmt::format("event {}: chain broken", seq));
      return report;
    }
    if (fn) {
      std::optional<std::string> problem = fn(seq, std::string_view(framed).substr(4), *opened);
      if (problem) {
        bad(report, index, at, std::move(*problem));
        return report;
      }
    }
    report.chain_head = opened->hash;
    ++report.count;
  }
}

}  // namespace lf::engine
