// The state machine, driven through MemoryLedger in batches of random size,
// checked command by command against the independent ReferenceModel.
//
// Reproduce a failure with the seed it prints: LF_SEED=<seed> lf_ledger_tests
// "[randomized]". LF_COMMANDS overrides the workload's length; LF_VERBOSE=1
// prints what the workload exercised.
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "tests/support/harness.h"
#include "tests/support/memory_ledger.h"
#include "tests/support/printing.h"
#include "tests/support/reference_model.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

using ledger::Command;
using ledger::Outcome;
using ledger::RejectReason;

constexpr std::size_t default_command_count = 100'000;
constexpr std::size_t state_check_interval = 10'000;

std::size_t command_count_from_env() {
  const char* text = std::getenv("LF_COMMANDS");
  if (text == nullptr || *text == '\0') return default_command_count;
  return std::strtoull(text, nullptr, 10);
}

// Batch sizes from tiny to large, drawn from their own stream so that the
// workload and the batching vary independently.
std::size_t batch_size(std::mt19937_64& rng) {
  const std::uint64_t r = rng() % 10;
  if (r < 4) return 1 + rng() % 8;
  if (r < 8) return 9 + rng() % 192;
  return 201 + rng() % 1800;
}

// What the workload exercised, to prove it reaches every rule.
struct Coverage {
  std::map<std::string, int> accepted;  // By command type.
  std::map<RejectReason, int> rejected;
  int duplicates = 0;
  int expired = 0;

  void add(const Command& command, const Outcome& outcome) {
    if (outcome.duplicate) {
      ++duplicates;
    } else if (outcome.status == ledger::OutcomeStatus::accepted) {
      ++accepted[ledger::command_type_name(command.body)];
    } else {
      ++rejected[outcome.reason];
    }
  }

  std::string summary() const {
    std::string s = "accepted:";
    for (const auto& [type, n] : accepted) s += " " + type + "=" + std::to_string(n);
    s += "\nrejected:";
    for (const auto& [reason, n] : rejected) {
      s += std::string(" ") + ledger::reject_reason_name(reason) + "=" + std::to_string(n);
    }
    s += "\nduplicates=" + std::to_string(duplicates) + " expired=" + std::to_string(expired);
    return s;
  }
};

std::vector<std::string> expired_ids(const MemoryLedger& ledger) {
  std::vector<std::string> ids;
  for (const ledger::Event& event : ledger.events()) {
    if (const auto* expired = std::get_if<ledger::PendingExpired>(&event.body)) {
      ids.push_back(expired->pending_id);
    }
  }
  return ids;
}

TEST_CASE("randomized workload agrees with the reference model", "[randomized]") {
  const std::uint64_t seed = seed_from_env();
  const std::size_t count = command_count_from_env();
  std::printf("randomized: LF_SEED=%llu LF_COMMANDS=%zu\n", static_cast<unsigned long long>(seed),
              count);
  INFO("LF_SEED=" << seed << " LF_COMMANDS=" << count);
  const std::vector<Command> commands = generate_workload(seed, count);
  REQUIRE(commands.size() == count);

  MemoryLedger ledger;
  ReferenceModel model;
  Coverage coverage;
  std::mt19937_64 batch_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::size_t next_state_check = state_check_interval;
  for (std::size_t begin = 0; begin < count;) {
    const std::size_t end = std::min(count, begin + batch_size(batch_rng));
    const std::vector<Command> batch(commands.begin() + begin, commands.begin() + end);
    const std::vector<Outcome> outcomes = ledger.apply(batch);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Outcome expected = model.submit(batch[i]);
      coverage.add(batch[i], outcomes[i]);
      if (outcomes[i] == expected) continue;
      INFO("command index " << begin + i << " (batch " << begin << ".." << end
                            << "): " << describe(batch[i]));
      REQUIRE(outcomes[i] == expected);
    }
    begin = end;
    if (begin >= next_state_check || begin == count) {
      INFO("state after command index " << begin - 1);
      REQUIRE(diff_state(ledger, model) == "");
      next_state_check += state_check_interval;
    }
  }
  CHECK(audit_events(ledger) == "");
  const std::vector<std::string> expired = expired_ids(ledger);
  coverage.expired = static_cast<int>(expired.size());
  CHECK(expired == model.expired());
  if (std::getenv("LF_VERBOSE") != nullptr) std::printf("%s\n", coverage.summary().c_str());

  // The default workload must reach every rule, or this test proves little.
  if (count == default_command_count) {
    INFO(coverage.summary());
    for (const char* type : {"open_account", "close_account", "transfer", "post_pending",
                             "void_pending", "journal", "linked"}) {
      CAPTURE(type);
      CHECK(coverage.accepted[type] > 0);
    }
    for (int r = 1; r <= static_cast<int>(RejectReason::account_has_pending_transfers); ++r) {
      const auto reason = static_cast<RejectReason>(r);
      CAPTURE(reason);
      CHECK(coverage.rejected[reason] > 0);
    }
    CHECK(coverage.duplicates > 0);
    CHECK(coverage.expired > 0);
  }
}

}  // namespace
}  // namespace lf::test
