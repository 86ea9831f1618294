// Precedence of rejections: when a command breaks two rules, the one checked
// first is reported. Each SECTION breaks two (or more) rules at once; the
// expected verdict is the earlier rule. The full order is in
// ledger/state_machine.cc and docs/rejections.md.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "ledger/limits.h"
#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::RejectReason;

constexpr ledger::Amount amount_max = std::numeric_limits<ledger::Amount>::max();

// bank, bob: unlimited USD. alice: USD, may not overdraw. loan: USD, credits
// may not exceed debits. euro: EUR. gone, shut: closed. All empty.
void open_accounts(CheckedLedger& h) {
  REQUIRE(verdict(h.submit(open_account("bank"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("bob"))) == accepted());
  REQUIRE(verdict(h.submit(open_debit_limited("alice"))) == accepted());
  REQUIRE(verdict(h.submit(open_credit_limited("loan"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("euro", "EUR"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("gone"))) == accepted());
  REQUIRE(verdict(h.submit(close_account("gone"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("shut"))) == accepted());
  REQUIRE(verdict(h.submit(close_account("shut"))) == accepted());
}

std::string oversize(std::size_t max) { return std::string(max + 1, 'x'); }

TEST_CASE("precedence: the command id comes before the body", "[precedence]") {
  CheckedLedger h;
  open_accounts(h);
  const ledger::Transfer broken = transfer("", "", 0, "usd");

  SECTION("a malformed id before anything in the body") {
    CHECK(verdict(h.run(cmd("bad id", broken, h.now()))) ==
          rejected(RejectReason::invalid_field, "id"));
  }
  SECTION("a conflicting reuse before anything in the body") {
    const ledger::Outcome first = h.submit(transfer("bank", "bob", 1));
    CHECK(verdict(h.run(cmd(first.command_id, broken, h.now()))) ==
          rejected(RejectReason::id_exists_with_different_fields, "id"));
  }
}

TEST_CASE("precedence: open_account", "[precedence][open_account]") {
  CheckedLedger h;
  open_accounts(h);
  ledger::OpenAccount o = open_account("new");

  SECTION("account before asset") {
    o.account = "bad id";
    o.asset = "usd";
    CHECK(verdict(h.submit(o)) == rejected(RejectReason::invalid_field, "account"));
  }
  SECTION("asset before scale") {
    o.asset = "usd";
    o.scale = ledger::asset_scale_max + 1;
    CHECK(verdict(h.submit(o)) == rejected(RejectReason::invalid_field, "asset"));
  }
  SECTION("scale before both limits") {
    o.scale = ledger::asset_scale_max + 1;
    o.debits_must_not_exceed_credits = o.credits_must_not_exceed_debits = true;
    CHECK(verdict(h.submit(o)) == rejected(RejectReason::invalid_field, "scale"));
  }
  SECTION("both limits before metadata") {
    o.debits_must_not_exceed_credits = o.credits_must_not_exceed_debits = true;
    o.metadata = oversize(ledger::metadata_bytes_max);
    CHECK(verdict(h.submit(o)) ==
          rejected(RejectReason::invalid_field, "credits_must_not_exceed_debits"));
  }
  SECTION("overdraft without a limit before metadata") {
    o.overdraft_limit = 5;
    o.metadata = oversize(ledger::metadata_bytes_max);
    CHECK(verdict(h.submit(o)) == rejected(RejectReason::invalid_field, "overdraft_limit"));
  }
  SECTION("metadata before account_already_exists") {
    o.account = "bank";
    o.metadata = oversize(ledger::metadata_bytes_max);
    CHECK(verdict(h.submit(o)) == rejected(RejectReason::invalid_field, "metadata"));
  }
}

TEST_CASE("precedence: close_account", "[precedence][close_account]") {
  CheckedLedger h;
  open_accounts(h);

  SECTION("pending transfers before a non-zero balance") {
    REQUIRE(verdict(h.submit(transfer("bank", "bob", 5))) == accepted());
    REQUIRE(verdict(h.submit(hold("bank", "bob", 5))) == accepted());
    CHECK(verdict(h.submit(close_account("bob"))) ==
          rejected(RejectReason::account_has_pending_transfers, "account"));
  }
  SECTION("account_closed before anything about balances") {
    CHECK(verdict(h.submit(close_account("gone"))) ==
          rejected(RejectReason::account_closed, "account"));
  }
}

TEST_CASE("precedence: transfer", "[precedence][transfer]") {
  CheckedLedger h;
  open_accounts(h);
  const auto check = [&](const ledger::Transfer& t, RejectReason reason, const char* field) {
    CHECK(verdict(h.submit(t)) == rejected(reason, field));
  };
  ledger::Transfer t = transfer("bank", "bob", 1);

  SECTION("debit_account before credit_account") {
    t.debit_account = "";
    t.credit_account = "";
    check(t, RejectReason::invalid_field, "debit_account");
  }
  SECTION("credit_account before amount") {
    t.credit_account = "";
    t.amount = 0;
    check(t, RejectReason::invalid_field, "credit_account");
  }
  SECTION("amount before asset") {
    t.amount = 0;
    t.asset = "";
    check(t, RejectReason::invalid_field, "amount");
  }
  SECTION("asset before timeout_s") {
    t.asset = "";
    t.timeout_s = 1;
    check(t, RejectReason::invalid_field, "asset");
  }
  SECTION("timeout_s before reference") {
    t.timeout_s = 1;
    t.reference = oversize(ledger::reference_bytes_max);
    check(t, RejectReason::invalid_field, "timeout_s");
  }
  SECTION("reference before accounts_must_be_different") {
    t.credit_account = t.debit_account;
    t.reference = oversize(ledger::reference_bytes_max);
    check(t, RejectReason::invalid_field, "reference");
  }
  SECTION("accounts_must_be_different before account_not_found") {
    check(transfer("ghost", "ghost", 1), RejectReason::accounts_must_be_different,
          "credit_account");
  }
  SECTION("debit not found before credit not found") {
    check(transfer("ghost", "phantom", 1), RejectReason::account_not_found, "debit_account");
  }
  SECTION("credit not found before debit closed") {
    check(transfer("gone", "ghost", 1), RejectReason::account_not_found, "credit_account");
  }
  SECTION("debit closed before credit closed") {
    check(transfer("gone", "shut", 1), RejectReason::account_closed, "debit_account");
  }
  SECTION("credit closed before asset_mismatch") {
    check(transfer("euro", "gone", 1), RejectReason::account_closed, "credit_account");
  }
  SECTION("debit asset before credit asset") {
    check(transfer("euro", "bob", 1, "JPY"), RejectReason::asset_mismatch, "debit_account");
  }
  SECTION("asset_mismatch before limits") {
    check(transfer("alice", "euro", 5), RejectReason::asset_mismatch, "credit_account");
  }
  SECTION("overflow before limits") {
    REQUIRE(verdict(h.submit(transfer("bank", "alice", amount_max))) == accepted());
    REQUIRE(verdict(h.submit(transfer("alice", "bob", amount_max))) == accepted());
    check(transfer("alice", "loan", 1), RejectReason::overflow, "debit_account");
  }
  SECTION("debit limit before credit limit") {
    check(transfer("alice", "loan", 1), RejectReason::exceeds_credits, "debit_account");
  }
}

TEST_CASE("precedence: post_pending and void_pending", "[precedence][post_pending]") {
  CheckedLedger h;
  open_accounts(h);
  const ledger::Outcome held = h.submit(hold("bank", "bob", 10, 5));
  REQUIRE(verdict(held) == accepted());
  const std::string id = held.command_id;

  SECTION("pending state before amount") {
    REQUIRE(verdict(h.submit(post(id, 5))) == accepted());
    CHECK(verdict(h.submit(post(id, 11))) ==
          rejected(RejectReason::pending_already_posted, "pending_id"));
    h.set_time(h.now() + 5'000);
    CHECK(verdict(h.submit(post(id, 11))) ==
          rejected(RejectReason::pending_already_posted, "pending_id"));
  }
  SECTION("expiry before amount") {
    h.set_time(h.now() + 5'000);
    CHECK(verdict(h.submit(post(id, 11))) == rejected(RejectReason::pending_expired, "pending_id"));
  }
  SECTION("amount before overflow") {
    REQUIRE(verdict(h.submit(transfer("bank", "bob", amount_max - 5))) == accepted());
    CHECK(verdict(h.submit(post(id, 11))) ==
          rejected(RejectReason::amount_exceeds_pending, "amount"));
    CHECK(verdict(h.submit(post(id, 10))) == rejected(RejectReason::overflow, "amount"));
  }
  SECTION("voided before expired: a resolved hold keeps its state") {
    REQUIRE(verdict(h.submit(void_pending(id))) == accepted());
    h.set_time(h.now() + 5'000);
    CHECK(verdict(h.submit(void_pending(id))) ==
          rejected(RejectReason::pending_already_voided, "pending_id"));
  }
}

TEST_CASE("precedence: journal", "[precedence][journal]") {
  CheckedLedger h;
  open_accounts(h);
  const auto check = [&](const ledger::Journal& j, RejectReason reason, const std::string& field) {
    CHECK(verdict(h.submit(j)) == rejected(reason, field));
  };

  SECTION("leg count before the legs themselves") {
    check(journal({debit_leg("bad id", 0)}), RejectReason::invalid_field, "legs");
  }
  SECTION("leg by leg: an early leg's amount before a later leg's account") {
    check(journal({debit_leg("bank", 0), credit_leg("bad id", 1)}), RejectReason::invalid_field,
          "legs[0].amount");
  }
  SECTION("within a leg: account, asset, amount") {
    check(journal({debit_leg("bad id", 0, "usd"), credit_leg("bob", 1)}),
          RejectReason::invalid_field, "legs[0].account");
    check(journal({debit_leg("bank", 0, "usd"), credit_leg("bob", 1)}), RejectReason::invalid_field,
          "legs[0].asset");
  }
  SECTION("legs before reference") {
    check(journal({debit_leg("bank", 1), credit_leg("bob", 0)},
                  oversize(ledger::reference_bytes_max)),
          RejectReason::invalid_field, "legs[1].amount");
  }
  SECTION("reference before account_not_found") {
    check(journal({debit_leg("ghost", 1), credit_leg("bob", 1)},
                  oversize(ledger::reference_bytes_max)),
          RejectReason::invalid_field, "reference");
  }
  SECTION("accounts leg by leg: closed in leg 0 before not found in leg 1") {
    check(journal({debit_leg("gone", 1), credit_leg("ghost", 1)}), RejectReason::account_closed,
          "legs[0].account");
    check(journal({debit_leg("euro", 1), credit_leg("ghost", 1)}), RejectReason::asset_mismatch,
          "legs[0].account");
  }
  SECTION("accounts leg by leg: a scale clash in leg 1 before not found in leg 2") {
    REQUIRE(verdict(h.submit(open_account("milli", "USD", 3))) == accepted());
    check(journal({debit_leg("bank", 2), credit_leg("milli", 1), credit_leg("ghost", 1)}),
          RejectReason::asset_mismatch, "legs[1].account");
  }
  SECTION("asset_mismatch before unbalanced_journal") {
    check(journal({debit_leg("bank", 1), credit_leg("euro", 2)}), RejectReason::asset_mismatch,
          "legs[1].account");
  }
  SECTION("unbalanced_journal before overflow and limits") {
    REQUIRE(verdict(h.submit(transfer("bank", "bob", amount_max))) == accepted());
    check(journal({debit_leg("bank", 1), credit_leg("alice", 2)}), RejectReason::unbalanced_journal,
          "legs");
  }
  SECTION("overflow before limits") {
    REQUIRE(verdict(h.submit(transfer("bank", "bob", amount_max))) == accepted());
    check(journal({debit_leg("alice", 1), credit_leg("bob", 1)}), RejectReason::overflow,
          "legs[1].amount");
  }
}

TEST_CASE("precedence: linked", "[precedence][linked]") {
  CheckedLedger h;
  open_accounts(h);
  const ledger::Outcome known = h.submit(transfer("bank", "bob", 1));
  const auto ok = [](const char* id) { return step(id, transfer("bank", "bob", 1)); };

  SECTION("step count before step ids") {
    std::vector<ledger::LinkedStep> steps(ledger::linked_steps_max + 1, ok("same"));
    CHECK(verdict(h.submit(linked(steps))) == rejected(RejectReason::invalid_field, "steps"));
  }
  SECTION("every step id is checked for form before any for being known") {
    CHECK(verdict(h.submit(
              linked({step(known.command_id, transfer("bank", "bob", 1)), ok("a"), ok("b b")}))) ==
          rejected(RejectReason::invalid_field, "steps[2].id", 2));
  }
  SECTION("known step ids before any step is decided") {
    CHECK(verdict(h.submit(linked({step("x", transfer("ghost", "bob", 1)),
                                   step(known.command_id, transfer("bank", "bob", 1))}))) ==
          rejected(RejectReason::id_exists_with_different_fields, "steps[1].id", 1));
  }
  SECTION("the first failing step is reported") {
    CHECK(verdict(h.submit(linked({ok("a"), step("b", transfer("ghost", "bob", 1)),
                                   step("c", transfer("bob", "bob", 1))}))) ==
          rejected(RejectReason::account_not_found, "steps[1].debit_account", 1));
  }
}

}  // namespace
}  // namespace lf::test
