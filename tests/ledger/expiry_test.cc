// Pending transfers with a timeout expire when logical time reaches them:
// deterministically, triggered by the first later command whose timestamp
// gets there, before that command is decided.
#include <catch2/catch.hpp>
#include <string>

#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::Balances;
using ledger::PendingState;
using ledger::RejectReason;

constexpr ledger::TimestampMs t0 = default_timestamp_ms;

void open_accounts(CheckedLedger& h) {
  h.set_time(t0);
  REQUIRE(verdict(h.submit(open_account("bank"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("shop"))) == accepted());
}

std::vector<std::string> expired_in(const std::vector<ledger::Event>& events) {
  std::vector<std::string> ids;
  for (const ledger::Event& e : events) {
    if (const auto* expired = std::get_if<ledger::PendingExpired>(&e.body)) {
      ids.push_back(expired->pending_id);
    }
  }
  return ids;
}

TEST_CASE("pending expiry", "[expiry]") {
  CheckedLedger h;
  open_accounts(h);
  const ledger::Outcome held = h.submit(hold("bank", "shop", 25, 10));
  REQUIRE(verdict(held) == accepted());
  const std::string id = held.command_id;
  REQUIRE(h.pending(id).expires_at_ms == t0 + 10'000);

  SECTION("not a millisecond early") {
    h.set_time(t0 + 9'999);
    const ledger::Outcome outcome = h.submit(transfer("bank", "shop", 1));
    CHECK(expired_in(h.events_since(held.first_seq + 1)).empty());
    CHECK(h.pending(id).state == PendingState::pending);
    CHECK(verdict(h.submit(post(id))) == accepted());
    CHECK(outcome.first_seq == held.first_seq + 1);
  }

  SECTION("a later command expires the hold first, with its own event") {
    h.set_time(t0 + 10'000);
    const ledger::Outcome outcome = h.submit(transfer("bank", "shop", 1));
    REQUIRE(verdict(outcome) == accepted());
    CHECK(h.pending(id).state == PendingState::expired);
    CHECK(h.balances("bank") == Balances{0, 1, 0, 0});
    CHECK(h.balances("shop") == Balances{0, 0, 0, 1});
    CHECK(h.ledger().expiries().empty());

    // The expiry comes just before the command's own event and is not counted in it.
    const std::vector<ledger::Event> events = h.events_since(held.first_seq + 1);
    REQUIRE(events.size() == 2);
    CHECK(outcome.first_seq == events[1].seq);
    CHECK(outcome.event_count == 1);
    const ledger::Event& expiry = events[0];
    CHECK(std::get<ledger::PendingExpired>(expiry.body) == ledger::PendingExpired{id, 25});
    CHECK(expiry.command_id == outcome.command_id);
    CHECK(expiry.timestamp_ms == t0 + 10'000);
    CHECK_FALSE(expiry.command.has_value());
    CHECK(expiry.postings.size() == 2);
    CHECK(ledger::postings_balance(expiry.postings));
  }

  SECTION("post and void after expiry: pending_expired") {
    h.set_time(t0 + 60'000);
    CHECK(verdict(h.submit(post(id))) == rejected(RejectReason::pending_expired, "pending_id"));
    CHECK(verdict(h.submit(void_pending(id))) ==
          rejected(RejectReason::pending_expired, "pending_id"));
    CHECK(expired_in(h.events_since(held.first_seq)) == std::vector<std::string>{id});
  }

  SECTION("a rejected command moves time too") {
    h.set_time(t0 + 10'000);
    CHECK(verdict(h.submit(transfer("bank", "nobody", 1))) ==
          rejected(RejectReason::account_not_found, "credit_account"));
    CHECK(h.pending(id).state == PendingState::expired);
  }

  SECTION("a command with a malformed id moves time too") {
    h.set_time(t0 + 10'000);
    CHECK(verdict(h.run(cmd("bad id!", transfer("bank", "shop", 1), h.now()))) ==
          rejected(RejectReason::invalid_field, "id"));
    CHECK(h.pending(id).state == PendingState::expired);
  }

  SECTION("a duplicate does not move time") {
    h.set_time(t0 + 60'000);
    const ledger::Outcome retry = h.run(cmd(id, hold("bank", "shop", 25, 10), h.now()));
    CHECK(verdict(retry) == duplicate(accepted()));
    CHECK(h.pending(id).state == PendingState::pending);
    CHECK(h.ledger().head().logical_time_ms == t0);
  }

  SECTION("time never goes back, and a timeout counts from logical time") {
    h.set_time(t0 + 5'000);
    REQUIRE(verdict(h.submit(transfer("bank", "shop", 1))) == accepted());
    h.set_time(t0);  // A late arrival.
    const ledger::Outcome late = h.submit(hold("bank", "shop", 5, 10));
    REQUIRE(verdict(late) == accepted());
    CHECK(h.ledger().head().logical_time_ms == t0 + 5'000);
    CHECK(h.pending(late.command_id).expires_at_ms == t0 + 15'000);
    h.set_time(t0 + 14'999);
    REQUIRE(verdict(h.submit(transfer("bank", "shop", 1))) == accepted());
    CHECK(h.pending(late.command_id).state == PendingState::pending);
    CHECK(h.pending(id).state == PendingState::expired);
  }

  SECTION("holds due together expire in (expires_at, id) order") {
    // Same expiry time for "b" and "a"; "z" earlier; "never" has no timeout.
    h.set_time(t0 + 1'000);
    REQUIRE(verdict(h.run(cmd("b", hold("bank", "shop", 1, 20), h.now()))) == accepted());
    REQUIRE(verdict(h.run(cmd("a", hold("bank", "shop", 2, 20), h.now()))) == accepted());
    REQUIRE(verdict(h.run(cmd("z", hold("bank", "shop", 3, 5), h.now()))) == accepted());
    REQUIRE(verdict(h.run(cmd("never", hold("bank", "shop", 4), h.now()))) == accepted());
    const std::size_t events_before = h.event_count();
    h.set_time(t0 + 1'000'000);
    REQUIRE(verdict(h.submit(transfer("bank", "shop", 1))) == accepted());
    CHECK(expired_in(h.events_since(events_before + 1)) ==
          std::vector<std::string>{"z", id, "a", "b"});
    CHECK(h.pending("never").state == PendingState::pending);
    CHECK(h.balances("bank") == Balances{4, 1, 0, 0});
  }

  SECTION("a resolved hold does not expire") {
    REQUIRE(verdict(h.submit(void_pending(id))) == accepted());
    const std::size_t events_before = h.event_count();
    h.set_time(t0 + 60'000);
    REQUIRE(verdict(h.submit(transfer("bank", "shop", 1))) == accepted());
    CHECK(h.event_count() == events_before + 1);
    CHECK(h.pending(id).state == PendingState::voided);
  }

  SECTION("within one batch: created and expired by later commands of the batch") {
    const std::vector<ledger::Outcome> outcomes = h.run_batch({
        cmd("in.hold", hold("bank", "shop", 7, 1), t0 + 100),
        cmd("in.early", transfer("bank", "shop", 1), t0 + 1'099),
        cmd("in.due", transfer("bank", "shop", 1), t0 + 20'000),
        cmd("in.post", post("in.hold"), t0 + 20'001),
    });
    CHECK(verdict(outcomes[3]) == rejected(RejectReason::pending_expired, "pending_id"));
    CHECK(h.pending("in.hold").state == PendingState::expired);
    CHECK(h.pending(id).state == PendingState::expired);
    CHECK(expired_in(h.events_since(held.first_seq)) == std::vector<std::string>{"in.hold", id});
  }
}

}  // namespace
}  // namespace lf::test
