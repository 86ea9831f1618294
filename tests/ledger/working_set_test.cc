// WorkingSet with accounts loaded by reference (AccountCell, as the engine
// loads them): writes go to the caller's cell and mark it written, a rollback
// puts back the value and the mark, and the state machine decides through
// cells exactly as through values.
#include "ledger/working_set.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ledger/state_machine.h"

namespace lf::ledger {
namespace {

Account usd_account(const std::string& id, Amount credits_posted) {
  Account account;
  account.id = id;
  account.asset = "USD";
  account.scale = 2;
  account.balances.credits_posted = credits_posted;
  return account;
}

std::vector<AccountCell*> dirty_cells(WorkingSet& state) {
  std::vector<AccountCell*> cells;
  state.for_each_dirty_account_cell([&](AccountCell& cell) { cells.push_back(&cell); });
  return cells;
}

TEST_CASE("a loaded cell is read and written in place", "[working_set]") {
  AccountCell cell{usd_account("a", 5)};
  cell.listed = true;  // The owner's mark: the working set leaves it alone.
  WorkingSet state(LedgerHead{});
  state.load_account_cell("a", cell);
  state.load_account_cell("a", cell);  // A second load keeps the first.
  REQUIRE(state.find_account("a") == &*cell.value);

  Account changed = *cell.value;
  changed.balances.debits_posted = 3;
  state.put_account(changed);
  CHECK(cell.value == changed);
  CHECK(cell.written);
  CHECK(cell.listed);
  CHECK(dirty_cells(state) == std::vector<AccountCell*>{&cell});
  int dirty = 0;
  state.for_each_dirty_account([&](const std::string& id, const Account* value) {
    CHECK(id == "a");
    REQUIRE(value == &*cell.value);
    ++dirty;
  });
  CHECK(dirty == 1);
}

TEST_CASE("a rollback puts back a cell's value and written mark", "[working_set]") {
  AccountCell fresh{usd_account("fresh", 7)};
  AccountCell earlier{usd_account("earlier", 9)};
  earlier.written = true;  // Written by an earlier batch, not flushed yet.
  AccountCell absent;      // No such account.
  WorkingSet state(LedgerHead{});
  state.load_account_cell("fresh", fresh);
  state.load_account_cell("earlier", earlier);
  state.load_account_cell("absent", absent);

  state.savepoint();
  Account a = *fresh.value;
  a.balances.debits_posted = 1;
  state.put_account(a);
  Account b = *earlier.value;
  b.closed = true;
  state.put_account(b);
  state.put_account(usd_account("absent", 0));
  REQUIRE(absent.value.has_value());
  REQUIRE(dirty_cells(state).size() == 3);
  state.rollback();

  CHECK(fresh.value == usd_account("fresh", 7));
  CHECK_FALSE(fresh.written);
  CHECK(earlier.value == usd_account("earlier", 9));
  CHECK(earlier.written);
  CHECK_FALSE(absent.value.has_value());
  CHECK_FALSE(absent.written);
  CHECK(state.find_account("absent") == nullptr);
  CHECK(dirty_cells(state).empty());

  // Written again after the rollback: listed once, dirty again.
  state.put_account(a);
  CHECK(dirty_cells(state) == std::vector<AccountCell*>{&fresh});
  CHECK(fresh.written);
}

TEST_CASE("the state machine decides through cells as through values", "[working_set]") {
  // A linked chain whose second step overdraws: all of it is undone, in the
  // cells too; then a plain transfer moves them.
  Transfer ok{"a", "b", 4, "USD", false, 0, ""};
  Transfer overdraw{"b", "a", 1000, "USD", false, 0, ""};
  Command linked{"l1", 10, Linked{{LinkedStep{"s1", ok}, LinkedStep{"s2", overdraw}}}, {}};
  Command transfer{"t1", 11, Transfer{"a", "b", 2, "USD", false, 0, ""}, {}};

  const auto run = [&](bool by_cell, std::vector<Event>& events) {
    Account a = usd_account("a", 10);
    a.debits_must_not_exceed_credits = true;
    Account b = usd_account("b", 0);
    b.debits_must_not_exceed_credits = true;
    AccountCell cell_a{a};
    AccountCell cell_b{b};
    std::vector<Outcome> outcomes;
    for (const Command* command : {&linked, &transfer}) {
      WorkingSet state(LedgerHead{});
      if (by_cell) {
        state.load_account_cell("a", cell_a);
        state.load_account_cell("b", cell_b);
      } else {
        state.load_account("a", cell_a.value);
        state.load_account("b", cell_b.value);
      }
      for (const char* id : {"l1", "s1", "s2", "t1"}) state.load_command(id, std::nullopt);
      outcomes.push_back(decide(state, *command, events));
      if (command == &linked) {
        // Rejected whole: nothing written, in the cells or anywhere.
        CHECK(cell_a.value == a);
        CHECK(cell_b.value == b);
        CHECK_FALSE(cell_a.written);
        CHECK_FALSE(cell_b.written);
        CHECK(dirty_cells(state).empty());
      } else if (!by_cell) {
        state.for_each_dirty_account([&](const std::string& id, const Account* value) {
          (id == "a" ? cell_a : cell_b).value = *value;
        });
      }
    }
    CHECK(cell_a.value->balances.debits_posted == 2);
    CHECK(cell_b.value->balances.credits_posted == 2);
    CHECK(cell_a.written == by_cell);
    return outcomes;
  };
  std::vector<Event> by_cell_events;
  std::vector<Event> by_value_events;
  const std::vector<Outcome> by_cell = run(true, by_cell_events);
  const std::vector<Outcome> by_value = run(false, by_value_events);
  REQUIRE(by_cell.size() == 2);
  CHECK(by_cell[0].status == OutcomeStatus::rejected);
  CHECK(by_cell[0].reason == RejectReason::exceeds_credits);
  CHECK(by_cell[1].status == OutcomeStatus::accepted);
  CHECK(by_cell == by_value);
  CHECK(by_cell_events == by_value_events);
}

}  // namespace
}  // namespace lf::ledger
