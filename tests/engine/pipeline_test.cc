// Pipelined writes (Engine::submit / complete): the batch being decided
// reads what the batches still in flight wrote, so the log, the outcomes and
// the projections are exactly those of apply(), batch for batch; the
// pipeline's limits and misuse are errors; a write failure fails its batch
// and every later one (storage_fault_test.cc injects one).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <span>

#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

TEST_CASE("pipelined batches write the same log, outcomes and state as apply()",
          "[engine][pipeline]") {
  const std::uint64_t seed = seed_from_env(default_seed + 31);
  INFO("seed " << seed << " (LF_SEED to replay)");
  // Every command type, holds expiring as time passes, duplicates and
  // invalid commands: batches constantly read what the previous one wrote.
  const std::vector<ledger::Command> commands = generate_workload(seed, 20'000);
  for (const std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{250}}) {
    INFO("batch " << batch);
    TempDir dir;
    auto sync = open_engine(dir.path("sync"));
    auto piped = open_engine(dir.path("piped"));
    const auto want = apply_all(*sync, commands, batch);
    const auto got = submit_all(*piped, commands, batch);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (!(got[i] == want[i])) {
        INFO("command " << i << " " << commands[i].id);
        CHECK(got[i] == want[i]);
        break;
      }
    }
    CHECK(piped->head() == sync->head());
    CHECK(raw_events(*piped) == raw_events(*sync));
    CHECK(digest_of(*piped) == digest_of(*sync));
    const engine::VerifyReport report = verify_store(*piped);
    INFO(report.problem);
    CHECK(report.ok);
  }
}

TEST_CASE("the pipeline refuses misuse with clear errors", "[engine][pipeline]") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  const std::vector<ledger::Command> opens = {cmd("o1", open_account("a")),
                                              cmd("o2", open_account("b"))};
  const std::vector<ledger::Command> moves = {cmd("t1", transfer("a", "b", 5)),
                                              cmd("t2", transfer("b", "a", 2))};
  CHECK(engine->complete().status().code() == Status::Code::invalid_argument);
  CHECK(engine->submit({}).code() == Status::Code::invalid_argument);
  REQUIRE(engine->submit(opens).is_ok());
  // Then single transfers until the pipeline is full.
  std::vector<std::vector<ledger::Command>> singles;
  for (std::size_t i = 1; i < engine::pipeline_batches_max; ++i) {
    singles.push_back({cmd(fmt::format("s{}", i), transfer("a", "b", 1))});
    REQUIRE(engine->submit(singles.back()).is_ok());
  }
  CHECK(engine->in_flight() == engine::pipeline_batches_max);
  const Status full = engine->submit(moves);
  CHECK(full.code() == Status::Code::invalid_argument);
  CHECK_THAT(full.message(), Catch::Contains("pipeline full"));
  auto mixed = engine->apply(moves);
  CHECK(mixed.status().code() == Status::Code::invalid_argument);
  const std::vector<engine::MetaPut> meta = {{"offset-like", "x"}};
  const Status meta_put = engine->put_meta(meta, false);
  CHECK(meta_put.code() == Status::Code::invalid_argument);
  CHECK_THAT(meta_put.message(),
             Catch::Contains(fmt::format("{} batches in flight", engine::pipeline_batches_max)));
  CHECK(engine->checkpoint(dir.path("checkpoint")).code() == Status::Code::invalid_argument);
  auto first = engine->complete();
  REQUIRE(first.is_ok());
  CHECK(first->first_seq == 1);
  for (std::size_t i = 1; i < engine::pipeline_batches_max; ++i) {
    auto single = engine->complete();
    REQUIRE(single.is_ok());
    CHECK(single->first_seq == 2 + i);  // After the two openings.
    CHECK(single->outcomes.at(0).status == ledger::OutcomeStatus::accepted);
  }
  CHECK(engine->in_flight() == 0);
  // Back to synchronous use: the submit of `moves` was refused, so applying
  // them now decides them for the first time; again, they are duplicates.
  auto moved = engine->apply(moves);
  REQUIRE(moved.is_ok());
  CHECK(moved->outcomes.at(0).status == ledger::OutcomeStatus::accepted);
  CHECK_FALSE(moved->outcomes.at(0).duplicate);
  auto again = engine->apply(moves);
  REQUIRE(again.is_ok());
  CHECK(again->outcomes.at(0).duplicate);
  auto a = engine->account("a");
  REQUIRE(a.is_ok());
  REQUIRE(a->has_value());
  CHECK((*a)->balances.credits_posted == 2);
  CHECK((*a)->balances.debits_posted == 5 + (engine::pipeline_batches_max - 1));
}

TEST_CASE("batches still in flight when the engine closes are written", "[engine][pipeline]") {
  const std::vector<ledger::Command> commands = generate_workload(default_seed + 32, 3000);
  TempDir dir;
  engine::Head head;
  {
    auto engine = open_engine(dir.path());
    REQUIRE(engine->submit(std::span(commands).subspan(0, 1500)).is_ok());
    REQUIRE(engine->submit(std::span(commands).subspan(1500, 1500)).is_ok());
  }  // Closed with both in flight: their outcomes were never returned.
  auto reference = open_engine(dir.path("reference"));
  apply_all(*reference, commands, 1500);
  auto reopened = open_engine(dir.path());
  CHECK(reopened->head() == reference->head());
  CHECK(raw_events(*reopened) == raw_events(*reference));
  // A caller that never saw the outcomes re-submits: each is answered again
  // from the idempotency records, and the log does not grow (commands with
  // malformed ids are not remembered; they are rejected and logged again).
  const engine::Head before = reopened->head();
  const auto outcomes = apply_all(*reopened, commands, 1500);
  std::size_t duplicates = 0;
  for (const ledger::Outcome& o : outcomes) duplicates += o.duplicate ? 1 : 0;
  CHECK(duplicates > 2500);
  CHECK(reopened->head().ledger.next_seq - before.ledger.next_seq == commands.size() - duplicates);
}

}  // namespace
}  // namespace lf::test
