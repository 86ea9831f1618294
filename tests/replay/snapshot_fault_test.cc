// Snapshot creation under storage faults, injected through a RocksDB
// FileSystem wrapper (EngineOptions::env): when the checkpoint cannot write
// or link its files, create_snapshot returns the I/O error, lists nothing,
// leaves the store serving and verifiable, and succeeds once the fault
// clears; the interrupted attempt is listed as partial and pruned.
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "engine/snapshot.h"
#include "tests/replay/replay_fixtures.h"
#include "tests/support/commands.h"

namespace lf::test {
namespace {

// Fails every file created or linked inside a snapshot being made (its
// directory starts with snapshot_partial_prefix) while `fail` is set. The
// store's own files are untouched.
class SnapshotWriteFaults : public rocksdb::FileSystemWrapper {
 public:
  explicit SnapshotWriteFaults(std::atomic<bool>& fail)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), fail_(fail) {}
  const char* Name() const override { return "SnapshotWriteFaults"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    if (in_snapshot(name)) return rocksdb::IOStatus::IOError("injected: create " + name);
    return target()->NewWritableFile(name, options, file, dbg);
  }
  rocksdb::IOStatus LinkFile(const std::string& source, const std::string& target_name,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    if (in_snapshot(target_name)) return rocksdb::IOStatus::IOError("injected: link " + source);
    return target()->LinkFile(source, target_name, options, dbg);
  }

 private:
  bool in_snapshot(const std::string& name) const {
    return fail_ && name.find(engine::snapshot_partial_prefix) != std::string::npos;
  }
  std::atomic<bool>& fail_;
};

TEST_CASE("storage faults: a snapshot that cannot be written fails cleanly and the store goes on") {
  TempDir dir;
  const std::string snapdir = dir.path("snaps");
  std::atomic<bool> fail{false};
  std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<SnapshotWriteFaults>(fail));
  engine::EngineOptions options;
  options.env = env.get();
  auto engine = open_engine(dir.path("store"), options);
  const auto commands = generate_workload(default_seed + 21, 2000);
  apply_all(*engine, std::vector(commands.begin(), commands.begin() + 1000), 250);

  fail = true;
  auto failed = engine::create_snapshot(*engine, snapdir);
  REQUIRE_FALSE(failed.is_ok());
  CHECK(failed.status().code() == Status::Code::io_error);
  CHECK_THAT(failed.status().message(), Catch::Contains("injected"));
  auto listing = engine::list_snapshots(snapdir);
  REQUIRE(listing.is_ok());
  CHECK(listing->snapshots.empty());  // Nothing half-made is ever listed as a snapshot.
  CHECK(listing->partial.size() == 1);

  // The store is unharmed and keeps serving while the fault lasts.
  apply_all(*engine, std::vector(commands.begin() + 1000, commands.end()), 250);
  CHECK(verify_store(*engine).ok);

  // Once the fault clears, the same call succeeds and the snapshot verifies.
  fail = false;
  const Sha256 live = store_digest_of(*engine);
  auto made = engine::create_snapshot(*engine, snapdir);
  INFO(made.status().to_string());
  REQUIRE(made.is_ok());
  CHECK(made->manifest.state_digest == live);
  auto check = engine::verify_snapshot(*made);
  REQUIRE(check.is_ok());
  CHECK(check->ok);
  // Retention removes the interrupted attempt and keeps the good one.
  auto pruned = engine::prune_snapshots(snapdir, 1);
  REQUIRE(pruned.is_ok());
  CHECK(pruned->removed.size() == 1);
  listing = engine::list_snapshots(snapdir);
  REQUIRE(listing.is_ok());
  CHECK(listing->partial.empty());
  REQUIRE(listing->snapshots.size() == 1);
  CHECK(listing->snapshots[0].manifest == made->manifest);
}

}  // namespace
}  // namespace lf::test
