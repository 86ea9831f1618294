#include "engine/verify.h"

#include <fmt/format.h>

#include <set>

#include "engine/digest.h"
#include "engine/projection.h"

namespace lf::engine {

namespace {

using Rebuilt = ProjectedState;

void add_totals(const ledger::Account& a, std::map<std::string, AssetTotals>& totals) {
  AssetTotals& t = totals[a.asset];
  t.debits_posted += a.balances.debits_posted;
  t.credits_posted += a.balances.credits_posted;
  t.debits_pending += a.balances.debits_pending;
  t.credits_pending += a.balances.credits_pending;
}

void fail(VerifyReport& report, std::optional<ledger::Sequence> seq, std::string problem) {
  if (!report.ok) return;  // Keep the first.
  report.ok = false;
  report.bad_seq = seq;
  report.problem = std::move(problem);
}

// Walks the log; returns the state it rebuilds.
Status check_log(Engine& engine, VerifyReport& report, Rebuilt& state) {
  Status status = engine.for_each_raw_event(1, [&](ledger::Sequence key, std::string_view bytes) {
    std::optional<EventProblem> problem = apply_sealed(key, bytes, state);
    if (problem) {
      fail(report, problem->seq, std::move(problem->text));
      return false;
    }
    ++report.events_checked;
    return true;
  });
  state.commands.sort();  // The fold is over.
  const ledger::Sequence expected = state.next_seq;
  if (status.code() == Status::Code::corruption) {
    fail(report, expected, fmt::format("event {}: {}", expected, status.message()));
    return Status::ok();
  }
  if (!status.is_ok()) return status;
  report.chain_head = state.chain_head;
  if (!report.ok) return Status::ok();
  const Head& head = engine.head();
  if (head.ledger.next_seq != expected) {
    fail(report, expected,
         fmt::format("log ends at event {} but the head says {}", expected - 1,
                     head.ledger.next_seq - 1));
  } else if (head.chain_head != state.chain_head) {
    fail(report, expected - 1, "head's chain hash differs from the last event's hash");
  } else if (head.ledger.logical_time_ms != state.logical_time_ms) {
    fail(report, expected - 1,
         fmt::format("head's logical time {} differs from the last event's {}",
                     head.ledger.logical_time_ms, state.logical_time_ms));
  }
  return Status::ok();
}

Status check_accounts(Engine& engine, VerifyReport& report, const Rebuilt& state) {
  auto rebuilt = state.accounts.begin();
  Status status = engine.for_each_account([&](const ledger::Account& stored) {
    ++report.accounts_checked;
    if (rebuilt == state.accounts.end() || rebuilt->first > stored.id) {
      fail(report, std::nullopt, "account " + stored.id + " is stored but never opened in the log");
      return false;
    }
    if (rebuilt->first < stored.id) {
      fail(report, state.last_seq_of("account:" + rebuilt->first),
           "account " + rebuilt->first + " is in the log but not stored");
      return false;
    }
    if (!(rebuilt->second == stored)) {
      const auto seq = state.last_seq_of("account:" + stored.id);
      fail(report, seq,
           fmt::format("account {} differs from the log (last event {})", stored.id,
                       seq ? std::to_string(*seq) : "none"));
      return false;
    }
    ++rebuilt;
    return true;
  });
  if (status.code() == Status::Code::corruption) {
    fail(report, std::nullopt, "accounts projection: " + status.message());
    return Status::ok();
  }
  if (!status.is_ok()) return status;
  if (report.ok && rebuilt != state.accounts.end()) {
    fail(report, state.last_seq_of("account:" + rebuilt->first),
         "account " + rebuilt->first + " is in the log but not stored");
  }
  return Status::ok();
}

Status check_pendings(Engine& engine, VerifyReport& report, const Rebuilt& state) {
  auto rebuilt = state.pendings.begin();
  Status status = engine.for_each_pending([&](const ledger::PendingTransfer& stored) {
    ++report.pendings_checked;
    if (rebuilt == state.pendings.end() || rebuilt->first != stored.id ||
        !(rebuilt->second == stored)) {
      const auto seq = state.last_seq_of("pending:" + stored.id);
      fail(report, seq, "pending transfer " + stored.id + " differs from the log");
      return false;
    }
    ++rebuilt;
    return true;
  });
  if (status.code() == Status::Code::corruption) {
    fail(report, std::nullopt, "pending projection: " + status.message());
    return Status::ok();
  }
  if (!status.is_ok()) return status;
  if (report.ok && rebuilt != state.pendings.end()) {
    fail(report, state.last_seq_of("pending:" + rebuilt->first),
         "pending transfer " + rebuilt->first + " is in the log but not stored");
  }
  return Status::ok();
}

Status check_commands(Engine& engine, VerifyReport& report, const Rebuilt& state) {
  std::size_t rebuilt = 0;  // In state.commands, in id order like the scan.
  Status status = engine.for_each_command_record([&](const ledger::CommandRecord& stored) {
    const std::string& id = stored.outcome.command_id;
    if (rebuilt == state.commands.size() || state.commands.id(rebuilt) != id ||
        !(state.commands.record(rebuilt) == stored)) {
      fail(report, std::nullopt, "idempotency record of " + id + " differs from the log");
      return false;
    }
    ++rebuilt;
    return true;
  });
  if (status.code() == Status::Code::corruption) {
    fail(report, std::nullopt, "commands projection: " + status.message());
    return Status::ok();
  }
  if (!status.is_ok()) return status;
  if (report.ok && rebuilt != state.commands.size()) {
    const ledger::CommandRecord missing = state.commands.record(rebuilt);
    fail(report, missing.outcome.first_seq,
         "command " + missing.outcome.command_id + " is in the log but has no idempotency record");
  }
  return Status::ok();
}

// The expiry index must list exactly the open holds that have a timeout.
Status check_expiry(Engine& engine, VerifyReport& report, const Rebuilt& state) {
  const std::set<ledger::ExpiryKey> expected = state.expiry_index();
  auto next = expected.begin();
  Status status = engine.for_each_expiry([&](const ledger::ExpiryKey& stored) {
    if (next == expected.end() || *next != stored) {
      fail(report, std::nullopt, "expiry index entry for " + stored.second + " is wrong");
      return false;
    }
    ++next;
    return true;
  });
  if (!status.is_ok()) return status;
  if (report.ok && next != expected.end()) {
    fail(report, state.last_seq_of("pending:" + next->second),
         "expiry index misses pending transfer " + next->second);
  }
  return Status::ok();
}

}  // namespace

Result<VerifyReport> verify(Engine& engine) {
  VerifyReport report;
  Rebuilt state;
  state.track_last_seq = true;
  LF_RETURN_IF_ERROR(check_log(engine, report, state));
  if (!report.ok) return report;
  LF_RETURN_IF_ERROR(check_accounts(engine, report, state));
  if (!report.ok) return report;
  LF_RETURN_IF_ERROR(check_pendings(engine, report, state));
  if (!report.ok) return report;
  LF_RETURN_IF_ERROR(check_commands(engine, report, state));
  if (!report.ok) return report;
  LF_RETURN_IF_ERROR(check_expiry(engine, report, state));
  if (!report.ok) return report;
  for (const auto& [id, account] : state.accounts) add_totals(account, report.totals);
  for (const auto& [asset, t] : report.totals) {
    if (t.debits_posted != t.credits_posted || t.debits_pending != t.credits_pending) {
      fail(report, std::nullopt, "trial balance for " + asset + " does not net to zero");
      return report;
    }
  }
  // Every projection matched the log, so the two digests must agree; a
  // difference would be a bug in one of the digest's two sources.
  report.state_digest = projected_digest(state);
  Result<Sha256> stored = store_digest(engine);
  if (!stored.is_ok()) return stored.status();
  if (*stored != report.state_digest) {
    fail(report, std::nullopt, "state digest of the store differs from the log's");
  }
  return report;
}

}  // namespace lf::engine
