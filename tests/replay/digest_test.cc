// The state digest: one definition, two sources (the store and a state
// rebuilt from the log) that agree; independent of batching; sensitive to
// any change of the projected state; its encoding pinned by a golden value.
#include "engine/digest.h"

#include <catch2/catch.hpp>

#include "engine/keys.h"
#include "engine/records.h"
#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

Sha256 digest_of(engine::Engine& engine) {
  auto digest = engine::store_digest(engine);
  INFO(digest.status().to_string());
  REQUIRE(digest.is_ok());
  return *digest;
}

TEST_CASE("the digest of an empty store is pinned by the documented encoding") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  // docs/replay.md#state-digest: header, no entries, end with four zero counts.
  std::string encoding = "LFSD";
  engine::put_u32be(encoding, 1);
  engine::put_u64be(encoding, 1);  // next_seq
  engine::put_u64be(encoding, 0);  // logical_time_ms
  encoding.append(32, '\0');       // chain_head
  encoding.push_back('E');
  for (int i = 0; i < 4; ++i) engine::put_u64be(encoding, 0);
  CHECK(digest_of(*engine) == sha256(encoding));
  CHECK(engine::projected_digest(engine::ProjectedState{}) == sha256(encoding));
}

TEST_CASE("verify's digest of the log equals the store's digest") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, generate_workload(default_seed, 5000), 500);
  const auto report = verify_store(*engine);
  REQUIRE(report.ok);
  CHECK(report.state_digest == digest_of(*engine));
  CHECK(report.state_digest != Sha256{});
}

TEST_CASE("the same commands in any batching give the same digest") {
  const auto commands = generate_workload(default_seed + 7, 3000);
  TempDir a;
  TempDir b;
  auto one = open_engine(a.path());
  auto two = open_engine(b.path());
  apply_all(*one, commands, 1000);
  apply_all(*two, commands, 37);
  CHECK(digest_of(*one) == digest_of(*two));
}

TEST_CASE("any change to the projected state changes the digest") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, {cmd("o1", open_account("a")), cmd("o2", open_account("b")),
                      cmd("t1", transfer("a", "b", 10))});
  const Sha256 before = digest_of(*engine);
  auto account = engine->account("b");
  REQUIRE(account.is_ok());
  REQUIRE(account->has_value());
  ledger::Account changed = **account;
  changed.balances.credits_posted += 1;
  REQUIRE(engine->debug_put_account_raw("b", engine::encode_account(changed)).is_ok());
  CHECK(digest_of(*engine) != before);
  const auto report = verify_store(*engine);
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.problem, Catch::Contains("account b differs"));
}

TEST_CASE("different ledgers have different digests") {
  TempDir a;
  TempDir b;
  auto one = open_engine(a.path());
  auto two = open_engine(b.path());
  apply_all(*one, {cmd("o1", open_account("a"))});
  apply_all(*two, {cmd("o1", open_account("a", "EUR"))});
  CHECK(digest_of(*one) != digest_of(*two));
}

}  // namespace
}  // namespace lf::test
