// transfer, single-phase and pending: what it moves and every rejection it
// can produce, with the field each one names.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "ledger/limits.h"
#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::Balances;
using ledger::Bucket;
using ledger::RejectReason;
using ledger::Side;

constexpr ledger::Amount amount_max = std::numeric_limits<ledger::Amount>::max();

// bank: unlimited. alice: may not overdraw. bob: unlimited. loan: credits may
// not exceed debits. euro: another asset. milli: USD with another scale.
void open_accounts(CheckedLedger& h) {
  REQUIRE(verdict(h.submit(open_account("bank"))) == accepted());
  REQUIRE(verdict(h.submit(open_debit_limited("alice"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("bob"))) == accepted());
  REQUIRE(verdict(h.submit(open_credit_limited("loan"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("euro", "EUR"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("milli", "USD", 3))) == accepted());
}

TEST_CASE("transfer", "[transfer]") {
  CheckedLedger h;
  open_accounts(h);

  SECTION("single-phase: posts both sides and records the postings") {
    ledger::Transfer t = transfer("bank", "bob", 250);
    t.reference = "invoice 7";
    const ledger::Outcome outcome = h.submit(t);
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.balances("bank") == Balances{0, 250, 0, 0});
    CHECK(h.balances("bob") == Balances{0, 0, 0, 250});
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ledger::TransferPosted>(events[0].body) ==
          ledger::TransferPosted{outcome.command_id, "bank", "bob", "USD", 250, "invoice 7"});
    CHECK(events[0].postings ==
          std::vector<ledger::Posting>{{"bank", "USD", Side::debit, Bucket::posted, true, 250},
                                       {"bob", "USD", Side::credit, Bucket::posted, true, 250}});
  }

  SECTION("pending: holds on both sides, with an expiry from logical time") {
    const ledger::Outcome outcome = h.submit(hold("bank", "bob", 40, 60));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.balances("bank") == Balances{40, 0, 0, 0});
    CHECK(h.balances("bob") == Balances{0, 0, 40, 0});
    const ledger::PendingTransfer& p = h.pending(outcome.command_id);
    CHECK(p == ledger::PendingTransfer{outcome.command_id, "bank", "bob", "USD", 40,
                                       h.now() + 60'000, ledger::PendingState::pending});
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ledger::PendingCreated>(events[0].body).pending == p);
    CHECK(events[0].postings ==
          std::vector<ledger::Posting>{{"bank", "USD", Side::debit, Bucket::pending, true, 40},
                                       {"bob", "USD", Side::credit, Bucket::pending, true, 40}});
  }

  SECTION("pending without a timeout never expires") {
    const ledger::Outcome outcome = h.submit(hold("bank", "bob", 40));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.pending(outcome.command_id).expires_at_ms == 0);
    CHECK(h.ledger().expiries().empty());
  }

  SECTION("limits on timeout and reference are inclusive") {
    CHECK(verdict(h.submit(hold("bank", "bob", 1, ledger::pending_timeout_s_max))) == accepted());
    ledger::Transfer t = transfer("bank", "bob", 1);
    t.reference = std::string(ledger::reference_bytes_max, 'r');
    CHECK(verdict(h.submit(t)) == accepted());
  }

  SECTION("invalid_field: debit_account and credit_account") {
    CHECK(verdict(h.submit(transfer("", "bob", 1))) ==
          rejected(RejectReason::invalid_field, "debit_account"));
    CHECK(verdict(h.submit(transfer("bank", "b*b", 1))) ==
          rejected(RejectReason::invalid_field, "credit_account"));
  }

  SECTION("invalid_field: amount") {
    CHECK(verdict(h.submit(transfer("bank", "bob", 0))) ==
          rejected(RejectReason::invalid_field, "amount"));
    CHECK(verdict(h.submit(hold("bank", "bob", 0))) ==
          rejected(RejectReason::invalid_field, "amount"));
  }

  SECTION("invalid_field: asset") {
    CHECK(verdict(h.submit(transfer("bank", "bob", 1, "usd"))) ==
          rejected(RejectReason::invalid_field, "asset"));
  }

  SECTION("invalid_field: timeout_s without pending, or beyond the maximum") {
    ledger::Transfer t = transfer("bank", "bob", 1);
    t.timeout_s = 5;
    CHECK(verdict(h.submit(t)) == rejected(RejectReason::invalid_field, "timeout_s"));
    CHECK(verdict(h.submit(hold("bank", "bob", 1, ledger::pending_timeout_s_max + 1))) ==
          rejected(RejectReason::invalid_field, "timeout_s"));
  }

  SECTION("invalid_field: timeout_s whose expiry would pass the end of time") {
    h.set_time(std::numeric_limits<ledger::TimestampMs>::max() - 999);
    CHECK(verdict(h.submit(hold("bank", "bob", 1, 1))) ==
          rejected(RejectReason::invalid_field, "timeout_s"));
    CHECK(h.ledger().pendings().empty());
    CHECK(h.balances("bank") == Balances{});
  }

  SECTION("invalid_field: reference") {
    ledger::Transfer t = transfer("bank", "bob", 1);
    t.reference = std::string(ledger::reference_bytes_max + 1, 'r');
    CHECK(verdict(h.submit(t)) == rejected(RejectReason::invalid_field, "reference"));
  }

  SECTION("accounts_must_be_different") {
    CHECK(verdict(h.submit(transfer("bob", "bob", 1))) ==
          rejected(RejectReason::accounts_must_be_different, "credit_account"));
  }

  SECTION("account_not_found: debit, then credit") {
    CHECK(verdict(h.submit(transfer("nobody", "bob", 1))) ==
          rejected(RejectReason::account_not_found, "debit_account"));
    CHECK(verdict(h.submit(transfer("bob", "nobody", 1))) ==
          rejected(RejectReason::account_not_found, "credit_account"));
  }

  SECTION("account_closed: debit, then credit") {
    REQUIRE(verdict(h.submit(open_account("gone"))) == accepted());
    REQUIRE(verdict(h.submit(close_account("gone"))) == accepted());
    CHECK(verdict(h.submit(transfer("gone", "bob", 1))) ==
          rejected(RejectReason::account_closed, "debit_account"));
    CHECK(verdict(h.submit(transfer("bob", "gone", 1))) ==
          rejected(RejectReason::account_closed, "credit_account"));
  }

  SECTION("asset_mismatch: debit asset, credit asset, then scale") {
    CHECK(verdict(h.submit(transfer("euro", "bob", 1))) ==
          rejected(RejectReason::asset_mismatch, "debit_account"));
    CHECK(verdict(h.submit(transfer("bob", "euro", 1))) ==
          rejected(RejectReason::asset_mismatch, "credit_account"));
    CHECK(verdict(h.submit(transfer("bob", "euro", 1, "EUR"))) ==
          rejected(RejectReason::asset_mismatch, "debit_account"));
    CHECK(verdict(h.submit(transfer("bob", "milli", 1))) ==
          rejected(RejectReason::asset_mismatch, "credit_account"));
    CHECK(verdict(h.submit(transfer("milli", "bob", 1))) ==
          rejected(RejectReason::asset_mismatch, "credit_account"));
  }

  SECTION("overflow: debit side, then credit side; posted and pending alike") {
    REQUIRE(verdict(h.submit(open_account("other"))) == accepted());
    REQUIRE(verdict(h.submit(transfer("bank", "bob", amount_max))) == accepted());
    // bank's debits_posted and bob's credits_posted are now full.
    CHECK(verdict(h.submit(transfer("bank", "other", 1))) ==
          rejected(RejectReason::overflow, "debit_account"));
    CHECK(verdict(h.submit(transfer("other", "bob", 1))) ==
          rejected(RejectReason::overflow, "credit_account"));
    REQUIRE(verdict(h.submit(hold("other", "bank", amount_max))) == accepted());
    CHECK(verdict(h.submit(hold("other", "bob", 1))) ==
          rejected(RejectReason::overflow, "debit_account"));
    CHECK(verdict(h.submit(hold("bob", "bank", 1))) ==
          rejected(RejectReason::overflow, "credit_account"));
    CHECK(h.balances("other") == Balances{amount_max, 0, 0, 0});
  }

  SECTION("exceeds_credits: debits may not pass posted credits") {
    REQUIRE(verdict(h.submit(transfer("bank", "alice", 100))) == accepted());
    CHECK(verdict(h.submit(transfer("alice", "bob", 101))) ==
          rejected(RejectReason::exceeds_credits, "debit_account"));
    CHECK(verdict(h.submit(hold("alice", "bob", 101))) ==
          rejected(RejectReason::exceeds_credits, "debit_account"));
    CHECK(verdict(h.submit(transfer("alice", "bob", 100))) == accepted());
    CHECK(h.balances("alice") == Balances{0, 100, 0, 100});
  }

  SECTION("exceeds_credits: holds count against the balance, incoming holds do not") {
    REQUIRE(verdict(h.submit(transfer("bank", "alice", 100))) == accepted());
    REQUIRE(verdict(h.submit(hold("bank", "alice", 1'000))) == accepted());
    REQUIRE(verdict(h.submit(hold("alice", "bob", 60))) == accepted());
    CHECK(verdict(h.submit(transfer("alice", "bob", 41))) ==
          rejected(RejectReason::exceeds_credits, "debit_account"));
    CHECK(verdict(h.submit(transfer("alice", "bob", 40))) == accepted());
  }

  SECTION("exceeds_debits: credits may not pass posted debits") {
    REQUIRE(verdict(h.submit(transfer("loan", "bob", 30))) == accepted());
    CHECK(verdict(h.submit(transfer("bank", "loan", 31))) ==
          rejected(RejectReason::exceeds_debits, "credit_account"));
    CHECK(verdict(h.submit(hold("bank", "loan", 31))) ==
          rejected(RejectReason::exceeds_debits, "credit_account"));
    CHECK(verdict(h.submit(transfer("bank", "loan", 30))) == accepted());
  }

  SECTION("overdraft_limit_exceeded: debit side") {
    REQUIRE(verdict(h.submit(open_debit_limited("carol", "USD", 50))) == accepted());
    REQUIRE(verdict(h.submit(transfer("bank", "carol", 10))) == accepted());
    CHECK(verdict(h.submit(transfer("carol", "bob", 61))) ==
          rejected(RejectReason::overdraft_limit_exceeded, "debit_account"));
    CHECK(verdict(h.submit(transfer("carol", "bob", 60))) == accepted());
    CHECK(verdict(h.submit(hold("carol", "bob", 1))) ==
          rejected(RejectReason::overdraft_limit_exceeded, "debit_account"));
  }

  SECTION("overdraft_limit_exceeded: credit side") {
    REQUIRE(verdict(h.submit(open_credit_limited("line", "USD", 50))) == accepted());
    CHECK(verdict(h.submit(transfer("bank", "line", 51))) ==
          rejected(RejectReason::overdraft_limit_exceeded, "credit_account"));
    CHECK(verdict(h.submit(transfer("bank", "line", 50))) == accepted());
  }

  SECTION("a limited account may be the other side without limit") {
    CHECK(verdict(h.submit(transfer("bank", "alice", 1'000'000))) == accepted());
    CHECK(verdict(h.submit(transfer("loan", "bank", 1'000'000))) == accepted());
  }
}

}  // namespace
}  // namespace lf::test
