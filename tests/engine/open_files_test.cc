// EngineOptions::open_files_max: a store whose log is spread over many more
// table files than the cap (the log's files are never merged) keeps at most
// the cap open, and still reads, verifies and reopens correctly.
#include <catch2/catch.hpp>
#include <filesystem>
#include <iterator>

#include "engine/verify.h"
#include "tests/engine/fixtures.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

namespace fs = std::filesystem;

std::size_t open_descriptors() {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

std::size_t table_files(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += entry.path().extension() == ".sst";
  return n;
}

TEST_CASE("a store keeps at most open_files_max table files open") {
  TempDir dir;
  engine::EngineOptions options;
  options.sync_commits = false;
  options.block_cache_bytes = 1u << 20;
  options.write_buffer_bytes = 64u << 10;  // Many small files.
  options.open_files_max = 20;             // RocksDB's floor: 10 table files.
  // The fds RocksDB holds besides table files: WAL, MANIFEST, LOCK, info
  // log, directories. The cap itself counts 10 of them.
  constexpr std::size_t other_descriptors_max = 10;
  const std::size_t before = open_descriptors();
  const auto commands = generate_workload(default_seed + 11, 20000);
  ledger::Sequence events = 0;
  {
    auto engine = engine::Engine::open(dir.path(), options);
    REQUIRE(engine.is_ok());
    apply_all(**engine, commands, 200);
    REQUIRE((*engine)->flush().is_ok());
    events = (*engine)->head().ledger.next_seq - 1;
  }
  const std::size_t tables = table_files(dir.path());
  INFO(tables << " table files");
  const std::size_t bound =
      static_cast<std::size_t>(options.open_files_max) + other_descriptors_max;
  REQUIRE(tables > bound);  // Else the cap is not what keeps the count down.

  auto engine = engine::Engine::open(dir.path(), options);
  REQUIRE(engine.is_ok());
  // Every event and every projection read back, through a cache of 10 files.
  CHECK(raw_events(**engine).size() == events);
  CHECK(verify_store(**engine).ok);
  CHECK(open_descriptors() <= before + bound);
  engine->reset();

  // The same store opened without the cap reads the same.
  options.open_files_max = -1;
  auto uncapped = engine::Engine::open(dir.path(), options);
  REQUIRE(uncapped.is_ok());
  CHECK(verify_store(**uncapped).ok);
  CHECK(open_descriptors() > before + bound);
}

}  // namespace
}  // namespace lf::test
