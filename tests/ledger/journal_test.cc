// journal: multi-leg entries, balanced per asset and applied atomically, and
// every rejection they can produce, with the field each one names.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "ledger/limits.h"
#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::Balances;
using ledger::RejectReason;
using ledger::Side;

constexpr ledger::Amount amount_max = std::numeric_limits<ledger::Amount>::max();

void open_accounts(CheckedLedger& h) {
  REQUIRE(verdict(h.submit(open_account("cash"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("fees"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("revenue"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("eur.cash", "EUR"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("eur.revenue", "EUR"))) == accepted());
  REQUIRE(verdict(h.submit(open_debit_limited("wallet"))) == accepted());
  REQUIRE(verdict(h.submit(open_credit_limited("loan"))) == accepted());
}

TEST_CASE("journal", "[journal]") {
  CheckedLedger h;
  open_accounts(h);

  SECTION("a balanced three-leg entry") {
    const ledger::Outcome outcome = h.submit(journal(
        {debit_leg("cash", 100), credit_leg("revenue", 97), credit_leg("fees", 3)}, "sale"));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.balances("cash") == Balances{0, 100, 0, 0});
    CHECK(h.balances("revenue") == Balances{0, 0, 0, 97});
    CHECK(h.balances("fees") == Balances{0, 0, 0, 3});
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ledger::JournalPosted>(events[0].body) ==
          ledger::JournalPosted{outcome.command_id, "sale"});
    CHECK(events[0].postings.size() == 3);
    CHECK(ledger::postings_balance(events[0].postings));
  }

  SECTION("several assets, each balanced on its own") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 10), debit_leg("eur.cash", 9, "EUR"),
                                    credit_leg("eur.revenue", 9, "EUR"),
                                    credit_leg("revenue", 10)}))) == accepted());
    CHECK(h.balances("eur.revenue") == Balances{0, 0, 0, 9});
  }

  SECTION("one account on both sides") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 5), credit_leg("cash", 5)}))) == accepted());
    CHECK(h.balances("cash") == Balances{0, 5, 0, 5});
  }

  SECTION("the maximum number of legs") {
    std::vector<ledger::JournalLeg> legs;
    while (legs.size() < ledger::journal_legs_max) {
      legs.push_back(debit_leg("cash", 1));
      legs.push_back(credit_leg("revenue", 1));
    }
    CHECK(verdict(h.submit(journal(legs))) == accepted());
  }

  SECTION("invalid_field: legs, too few or too many") {
    CHECK(verdict(h.submit(journal({}))) == rejected(RejectReason::invalid_field, "legs"));
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1)}))) ==
          rejected(RejectReason::invalid_field, "legs"));
    std::vector<ledger::JournalLeg> legs(ledger::journal_legs_max + 1, debit_leg("cash", 1));
    legs.back() = credit_leg("revenue", ledger::journal_legs_max);
    CHECK(verdict(h.submit(journal(legs))) == rejected(RejectReason::invalid_field, "legs"));
  }

  SECTION("invalid_field: a leg's account, asset, side, amount") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), credit_leg("bad id", 1)}))) ==
          rejected(RejectReason::invalid_field, "legs[1].account"));
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1, "usd"), credit_leg("fees", 1)}))) ==
          rejected(RejectReason::invalid_field, "legs[0].asset"));
    ledger::JournalLeg sideways = credit_leg("fees", 1);
    sideways.side = static_cast<Side>(2);
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), sideways}))) ==
          rejected(RejectReason::invalid_field, "legs[1].side"));
    CHECK(verdict(h.submit(journal({debit_leg("cash", 0), credit_leg("fees", 0)}))) ==
          rejected(RejectReason::invalid_field, "legs[0].amount"));
  }

  SECTION("invalid_field: reference") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), credit_leg("fees", 1)},
                                   std::string(ledger::reference_bytes_max + 1, 'r')))) ==
          rejected(RejectReason::invalid_field, "reference"));
  }

  SECTION("account_not_found") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), credit_leg("ghost", 1)}))) ==
          rejected(RejectReason::account_not_found, "legs[1].account"));
  }

  SECTION("account_closed") {
    REQUIRE(verdict(h.submit(open_account("gone"))) == accepted());
    REQUIRE(verdict(h.submit(close_account("gone"))) == accepted());
    CHECK(verdict(h.submit(journal({debit_leg("gone", 1), credit_leg("cash", 1)}))) ==
          rejected(RejectReason::account_closed, "legs[0].account"));
  }

  SECTION("asset_mismatch: a leg's asset is not its account's") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), credit_leg("eur.cash", 1)}))) ==
          rejected(RejectReason::asset_mismatch, "legs[1].account"));
  }

  SECTION("asset_mismatch: one asset at two scales, on the later leg") {
    REQUIRE(verdict(h.submit(open_account("milli", "USD", 3))) == accepted());
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), credit_leg("milli", 1)}))) ==
          rejected(RejectReason::asset_mismatch, "legs[1].account"));
    CHECK(verdict(
              h.submit(journal({debit_leg("milli", 1), debit_leg("eur.cash", 1, "EUR"),
                                credit_leg("eur.revenue", 1, "EUR"), credit_leg("revenue", 1)}))) ==
          rejected(RejectReason::asset_mismatch, "legs[3].account"));
    CHECK(verdict(h.submit(journal({debit_leg("milli", 1), credit_leg("milli", 1)}))) ==
          accepted());
  }

  SECTION("unbalanced_journal: overall, and per asset even when the sums match") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 2), credit_leg("fees", 1)}))) ==
          rejected(RejectReason::unbalanced_journal, "legs"));
    CHECK(verdict(h.submit(journal({debit_leg("cash", 5), credit_leg("eur.cash", 5, "EUR")}))) ==
          rejected(RejectReason::unbalanced_journal, "legs"));
    CHECK(h.balances("cash") == Balances{});
  }

  SECTION("overflow: the first leg that wraps, sums kept in 128 bits") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", amount_max), debit_leg("cash", 1),
                                    credit_leg("fees", amount_max), credit_leg("revenue", 1)}))) ==
          rejected(RejectReason::overflow, "legs[1].amount"));
    CHECK(verdict(h.submit(journal(
              {debit_leg("cash", amount_max), credit_leg("fees", amount_max)}))) == accepted());
    CHECK(verdict(h.submit(journal({debit_leg("revenue", 1), credit_leg("fees", 1)}))) ==
          rejected(RejectReason::overflow, "legs[1].amount"));
  }

  SECTION("exceeds_credits, naming the account's first leg") {
    REQUIRE(verdict(h.submit(journal({debit_leg("cash", 50), credit_leg("wallet", 50)}))) ==
            accepted());
    CHECK(verdict(h.submit(journal(
              {credit_leg("cash", 60), debit_leg("wallet", 30), debit_leg("wallet", 30)}))) ==
          rejected(RejectReason::exceeds_credits, "legs[1].account"));
    CHECK(verdict(h.submit(journal({credit_leg("cash", 50), debit_leg("wallet", 50)}))) ==
          accepted());
  }

  SECTION("a limit is judged on the entry's net effect on the account") {
    CHECK(verdict(h.submit(journal({debit_leg("wallet", 10), credit_leg("wallet", 10)}))) ==
          accepted());
  }

  SECTION("exceeds_debits") {
    CHECK(verdict(h.submit(journal({debit_leg("cash", 1), credit_leg("loan", 1)}))) ==
          rejected(RejectReason::exceeds_debits, "legs[1].account"));
  }

  SECTION("overdraft_limit_exceeded") {
    REQUIRE(verdict(h.submit(open_debit_limited("card", "USD", 20))) == accepted());
    CHECK(verdict(h.submit(journal({debit_leg("card", 21), credit_leg("cash", 21)}))) ==
          rejected(RejectReason::overdraft_limit_exceeded, "legs[0].account"));
    CHECK(verdict(h.submit(journal({debit_leg("card", 20), credit_leg("cash", 20)}))) ==
          accepted());
  }

  SECTION("limits are checked in the order accounts first appear") {
    CHECK(verdict(h.submit(journal({credit_leg("loan", 5), debit_leg("wallet", 5)}))) ==
          rejected(RejectReason::exceeds_debits, "legs[0].account"));
    CHECK(verdict(h.submit(journal({debit_leg("wallet", 5), credit_leg("loan", 5)}))) ==
          rejected(RejectReason::exceeds_credits, "legs[0].account"));
  }
}

}  // namespace
}  // namespace lf::test
