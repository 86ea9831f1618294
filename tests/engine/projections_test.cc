// Projection flushes (engine/engine.h): accounts, holds, idempotency records
// and the expiry index are written every few thousand events, not with every
// batch. Wherever the flushes fall, the log, the outcomes and the state are
// the same; a store closed (or crashed) between flushes reopens by
// re-executing its log tail, which must reproduce the logged events; queries
// and read-only opens see the unflushed state.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <span>

#include "engine/keys.h"
#include "engine/records.h"
#include "engine/replay.h"
#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

engine::EngineOptions flushing_every(std::uint64_t events, bool flush_on_close = true) {
  engine::EngineOptions options;
  options.projections_flush_events = events;
  options.flush_projections_on_close = flush_on_close;
  return options;
}

void require_same_outcomes(const std::vector<ledger::Outcome>& got,
                           const std::vector<ledger::Outcome>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("outcome " << i);
    REQUIRE(got[i] == want[i]);
  }
}

// The same head, log bytes and state digest as `reference`, and a store that verifies.
void require_same_store(engine::Engine& engine, engine::Engine& reference) {
  CHECK(engine.head() == reference.head());
  CHECK(raw_events(engine) == raw_events(reference));
  CHECK(digest_of(engine) == digest_of(reference));
  const engine::VerifyReport report = verify_store(engine);
  INFO(report.problem);
  CHECK(report.ok);
}

TEST_CASE("where projection flushes fall changes nothing", "[engine][projections]") {
  const std::uint64_t seed = seed_from_env(default_seed + 41);
  INFO("seed " << seed << " (LF_SEED to replay)");
  const std::vector<ledger::Command> commands = generate_workload(seed, 20'000);
  TempDir dir;
  // Reference: the default limits, so no flush before the end.
  auto reference = open_engine(dir.path("reference"));
  const auto want = apply_all(*reference, commands, 250);
  CHECK(reference->projected().ledger.next_seq == 1);
  CHECK(reference->unflushed_events() == reference->head().ledger.next_seq - 1);
  const Sha256 want_digest = digest_of(*reference);

  // An account cache of 3 entries is cleared at almost every flush: prefetch
  // then reads the store, the unflushed maps and the flushes in flight.
  const std::pair<std::uint64_t, std::size_t> variants[] = {
      {1, 1u << 20}, {997, 1u << 20}, {997, 3}};
  for (const bool pipelined : {false, true}) {
    for (const auto& [every, cache_entries] : variants) {
      INFO("pipelined " << pipelined << ", flush every " << every << " events, account cache "
                        << cache_entries);
      engine::EngineOptions options = flushing_every(every);
      options.account_cache_entries_max = cache_entries;
      auto engine =
          open_engine(dir.path(fmt::format("{}-{}-{}", pipelined, every, cache_entries)), options);
      const auto got =
          pipelined ? submit_all(*engine, commands, 250) : apply_all(*engine, commands, 250);
      require_same_outcomes(got, want);
      CHECK(engine->projected().ledger.next_seq > 1);  // Flushed along the way.
      CHECK(engine->unflushed_events() < every + 250 * 4);
      CHECK(engine->head() == reference->head());
      CHECK(raw_events(*engine) == raw_events(*reference));
      CHECK(digest_of(*engine) == want_digest);
      const engine::VerifyReport report = verify_store(*engine);
      INFO(report.problem);
      CHECK(report.ok);
      // Flushing everything changes what is stored, not what is seen.
      REQUIRE(engine->flush_projections().is_ok());
      CHECK(engine->projected() == engine->head());
      CHECK(digest_of(*engine) == want_digest);
    }
  }
}

TEST_CASE("submit and apply mixed, batches shrinking, a tiny cache, then a reopened tail",
          "[engine][projections]") {
  const std::uint64_t seed = seed_from_env(default_seed + 43);
  INFO("seed " << seed << " (LF_SEED to replay)");
  const std::vector<ledger::Command> commands = generate_workload(seed, 12'000);
  TempDir dir;
  auto reference = open_engine(dir.path("reference"));
  auto want = apply_all(*reference, commands, 500);
  engine::EngineOptions options = flushing_every(1500, /*flush_on_close=*/false);
  options.account_cache_entries_max = 5;
  std::vector<ledger::Outcome> got;
  {
    auto engine = open_engine(dir.path("mixed"), options);
    auto take = [&](const engine::BatchResult& result) {
      got.insert(got.end(), result.outcomes.begin(), result.outcomes.end());
    };
    std::size_t at = 0;
    std::size_t size = 1500;
    bool pipelined = true;
    while (at < commands.size()) {
      const std::size_t n = std::min(size, commands.size() - at);
      const auto batch = std::span(commands).subspan(at, n);
      if (pipelined) {
        if (engine->in_flight() == engine::pipeline_batches_max) {
          auto result = engine->complete();
          REQUIRE(result.is_ok());
          take(*result);
        }
        REQUIRE(engine->submit(batch).is_ok());
      } else {
        while (engine->in_flight() > 0) {  // apply() needs the pipeline empty.
          auto result = engine->complete();
          REQUIRE(result.is_ok());
          take(*result);
        }
        auto result = engine->apply(batch);
        REQUIRE(result.is_ok());
        take(*result);
      }
      at += n;
      size = size * 2 / 3;               // 1500, 1000, 666, ..., 3, 2, 1,
      if (size == 0) size = 1500;        // then again from large.
      pipelined = (at / 1000) % 3 != 2;  // Mostly submit, some apply runs.
    }
    while (engine->in_flight() > 0) {
      auto result = engine->complete();
      REQUIRE(result.is_ok());
      take(*result);
    }
    if (engine->unflushed_events() == 0) {  // The last batch flushed: leave a tail.
      const std::vector<ledger::Command> tail = {cmd("tail-1", open_account("tail:1")),
                                                 cmd("tail-2", open_account("tail:2"))};
      auto result = engine->apply(tail);
      REQUIRE(result.is_ok());
      take(*result);
      const auto more = apply_all(*reference, tail);
      want.insert(want.end(), more.begin(), more.end());
    }
    REQUIRE(engine->unflushed_events() > 0);  // Closed with a tail to re-execute.
  }
  require_same_outcomes(got, want);
  auto reopened = open_engine(dir.path("mixed"), options);  // Re-executes the tail.
  require_same_store(*reopened, *reference);
}

TEST_CASE("a store closed between flushes re-executes its log tail at open",
          "[engine][projections]") {
  const std::uint64_t seed = seed_from_env(default_seed + 43);
  INFO("seed " << seed << " (LF_SEED to replay)");
  const std::vector<ledger::Command> commands = generate_workload(seed, 12'000);
  const std::size_t half = 7'000;
  TempDir dir;
  auto whole = open_engine(dir.path("whole"));
  const auto want = apply_all(*whole, commands, 250);

  std::vector<ledger::Outcome> got;
  {
    // Closed like a crash would leave it: the last flush thousands of events
    // behind the log.
    auto engine = open_engine(dir.path("split"), flushing_every(3'000, false));
    got = apply_all(*engine, std::vector(commands.begin(), commands.begin() + half), 250);
    REQUIRE(engine->projected().ledger.next_seq > 1);
    REQUIRE(engine->unflushed_events() > 0);
  }
  engine::Head head_at_close;
  Sha256 digest_at_close{};
  {
    // Read-only: the tail is re-executed in memory and nothing is written.
    engine::EngineOptions options = flushing_every(3'000, false);
    options.read_only = true;
    options.create_if_missing = false;
    auto engine = open_engine(dir.path("split"), options);
    head_at_close = engine->head();
    CHECK(engine->projected().ledger.next_seq < head_at_close.ledger.next_seq);
    CHECK(engine->unflushed_events() ==
          head_at_close.ledger.next_seq - engine->projected().ledger.next_seq);
    digest_at_close = digest_of(*engine);
    const engine::VerifyReport report = verify_store(*engine);
    INFO(report.problem);
    CHECK(report.ok);
    // A rebuild from it takes the state the log implies, and none of the
    // source's flush progress: the new store opens with nothing to re-execute.
    auto rebuilt = engine::rebuild_projections(*engine, dir.path("rebuilt"));
    REQUIRE(rebuilt.is_ok());
    INFO(rebuilt->problem);
    CHECK(rebuilt->ok);
  }
  {
    engine::EngineOptions options;
    options.read_only = true;
    options.create_if_missing = false;
    auto rebuilt = open_engine(dir.path("rebuilt"), options);
    CHECK(rebuilt->projected() == head_at_close);
    CHECK(digest_of(*rebuilt) == digest_at_close);
  }
  {
    auto half_run = open_engine(dir.path("half"));
    apply_all(*half_run, std::vector(commands.begin(), commands.begin() + half), 250);
    CHECK(digest_of(*half_run) == digest_at_close);
  }
  auto engine = open_engine(dir.path("split"), flushing_every(3'000, false));
  CHECK(engine->head() == head_at_close);
  CHECK(engine->projected() == head_at_close);  // Caught up and flushed.
  CHECK(digest_of(*engine) == digest_at_close);
  // Idempotency holds for commands of the re-executed tail.
  const ledger::Command& retried = commands[half - 1];
  auto again = engine->apply(std::span(&retried, 1));
  REQUIRE(again.is_ok());
  REQUIRE(again->outcomes.size() == 1);
  CHECK(again->outcomes[0].duplicate);
  CHECK(engine->head() == head_at_close);
  const auto rest = apply_all(*engine, std::vector(commands.begin() + half, commands.end()), 250);
  got.insert(got.end(), rest.begin(), rest.end());
  require_same_outcomes(got, want);
  CHECK(engine->head() == whole->head());
  CHECK(raw_events(*engine) == raw_events(*whole));
  CHECK(digest_of(*engine) == digest_of(*whole));

  // A checkpoint carries its projections: it opens with nothing to catch up.
  REQUIRE(engine->checkpoint(dir.path("checkpoint")).is_ok());
  engine::EngineOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  auto copy = open_engine(dir.path("checkpoint"), options);
  CHECK(copy->projected() == copy->head());
  CHECK(copy->unflushed_events() == 0);
}

TEST_CASE("a log tail that does not re-execute to the logged events is refused",
          "[engine][projections]") {
  const std::vector<ledger::Command> commands = generate_workload(default_seed + 47, 3'000);
  TempDir dir;
  {
    auto engine = open_engine(dir.path(), flushing_every(1'000'000, false));
    apply_all(*engine, commands, 250);
    REQUIRE(engine->flush_projections().is_ok());
    // The stored projections now hold every event, but "projected" claims
    // none: re-executing from there meets accounts that already exist.
    const engine::MetaPut put{std::string(engine::meta_projected_key),
                              engine::encode_head(engine::Head{})};
    REQUIRE(engine->put_meta(std::span(&put, 1), true).is_ok());
  }
  engine::EngineOptions options;
  options.create_if_missing = false;
  auto reopened = engine::Engine::open(dir.path(), options);
  REQUIRE_FALSE(reopened.is_ok());
  CHECK(reopened.status().code() == Status::Code::corruption);
  CHECK_THAT(reopened.status().message(),
             Catch::Contains("event 1: re-executing the log after the stored projections"));
  // The failed open flushed nothing on its way out: still refused.
  auto again = engine::Engine::open(dir.path(), options);
  REQUIRE_FALSE(again.is_ok());
  CHECK(again.status().code() == Status::Code::corruption);
}

TEST_CASE("an open refused before its tail is re-executed leaves the tail to the next open",
          "[engine][projections]") {
  const std::vector<ledger::Command> commands = generate_workload(default_seed + 53, 3'000);
  TempDir dir;
  auto reference = open_engine(dir.path("reference"));
  apply_all(*reference, commands, 250);
  {
    auto engine = open_engine(dir.path(), flushing_every(1'000'000, false));
    apply_all(*engine, commands, 250);
    REQUIRE(engine->projected().ledger.next_seq == 1);  // All of it is tail.
  }
  engine::EngineOptions wrong_shard;
  wrong_shard.create_if_missing = false;
  wrong_shard.shard = ledger::ShardRule{0, 2};
  auto refused = engine::Engine::open(dir.path(), wrong_shard);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == Status::Code::invalid_argument);
  auto reopened = open_engine(dir.path());
  require_same_store(*reopened, *reference);
}

TEST_CASE("accounts held in memory stay bounded when batches name absent accounts",
          "[engine][projections]") {
  // Rejected transfers between accounts that do not exist: nothing is
  // written, but every account read is held in memory until the bound.
  TempDir dir;
  engine::EngineOptions options;
  options.account_cache_entries_max = 40;
  auto engine = open_engine(dir.path(), options);
  std::vector<ledger::Command> opens;
  for (int i = 0; i < 30; ++i)
    opens.push_back(cmd(fmt::format("open-{}", i), open_account(fmt::format("a{}", i))));
  apply_all(*engine, opens);
  constexpr std::size_t batch_commands = 25;  // Each names two accounts.
  for (int round = 0; round < 20; ++round) {
    std::vector<ledger::Command> batch;
    for (std::size_t i = 0; i < batch_commands; ++i) {
      const std::size_t n = round * batch_commands + i;
      batch.push_back(cmd(fmt::format("t-{}", n), transfer(fmt::format("ghost-{}", 2 * n),
                                                           fmt::format("ghost-{}", 2 * n + 1), 5)));
    }
    auto result = engine->apply(batch);
    REQUIRE(result.is_ok());
    for (const ledger::Outcome& outcome : result->outcomes) {
      CHECK(outcome.reason == ledger::RejectReason::account_not_found);
    }
    CHECK(engine->resident_accounts() <= options.account_cache_entries_max);
  }
  // Dropped cells lose nothing: written accounts read back from where they went.
  auto a0 = engine->account("a0");
  REQUIRE(a0.is_ok());
  REQUIRE(a0->has_value());
  CHECK((*a0)->id == "a0");
  auto ghost = engine->account("ghost-0");
  REQUIRE(ghost.is_ok());
  CHECK_FALSE(ghost->has_value());
}

}  // namespace
}  // namespace lf::test
