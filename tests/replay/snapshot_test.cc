// Snapshots: create, list, verify, restore, prune, automatic snapshots, the
// manifest grammar, interrupted creation and corruption of a snapshot's files.
#include "engine/snapshot.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/keys.h"
#include "tests/replay/replay_fixtures.h"
#include "tests/support/commands.h"

namespace lf::test {
namespace {

namespace fs = std::filesystem;

engine::SnapshotInfo create(engine::Engine& engine, const std::string& dir) {
  auto info = engine::create_snapshot(engine, dir);
  INFO(info.status().to_string());
  REQUIRE(info.is_ok());
  return std::move(info).value();
}

engine::SnapshotListing list(const std::string& dir) {
  auto listing = engine::list_snapshots(dir);
  REQUIRE(listing.is_ok());
  return std::move(listing).value();
}

engine::SnapshotCheck check(const engine::SnapshotInfo& snapshot,
                            engine::SnapshotCheckDepth depth = engine::SnapshotCheckDepth::full) {
  auto result = engine::verify_snapshot(snapshot, depth);
  INFO(result.status().to_string());
  REQUIRE(result.is_ok());
  return *result;
}

TEST_CASE("a snapshot records where the store stands and restores to the same digest") {
  TempDir dir;
  const std::string snapdir = dir.path("snaps");
  auto engine = open_engine(dir.path());
  auto commands = generate_workload(default_seed, 2000);
  // An offset written with a batch, as the Kafka consumer does.
  std::vector<engine::MetaPut> meta;
  std::string value;
  engine::put_u64be(value, 42);
  meta.push_back({engine::offset_meta_key("commands", 3), value});
  REQUIRE(engine->apply(std::span(commands).subspan(0, 100), meta).is_ok());
  apply_all(*engine, std::vector(commands.begin() + 100, commands.end()), 300);
  const Sha256 live = store_digest_of(*engine);
  const engine::Head head = engine->head();

  const auto info = create(*engine, snapdir);
  CHECK(info.name == engine::snapshot_name(head.ledger.next_seq - 1));
  CHECK(info.manifest.seq == head.ledger.next_seq - 1);
  CHECK(info.manifest.chain_head == head.chain_head);
  CHECK(info.manifest.state_digest == live);
  CHECK(info.manifest.logical_time_ms == head.ledger.logical_time_ms);
  REQUIRE(info.manifest.offsets.size() == 1);
  CHECK(info.manifest.offsets[0] == engine::KafkaOffset{"commands", 3, 42});

  const auto listing = list(snapdir);
  REQUIRE(listing.snapshots.size() == 1);
  CHECK(listing.snapshots[0].manifest == info.manifest);
  CHECK(check(info).ok);

  // The live store moves on; the restored one is the snapshot's.
  apply_all(*engine, {cmd("late", open_account("late:account"))});
  const std::string restored_dir = dir.path("restored");
  REQUIRE(engine::restore_snapshot(info, restored_dir, false).is_ok());
  auto restored = open_engine(restored_dir);
  CHECK(restored->head() == head);
  CHECK(store_digest_of(*restored) == live);
  CHECK(verify_store(*restored).ok);
  // A restored store is a working store.
  apply_all(*restored, {cmd("late", open_account("late:account"))});
  CHECK(store_digest_of(*restored) == store_digest_of(*engine));
}

TEST_CASE("restore refuses an existing store unless told to replace it") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a"))});
  const auto info = create(*engine, dir.path("snaps"));
  const std::string target = dir.path("target");
  fs::create_directories(target);
  Status refused = engine::restore_snapshot(info, target, false);
  CHECK(refused.code() == Status::Code::invalid_argument);
  CHECK_THAT(refused.message(), Catch::Contains("--force"));
  REQUIRE(engine::restore_snapshot(info, target, true).is_ok());
  CHECK(fs::exists(target + ".replaced"));
  CHECK(open_engine(target)->head() == engine->head());
}

TEST_CASE("a second snapshot at the same seq is refused") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a"))});
  create(*engine, dir.path("snaps"));
  auto again = engine::create_snapshot(*engine, dir.path("snaps"));
  REQUIRE_FALSE(again.is_ok());
  CHECK_THAT(again.status().message(), Catch::Contains("exists"));
}

TEST_CASE("an interrupted creation is ignored by list and removed by prune") {
  TempDir dir;
  const std::string snapdir = dir.path("snaps");
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a"))});
  create(*engine, snapdir);
  // A crash midway leaves the temporary name, maybe half written.
  const fs::path partial = fs::path(snapdir) / ".partial-snap-00000000000000000009";
  fs::create_directories(partial / "store");
  write_file((partial / "manifest").string(), "ledgerflow-snapshot 1\nseq 9\n");
  const auto listing = list(snapdir);
  CHECK(listing.snapshots.size() == 1);
  REQUIRE(listing.partial.size() == 1);
  CHECK(listing.partial[0] == ".partial-snap-00000000000000000009");
  auto pruned = engine::prune_snapshots(snapdir, 3);
  REQUIRE(pruned.is_ok());
  CHECK(pruned->removed == std::vector<std::string>{".partial-snap-00000000000000000009"});
  CHECK_FALSE(fs::exists(partial));
  CHECK(list(snapdir).snapshots.size() == 1);
}

TEST_CASE("prune keeps the newest K snapshots") {
  TempDir dir;
  const std::string snapdir = dir.path("snaps");
  auto engine = open_engine(dir.path());
  for (int i = 0; i < 5; ++i) {
    apply_all(*engine, {cmd("o" + std::to_string(i), open_account("a" + std::to_string(i)))});
    create(*engine, snapdir);
  }
  auto pruned = engine::prune_snapshots(snapdir, 2);
  REQUIRE(pruned.is_ok());
  CHECK(pruned->removed.size() == 3);
  CHECK(pruned->kept == 2);
  const auto listing = list(snapdir);
  REQUIRE(listing.snapshots.size() == 2);
  CHECK(listing.snapshots[0].manifest.seq == 4);
  CHECK(listing.snapshots[1].manifest.seq == 5);
  CHECK(check(listing.snapshots[0]).ok);
}

TEST_CASE("maybe_snapshot snapshots every N events and applies the retention policy") {
  TempDir dir;
  const std::string snapdir = dir.path("snaps");
  auto engine = open_engine(dir.path());
  engine::AutoSnapshot automatic({snapdir, 100, 2});
  const auto commands = generate_workload(default_seed, 1000);
  std::size_t taken = 0;
  for (std::size_t at = 0; at < commands.size(); at += 50) {
    REQUIRE(engine->apply(std::span(commands).subspan(at, 50)).is_ok());
    auto snapshot = automatic.maybe_snapshot(*engine);
    REQUIRE(snapshot.is_ok());
    if (snapshot->has_value()) ++taken;
  }
  CHECK(taken >= 5);
  const auto listing = list(snapdir);
  REQUIRE(listing.snapshots.size() == 2);
  const ledger::Sequence last = engine->head().ledger.next_seq - 1;
  CHECK(listing.snapshots[1].manifest.seq + 100 > last);
  CHECK(listing.snapshots[0].manifest.seq + 100 <= listing.snapshots[1].manifest.seq);
}

TEST_CASE("a flipped byte in a snapshot's files fails its verification, naming the file") {
  TempDir dir;
  const std::string snapdir = dir.path("snaps");
  auto engine = open_engine(dir.path());
  apply_all(*engine, generate_workload(default_seed, 500));
  const auto older = create(*engine, snapdir);
  apply_all(*engine, generate_workload(default_seed + 1, 500));
  const auto newer = create(*engine, snapdir);

  // A file of the newer snapshot that the older one does not share.
  std::string victim;
  for (const engine::SnapshotFile& f : newer.manifest.files) {
    const bool shared =
        std::any_of(older.manifest.files.begin(), older.manifest.files.end(),
                    [&](const engine::SnapshotFile& o) { return o.name == f.name; });
    if (!shared && f.name.ends_with(".sst")) victim = f.name;
  }
  REQUIRE_FALSE(victim.empty());
  const std::string path = (fs::path(newer.path) / "store" / victim).string();
  // Break the hard link first: the live store must stay intact.
  const std::string bytes = read_file(path);
  fs::remove(path);
  write_file(path, bytes);
  flip_byte(path, bytes.size() / 2);

  const auto bad = check(newer);
  CHECK_FALSE(bad.ok);
  CHECK_THAT(bad.problem, Catch::Contains("file " + victim) && Catch::Contains("SHA-256"));
  CHECK(check(older).ok);
  // Recovery's check finds it by the block checksums, without hashing.
  const auto bad_quick = check(newer, engine::SnapshotCheckDepth::recovery);
  CHECK_FALSE(bad_quick.ok);
  CHECK_THAT(bad_quick.problem, Catch::Contains(victim));
  CHECK(check(older, engine::SnapshotCheckDepth::recovery).ok);
  // "restore --latest-good": newest first, the first that verifies.
  const auto listing = list(snapdir);
  REQUIRE(listing.snapshots.size() == 2);
  CHECK_FALSE(check(listing.snapshots[1]).ok);
  CHECK(check(listing.snapshots[0]).ok);
}

TEST_CASE("a snapshot with a missing or extra file fails verification") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a"))});
  const auto info = create(*engine, dir.path("snaps"));
  const fs::path store = fs::path(info.path) / "store";
  CHECK(check(info, engine::SnapshotCheckDepth::recovery).ok);
  write_file((store / "000999.sst").string(), "extra");
  CHECK_THAT(check(info).problem, Catch::Contains("000999.sst is not in the manifest"));
  CHECK_THAT(check(info, engine::SnapshotCheckDepth::recovery).problem,
             Catch::Contains("000999.sst is not in the manifest"));
  fs::remove(store / "000999.sst");
  fs::remove(store / "CURRENT");
  CHECK_THAT(check(info).problem, Catch::Contains("CURRENT is missing"));
}

TEST_CASE("a consistent but wrong manifest fails verification") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a")), cmd("o2", open_account("b"))});
  auto info = create(*engine, dir.path("snaps"));
  info.manifest.state_digest[0] ^= 1;
  CHECK_THAT(check(info).problem, Catch::Contains("state digest"));
  info.manifest.state_digest[0] ^= 1;
  info.manifest.chain_head[0] ^= 1;
  CHECK_THAT(check(info).problem, Catch::Contains("chain head"));
  CHECK_THAT(check(info, engine::SnapshotCheckDepth::recovery).problem,
             Catch::Contains("chain head"));
}

TEST_CASE("the manifest round-trips and any changed byte is refused") {
  engine::SnapshotManifest m;
  m.seq = 1234;
  m.chain_head[3] = 7;
  m.state_digest[31] = 9;
  m.logical_time_ms = 1'700'000'000'000;
  m.offsets = {{"commands", 0, 17}, {"commands", 1, 5}};
  m.files = {{"000001.sst", 100, {}}, {"CURRENT", 16, {}}};
  const std::string text = engine::encode_manifest(m);
  auto parsed = engine::parse_manifest(text);
  REQUIRE(parsed.is_ok());
  CHECK(*parsed == m);
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    INFO("byte " << i);
    CHECK_FALSE(engine::parse_manifest(bad).is_ok());
  }
  CHECK_FALSE(engine::parse_manifest(text.substr(0, text.size() - 1)).is_ok());
  CHECK_FALSE(engine::parse_manifest(text + "x\n").is_ok());
  CHECK_FALSE(engine::parse_manifest("").is_ok());
}

TEST_CASE("offset meta entries parse and bad ones are corruption") {
  std::string value;
  engine::put_u64be(value, 99);
  auto ok = engine::parse_offset_entry(engine::offset_meta_key("t.x", 7), value);
  REQUIRE(ok.is_ok());
  CHECK(*ok == engine::KafkaOffset{"t.x", 7, 99});
  CHECK_FALSE(engine::parse_offset_entry("offset/", value).is_ok());
  CHECK_FALSE(engine::parse_offset_entry(engine::offset_meta_key("t", 1), "short").is_ok());
  CHECK_FALSE(engine::parse_offset_entry(engine::offset_meta_key("bad topic", 1), value).is_ok());
}

}  // namespace
}  // namespace lf::test
