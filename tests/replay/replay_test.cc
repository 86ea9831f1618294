// Replay: projection rebuild into a fresh store, re-execution of the logged
// commands (from zero and from a snapshot), log export and the offline
// rebuild from an exported file, with corruption found and located.
#include "engine/replay.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "engine/keys.h"
#include "engine/log_file.h"
#include "engine/records.h"
#include "engine/snapshot.h"
#include "tests/replay/replay_fixtures.h"
#include "tests/support/commands.h"

namespace lf::test {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<engine::Engine> workload_store(const TempDir& dir, std::size_t count = 3000) {
  auto engine = open_engine(dir.path());
  apply_all(*engine, generate_workload(default_seed + 3, count), 250);
  return engine;
}

engine::RebuildReport rebuild(engine::Engine& source, const std::string& into) {
  auto report = engine::rebuild_projections(source, into);
  INFO(report.status().to_string());
  REQUIRE(report.is_ok());
  return std::move(report).value();
}

engine::ReexecuteReport reexecute_ok(engine::Engine& source, const std::string& scratch,
                                     const engine::SnapshotInfo* snapshot = nullptr,
                                     std::size_t batch = 4096) {
  auto report = engine::reexecute(source, scratch, snapshot, batch);
  INFO(report.status().to_string());
  REQUIRE(report.is_ok());
  return std::move(report).value();
}

// Replaces event `seq` with a forged, correctly sealed one (amounts changed).
void forge_event(engine::Engine& engine, ledger::Sequence seq) {
  auto first = engine.debug_block_of(seq);
  REQUIRE(first.is_ok());
  auto entries = engine.debug_read_block(*first);
  REQUIRE(entries.is_ok());
  std::string& entry = (*entries)[seq - *first];
  auto opened = codec::open_event(entry);
  REQUIRE(opened.is_ok());
  ledger::Event forged = opened->event;
  forged.timestamp_ms += 1;
  codec::EventEncoder encoder;
  const std::string bytes(encoder.encode(forged, opened->prev_hash));
  entry = encoder.seal(bytes, sha256(bytes));
  REQUIRE(engine.debug_write_block(*first, *entries).is_ok());
}

TEST_CASE("a projection rebuild from the log alone has the live store's digest") {
  TempDir dir;
  auto live = workload_store(dir);
  const auto report = rebuild(*live, dir.path("rebuilt"));
  CHECK(report.ok);
  CHECK(report.events == live->head().ledger.next_seq - 1);
  CHECK(report.rebuilt_digest == report.source_digest);
  CHECK(report.chain_head == live->head().chain_head);
  CHECK_FALSE(fs::exists(dir.path("rebuilt") + ".partial"));
  auto rebuilt = open_engine(dir.path("rebuilt"));
  CHECK(rebuilt->head() == live->head());
  CHECK(raw_events(*rebuilt) == raw_events(*live));
  const auto verified = verify_store(*rebuilt);
  CHECK(verified.ok);
  CHECK(verified.state_digest == store_digest_of(*live));
  // The history index was rebuilt too.
  auto page = rebuilt->history("bank:USD", 5);
  REQUIRE(page.is_ok());
  CHECK(page->indexed_through == live->head().ledger.next_seq - 1);
}

// Commands consumed from Kafka: offsets 0.. of partition 3 of "cmds".
std::vector<ledger::Command> from_kafka(std::vector<ledger::Command> commands) {
  for (std::size_t i = 0; i < commands.size(); ++i) {
    commands[i].source = ledger::SourcePosition{"cmds", 3, static_cast<std::int64_t>(i)};
  }
  return commands;
}

TEST_CASE("a rebuilt store carries the stored Kafka offsets and consumer state over") {
  TempDir dir;
  auto live = open_engine(dir.path());
  const auto commands = from_kafka({cmd("o1", open_account("a")), cmd("o2", open_account("b")),
                                    cmd("t1", transfer("a", "b", 10))});
  // Offsets 3 and 4 were poison: dead-lettered, no event; the consumer
  // stored 5 as the next offset, with its own dead-letter entries.
  const std::vector<engine::MetaPut> meta = {
      {engine::offset_meta_key("cmds", 3), engine::u64be_value(5)},
      {"dlq/x", "poison at 3"},
      {"dlq/y", "poison at 4"}};
  REQUIRE(live->apply(commands, meta).is_ok());
  const auto report = rebuild(*live, dir.path("rebuilt"));
  REQUIRE(report.ok);
  auto rebuilt = open_engine(dir.path("rebuilt"));
  auto offset = rebuilt->meta(engine::offset_meta_key("cmds", 3));
  REQUIRE(offset.is_ok());
  REQUIRE(offset->has_value());
  CHECK(engine::get_u64be(**offset) == 5);  // Not 3, which is all the log tells.
  auto dead = rebuilt->meta("dlq/y");
  REQUIRE(dead.is_ok());
  CHECK(*dead == std::optional<std::string>("poison at 4"));
}

TEST_CASE("a rebuild refuses a store whose stored offset is behind its log") {
  TempDir dir;
  auto live = open_engine(dir.path());
  const auto commands = from_kafka({cmd("o1", open_account("a")), cmd("o2", open_account("b"))});
  const std::vector<engine::MetaPut> meta = {
      {engine::offset_meta_key("cmds", 3), engine::u64be_value(1)}};  // Should be 2.
  REQUIRE(live->apply(commands, meta).is_ok());
  const auto report = rebuild(*live, dir.path("rebuilt"));
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.problem, Catch::Contains("stored Kafka offset of cmds/3 is 1") &&
                                 Catch::Contains("from offset 1"));
  CHECK_FALSE(fs::exists(dir.path("rebuilt")));
}

TEST_CASE("a rebuild refuses an existing target and reports a diverged live store") {
  TempDir dir;
  auto live = open_engine(dir.path());
  apply_all(*live, {cmd("o1", open_account("a")), cmd("o2", open_account("b")),
                    cmd("t1", transfer("a", "b", 10))});
  fs::create_directories(dir.path("exists"));
  CHECK_FALSE(engine::rebuild_projections(*live, dir.path("exists")).is_ok());
  // A projection edited behind the engine's back: the log wins.
  auto account = live->account("b");
  REQUIRE(account.is_ok());
  ledger::Account changed = **account;
  changed.balances.credits_posted = 11;
  REQUIRE(live->debug_put_account_raw("b", engine::encode_account(changed)).is_ok());
  // And an account no event ever opened.
  ledger::Account ghost = changed;
  ghost.id = "ghost";
  REQUIRE(live->debug_put_account_raw("ghost", engine::encode_account(ghost)).is_ok());
  const auto report = rebuild(*live, dir.path("rebuilt"));
  CHECK_FALSE(report.ok);
  CHECK(report.rebuilt_digest != report.source_digest);
  CHECK_THAT(report.problem, Catch::Contains("differ from the log's"));
  // The rebuilt store keeps the source's log files but none of its
  // projections: it holds the log's balance, no ghost, and verifies.
  auto rebuilt = open_engine(dir.path("rebuilt"));
  auto rebuilt_b = rebuilt->account("b");
  REQUIRE(rebuilt_b.is_ok());
  REQUIRE(rebuilt_b->has_value());
  CHECK((*rebuilt_b)->balances.credits_posted == 10);
  auto rebuilt_ghost = rebuilt->account("ghost");
  REQUIRE(rebuilt_ghost.is_ok());
  CHECK_FALSE(rebuilt_ghost->has_value());
  CHECK(verify_store(*rebuilt).ok);
  CHECK(raw_events(*rebuilt) == raw_events(*live));
}

TEST_CASE("a rebuild from a read-only source that a writer moves on meanwhile is refused") {
  TempDir dir;
  auto writer = workload_store(dir, 600);
  engine::EngineOptions read_only;
  read_only.read_only = true;
  read_only.create_if_missing = false;
  auto reader = open_engine(dir.path(), read_only);
  // Written after the read-only open: the reader does not see these events,
  // but a checkpoint of the directory copies the WAL that holds them.
  apply_all(*writer, generate_workload(default_seed + 5, 300), 100);
  REQUIRE(writer->head().ledger.next_seq > reader->head().ledger.next_seq);
  const auto report = rebuild(*reader, dir.path("rebuilt"));
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.problem, Catch::Contains("changed during the rebuild"));
  CHECK_FALSE(fs::exists(dir.path("rebuilt")));
  CHECK_FALSE(fs::exists(dir.path("rebuilt") + ".partial"));
}

TEST_CASE("a rebuild stops at the first event that does not verify") {
  TempDir dir;
  auto live = workload_store(dir, 500);
  forge_event(*live, 40);
  const auto report = rebuild(*live, dir.path("rebuilt"));
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 41);  // The forged event's successor no longer chains.
  CHECK_THAT(report.problem, Catch::Contains("chain broken"));
  CHECK_FALSE(fs::exists(dir.path("rebuilt")));
  CHECK_FALSE(fs::exists(dir.path("rebuilt") + ".partial"));
}

TEST_CASE("a flipped byte in a stored event stops rebuild, re-execution and export at its seq") {
  TempDir dir;
  auto live = workload_store(dir, 300);
  auto first = live->debug_block_of(77);
  REQUIRE(first.is_ok());
  auto entries = live->debug_read_block(*first);
  REQUIRE(entries.is_ok());
  std::string& entry = (*entries)[77 - *first];
  entry[entry.size() / 2] = static_cast<char>(entry[entry.size() / 2] ^ 0x01);
  REQUIRE(live->debug_write_block(*first, *entries).is_ok());

  const auto rebuilt = rebuild(*live, dir.path("rebuilt"));
  CHECK_FALSE(rebuilt.ok);
  REQUIRE(rebuilt.bad_seq.has_value());
  CHECK(*rebuilt.bad_seq == 77);
  const auto reexecuted = reexecute_ok(*live, dir.path("scratch"));
  CHECK_FALSE(reexecuted.ok);
  REQUIRE(reexecuted.bad_seq.has_value());
  CHECK(*reexecuted.bad_seq == 77);
  auto exported = engine::export_log(*live, dir.path("log.lflog"), 1, 0, "s");
  REQUIRE_FALSE(exported.is_ok());
  CHECK(exported.status().code() == Status::Code::corruption);
  CHECK_THAT(exported.status().message(), Catch::Contains("event 77"));
  CHECK_FALSE(fs::exists(dir.path("log.lflog")));
  CHECK_FALSE(fs::exists(dir.path("log.lflog") + ".partial"));
}

TEST_CASE("a rebuild derives the Kafka offsets the store did not record from the logged commands") {
  TempDir dir;
  auto live = open_engine(dir.path());
  std::vector<ledger::Command> commands{cmd("o1", open_account("a")), cmd("o2", open_account("b"))};
  commands[0].source = {"commands", 2, 10};
  commands[1].source = {"commands", 2, 11};
  apply_all(*live, commands);
  rebuild(*live, dir.path("rebuilt"));
  auto rebuilt = open_engine(dir.path("rebuilt"));
  auto offset = rebuilt->meta(engine::offset_meta_key("commands", 2));
  REQUIRE(offset.is_ok());
  REQUIRE(offset->has_value());
  CHECK(engine::get_u64be(**offset) == 12);
}

TEST_CASE("re-execution of the logged commands reproduces the log byte for byte") {
  TempDir dir;
  auto live = workload_store(dir);
  for (std::size_t batch : {std::size_t{4096}, std::size_t{1}, std::size_t{97}}) {
    INFO("batch " << batch);
    const auto report = reexecute_ok(*live, dir.path("scratch"), nullptr, batch);
    CHECK(report.ok);
    CHECK(report.from_seq == 1);
    CHECK(report.events == live->head().ledger.next_seq - 1);
    CHECK(report.chain_head == live->head().chain_head);
    CHECK_FALSE(fs::exists(dir.path("scratch")));
  }
}

TEST_CASE("re-execution from a snapshot covers the events after it") {
  TempDir dir;
  auto live = open_engine(dir.path());
  const auto commands = generate_workload(default_seed + 4, 3000);
  apply_all(*live, std::vector(commands.begin(), commands.begin() + 1500), 300);
  auto snapshot = engine::create_snapshot(*live, dir.path("snaps"));
  REQUIRE(snapshot.is_ok());
  apply_all(*live, std::vector(commands.begin() + 1500, commands.end()), 300);
  const auto report = reexecute_ok(*live, dir.path("scratch"), &*snapshot);
  CHECK(report.ok);
  CHECK(report.from_seq == snapshot->manifest.seq + 1);
  CHECK(report.events == live->head().ledger.next_seq - 1 - snapshot->manifest.seq);
}

TEST_CASE("re-execution reports the first seq whose logged event was not what the rules give") {
  TempDir dir;
  auto live = workload_store(dir, 500);
  forge_event(*live, 123);
  const auto report = reexecute_ok(*live, dir.path("scratch"));
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 123);
  CHECK_THAT(report.problem, Catch::Contains("event 123 differs"));
}

TEST_CASE("re-execution refuses a snapshot of another log") {
  TempDir dir;
  auto other = open_engine(dir.path("other"));
  apply_all(*other, {cmd("x", open_account("x"))});
  auto snapshot = engine::create_snapshot(*other, dir.path("snaps"));
  REQUIRE(snapshot.is_ok());
  auto live = open_engine(dir.path());
  apply_all(*live, {cmd("y", open_account("y")), cmd("z", open_account("z"))});
  const auto report = reexecute_ok(*live, dir.path("scratch"), &*snapshot);
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.problem, Catch::Contains("not a prefix"));
}

// ---------------------------------------------------------------- exported files

engine::LogFileReport read_report(const std::string& bytes) {
  std::istringstream in(bytes);
  auto report = engine::read_log_file(in, {});
  REQUIRE(report.is_ok());
  return std::move(report).value();
}

TEST_CASE("an exported log replays offline to the live store's digest") {
  TempDir dir;
  auto live = workload_store(dir);
  const std::string file = dir.path("log.lflog");
  auto exported = engine::export_log(*live, file, 1, 0, "shard-7");
  REQUIRE(exported.is_ok());
  CHECK(exported->last_seq == live->head().ledger.next_seq - 1);
  CHECK_FALSE(fs::exists(file + ".partial"));
  auto replayed = engine::replay_log_file(file, dir.path("from-file"));
  REQUIRE(replayed.is_ok());
  CHECK(replayed->file.ok);
  CHECK(replayed->file.header.shard == "shard-7");
  CHECK(replayed->rebuilt);
  CHECK(replayed->state_digest == store_digest_of(*live));
  auto rebuilt = open_engine(dir.path("from-file"));
  CHECK(verify_store(*rebuilt).ok);
  CHECK(raw_events(*rebuilt) == raw_events(*live));
}

TEST_CASE("a partial export verifies on its own and chains to the events before it") {
  TempDir dir;
  auto live = workload_store(dir, 500);
  const std::string file = dir.path("part.lflog");
  REQUIRE(engine::export_log(*live, file, 100, 200, "s").is_ok());
  const auto report = read_report(read_file(file));
  CHECK(report.ok);
  CHECK(report.count == 101);
  CHECK(report.header.first_seq == 100);
  auto replayed = engine::replay_log_file(file, "");
  REQUIRE(replayed.is_ok());
  CHECK(replayed->file.ok);
  CHECK_FALSE(replayed->rebuilt);
  // An empty range is a valid file too.
  REQUIRE(engine::export_log(*live, dir.path("empty.lflog"), 50, 49, "s").is_ok());
  CHECK(read_report(read_file(dir.path("empty.lflog"))).ok);
  CHECK_FALSE(engine::export_log(*live, dir.path("bad.lflog"), 0, 10, "s").is_ok());
  CHECK_FALSE(engine::export_log(*live, dir.path("bad.lflog"), 10, 100000, "s").is_ok());
}

TEST_CASE("every flipped byte of an exported file is found and located") {
  TempDir dir;
  auto live = open_engine(dir.path());
  apply_all(*live, {cmd("o1", open_account("a")), cmd("o2", open_account("b")),
                    cmd("t1", transfer("a", "b", 10)), cmd("t2", transfer("b", "a", 5))});
  const std::string file = dir.path("log.lflog");
  REQUIRE(engine::export_log(*live, file, 1, 0, "s").is_ok());
  const std::string bytes = read_file(file);
  REQUIRE(read_report(bytes).ok);
  // Where each record starts, from the framing.
  std::vector<std::size_t> starts;
  std::size_t at = engine::log_file_header_fixed_bytes + 1;  // Shard label "s".
  for (int i = 0; i < 4; ++i) {
    starts.push_back(at);
    at += 4 + engine::get_u32be(std::string_view(bytes).substr(at)) + 32;
  }
  REQUIRE(at + engine::log_file_trailer_bytes == bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    const auto report = read_report(bad);
    INFO("byte " << i << ": " << report.problem);
    REQUIRE_FALSE(report.ok);
    if (i < starts[0]) {
      CHECK_FALSE(report.record.has_value());
      CHECK_THAT(report.problem, Catch::StartsWith("header"));
    } else if (i >= at) {
      CHECK_THAT(report.problem, Catch::StartsWith("trailer"));
    } else {
      // The record holding the byte, or (for a length that now overreaches)
      // the same record's framing.
      std::size_t record = 0;
      while (record + 1 < starts.size() && starts[record + 1] <= i) ++record;
      REQUIRE(report.record.has_value());
      CHECK(*report.record == record);
      CHECK(report.byte_offset == starts[record]);
    }
  }
}

TEST_CASE("a truncated or extended exported file is refused") {
  TempDir dir;
  auto live = workload_store(dir, 200);
  const std::string file = dir.path("log.lflog");
  REQUIRE(engine::export_log(*live, file, 1, 0, "s").is_ok());
  const std::string bytes = read_file(file);
  for (std::size_t cut : {std::size_t{0}, std::size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    INFO("cut at " << cut);
    CHECK_FALSE(read_report(bytes.substr(0, cut)).ok);
  }
  CHECK_FALSE(read_report(bytes + "x").ok);
  CHECK(read_report("not a log file at all").not_a_log_file);
}

}  // namespace
}  // namespace lf::test
