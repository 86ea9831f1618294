#include "engine/snapshot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>

#include "engine/digest.h"
#include "engine/keys.h"
#include "engine/verify.h"
#include "ledger/assert.h"

namespace lf::engine {

namespace fs = std::filesystem;

namespace {

// Pieces of a file read at a time when hashing.
constexpr std::size_t hash_chunk_bytes = 1u << 20;
// Longest topic and file names accepted in a manifest.
constexpr std::size_t topic_bytes_max = 249;
constexpr std::size_t file_name_bytes_max = 255;
constexpr std::size_t seq_digits = 20;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool valid_name(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), name_char);
}

Status io(const std::error_code& error, const std::string& what) {
  if (!error) return Status::ok();
  return Status::io_error(what + ": " + error.message());
}

Status fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return Status::io_error("open " + path.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::io_error("fsync " + path.string() + ": " + std::strerror(errno));
  return Status::ok();
}

// Syncs every file in `dir` and the directory itself.
Status fsync_tree(const fs::path& dir) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) LF_RETURN_IF_ERROR(fsync_path(entry.path(), false));
  }
  LF_RETURN_IF_ERROR(io(error, "list " + dir.string()));
  return fsync_path(dir, true);
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_u32(std::string_view s, std::uint32_t& out) {
  std::uint64_t v = 0;
  if (!parse_u64(s, v) || v > UINT32_MAX) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool parse_hash(std::string_view s, Sha256& out) {
  if (s.size() != 64) return false;
  for (std::size_t i = 0; i < 32; ++i) {
    std::uint8_t byte = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      const char c = s[2 * i + j];
      int v = 0;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else {
        return false;  // Lowercase only: one spelling per digest.
      }
      byte = static_cast<std::uint8_t>(byte * 16 + v);
    }
    out[i] = byte;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t at = 0;
  while (true) {
    const std::size_t next = s.find(sep, at);
    parts.push_back(
        s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return parts;
    at = next + 1;
  }
}

// Parses "<seq: 20 digits>" after a prefix; false when the name is not one.
bool parse_snapshot_name(std::string_view name, std::string_view prefix, ledger::Sequence& seq) {
  if (name.size() != prefix.size() + seq_digits || name.substr(0, prefix.size()) != prefix) {
    return false;
  }
  const std::string_view digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  return ec == std::errc() && end == digits.data() + digits.size();
}

Result<std::string> read_small_file(const fs::path& path, std::size_t max_bytes) {
  std::error_code error;
  const std::uintmax_t size = fs::file_size(path, error);
  if (error) return Status::io_error("size of " + path.string() + ": " + error.message());
  if (size > max_bytes) {
    return Status::corruption(fmt::format("{} is larger than {} bytes", path.string(), max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) return Status::io_error("read " + path.string());
  return text;
}

Result<std::vector<KafkaOffset>> read_offsets(Engine& engine) {
  std::vector<KafkaOffset> offsets;
  Status failure;
  LF_RETURN_IF_ERROR(
      engine.for_each_meta(meta_offset_prefix, [&](std::string_view key, std::string_view value) {
        Result<KafkaOffset> offset = parse_offset_entry(key, value);
        if (!offset.is_ok()) {
          failure = offset.status();
          return false;
        }
        offsets.push_back(std::move(offset).value());
        return true;
      }));
  LF_RETURN_IF_ERROR(failure);
  std::sort(offsets.begin(), offsets.end(), [](const KafkaOffset& a, const KafkaOffset& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return offsets;
}

Result<std::vector<SnapshotFile>> hash_store_files(const fs::path& store) {
  std::vector<SnapshotFile> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(store, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(error) || !valid_name(name, file_name_bytes_max)) {
      return Status::io_error("unexpected entry in a checkpoint: " + entry.path().string());
    }
    Result<SnapshotFile> file = hash_file(entry.path().string());
    if (!file.is_ok()) return file.status();
    file->name = name;
    files.push_back(std::move(file).value());
  }
  LF_RETURN_IF_ERROR(io(error, "list " + store.string()));
  std::sort(files.begin(), files.end(),
            [](const SnapshotFile& a, const SnapshotFile& b) { return a.name < b.name; });
  return files;
}

// RocksDB writes its info log beside the data even when opened read-only;
// those files are not part of a snapshot.
bool info_log_file(std::string_view name) {
  return name == "LOG" || name.substr(0, 8) == "LOG.old.";
}

constexpr std::size_t checksum_threads = 2;

bool sst_file(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0;
}

// `hash_sst`: SHA-256 the SST files too (else their sizes only: their blocks
// are then checked by their checksums, see check_store). Other files (the
// MANIFEST, CURRENT, OPTIONS, a WAL) are small and always hashed.
Status check_files(const SnapshotInfo& snapshot, SnapshotCheck& check, bool hash_sst) {
  const fs::path store = fs::path(snapshot.path) / snapshot_store_dir;
  std::error_code error;
  std::vector<std::string> present;
  for (const auto& entry : fs::directory_iterator(store, error)) {
    present.push_back(entry.path().filename().string());
  }
  if (error) {
    check = {false, "store/ cannot be listed: " + error.message()};
    return Status::ok();
  }
  std::sort(present.begin(), present.end());
  for (const std::string& name : present) {
    const bool listed = std::any_of(snapshot.manifest.files.begin(), snapshot.manifest.files.end(),
                                    [&](const SnapshotFile& f) { return f.name == name; });
    if (!listed && !info_log_file(name)) {
      check = {false, "file " + name + " is not in the manifest"};
      return Status::ok();
    }
  }
  for (const SnapshotFile& expected : snapshot.manifest.files) {
    const fs::path path = store / expected.name;
    if (!fs::exists(path, error)) {
      check = {false, "file " + expected.name + " is missing"};
      return Status::ok();
    }
    if (!hash_sst && sst_file(expected.name)) {
      const std::uintmax_t bytes = fs::file_size(path, error);
      if (error) return Status::io_error("size of " + path.string() + ": " + error.message());
      if (bytes != expected.bytes) {
        check = {false, fmt::format("file {} has {} bytes, the manifest says {}", expected.name,
                                    bytes, expected.bytes)};
        return Status::ok();
      }
      continue;
    }
    Result<SnapshotFile> actual = hash_file(path.string());
    if (!actual.is_ok()) return actual.status();
    if (actual->bytes != expected.bytes) {
      check = {false, fmt::format("file {} has {} bytes, the manifest says {}", expected.name,
                                  actual->bytes, expected.bytes)};
      return Status::ok();
    }
    if (actual->sha256 != expected.sha256) {
      check = {false, "file " + expected.name + ": SHA-256 mismatch (its bytes changed)"};
      return Status::ok();
    }
  }
  return Status::ok();
}

EngineOptions read_only_options() {
  EngineOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  options.block_cache_bytes = 8u << 20;
  return options;
}

// Checks every block of every SST file of the snapshot against its checksum
// (CRC32c), the files split over two threads: the recovery check reads all
// of a 10M-event store's files, and a restart waits for it.
Status check_sst_checksums(const SnapshotInfo& snapshot, SnapshotCheck& check) {
  std::vector<std::string> paths;
  for (const SnapshotFile& file : snapshot.manifest.files) {
    if (sst_file(file.name)) {
      paths.push_back((fs::path(snapshot.path) / snapshot_store_dir / file.name).string());
    }
  }
  // First failure per thread, by file index, so that the one reported is the
  // first bad file in name order whatever the threads' timing.
  struct Failure {
    std::size_t index = SIZE_MAX;
    std::string problem;
  };
  auto verify_every_other = [&paths](std::size_t first) {
    Failure failure;
    for (std::size_t i = first; i < paths.size(); i += checksum_threads) {
      rocksdb::SstFileReader reader{rocksdb::Options()};
      rocksdb::Status s = reader.Open(paths[i]);
      if (s.ok()) s = reader.VerifyChecksum();
      if (!s.ok())
        return Failure{
            i, fmt::format("file {}: {}", fs::path(paths[i]).filename().string(), s.ToString())};
    }
    return failure;
  };
  std::vector<std::future<Failure>> workers;
  for (std::size_t t = 1; t < checksum_threads; ++t) {
    workers.push_back(std::async(std::launch::async, verify_every_other, t));
  }
  Failure first = verify_every_other(0);
  for (std::future<Failure>& worker : workers) {
    Failure other = worker.get();
    if (other.index < first.index) first = std::move(other);
  }
  if (first.index != SIZE_MAX) check = {false, std::move(first.problem)};
  return Status::ok();
}

// The state digest of a fresh checkpoint, opened read-only; its head must be
// the engine's.
Result<Sha256> checkpoint_digest(const fs::path& store, const Head& head) {
  Result<std::unique_ptr<Engine>> engine = Engine::open(store.string(), read_only_options());
  if (!engine.is_ok()) return engine.status();
  LF_ASSERT((*engine)->head() == head);  // A checkpoint of an idle engine.
  return store_digest(**engine);
}

Status check_store(const SnapshotInfo& snapshot, SnapshotCheckDepth depth, SnapshotCheck& check) {
  const EngineOptions options = read_only_options();
  const std::string store = (fs::path(snapshot.path) / snapshot_store_dir).string();
  Result<std::unique_ptr<Engine>> engine = Engine::open(store, options);
  if (!engine.is_ok()) {
    check = {false, "store does not open: " + engine.status().to_string()};
    return Status::ok();
  }
  const SnapshotManifest& m = snapshot.manifest;
  const Head& head = (*engine)->head();
  if (head.ledger.next_seq != m.seq + 1) {
    check = {false, fmt::format("store ends at seq {}, the manifest says {}",
                                head.ledger.next_seq - 1, m.seq)};
    return Status::ok();
  }
  if (head.chain_head != m.chain_head) {
    check = {false, fmt::format("chain head at seq {} differs from the manifest's", m.seq)};
    return Status::ok();
  }
  if (head.ledger.logical_time_ms != m.logical_time_ms) {
    check = {false, "logical time differs from the manifest's"};
    return Status::ok();
  }
  if (depth == SnapshotCheckDepth::recovery) {
    // The digest was recomputed from these files when the snapshot was
    // created; the checksums show that no block changed since.
    return check_sst_checksums(snapshot, check);
  }
  Result<VerifyReport> report = verify(**engine);
  if (!report.is_ok()) {
    check = {false, "store cannot be verified: " + report.status().to_string()};
    return Status::ok();
  }
  if (!report->ok) {
    check = {false, fmt::format("verify failed at seq {}: {}",
                                report->bad_seq ? std::to_string(*report->bad_seq) : "(none)",
                                report->problem)};
    return Status::ok();
  }
  if (report->state_digest != m.state_digest) {
    check = {false, "state digest " + to_hex(report->state_digest) +
                        " differs from the manifest's " + to_hex(m.state_digest)};
  }
  return Status::ok();
}

// Copies `from` into the new directory `to`: SST files hard-linked (RocksDB
// never changes one), everything else copied.
Status copy_store(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::create_directories(to, error);
  LF_RETURN_IF_ERROR(io(error, "create " + to.string()));
  for (const auto& entry : fs::directory_iterator(from, error)) {
    const std::string name = entry.path().filename().string();
    if (info_log_file(name)) continue;
    const fs::path target = to / name;
    if (entry.path().extension() == ".sst") {
      fs::create_hard_link(entry.path(), target, error);
      if (!error) continue;
      error.clear();  // Another file system: copy instead.
    }
    fs::copy_file(entry.path(), target, error);
    LF_RETURN_IF_ERROR(io(error, "copy " + entry.path().string()));
  }
  LF_RETURN_IF_ERROR(io(error, "list " + from.string()));
  return fsync_tree(to);
}

}  // namespace

// ---------------------------------------------------------------- offsets

std::string offset_meta_key(std::string_view topic, std::uint32_t partition) {
  std::string key(meta_offset_prefix);
  key += topic;
  key += '/';
  put_u32be(key, partition);
  return key;
}

Result<KafkaOffset> parse_offset_entry(std::string_view key, std::string_view value) {
  const std::size_t fixed = meta_offset_prefix.size() + 1 + 4;
  if (key.size() <= fixed || key.substr(0, meta_offset_prefix.size()) != meta_offset_prefix ||
      key[key.size() - 5] != '/' || value.size() != 8) {
    return Status::corruption("meta entry is not a Kafka offset");
  }
  KafkaOffset offset;
  offset.topic = std::string(key.substr(meta_offset_prefix.size(), key.size() - fixed));
  if (!valid_name(offset.topic, topic_bytes_max)) {
    return Status::corruption("meta offset entry has a bad topic name");
  }
  offset.partition = get_u32be(key.substr(key.size() - 4));
  offset.next_offset = get_u64be(value);
  return offset;
}

// ---------------------------------------------------------------- manifest

std::string encode_manifest(const SnapshotManifest& m) {
  std::string text = fmt::format(
      "{}\nseq {}\nchain_head {}\nstate_digest {}\nlogical_time_ms {}\nschema_version {}\n"
      "rules_version {}\nstore_format_version {}\n",
      snapshot_manifest_magic, m.seq, to_hex(m.chain_head), to_hex(m.state_digest),
      m.logical_time_ms, m.schema_version, m.rules_version, m.store_format_version);
  for (const KafkaOffset& o : m.offsets) {
    text += fmt::format("offset {} {} {}\n", o.topic, o.partition, o.next_offset);
  }
  for (const SnapshotFile& f : m.files) {
    text += fmt::format("file {} {} {}\n", f.name, f.bytes, to_hex(f.sha256));
  }
  text += fmt::format("end {}\n", to_hex(sha256(text)));
  return text;
}

Result<SnapshotManifest> parse_manifest(std::string_view text) {
  if (text.size() > snapshot_manifest_bytes_max) {
    return Status::invalid_argument("manifest is too large");
  }
  if (text.empty() || text.back() != '\n') {
    return Status::invalid_argument("manifest does not end with a newline");
  }
  std::vector<std::string_view> lines = split(text.substr(0, text.size() - 1), '\n');
  SnapshotManifest m;
  std::size_t at = 0;
  auto bad = [&](std::string_view why) {
    return Status::invalid_argument(fmt::format("manifest line {}: {}", at + 1, why));
  };
  auto field = [&](std::string_view name) -> Result<std::string_view> {
    if (at >= lines.size()) return bad(fmt::format("missing {}", name));
    const std::string_view line = lines[at];
    if (line.size() <= name.size() + 1 || line.substr(0, name.size()) != name ||
        line[name.size()] != ' ') {
      return bad(fmt::format("expected {}", name));
    }
    return line.substr(name.size() + 1);
  };
  if (lines.empty() || lines[0] != snapshot_manifest_magic) return bad("not a snapshot manifest");
  ++at;
  struct U64Field {
    const char* name;
    std::uint64_t* out;
  };
  std::uint64_t versions[3] = {0, 0, 0};
  const U64Field head_fields[] = {{"seq", &m.seq}};
  for (const U64Field& f : head_fields) {
    Result<std::string_view> v = field(f.name);
    if (!v.is_ok()) return v.status();
    if (!parse_u64(*v, *f.out)) return bad("bad number");
    ++at;
  }
  for (auto [name, out] : {std::pair<const char*, Sha256*>{"chain_head", &m.chain_head},
                           std::pair<const char*, Sha256*>{"state_digest", &m.state_digest}}) {
    Result<std::string_view> v = field(name);
    if (!v.is_ok()) return v.status();
    if (!parse_hash(*v, *out)) return bad("bad digest");
    ++at;
  }
  const U64Field tail_fields[] = {{"logical_time_ms", &m.logical_time_ms},
                                  {"schema_version", &versions[0]},
                                  {"rules_version", &versions[1]},
                                  {"store_format_version", &versions[2]}};
  for (const U64Field& f : tail_fields) {
    Result<std::string_view> v = field(f.name);
    if (!v.is_ok()) return v.status();
    if (!parse_u64(*v, *f.out)) return bad("bad number");
    if (f.out != &m.logical_time_ms && *f.out > UINT32_MAX) return bad("bad version");
    ++at;
  }
  m.schema_version = static_cast<std::uint32_t>(versions[0]);
  m.rules_version = static_cast<std::uint32_t>(versions[1]);
  m.store_format_version = static_cast<std::uint32_t>(versions[2]);
  while (at < lines.size() && lines[at].substr(0, 7) == "offset ") {
    if (m.offsets.size() >= snapshot_offsets_max) return bad("too many offsets");
    const std::vector<std::string_view> parts = split(lines[at].substr(7), ' ');
    KafkaOffset o;
    if (parts.size() != 3 || !valid_name(parts[0], topic_bytes_max) ||
        !parse_u32(parts[1], o.partition) || !parse_u64(parts[2], o.next_offset)) {
      return bad("bad offset");
    }
    o.topic = std::string(parts[0]);
    if (!m.offsets.empty() && std::tie(m.offsets.back().topic, m.offsets.back().partition) >=
                                  std::tie(o.topic, o.partition)) {
      return bad("offsets out of order");
    }
    m.offsets.push_back(std::move(o));
    ++at;
  }
  while (at < lines.size() && lines[at].substr(0, 5) == "file ") {
    if (m.files.size() >= snapshot_files_max) return bad("too many files");
    const std::vector<std::string_view> parts = split(lines[at].substr(5), ' ');
    SnapshotFile f;
    if (parts.size() != 3 || !valid_name(parts[0], file_name_bytes_max) ||
        !parse_u64(parts[1], f.bytes) || !parse_hash(parts[2], f.sha256)) {
      return bad("bad file");
    }
    f.name = std::string(parts[0]);
    if (!m.files.empty() && m.files.back().name >= f.name) return bad("files out of order");
    m.files.push_back(std::move(f));
    ++at;
  }
  if (m.files.empty()) return bad("expected file");
  Result<std::string_view> end = field("end");
  if (!end.is_ok()) return end.status();
  Sha256 recorded{};
  if (!parse_hash(*end, recorded)) return bad("bad digest");
  const std::size_t body_bytes = static_cast<std::size_t>(end->data() - text.data()) - 4;
  if (sha256(text.substr(0, body_bytes)) != recorded) {
    return bad("manifest digest mismatch (the manifest changed)");
  }
  if (at + 1 != lines.size()) {
    ++at;
    return bad("text after the end line");
  }
  return m;
}

// ---------------------------------------------------------------- files

std::string default_snapshot_dir(const std::string& store_directory) {
  std::string dir = store_directory;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".snapshots";
}

std::string snapshot_name(ledger::Sequence seq) {
  return fmt::format("{}{:020}", snapshot_name_prefix, seq);
}

Result<SnapshotFile> hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("open " + path);
  SnapshotFile file;
  file.name = fs::path(path).filename().string();
  Sha256Hasher hasher;
  std::string chunk(hash_chunk_bytes, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    hasher.update(std::string_view(chunk.data(), got));
    file.bytes += got;
  }
  if (in.bad()) return Status::io_error("read " + path);
  file.sha256 = hasher.finish();
  return file;
}

// ---------------------------------------------------------------- operations

Result<SnapshotInfo> create_snapshot(Engine& engine, const std::string& snapshot_dir) {
  const ledger::Sequence seq = engine.head().ledger.next_seq - 1;
  SnapshotInfo info;
  info.name = snapshot_name(seq);
  info.path = (fs::path(snapshot_dir) / info.name).string();
  std::error_code error;
  if (fs::exists(info.path, error)) {
    return Status::invalid_argument(fmt::format("a snapshot at seq {} exists: {}", seq, info.path));
  }
  fs::create_directories(snapshot_dir, error);
  LF_RETURN_IF_ERROR(io(error, "create " + snapshot_dir));
  const fs::path partial =
      fs::path(snapshot_dir) / (std::string(snapshot_partial_prefix) + info.name);
  fs::remove_all(partial, error);  // Left by an interrupted creation.
  LF_RETURN_IF_ERROR(io(error, "remove " + partial.string()));
  fs::create_directories(partial, error);
  LF_RETURN_IF_ERROR(io(error, "create " + partial.string()));

  LF_RETURN_IF_ERROR(engine.checkpoint((partial / snapshot_store_dir).string()));
  SnapshotManifest& m = info.manifest;
  m.seq = seq;
  m.chain_head = engine.head().chain_head;
  m.logical_time_ms = engine.head().ledger.logical_time_ms;
  // The digest is computed from the checkpoint's own files, not from the
  // engine: the snapshot is verified once, here, before it can be listed.
  Result<Sha256> digest = checkpoint_digest(partial / snapshot_store_dir, engine.head());
  if (!digest.is_ok()) return digest.status();
  m.state_digest = *digest;
  Result<std::vector<KafkaOffset>> offsets = read_offsets(engine);
  if (!offsets.is_ok()) return offsets.status();
  m.offsets = std::move(offsets).value();
  Result<std::vector<SnapshotFile>> files = hash_store_files(partial / snapshot_store_dir);
  if (!files.is_ok()) return files.status();
  m.files = std::move(files).value();
  LF_ASSERT(!m.files.empty());  // A checkpoint has CURRENT and a MANIFEST at least.

  const std::string text = encode_manifest(m);
  {
    std::ofstream out(partial / snapshot_manifest_file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) return Status::io_error("write the manifest in " + partial.string());
  }
  LF_RETURN_IF_ERROR(fsync_tree(partial / snapshot_store_dir));
  LF_RETURN_IF_ERROR(fsync_tree(partial));
  fs::rename(partial, info.path, error);
  LF_RETURN_IF_ERROR(io(error, "rename " + partial.string()));
  LF_RETURN_IF_ERROR(fsync_path(snapshot_dir, true));
  return info;
}

Result<SnapshotListing> list_snapshots(const std::string& snapshot_dir) {
  SnapshotListing listing;
  std::error_code error;
  if (!fs::exists(snapshot_dir, error)) return listing;
  std::vector<std::pair<ledger::Sequence, std::string>> complete;
  for (const auto& entry : fs::directory_iterator(snapshot_dir, error)) {
    const std::string name = entry.path().filename().string();
    ledger::Sequence seq = 0;
    if (name.substr(0, snapshot_partial_prefix.size()) == snapshot_partial_prefix) {
      listing.partial.push_back(name);
    } else if (parse_snapshot_name(name, snapshot_name_prefix, seq) && entry.is_directory()) {
      complete.emplace_back(seq, name);
    }
  }
  LF_RETURN_IF_ERROR(io(error, "list " + snapshot_dir));
  std::sort(complete.begin(), complete.end());
  std::sort(listing.partial.begin(), listing.partial.end());
  for (const auto& [seq, name] : complete) {
    SnapshotInfo info;
    info.name = name;
    info.path = (fs::path(snapshot_dir) / name).string();
    Result<std::string> text =
        read_small_file(fs::path(info.path) / snapshot_manifest_file, snapshot_manifest_bytes_max);
    if (!text.is_ok()) {
      listing.unreadable.emplace_back(name, text.status().to_string());
      continue;
    }
    Result<SnapshotManifest> manifest = parse_manifest(*text);
    if (!manifest.is_ok()) {
      listing.unreadable.emplace_back(name, manifest.status().message());
      continue;
    }
    if (manifest->seq != seq) {
      listing.unreadable.emplace_back(name, fmt::format("manifest says seq {}", manifest->seq));
      continue;
    }
    info.manifest = std::move(manifest).value();
    listing.snapshots.push_back(std::move(info));
  }
  return listing;
}

Result<SnapshotCheck> verify_snapshot(const SnapshotInfo& snapshot, SnapshotCheckDepth depth) {
  SnapshotCheck check;
  LF_RETURN_IF_ERROR(check_files(snapshot, check, depth == SnapshotCheckDepth::full));
  if (!check.ok) return check;
  LF_RETURN_IF_ERROR(check_store(snapshot, depth, check));
  return check;
}

Status restore_snapshot(const SnapshotInfo& snapshot, const std::string& store_directory,
                        bool replace) {
  std::error_code error;
  const fs::path target(store_directory);
  const bool exists = fs::exists(target, error);
  if (exists && !replace) {
    return Status::invalid_argument(store_directory + " exists; pass --force to move it aside to " +
                                    store_directory + ".replaced and restore");
  }
  const fs::path restoring = store_directory + ".restoring";
  fs::remove_all(restoring, error);  // Left by an interrupted restore.
  LF_RETURN_IF_ERROR(io(error, "remove " + restoring.string()));
  LF_RETURN_IF_ERROR(copy_store(fs::path(snapshot.path) / snapshot_store_dir, restoring));
  if (exists) {
    const fs::path aside = store_directory + ".replaced";
    fs::remove_all(aside, error);
    LF_RETURN_IF_ERROR(io(error, "remove " + aside.string()));
    fs::rename(target, aside, error);
    LF_RETURN_IF_ERROR(io(error, "move " + store_directory + " aside"));
  }
  fs::rename(restoring, target, error);
  LF_RETURN_IF_ERROR(io(error, "rename " + restoring.string()));
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  return fsync_path(parent, true);
}

Result<PruneReport> prune_snapshots(const std::string& snapshot_dir, std::size_t keep) {
  LF_ASSERT(keep >= 1);
  Result<SnapshotListing> listing = list_snapshots(snapshot_dir);
  if (!listing.is_ok()) return listing.status();
  PruneReport report;
  std::error_code error;
  for (const std::string& name : listing->partial) {
    fs::remove_all(fs::path(snapshot_dir) / name, error);
    LF_RETURN_IF_ERROR(io(error, "remove " + name));
    report.removed.push_back(name);
  }
  const std::size_t count = listing->snapshots.size();
  for (std::size_t i = 0; i + keep < count; ++i) {
    const SnapshotInfo& old = listing->snapshots[i];
    // Rename first, so a crash midway leaves a partial entry, never a
    // half-deleted snapshot under a complete name.
    const fs::path doomed =
        fs::path(snapshot_dir) / (std::string(snapshot_partial_prefix) + old.name);
    fs::rename(old.path, doomed, error);
    LF_RETURN_IF_ERROR(io(error, "rename " + old.path));
    fs::remove_all(doomed, error);
    LF_RETURN_IF_ERROR(io(error, "remove " + doomed.string()));
    report.removed.push_back(old.name);
  }
  report.kept = std::min(count, keep);
  if (!report.removed.empty()) LF_RETURN_IF_ERROR(fsync_path(snapshot_dir, true));
  return report;
}

Result<std::optional<SnapshotInfo>> AutoSnapshot::maybe_snapshot(Engine& engine) {
  LF_ASSERT(policy_.every_events >= 1);
  if (!newest_) {
    Result<SnapshotListing> listing = list_snapshots(policy_.directory);
    if (!listing.is_ok()) return listing.status();
    newest_ = listing->snapshots.empty() ? 0 : listing->snapshots.back().manifest.seq;
  }
  const ledger::Sequence seq = engine.head().ledger.next_seq - 1;
  if (seq < *newest_ + policy_.every_events) return std::optional<SnapshotInfo>();
  Result<SnapshotInfo> info = create_snapshot(engine, policy_.directory);
  if (!info.is_ok()) return info.status();
  newest_ = seq;
  Result<PruneReport> pruned = prune_snapshots(policy_.directory, policy_.keep);
  if (!pruned.is_ok()) return pruned.status();
  return std::optional<SnapshotInfo>(std::move(info).value());
}

}  // namespace lf::engine
