// Shards: the routing function's test vectors, and the wrong_shard rejection
// of every command type that names an account or hold of another shard.
#include "ledger/shard.h"

#include <catch2/catch.hpp>

#include "tests/support/commands.h"
#include "tests/support/harness.h"
#include "tests/support/memory_ledger.h"

namespace lf::test {
namespace {

using ledger::RejectReason;
using ledger::ShardRule;

TEST_CASE("shard: book_of takes the text before the first colon", "[shard]") {
  CHECK(ledger::book_of("acme:cash") == "acme");
  CHECK(ledger::book_of("acme:eu:cash") == "acme");
  CHECK(ledger::book_of("cash") == "cash");
  CHECK(ledger::book_of(":x").empty());
}

TEST_CASE("shard: shard_of_book is FNV-1a 64 modulo the count (docs/kafka.md vectors)", "[shard]") {
  // FNV-1a 64("a") = 0xaf63dc4c8601ec8c, FNV-1a 64("") = 0xcbf29ce484222325.
  CHECK(ledger::shard_of_book("a", 16) == 0xaf63dc4c8601ec8cull % 16);
  CHECK(ledger::shard_of_book("", 16) == 0xcbf29ce484222325ull % 16);
  CHECK(ledger::shard_of_book("acme", 4) == 3);
  CHECK(ledger::shard_of_book("globex", 4) == 2);
  CHECK(ledger::shard_of_book("anything", 1) == 0);
}

TEST_CASE("shard: route_id picks the id whose book routes the command", "[shard]") {
  CHECK(ledger::route_id(cmd("c1", open_account("a:1"))) == "a:1");
  CHECK(ledger::route_id(cmd("c2", close_account("a:1"))) == "a:1");
  CHECK(ledger::route_id(cmd("c3", transfer("a:1", "a:2", 5))) == "a:1");
  CHECK(ledger::route_id(cmd("c4", post("a:h1"))) == "a:h1");
  CHECK(ledger::route_id(cmd("c5", void_pending("a:h1"))) == "a:h1");
  CHECK(ledger::route_id(cmd("c6", journal({debit_leg("b:1", 5), credit_leg("a:1", 5)}))) == "b:1");
  CHECK(ledger::route_id(cmd("c7", linked({step("s1", transfer("b:9", "a:1", 1))}))) == "b:9");
  CHECK(ledger::route_id(cmd("c8", linked({}))).empty());
}

// Shard 0 of 2 owns book "a"; book "b" is shard 1's.
MemoryLedger shard_zero_with_accounts() {
  MemoryLedger ledger;
  ledger.set_shard(ShardRule{0, 2});
  REQUIRE(ledger.apply(cmd("o1", open_account("a:1"), 1)).status ==
          ledger::OutcomeStatus::accepted);
  REQUIRE(ledger.apply(cmd("o2", open_account("a:2"), 1)).status ==
          ledger::OutcomeStatus::accepted);
  return ledger;
}

TEST_CASE("shard: a command naming another shard's account or hold is rejected", "[shard]") {
  MemoryLedger ledger = shard_zero_with_accounts();
  auto check = [&](const char* id, ledger::CommandBody body, const char* field) {
    CHECK(verdict(ledger.apply(cmd(id, std::move(body), 2))) ==
          rejected(RejectReason::wrong_shard, field));
  };
  check("x1", open_account("b:1"), "account");
  check("x2", close_account("b:1"), "account");
  check("x3", transfer("b:1", "a:1", 5), "debit_account");
  check("x4", transfer("a:1", "b:1", 5), "credit_account");
  check("b:x5", hold("a:1", "a:2", 5), "id");
  check("x6", post("b:h1"), "pending_id");
  check("x7", void_pending("b:h1"), "pending_id");
  check("x8", journal({debit_leg("a:1", 5), credit_leg("b:2", 5)}), "legs[1].account");
  CHECK(verdict(ledger.apply(cmd(
            "x9",
            linked({step("s1", transfer("a:1", "a:2", 1)), step("s2", transfer("a:2", "b:2", 1))}),
            2))) == rejected(RejectReason::wrong_shard, "steps[1].credit_account", 1));
  // Nothing moved; the shard's own accounts still work.
  CHECK(ledger.find_account("a:1")->balances == ledger::Balances{});
  CHECK(verdict(ledger.apply(cmd("a:ok", hold("a:1", "a:2", 5), 3))) == accepted());
  CHECK(verdict(ledger.apply(cmd("ok2", post("a:ok"), 3))) == accepted());
}

TEST_CASE("shard: wrong_shard comes after format checks and before lookups", "[shard]") {
  MemoryLedger ledger = shard_zero_with_accounts();
  CHECK(verdict(ledger.apply(cmd("y1", transfer("b:1", "a:1", 0), 2))) ==
        rejected(RejectReason::invalid_field, "amount"));
  CHECK(verdict(ledger.apply(cmd("y2", transfer("b:1", "b:1", 5), 2))) ==
        rejected(RejectReason::accounts_must_be_different, "credit_account"));
  // Unknown account of another shard: wrong_shard, not account_not_found.
  CHECK(verdict(ledger.apply(cmd("y3", transfer("a:1", "b:404", 5), 2))) ==
        rejected(RejectReason::wrong_shard, "credit_account"));
}

TEST_CASE("shard: a single-shard ledger owns every book", "[shard]") {
  MemoryLedger ledger;
  CHECK(verdict(ledger.apply(cmd("o1", open_account("b:1"), 1))) == accepted());
  CHECK(verdict(ledger.apply(cmd("o2", open_account("zzz"), 1))) == accepted());
}

}  // namespace
}  // namespace lf::test
