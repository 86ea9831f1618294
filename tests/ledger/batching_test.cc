// Batch boundaries are invisible: the same commands decided one at a time, in
// batches of 7, or all at once produce the same outcomes, the same events
// (byte for byte: sequence numbers, timestamps, postings) and the same state.
#include <catch2/catch.hpp>
#include <cstdio>

#include "ledger/limits.h"
#include "tests/support/harness.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

constexpr std::size_t command_count = 5'000;
static_assert(command_count <= ledger::batch_commands_max);

struct Run {
  std::vector<ledger::Outcome> outcomes;
  MemoryLedger ledger;
};

Run run_in_batches(const std::vector<ledger::Command>& commands, std::size_t batch_size) {
  Run run;
  for (std::size_t begin = 0; begin < commands.size(); begin += batch_size) {
    const std::size_t end = std::min(commands.size(), begin + batch_size);
    const std::vector<ledger::Outcome> outcomes =
        run.ledger.apply({commands.begin() + begin, commands.begin() + end});
    run.outcomes.insert(run.outcomes.end(), outcomes.begin(), outcomes.end());
  }
  return run;
}

// The index of the first difference, or the common size when none.
template <typename T>
std::size_t first_difference(const std::vector<T>& a, const std::vector<T>& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

TEST_CASE("batch boundaries do not change outcomes, events or state", "[batching]") {
  const std::uint64_t seed = seed_from_env();
  INFO("LF_SEED=" << seed);
  const std::vector<ledger::Command> commands = generate_workload(seed, command_count);
  const Run single = run_in_batches(commands, 1);
  REQUIRE(audit_events(single.ledger) == "");

  for (const std::size_t batch_size : {std::size_t{7}, command_count}) {
    CAPTURE(batch_size);
    const Run run = run_in_batches(commands, batch_size);

    const std::size_t outcome_diff = first_difference(single.outcomes, run.outcomes);
    CAPTURE(outcome_diff);
    if (outcome_diff < commands.size()) {
      INFO("command " << describe(commands[outcome_diff]));
      CHECK(single.outcomes[outcome_diff] == run.outcomes[outcome_diff]);
    }
    CHECK(run.outcomes.size() == single.outcomes.size());

    const std::vector<ledger::Event>& a = single.ledger.events();
    const std::vector<ledger::Event>& b = run.ledger.events();
    const std::size_t event_diff = first_difference(a, b);
    CAPTURE(event_diff);
    if (event_diff < a.size() && event_diff < b.size()) CHECK(a[event_diff] == b[event_diff]);
    CHECK(a.size() == b.size());

    CHECK(single.ledger.accounts() == run.ledger.accounts());
    CHECK(single.ledger.pendings() == run.ledger.pendings());
    CHECK(single.ledger.commands() == run.ledger.commands());
    CHECK(single.ledger.expiries() == run.ledger.expiries());
    CHECK(single.ledger.head() == run.ledger.head());
  }
}

}  // namespace
}  // namespace lf::test
