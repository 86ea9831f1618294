// post_pending and void_pending: resolving a hold, and every rejection they
// can produce, with the field each one names.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::Balances;
using ledger::Bucket;
using ledger::PendingState;
using ledger::RejectReason;
using ledger::Side;

constexpr ledger::Amount amount_max = std::numeric_limits<ledger::Amount>::max();

// Opens "payer" (funded with 1000, may not overdraw) and "payee", then holds
// 100 from payer to payee; returns the hold's id.
std::string open_and_hold(CheckedLedger& h, std::uint32_t timeout_s = 0) {
  REQUIRE(verdict(h.submit(open_account("bank"))) == accepted());
  REQUIRE(verdict(h.submit(open_debit_limited("payer"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("payee"))) == accepted());
  REQUIRE(verdict(h.submit(transfer("bank", "payer", 1'000))) == accepted());
  const ledger::Outcome held = h.submit(hold("payer", "payee", 100, timeout_s));
  REQUIRE(verdict(held) == accepted());
  return held.command_id;
}

TEST_CASE("post_pending", "[post_pending]") {
  CheckedLedger h;
  const std::string id = open_and_hold(h, 60);

  SECTION("amount 0 posts the full hold") {
    const ledger::Outcome outcome = h.submit(post(id));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.pending(id).state == PendingState::posted);
    CHECK(h.balances("payer") == Balances{0, 100, 0, 1'000});
    CHECK(h.balances("payee") == Balances{0, 0, 0, 100});
    CHECK(h.ledger().expiries().empty());  // A resolved hold no longer expires.
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ledger::PendingPosted>(events[0].body) == ledger::PendingPosted{id, 100, 0});
    CHECK(events[0].postings ==
          std::vector<ledger::Posting>{{"payer", "USD", Side::debit, Bucket::pending, false, 100},
                                       {"payee", "USD", Side::credit, Bucket::pending, false, 100},
                                       {"payer", "USD", Side::debit, Bucket::posted, true, 100},
                                       {"payee", "USD", Side::credit, Bucket::posted, true, 100}});
  }

  SECTION("a partial amount posts that much and releases the rest") {
    const ledger::Outcome outcome = h.submit(post(id, 30));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.balances("payer") == Balances{0, 30, 0, 1'000});
    CHECK(h.balances("payee") == Balances{0, 0, 0, 30});
    CHECK(std::get<ledger::PendingPosted>(h.events_of(outcome)[0].body) ==
          ledger::PendingPosted{id, 30, 70});
  }

  SECTION("exactly the held amount") {
    CHECK(verdict(h.submit(post(id, 100))) == accepted());
    CHECK(h.balances("payee") == Balances{0, 0, 0, 100});
  }

  SECTION("invalid_field: pending_id") {
    CHECK(verdict(h.submit(post("not an id"))) ==
          rejected(RejectReason::invalid_field, "pending_id"));
  }

  SECTION("pending_not_found: unknown, or a single-phase transfer's id") {
    CHECK(verdict(h.submit(post("nope"))) ==
          rejected(RejectReason::pending_not_found, "pending_id"));
    const ledger::Outcome posted = h.submit(transfer("bank", "payee", 1));
    REQUIRE(verdict(posted) == accepted());
    CHECK(verdict(h.submit(post(posted.command_id))) ==
          rejected(RejectReason::pending_not_found, "pending_id"));
  }

  SECTION("pending_already_posted") {
    REQUIRE(verdict(h.submit(post(id, 1))) == accepted());
    CHECK(verdict(h.submit(post(id, 1))) ==
          rejected(RejectReason::pending_already_posted, "pending_id"));
  }

  SECTION("pending_already_voided") {
    REQUIRE(verdict(h.submit(void_pending(id))) == accepted());
    CHECK(verdict(h.submit(post(id))) ==
          rejected(RejectReason::pending_already_voided, "pending_id"));
  }

  SECTION("pending_expired") {
    h.set_time(h.now() + 60'000);
    CHECK(verdict(h.submit(post(id))) == rejected(RejectReason::pending_expired, "pending_id"));
  }

  SECTION("amount_exceeds_pending") {
    CHECK(verdict(h.submit(post(id, 101))) ==
          rejected(RejectReason::amount_exceeds_pending, "amount"));
    CHECK(h.pending(id).state == PendingState::pending);
  }

  SECTION("overflow: posting would wrap a posted counter") {
    REQUIRE(verdict(h.submit(open_account("whale"))) == accepted());
    const ledger::Outcome big = h.submit(hold("whale", "payee", 10));
    REQUIRE(verdict(big) == accepted());
    REQUIRE(verdict(h.submit(transfer("whale", "bank", amount_max - 5))) == accepted());
    CHECK(verdict(h.submit(post(big.command_id))) == rejected(RejectReason::overflow, "amount"));
    CHECK(verdict(h.submit(post(big.command_id, 5))) == accepted());
  }
}

TEST_CASE("void_pending", "[void_pending]") {
  CheckedLedger h;
  const std::string id = open_and_hold(h, 60);

  SECTION("releases the hold on both sides") {
    const ledger::Outcome outcome = h.submit(void_pending(id));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.pending(id).state == PendingState::voided);
    CHECK(h.balances("payer") == Balances{0, 0, 0, 1'000});
    CHECK(h.balances("payee") == Balances{});
    CHECK(h.ledger().expiries().empty());
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ledger::PendingVoided>(events[0].body) == ledger::PendingVoided{id, 100});
    CHECK(events[0].postings.size() == 2);
  }

  SECTION("invalid_field: pending_id") {
    CHECK(verdict(h.submit(void_pending(""))) ==
          rejected(RejectReason::invalid_field, "pending_id"));
  }

  SECTION("pending_not_found") {
    CHECK(verdict(h.submit(void_pending("nope"))) ==
          rejected(RejectReason::pending_not_found, "pending_id"));
  }

  SECTION("pending_already_posted") {
    REQUIRE(verdict(h.submit(post(id))) == accepted());
    CHECK(verdict(h.submit(void_pending(id))) ==
          rejected(RejectReason::pending_already_posted, "pending_id"));
  }

  SECTION("pending_already_voided") {
    REQUIRE(verdict(h.submit(void_pending(id))) == accepted());
    CHECK(verdict(h.submit(void_pending(id))) ==
          rejected(RejectReason::pending_already_voided, "pending_id"));
  }

  SECTION("pending_expired") {
    h.set_time(h.now() + 61'000);
    CHECK(verdict(h.submit(void_pending(id))) ==
          rejected(RejectReason::pending_expired, "pending_id"));
  }
}

}  // namespace
}  // namespace lf::test
