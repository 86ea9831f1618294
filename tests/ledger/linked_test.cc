// linked: chains of steps that all succeed or none do.
#include <catch2/catch.hpp>
#include <string>

#include "ledger/limits.h"
#include "tests/support/harness.h"

namespace lf::test {
namespace {

using ledger::Balances;
using ledger::PendingState;
using ledger::RejectReason;

void open_accounts(CheckedLedger& h) {
  REQUIRE(verdict(h.submit(open_account("bank"))) == accepted());
  REQUIRE(verdict(h.submit(open_debit_limited("alice"))) == accepted());
  REQUIRE(verdict(h.submit(open_account("bob"))) == accepted());
  REQUIRE(verdict(h.submit(transfer("bank", "alice", 100))) == accepted());
}

// Everything a failed chain must leave as it was.
struct Snapshot {
  std::map<std::string, ledger::Account> accounts;
  std::map<std::string, ledger::PendingTransfer> pendings;
  std::map<std::string, ledger::CommandRecord> commands;
  std::set<ledger::ExpiryKey> expiries;

  explicit Snapshot(const MemoryLedger& l)
      : accounts(l.accounts()),
        pendings(l.pendings()),
        commands(l.commands()),
        expiries(l.expiries()) {}
  bool operator==(const Snapshot&) const = default;
};

TEST_CASE("linked", "[linked]") {
  CheckedLedger h;
  open_accounts(h);

  SECTION("each step sees the ones before it; one event per step") {
    const ledger::Command chain = cmd(
        "chain",
        linked({step("s.open", open_debit_limited("carol")),
                step("s.fund", transfer("alice", "carol", 60)),
                step("s.hold", hold("carol", "bob", 50, 30)), step("s.post", post("s.hold", 20))}),
        h.now());
    const ledger::Outcome outcome = h.run(chain);
    REQUIRE(verdict(outcome) == accepted());
    CHECK(outcome.event_count == 4);
    CHECK(h.balances("carol") == Balances{0, 20, 0, 60});
    CHECK(h.balances("alice") == Balances{0, 60, 0, 100});
    CHECK(h.pending("s.hold").state == PendingState::posted);

    const std::vector<ledger::Event> events = h.events_of(outcome);
    REQUIRE(events.size() == 4);
    const char* step_ids[] = {"s.open", "s.fund", "s.hold", "s.post"};
    for (std::size_t i = 0; i < events.size(); ++i) {
      CAPTURE(i);
      CHECK(events[i].command_id == "chain");
      CHECK(events[i].step_id == step_ids[i]);
      CHECK(events[i].command.has_value() == (i == 0));  // The input, once.
      CHECK(ledger::postings_balance(events[i].postings));
    }
    CHECK(std::holds_alternative<ledger::AccountOpened>(events[0].body));
    CHECK(std::get<ledger::TransferPosted>(events[1].body).transfer_id == "s.fund");
    CHECK(std::get<ledger::PendingCreated>(events[2].body).pending.id == "s.hold");
    CHECK(std::get<ledger::PendingPosted>(events[3].body) ==
          ledger::PendingPosted{"s.hold", 20, 30});
  }

  SECTION("a single step and the maximum number of steps") {
    CHECK(verdict(h.submit(linked({step("one", transfer("bank", "bob", 1))}))) == accepted());
    std::vector<ledger::LinkedStep> steps;
    while (steps.size() < ledger::linked_steps_max) {
      steps.push_back(step("max." + std::to_string(steps.size()), transfer("bank", "bob", 1)));
    }
    const ledger::Outcome outcome = h.submit(linked(steps));
    CHECK(verdict(outcome) == accepted());
    CHECK(outcome.event_count == ledger::linked_steps_max);
  }

  SECTION("invalid_field: steps, none or too many") {
    CHECK(verdict(h.submit(linked({}))) == rejected(RejectReason::invalid_field, "steps"));
    std::vector<ledger::LinkedStep> steps;
    while (steps.size() <= ledger::linked_steps_max) {
      steps.push_back(step("x." + std::to_string(steps.size()), transfer("bank", "bob", 1)));
    }
    CHECK(verdict(h.submit(linked(steps))) == rejected(RejectReason::invalid_field, "steps"));
  }

  SECTION("invalid_field: a step id malformed, repeated, or the chain's own") {
    CHECK(verdict(h.submit(linked(
              {step("a", transfer("bank", "bob", 1)), step("b c", transfer("bank", "bob", 1))}))) ==
          rejected(RejectReason::invalid_field, "steps[1].id", 1));
    CHECK(verdict(h.submit(
              linked({step("a", transfer("bank", "bob", 1)), step("b", transfer("bank", "bob", 1)),
                      step("a", transfer("bank", "bob", 1))}))) ==
          rejected(RejectReason::invalid_field, "steps[2].id", 2));
    CHECK(verdict(h.run(cmd("self", linked({step("self", transfer("bank", "bob", 1))}),
                            h.now()))) == rejected(RejectReason::invalid_field, "steps[0].id", 0));
  }

  SECTION("id_exists_with_different_fields: a step id already known") {
    const ledger::Outcome earlier = h.submit(transfer("bank", "bob", 1));
    CHECK(verdict(h.submit(linked({step("fresh", transfer("bank", "bob", 1)),
                                   step(earlier.command_id, transfer("bank", "bob", 1))}))) ==
          rejected(RejectReason::id_exists_with_different_fields, "steps[1].id", 1));
  }

  SECTION("a failing step rejects the chain with its own reason and field") {
    CHECK(verdict(h.submit(linked({step("ok", transfer("bank", "bob", 1)),
                                   step("bad", transfer("alice", "bob", 101))}))) ==
          rejected(RejectReason::exceeds_credits, "steps[1].debit_account", 1));
    CHECK(verdict(h.submit(linked({step("z", transfer("bank", "bob", 0))}))) ==
          rejected(RejectReason::invalid_field, "steps[0].amount", 0));
    CHECK(verdict(h.submit(
              linked({step("j", journal({debit_leg("bank", 2), credit_leg("bob", 1)}))}))) ==
          rejected(RejectReason::unbalanced_journal, "steps[0].legs", 0));
  }

  SECTION("a failed chain changes nothing but time and the log") {
    const std::size_t events_before = h.event_count();
    const Snapshot before(h.ledger());
    h.set_time(h.now() + 5);
    const ledger::Outcome outcome = h.submit(linked(
        {step("c.open", open_account("dave")), step("c.hold", hold("bank", "dave", 10, 60)),
         step("c.move", transfer("bank", "alice", 5)), step("c.void", void_pending("c.hold")),
         step("c.fail", transfer("alice", "bob", 1'000))}));
    CHECK(verdict(outcome) == rejected(RejectReason::exceeds_credits, "steps[4].debit_account", 4));

    Snapshot after(h.ledger());
    after.commands.erase(outcome.command_id);  // The chain itself is remembered.
    CHECK(after == before);
    CHECK(h.ledger().find_account("dave") == nullptr);
    CHECK(h.ledger().head().logical_time_ms == h.now());
    REQUIRE(h.event_count() == events_before + 1);
    const auto& body = std::get<ledger::CommandRejected>(h.ledger().events().back().body);
    CHECK(body ==
          ledger::CommandRejected{RejectReason::exceeds_credits, "steps[4].debit_account", 4});

    // No step id was taken: each may be used again.
    CHECK(verdict(h.run(cmd("c.open", open_account("dave"), h.now()))) == accepted());
    CHECK(verdict(h.run(cmd("c.hold", hold("bank", "dave", 10), h.now()))) == accepted());
  }

  SECTION("an accepted chain's steps are remembered as commands of their own") {
    REQUIRE(verdict(h.run(cmd("pay",
                              linked({step("pay.1", transfer("bank", "bob", 7)),
                                      step("pay.2", transfer("bank", "alice", 8))}),
                              h.now()))) == accepted());
    const ledger::Outcome retry = h.run(cmd("pay.2", transfer("bank", "alice", 8), h.now() + 1));
    CHECK(verdict(retry) == duplicate(accepted()));
    CHECK(retry.command_id == "pay.2");
    CHECK(verdict(h.run(cmd("pay.1", transfer("bank", "bob", 8), h.now()))) ==
          rejected(RejectReason::id_exists_with_different_fields, "id"));
    CHECK(h.balances("bob") == Balances{0, 0, 0, 7});
  }
}

}  // namespace
}  // namespace lf::test
