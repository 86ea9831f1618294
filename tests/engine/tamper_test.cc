// verify catches tampering with the stored log and projections and names the
// sequence number concerned.
#include <catch2/catch.hpp>

#include "engine/records.h"
#include "schemas/codec.h"
#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"

namespace lf::test {
namespace {

// 1 open x2 + 8 transfers, all in one batch: one event block, seqs 1..10.
std::unique_ptr<engine::Engine> ledger_of_ten(const TempDir& dir) {
  auto engine = open_engine(dir.path());
  std::vector<ledger::Command> commands{cmd("o1", open_account("a")), cmd("o2", open_account("b"))};
  for (int i = 0; i < 8; ++i) {
    commands.push_back(cmd("t" + std::to_string(i), transfer("a", "b", 10 + i)));
  }
  apply_all(*engine, commands);
  REQUIRE(verify_store(*engine).ok);
  return engine;
}

void edit_block(engine::Engine& engine,
                const std::function<void(std::vector<std::string>&)>& edit) {
  auto first = engine.debug_block_of(1);
  REQUIRE(first.is_ok());
  auto entries = engine.debug_read_block(*first);
  REQUIRE(entries.is_ok());
  edit(*entries);
  REQUIRE(engine.debug_write_block(*first, *entries).is_ok());
}

TEST_CASE("verify passes an untouched store") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  const auto report = verify_store(*engine);
  CHECK(report.ok);
  CHECK(report.events_checked == 10);
  CHECK(report.chain_head == engine->head().chain_head);
}

TEST_CASE("a changed byte in a stored event is caught at its sequence number") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  edit_block(*engine, [](auto& entries) { entries[5].back() ^= 0x01; });  // seq 6
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 6);
}

TEST_CASE("a re-sealed forged event is caught by the chain") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  // Forge seq 4 (a transfer of 10) into 1,000,000 and seal it with a correct
  // hash of its own: its successor no longer points at it.
  edit_block(*engine, [](auto& entries) {
    auto opened = codec::open_event(entries[3]);
    REQUIRE(opened.is_ok());
    ledger::Event forged = opened->event;
    for (auto& p : forged.postings) p.amount = 1'000'000;
    std::get<ledger::TransferPosted>(forged.body).amount = 1'000'000;
    codec::EventEncoder encoder;
    const std::string bytes(encoder.encode(forged, opened->prev_hash));
    entries[3] = encoder.seal(bytes, sha256(bytes));
  });
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 5);
  CHECK_THAT(report.problem, Catch::Contains("chain broken"));
}

TEST_CASE("a deleted event is caught at its sequence number") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  edit_block(*engine, [](auto& entries) { entries.erase(entries.begin() + 6); });  // seq 7
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 7);
}

TEST_CASE("a deleted last event is caught against the head") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  edit_block(*engine, [](auto& entries) { entries.pop_back(); });  // seq 10
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 10);
}

TEST_CASE("two swapped events are caught at the first of them") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  edit_block(*engine, [](auto& entries) { std::swap(entries[2], entries[7]); });  // seq 3, 8
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 3);
}

TEST_CASE("an inserted event is caught") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  edit_block(*engine, [](auto& entries) { entries.insert(entries.begin() + 4, entries[4]); });
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 6);
}

TEST_CASE("a garbled event block is reported, not crashed on") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  edit_block(*engine, [](auto& entries) { entries[0] = "garbage"; });
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  CHECK(*report.bad_seq == 1);
}

TEST_CASE("a doctored balance projection is caught and named") {
  TempDir dir;
  auto engine = ledger_of_ten(dir);
  auto account = engine->account("b");
  REQUIRE(account.is_ok());
  ledger::Account doctored = **account;
  doctored.balances.credits_posted += 1'000'000;
  REQUIRE(engine->debug_put_account_raw("b", engine::encode_account(doctored)).is_ok());
  auto reread = engine->account("b");  // Not the value held in memory before.
  REQUIRE(reread.is_ok());
  CHECK(*reread == doctored);
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.problem, Catch::Contains("account b"));
  REQUIRE(report.bad_seq.has_value());
  CHECK(*report.bad_seq == 10);  // The last event that moved b.
}

}  // namespace
}  // namespace lf::test
