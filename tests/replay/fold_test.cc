// The fold's building blocks: the compact idempotency records
// (FoldedCommands) keep a map's semantics, and decoding into a recycled
// OpenedEvent (what a replay's opener threads do) gives exactly what a fresh
// decode gives, whatever the previous event was.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory_resource>
#include <set>
#include <variant>

#include "engine/projection.h"
#include "ledger/state_machine.h"
#include "schemas/codec.h"
#include "tests/engine/fixtures.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

ledger::CommandRecord record_for(std::string_view id, ledger::Sequence seq) {
  ledger::CommandRecord r;
  r.content_digest.fill(static_cast<std::uint8_t>(seq));
  r.outcome.command_id = std::string(id);
  r.outcome.first_seq = seq;
  r.outcome.event_count = 1;
  if (seq % 3 == 0) {
    r.outcome.status = ledger::OutcomeStatus::rejected;
    r.outcome.reason = ledger::RejectReason::exceeds_credits;
    r.outcome.field = "amount";
    r.outcome.failed_step = static_cast<std::int32_t>(seq % 5);
  }
  return r;
}

// Adds the same records to FoldedCommands and to a map (the semantics it
// replaces) and checks both list the same records in the same order.
void check_against_map(std::size_t count, std::uint64_t seed) {
  std::pmr::monotonic_buffer_resource memory;
  engine::FoldedCommands folded(&memory);
  std::map<std::string, ledger::CommandRecord> expected;
  std::uint64_t x = seed;
  std::size_t slot = 0;
  std::string slot_id;
  for (std::size_t seq = 1; seq <= count; ++seq) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // Seeded, reproducible.
    const std::uint64_t pick = x >> 33;
    if (pick % 4 == 0 && !slot_id.empty()) {  // A later event of the open command.
      folded.add_event(slot);
      ++expected[slot_id].outcome.event_count;
      continue;
    }
    // Ids out of order, some reused (the last record for an id wins).
    const std::string id = fmt::format("cmd-{}", pick % (count / 2 + 1));
    ledger::CommandRecord r = record_for(id, seq);
    slot = folded.add(id, r);
    slot_id = id;
    expected[id] = r;
  }
  folded.sort();
  REQUIRE(folded.size() == expected.size());
  std::size_t i = 0;
  for (const auto& [id, r] : expected) {
    INFO("record " << i << " id " << id);
    CHECK(folded.id(i) == id);
    CHECK(folded.record(i) == r);
    ++i;
  }
}

TEST_CASE("FoldedCommands lists the records a map would, in id order") {
  const std::uint64_t seed = seed_from_env();
  INFO("seed " << seed << " (LF_SEED to repeat)");
  check_against_map(1000, seed);        // Sorted on one thread.
  check_against_map(200000, seed + 1);  // Sorted in two halves, then merged.
}

TEST_CASE("FoldedCommands: an empty fold needs no sort, a reused id keeps its last record") {
  std::pmr::monotonic_buffer_resource memory;
  engine::FoldedCommands folded(&memory);
  CHECK(folded.size() == 0);
  const std::size_t first = folded.add("a", record_for("a", 1));
  folded.add("b", record_for("b", 2));
  const std::size_t again = folded.add("a", record_for("a", 4));
  folded.add_event(again);
  folded.add_event(first);  // Counts on the replaced record: not listed.
  folded.sort();
  REQUIRE(folded.size() == 2);
  CHECK(folded.id(0) == "a");
  ledger::CommandRecord a = record_for("a", 4);
  a.outcome.event_count = 2;
  CHECK(folded.record(0) == a);
  CHECK(folded.record(1) == record_for("b", 2));
}

// Folds hand-made events (no postings) and returns the sorted records.
std::vector<std::pair<std::string, ledger::CommandRecord>> fold_records(
    const std::vector<ledger::Event>& events) {
  engine::ProjectedState state;
  for (const ledger::Event& e : events) REQUIRE(engine::apply_event(e, state).empty());
  state.commands.sort();
  std::vector<std::pair<std::string, ledger::CommandRecord>> out;
  state.commands.for_each([&](std::string_view id, const ledger::CommandRecord& r) {
    out.emplace_back(std::string(id), r);
  });
  return out;
}

ledger::Transfer a_transfer() {
  ledger::Transfer t;
  t.debit_account = "a";
  t.credit_account = "b";
  t.amount = 5;
  t.asset = "USD";
  return t;
}

ledger::Event bare_event(ledger::Sequence seq, std::string command_id, std::string step_id = {}) {
  ledger::Event e;
  e.seq = seq;
  e.command_id = std::move(command_id);
  e.step_id = std::move(step_id);
  e.body = ledger::JournalPosted{};
  return e;
}

TEST_CASE("the fold: a command-less first event with an empty id gets an empty record") {
  // Not a log the state machine writes, but one anybody can hash-chain: the
  // fold gives it what the map it replaced gave (an empty record under "",
  // one event), instead of failing an assertion.
  const auto records = fold_records({bare_event(1, "")});
  REQUIRE(records.size() == 1);
  ledger::CommandRecord expected;
  expected.outcome.event_count = 1;
  CHECK(records[0].first.empty());
  CHECK(records[0].second == expected);
}

TEST_CASE("the fold: a later event of a command counts on that command's record only") {
  ledger::Event first = bare_event(1, "x");
  first.command = ledger::Command{"x", 0, a_transfer(), {}};
  ledger::Event rejected = bare_event(2, "bad id");
  rejected.command = ledger::Command{"bad id", 0, a_transfer(), {}};
  rejected.body = ledger::CommandRejected{ledger::RejectReason::invalid_field, "id", -1};
  // After a command whose id was refused, an event with an empty id opens
  // an empty record; x keeps one event.
  const auto records = fold_records({first, rejected, bare_event(3, "")});
  REQUIRE(records.size() == 2);
  CHECK(records[0].first.empty());
  CHECK(records[0].second.outcome.event_count == 1);
  CHECK(records[1].first == "x");
  CHECK(records[1].second.outcome.event_count == 1);
  CHECK(records[1].second.content_digest == ledger::content_digest(*first.command));

  // Two such events around a refused command count on one empty record.
  const auto twice = fold_records({bare_event(1, ""), rejected, bare_event(3, "")});
  REQUIRE(twice.size() == 1);
  CHECK(twice[0].first.empty());
  CHECK(twice[0].second.outcome.event_count == 2);
}

TEST_CASE("the fold: a linked step reusing its chain's id takes over its record") {
  const ledger::Transfer step_body = a_transfer();
  ledger::Event first = bare_event(1, "L", "L");
  first.command =
      ledger::Command{"L", 0, ledger::Linked{{{"L", step_body}, {"s2", step_body}}}, {}};
  const ledger::Event second = bare_event(2, "L", "s2");
  const auto records = fold_records({first, second});
  REQUIRE(records.size() == 2);
  // "L": the step's record (it replaced the chain's), counting both events,
  // as a map's operator[] did.
  CHECK(records[0].first == "L");
  CHECK(records[0].second.content_digest ==
        ledger::content_digest(ledger::Command{"L", 0, step_body, {}}));
  CHECK(records[0].second.outcome.first_seq == 1);
  CHECK(records[0].second.outcome.event_count == 2);
  CHECK(records[1].first == "s2");
  CHECK(records[1].second.outcome.first_seq == 2);
  CHECK(records[1].second.outcome.event_count == 1);
}

TEST_CASE("decoding into a recycled OpenedEvent equals a fresh decode") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  apply_all(*engine, generate_workload(default_seed + 9, 3000), 200);
  std::vector<std::string> events = raw_events(*engine);
  REQUIRE(events.size() > 2000);
  // Every event decoded over each of a few others of every kind: reversed,
  // then rotated, so that each body type follows every other.
  std::set<std::size_t> kinds;  // Every event body type occurs.
  for (const std::string& sealed : events)
    kinds.insert(codec::open_event(sealed)->event.body.index());
  REQUIRE(kinds.size() == std::variant_size_v<ledger::EventBody>);
  codec::OpenedEvent recycled;
  for (std::size_t rotation : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    std::vector<std::string> order = events;
    std::reverse(order.begin(), order.end());
    std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(rotation), order.end());
    for (const std::string& sealed : order) {
      auto fresh = codec::open_event(sealed);
      REQUIRE(fresh.is_ok());
      REQUIRE(codec::open_event_into(sealed, recycled).is_ok());
      REQUIRE(recycled.event == fresh->event);
      REQUIRE(recycled.hash == fresh->hash);
      REQUIRE(recycled.prev_hash == fresh->prev_hash);
      REQUIRE(recycled.event_bytes.size() == fresh->event_bytes.size());
      REQUIRE_FALSE(recycled.command_digest.has_value());
    }
  }
  // A failed decode leaves it usable for the next one.
  std::string bad = events[5];
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x40);
  CHECK_FALSE(codec::open_event_into(bad, recycled).is_ok());
  REQUIRE(codec::open_event_into(events[6], recycled).is_ok());
  CHECK(recycled.event == codec::open_event(events[6])->event);
}

}  // namespace
}  // namespace lf::test
