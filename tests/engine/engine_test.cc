// The shard engine end to end: apply, restart, idempotency across restarts,
// determinism, history, and the reference model over a long randomized
// workload run through RocksDB.
#include <catch2/catch.hpp>

#include "engine/keys.h"
#include "ledger/limits.h"
#include "tests/engine/fixtures.h"
#include "tests/support/commands.h"
#include "tests/support/reference_model.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

using ledger::OutcomeStatus;
using ledger::RejectReason;

std::vector<ledger::Command> small_ledger() {
  return {cmd("o1", open_account("bank")),
          cmd("o2", open_debit_limited("alice")),
          cmd("o3", open_account("shop")),
          cmd("t1", transfer("bank", "alice", 1000)),
          cmd("h1", hold("alice", "shop", 300, 60), default_timestamp_ms + 1),
          cmd("p1", post("h1", 200), default_timestamp_ms + 2),
          cmd("t2", transfer("alice", "shop", 5000), default_timestamp_ms + 3)};
}

TEST_CASE("engine applies a batch and persists outcomes, projections and the chain") {
  TempDir dir;
  auto engine = open_engine(dir.path());
  auto outcomes = apply_all(*engine, small_ledger());
  REQUIRE(outcomes.size() == 7);
  CHECK(outcomes[5].status == OutcomeStatus::accepted);
  CHECK(outcomes[6].reason == RejectReason::exceeds_credits);
  CHECK(engine->head().ledger.next_seq == 8);

  auto alice = engine->account("alice");
  REQUIRE(alice.is_ok());
  REQUIRE(alice->has_value());
  CHECK((*alice)->balances.credits_posted == 1000);
  CHECK((*alice)->balances.debits_posted == 200);
  CHECK((*alice)->balances.debits_pending == 0);
  auto hold_record = engine->pending("h1");
  REQUIRE(hold_record.is_ok());
  REQUIRE(hold_record->has_value());
  CHECK((*hold_record)->state == ledger::PendingState::posted);
  auto record = engine->command_record("t2");
  REQUIRE(record.is_ok());
  REQUIRE(record->has_value());
  CHECK((*record)->outcome.reason == RejectReason::exceeds_credits);

  const auto report = verify_store(*engine);
  CHECK(report.ok);
  CHECK(report.events_checked == 7);
}

TEST_CASE("reopening continues the sequence and the chain; idempotency survives restarts") {
  TempDir dir;
  engine::Head head_before;
  {
    auto engine = open_engine(dir.path());
    apply_all(*engine, small_ledger());
    head_before = engine->head();
  }
  auto engine = open_engine(dir.path());
  CHECK(engine->head() == head_before);

  // A retry of an accepted and of a rejected command: the original outcomes,
  // nothing appended.
  auto retry = apply_all(*engine, {cmd("t1", transfer("bank", "alice", 1000)),
                                   cmd("t2", transfer("alice", "shop", 5000))});
  CHECK(retry[0].duplicate);
  CHECK(retry[0].status == OutcomeStatus::accepted);
  CHECK(retry[0].first_seq == 4);
  CHECK(retry[1].duplicate);
  CHECK(retry[1].reason == RejectReason::exceeds_credits);
  CHECK(engine->head() == head_before);

  // Same id, other content: rejected and logged, the original kept.
  auto conflict = apply_all(*engine, {cmd("t1", transfer("bank", "alice", 999))});
  CHECK(conflict[0].reason == RejectReason::id_exists_with_different_fields);
  CHECK(engine->head().ledger.next_seq == head_before.ledger.next_seq + 1);
  auto more = apply_all(*engine, {cmd("t3", transfer("bank", "alice", 1))});
  CHECK(more[0].first_seq == head_before.ledger.next_seq + 1);
  CHECK(verify_store(*engine).ok);
}

TEST_CASE("expiry of pending transfers is persisted and driven by logical time") {
  TempDir dir;
  {
    auto engine = open_engine(dir.path());
    apply_all(*engine, {cmd("o1", open_account("a")), cmd("o2", open_account("b")),
                        cmd("h", hold("a", "b", 50, 10))});
  }
  auto engine = open_engine(dir.path());
  // 9.999 s later: not yet. 10 s: expired before the command is decided.
  auto early = apply_all(*engine, {cmd("x1", transfer("a", "b", 1), default_timestamp_ms + 9999)});
  CHECK(early[0].first_seq == 4);
  CHECK((*engine->pending("h"))->state == ledger::PendingState::pending);
  auto late = apply_all(*engine, {cmd("x2", post("h"), default_timestamp_ms + 10000)});
  CHECK(late[0].reason == RejectReason::pending_expired);
  CHECK(late[0].first_seq == 6);  // Seq 5 is the expiry.
  CHECK((*engine->pending("h"))->state == ledger::PendingState::expired);
  CHECK((*engine->account("a"))->balances.debits_pending == 0);
  CHECK(verify_store(*engine).ok);
}

TEST_CASE("history lists the events that moved an account, newest first") {
  TempDir dir;
  for (bool inline_index : {true, false}) {
    DYNAMIC_SECTION("inline index " << inline_index) {
      engine::EngineOptions options;
      options.history_index_inline = inline_index;
      auto engine = open_engine(dir.path(inline_index ? "inline" : "behind"), options);
      apply_all(*engine, small_ledger(), 3);
      auto page = engine->history("alice", 10);
      REQUIRE(page.is_ok());
      CHECK(page->indexed_through == 7);
      CHECK(page->log_head == 7);
      std::vector<ledger::Sequence> seqs;
      for (const auto& e : page->entries) seqs.push_back(e.seq);
      // Opened (2), funded (4), hold (5), capture (6). The rejection moved nothing.
      CHECK(seqs == std::vector<ledger::Sequence>{6, 5, 4, 2});
      auto older = engine->history("alice", 2, 5);
      REQUIRE(older.is_ok());
      REQUIRE(older->entries.size() == 2);
      CHECK(older->entries[0].seq == 4);
      CHECK(older->entries[1].seq == 2);
    }
  }
}

TEST_CASE("the same input gives byte-identical logs, whatever the batching") {
  const auto commands = generate_workload(default_seed, 20000);
  TempDir dir;
  auto a = open_engine(dir.path("a"));
  auto b = open_engine(dir.path("b"));
  auto c = open_engine(dir.path("c"));
  // Indexing history inline keeps a batch's events until it is written
  // instead of dropping them as they are sealed: the same log.
  engine::EngineOptions inline_index;
  inline_index.history_index_inline = true;
  auto d = open_engine(dir.path("d"), inline_index);
  const auto outcomes_a = apply_all(*a, commands, 1000);
  const auto outcomes_b = apply_all(*b, commands, 1000);
  const auto outcomes_c = apply_all(*c, commands, 7);
  const auto outcomes_d = apply_all(*d, commands, 1000);
  CHECK(outcomes_a == outcomes_b);
  CHECK(outcomes_a == outcomes_c);
  CHECK(outcomes_a == outcomes_d);
  const auto events_a = raw_events(*a);
  CHECK(events_a.size() == a->head().ledger.next_seq - 1);
  CHECK(events_a == raw_events(*b));
  CHECK(events_a == raw_events(*c));
  CHECK(events_a == raw_events(*d));
  CHECK(a->head() == b->head());
  CHECK(a->head() == c->head());
  CHECK(a->head() == d->head());
  // d indexed every event as it wrote it (read before history() would
  // catch up), and indexed each account's events as a's catch-up does.
  auto indexed = d->meta(engine::meta_history_indexed_key);
  REQUIRE(indexed.is_ok());
  REQUIRE(indexed->has_value());
  CHECK(**indexed == engine::u64be_value(d->head().ledger.next_seq - 1));
  const auto accounts = all_accounts(*a);
  REQUIRE(accounts.size() >= 5);
  for (std::size_t i = 0; i < 5; ++i) {
    auto from_a = a->history(accounts[i].id, 1000);
    auto from_d = d->history(accounts[i].id, 1000);
    REQUIRE(from_a.is_ok());
    REQUIRE(from_d.is_ok());
    CHECK_FALSE(from_d->entries.empty());
    REQUIRE(from_a->entries.size() == from_d->entries.size());
    for (std::size_t e = 0; e < from_a->entries.size(); ++e) {
      CHECK(from_a->entries[e].seq == from_d->entries[e].seq);
    }
  }
  CHECK(all_accounts(*a) == all_accounts(*c));
}

TEST_CASE("apply half, restart, apply the rest equals applying all at once") {
  const auto commands = generate_workload(default_seed + 1, 20000);
  TempDir dir;
  auto whole = open_engine(dir.path("whole"));
  apply_all(*whole, commands, 500);
  const std::size_t half = commands.size() / 2;
  {
    auto first = open_engine(dir.path("split"));
    apply_all(*first, std::vector(commands.begin(), commands.begin() + half), 500);
  }
  auto second = open_engine(dir.path("split"));
  apply_all(*second, std::vector(commands.begin() + half, commands.end()), 500);
  CHECK(raw_events(*whole) == raw_events(*second));
  CHECK(whole->head() == second->head());
  CHECK(all_accounts(*whole) == all_accounts(*second));
  CHECK(verify_store(*second).ok);

  // Replaying everything again: every command that was remembered answers as
  // a duplicate with its original outcome. (Malformed ids and reuses of a
  // taken id are not remembered; they are judged, and logged, again.)
  const auto first_run = apply_all(*open_engine(dir.path("again")), commands, 500);
  auto again = open_engine(dir.path("again"));
  const auto second_run = apply_all(*again, commands, 500);
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const ledger::Outcome& first = first_run[i];
    if (first.duplicate ||
        (first.status == ledger::OutcomeStatus::rejected && first.field == "id")) {
      continue;
    }
    INFO("command " << i);
    REQUIRE(second_run[i].duplicate);
    ledger::Outcome expected = first;
    expected.duplicate = true;
    REQUIRE(second_run[i] == expected);
  }
}

TEST_CASE("randomized workload through the engine matches the reference model") {
  const std::uint64_t seed = seed_from_env();
  const std::size_t count = 100000;
  INFO("seed " << seed << " (set LF_SEED to reproduce)");
  const auto commands = generate_workload(seed, count);
  TempDir dir;
  auto engine = open_engine(dir.path());
  ReferenceModel model;
  std::size_t at = 0;
  std::size_t batch = 1;
  while (at < commands.size()) {
    const std::size_t n = std::min(batch, commands.size() - at);
    auto result = engine->apply(std::span(commands).subspan(at, n));
    REQUIRE(result.is_ok());
    for (std::size_t i = 0; i < n; ++i) {
      const ledger::Outcome expected = model.submit(commands[at + i]);
      const ledger::Outcome& got = result->outcomes[i];
      INFO("command " << at + i << " id " << commands[at + i].id);
      REQUIRE(got.status == expected.status);
      REQUIRE(ledger::reject_reason_name(got.reason) ==
              std::string(ledger::reject_reason_name(expected.reason)));
      REQUIRE(got.failed_step == expected.failed_step);
      REQUIRE(got.duplicate == expected.duplicate);
      REQUIRE(got.first_seq == expected.first_seq);
    }
    at += n;
    batch = batch * 3 % 4001 + 1;  // Batch sizes from 1 to 4001.
  }
  CHECK(engine->head().ledger.next_seq == model.next_seq());
  CHECK(engine->head().ledger.logical_time_ms == model.logical_time_ms());
  // Balance by balance, account by account.
  const auto expected = model.accounts();
  const auto stored = all_accounts(*engine);
  REQUIRE(stored.size() == expected.size());
  for (const auto& account : stored) {
    INFO("account " << account.id);
    REQUIRE(expected.at(account.id) == account);
  }
  for (const auto& [id, pending] : model.pendings()) {
    auto got = engine->pending(id);
    REQUIRE(got.is_ok());
    REQUIRE(got->has_value());
    REQUIRE(**got == pending);
  }
  const auto report = verify_store(*engine);
  INFO(report.problem);
  CHECK(report.ok);
}

}  // namespace
}  // namespace lf::test
