// Idempotency: a command id is decided once. A retry with the same content
// (id and body; timestamp and source excluded) gets the original outcome back
// and changes nothing; other content under a known id is rejected.
#include <catch2/catch.hpp>
#include <string>

#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::Balances;
using ledger::RejectReason;

ledger::Outcome as_duplicate(ledger::Outcome outcome) {
  outcome.duplicate = true;
  return outcome;
}

void open_accounts(CheckedLedger& h) {
  REQUIRE(verdict(h.submit(open_account("bank"))) == accepted());
  REQUIRE(verdict(h.submit(open_debit_limited("alice"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("bob"))) == accepted());
}

TEST_CASE("idempotency", "[idempotency]") {
  CheckedLedger h;
  open_accounts(h);
  const ledger::TimestampMs t0 = h.now();

  SECTION("a retry returns the original outcome and changes nothing, not even time") {
    const ledger::Command original = cmd("pay-1", transfer("bank", "bob", 10), t0);
    const ledger::Outcome first = h.run(original);
    REQUIRE(verdict(first) == accepted());
    const std::size_t events = h.event_count();

    ledger::Command retry = original;
    retry.timestamp_ms = t0 + 1'000'000;
    retry.source = {"commands", 3, 42};
    CHECK(h.run(retry) == as_duplicate(first));
    CHECK(h.event_count() == events);
    CHECK(h.balances("bob") == Balances{0, 0, 0, 10});
    CHECK(h.ledger().head().logical_time_ms == t0);
  }

  SECTION("a retry of a rejected command gets the rejection, even if it would now pass") {
    const ledger::Command original = cmd("pay-2", transfer("alice", "bob", 10), t0);
    const ledger::Outcome first = h.run(original);
    REQUIRE(verdict(first) == rejected(RejectReason::exceeds_credits, "debit_account"));
    REQUIRE(verdict(h.submit(transfer("bank", "alice", 100))) == accepted());
    CHECK(h.run(original) == as_duplicate(first));
    CHECK(h.balances("bob") == Balances{});
  }

  SECTION("a retry within the same batch") {
    const ledger::Command c = cmd("pay-3", transfer("bank", "bob", 10), t0);
    const std::vector<ledger::Outcome> outcomes = h.run_batch({c, c});
    CHECK(outcomes[1] == as_duplicate(outcomes[0]));
    CHECK(h.balances("bob") == Balances{0, 0, 0, 10});
  }

  SECTION("other content under a known id: rejected, and the original is kept") {
    const ledger::Command original = cmd("pay-4", transfer("bank", "bob", 10), t0);
    const ledger::Outcome first = h.run(original);
    REQUIRE(verdict(first) == accepted());

    const ledger::Outcome conflict = h.run(cmd("pay-4", transfer("bank", "bob", 11), t0 + 5));
    CHECK(verdict(conflict) == rejected(RejectReason::id_exists_with_different_fields, "id"));
    CHECK(conflict.first_seq > first.first_seq);  // A new decision, logged.
    CHECK(h.ledger().head().logical_time_ms == t0 + 5);
    CHECK(h.balances("bob") == Balances{0, 0, 0, 10});

    CHECK(h.run(original) == as_duplicate(first));
    CHECK(verdict(h.run(cmd("pay-4", post("pay-4"), t0))) ==
          rejected(RejectReason::id_exists_with_different_fields, "id"));
  }

  SECTION("the same body under another id is another command") {
    REQUIRE(verdict(h.run(cmd("pay-5", transfer("bank", "bob", 10), t0))) == accepted());
    REQUIRE(verdict(h.run(cmd("pay-6", transfer("bank", "bob", 10), t0))) == accepted());
    CHECK(h.balances("bob") == Balances{0, 0, 0, 20});
  }

  SECTION("a malformed id is not remembered: every retry is judged again") {
    const ledger::Command bad = cmd("pay 7", transfer("bank", "bob", 10), t0);
    const ledger::Outcome first = h.run(bad);
    const ledger::Outcome second = h.run(bad);
    CHECK(verdict(first) == rejected(RejectReason::invalid_field, "id"));
    CHECK(verdict(second) == rejected(RejectReason::invalid_field, "id"));
    CHECK(second.first_seq == first.first_seq + 1);
  }

  SECTION("a conflicting reuse is not remembered either") {
    REQUIRE(verdict(h.run(cmd("pay-8", transfer("bank", "bob", 1), t0))) == accepted());
    const ledger::Command conflicting = cmd("pay-8", transfer("bank", "bob", 2), t0);
    const ledger::Outcome first = h.run(conflicting);
    const ledger::Outcome second = h.run(conflicting);
    CHECK_FALSE(second.duplicate);
    CHECK(second.first_seq == first.first_seq + 1);
  }

  SECTION("linked chains: accepted and rejected ones replay whole") {
    const ledger::Command good = cmd("chain-ok",
                                     linked({step("ok.1", transfer("bank", "alice", 5)),
                                             step("ok.2", transfer("alice", "bob", 5))}),
                                     t0);
    const ledger::Outcome first = h.run(good);
    REQUIRE(first.event_count == 2);
    CHECK(h.run(good) == as_duplicate(first));

    const ledger::Command bad = cmd("chain-bad",
                                    linked({step("bad.1", transfer("bank", "alice", 5)),
                                            step("bad.2", transfer("alice", "bob", 50))}),
                                    t0);
    const ledger::Outcome rejection = h.run(bad);
    REQUIRE(verdict(rejection) ==
            rejected(RejectReason::exceeds_credits, "steps[1].debit_account", 1));
    CHECK(h.run(bad) == as_duplicate(rejection));
    CHECK(h.balances("alice") == Balances{0, 5, 0, 5});
  }
}

// A chain rejected because a step id is already known still has a fresh id of
// its own: that id is remembered like any other. (Only a conflicting reuse of
// the command's own id keeps the earlier record instead.)
TEST_CASE("a chain rejected for a known step id is remembered under its own id",
          "[idempotency][linked]") {
  MemoryLedger ledger;
  ledger.apply(cmd("bank", open_account("bank")));
  ledger.apply(cmd("bob", open_account("bob")));
  ledger.apply(cmd("t1", transfer("bank", "bob", 1)));
  const ledger::Command chain = cmd("chain", linked({step("t1", transfer("bank", "bob", 1))}));
  const ledger::Outcome first = ledger.apply(chain);
  REQUIRE(verdict(first) ==
          rejected(RejectReason::id_exists_with_different_fields, "steps[0].id", 0));

  CHECK(ledger.apply(chain) == as_duplicate(first));
  CHECK(verdict(ledger.apply(cmd("chain", transfer("bank", "bob", 1)))) ==
        rejected(RejectReason::id_exists_with_different_fields, "id"));
}

}  // namespace
}  // namespace lf::test
