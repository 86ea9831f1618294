// open_account and close_account: what they accept and every rejection they
// can produce, with the field each one names.
#include <catch2/catch.hpp>
#include <string>

#include "ledger/limits.h"
#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::RejectReason;

TEST_CASE("open_account", "[open_account]") {
  CheckedLedger h;

  SECTION("opens an empty account with the settings asked for") {
    ledger::OpenAccount open = open_debit_limited("alice", "EUR", 500);
    open.scale = 3;
    open.metadata = R"({"kyc":"ok"})";
    const ledger::Outcome outcome = h.submit(open);
    REQUIRE(verdict(outcome) == accepted());
    const ledger::Account& a = h.account("alice");
    CHECK(a.asset == "EUR");
    CHECK(a.scale == 3);
    CHECK(a.debits_must_not_exceed_credits);
    CHECK_FALSE(a.credits_must_not_exceed_debits);
    CHECK(a.overdraft_limit == 500);
    CHECK(a.metadata == open.metadata);
    CHECK_FALSE(a.closed);
    CHECK(a.balances == ledger::Balances{});

    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    const auto* opened = std::get_if<ledger::AccountOpened>(&events[0].body);
    REQUIRE(opened != nullptr);
    CHECK(opened->account == a);
    CHECK(events[0].postings.empty());
    REQUIRE(events[0].command.has_value());
    CHECK(events[0].command->id == outcome.command_id);
  }

  SECTION("limits on ids, assets, scale and metadata are inclusive") {
    ledger::OpenAccount open = open_account(std::string(ledger::id_bytes_max, 'a'));
    open.asset = "ABCDEFGHIJ_9";  // asset_bytes_max characters.
    open.scale = ledger::asset_scale_max;
    open.metadata = std::string(ledger::metadata_bytes_max, 'm');
    CHECK(verdict(h.submit(open)) == accepted());
    CHECK(verdict(h.submit(open_account("Az09._:@-"))) == accepted());
  }

  SECTION("invalid_field: account") {
    for (const std::string& id :
         {std::string(), std::string(ledger::id_bytes_max + 1, 'a'), std::string("has space"),
          std::string("slash/ed"), std::string("caf\xc3\xa9")}) {
      CAPTURE(id);
      CHECK(verdict(h.submit(open_account(id))) ==
            rejected(RejectReason::invalid_field, "account"));
    }
  }

  SECTION("invalid_field: asset") {
    for (const char* asset : {"", "usd", "US-D", "US D", "ABCDEFGHIJKLM"}) {
      CAPTURE(asset);
      CHECK(verdict(h.submit(open_account("alice", asset))) ==
            rejected(RejectReason::invalid_field, "asset"));
    }
  }

  SECTION("invalid_field: scale") {
    ledger::OpenAccount open = open_account("alice");
    open.scale = ledger::asset_scale_max + 1;
    CHECK(verdict(h.submit(open)) == rejected(RejectReason::invalid_field, "scale"));
  }

  SECTION("invalid_field: both limits at once") {
    ledger::OpenAccount open = open_debit_limited("alice");
    open.credits_must_not_exceed_debits = true;
    CHECK(verdict(h.submit(open)) ==
          rejected(RejectReason::invalid_field, "credits_must_not_exceed_debits"));
  }

  SECTION("invalid_field: an overdraft limit needs a limited side") {
    ledger::OpenAccount open = open_account("alice");
    open.overdraft_limit = 1;
    CHECK(verdict(h.submit(open)) == rejected(RejectReason::invalid_field, "overdraft_limit"));
    CHECK(verdict(h.submit(open_credit_limited("bob", "USD", 1))) == accepted());
  }

  SECTION("invalid_field: metadata") {
    ledger::OpenAccount open = open_account("alice");
    open.metadata = std::string(ledger::metadata_bytes_max + 1, 'm');
    CHECK(verdict(h.submit(open)) == rejected(RejectReason::invalid_field, "metadata"));
  }

  SECTION("account_already_exists, whatever the settings, and for closed accounts too") {
    REQUIRE(verdict(h.submit(open_account("alice"))) == accepted());
    CHECK(verdict(h.submit(open_account("alice"))) ==
          rejected(RejectReason::account_already_exists, "account"));
    CHECK(verdict(h.submit(open_account("alice", "EUR"))) ==
          rejected(RejectReason::account_already_exists, "account"));
    REQUIRE(verdict(h.submit(close_account("alice"))) == accepted());
    CHECK(verdict(h.submit(open_account("alice"))) ==
          rejected(RejectReason::account_already_exists, "account"));
  }

  SECTION("a rejection opens nothing and is one CommandRejected event") {
    const ledger::Outcome outcome = h.submit(open_account("alice", "usd"));
    CHECK(h.ledger().accounts().empty());
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    const auto* body = std::get_if<ledger::CommandRejected>(&events[0].body);
    REQUIRE(body != nullptr);
    CHECK(body->reason == RejectReason::invalid_field);
    CHECK(body->field == "asset");
    CHECK(body->failed_step == -1);
    CHECK(events[0].command.has_value());
  }
}

TEST_CASE("close_account", "[close_account]") {
  CheckedLedger h;
  REQUIRE(verdict(h.submit(open_account("alice"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("bob"))) == accepted());

  SECTION("closes an unused account; it then refuses transfers") {
    const ledger::Outcome outcome = h.submit(close_account("alice"));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.account("alice").closed);
    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 1);
    CHECK(std::get<ledger::AccountClosed>(events[0].body).account == "alice");
    CHECK(verdict(h.submit(transfer("alice", "bob", 1))) ==
          rejected(RejectReason::account_closed, "debit_account"));
  }

  SECTION("closes an account whose debits and credits are equal again") {
    REQUIRE(verdict(h.submit(transfer("bob", "alice", 70))) == accepted());
    REQUIRE(verdict(h.submit(transfer("alice", "bob", 70))) == accepted());
    CHECK(verdict(h.submit(close_account("alice"))) == accepted());
  }

  SECTION("invalid_field: account") {
    CHECK(verdict(h.submit(close_account("bad id"))) ==
          rejected(RejectReason::invalid_field, "account"));
  }

  SECTION("account_not_found") {
    CHECK(verdict(h.submit(close_account("carol"))) ==
          rejected(RejectReason::account_not_found, "account"));
  }

  SECTION("account_closed: closing twice") {
    REQUIRE(verdict(h.submit(close_account("alice"))) == accepted());
    CHECK(verdict(h.submit(close_account("alice"))) ==
          rejected(RejectReason::account_closed, "account"));
  }

  SECTION("account_has_pending_transfers: on either side of a hold") {
    const ledger::Outcome held = h.submit(hold("alice", "bob", 5));
    REQUIRE(verdict(held) == accepted());
    CHECK(verdict(h.submit(close_account("alice"))) ==
          rejected(RejectReason::account_has_pending_transfers, "account"));
    CHECK(verdict(h.submit(close_account("bob"))) ==
          rejected(RejectReason::account_has_pending_transfers, "account"));
    REQUIRE(verdict(h.submit(void_pending(held.command_id))) == accepted());
    CHECK(verdict(h.submit(close_account("alice"))) == accepted());
    CHECK(verdict(h.submit(close_account("bob"))) == accepted());
  }

  SECTION("account_balance_not_zero: either way round") {
    REQUIRE(verdict(h.submit(transfer("alice", "bob", 1))) == accepted());
    CHECK(verdict(h.submit(close_account("alice"))) ==
          rejected(RejectReason::account_balance_not_zero, "account"));
    CHECK(verdict(h.submit(close_account("bob"))) ==
          rejected(RejectReason::account_balance_not_zero, "account"));
    CHECK_FALSE(h.account("alice").closed);
  }
}

}  // namespace
}  // namespace lf::test
