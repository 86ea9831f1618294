#include "engine/verify.h"

#include <fmt/format.h>

#include <set>

#include "ledger/state_machine.h"

namespace lf::engine {

namespace {

// State rebuilt from the log alone.
struct Rebuilt {
  std::map<std::string, ledger::Account> accounts;
  std::map<std::string, ledger::PendingTransfer> pendings;
  std::map<std::string, ledger::Sequence> last_seq;       // Last event touching each key.
  std::map<std::string, ledger::CommandRecord> commands;  // Idempotency records.
  std::string open_command;                    // The command whose events are being read.
  std::optional<ledger::Command> open_linked;  // Its body, when a linked chain.
};

// Rebuilds the idempotency records: a command's first event carries the
// command; an accepted linked chain has one event per step, each step id
// remembered as a command of its own. Malformed ids and reuses of a taken id
// are logged but not remembered.
void remember_command(const ledger::Event& event, Rebuilt& state) {
  if (std::holds_alternative<ledger::PendingExpired>(event.body)) return;
  if (event.command) {
    state.open_command.clear();
    state.open_linked.reset();
    const auto* rejected = std::get_if<ledger::CommandRejected>(&event.body);
    if (rejected != nullptr && rejected->field == "id") return;  // Bad or taken id.
    ledger::Outcome outcome;
    outcome.command_id = event.command_id;
    outcome.first_seq = event.seq;
    outcome.event_count = 1;
    if (rejected != nullptr) {
      outcome.status = ledger::OutcomeStatus::rejected;
      outcome.reason = rejected->reason;
      outcome.field = rejected->field;
      outcome.failed_step = rejected->failed_step;
    }
    state.commands[event.command_id] =
        ledger::CommandRecord{ledger::content_digest(*event.command), outcome};
    state.open_command = event.command_id;
    state.open_linked.reset();
    if (std::holds_alternative<ledger::Linked>(event.command->body))
      state.open_linked = event.command;
  } else if (event.command_id == state.open_command) {
    ++state.commands[event.command_id].outcome.event_count;
  }
  if (!event.step_id.empty() && state.open_linked) {
    for (const ledger::LinkedStep& step : std::get<ledger::Linked>(state.open_linked->body).steps) {
      if (step.id != event.step_id) continue;
      ledger::Command as_command;
      as_command.id = step.id;
      as_command.body = std::visit([](const auto& v) { return ledger::CommandBody(v); }, step.body);
      ledger::Outcome outcome;
      outcome.command_id = step.id;
      outcome.first_seq = event.seq;
      outcome.event_count = 1;
      state.commands[step.id] = ledger::CommandRecord{ledger::content_digest(as_command), outcome};
    }
  }
}

// Applies one event to the rebuilt state; an empty string means it fits.
std::string replay_event(const ledger::Event& event, Rebuilt& state) {
  const ledger::Sequence seq = event.seq;
  remember_command(event, state);
  auto resolve = [&](const std::string& id, ledger::PendingState to) -> std::string {
    auto it = state.pendings.find(id);
    if (it == state.pendings.end()) return "resolves unknown pending transfer " + id;
    if (it->second.state != ledger::PendingState::pending) return "resolves " + id + " twice";
    it->second.state = to;
    state.last_seq["pending:" + id] = seq;
    return {};
  };
  std::string problem = std::visit(
      [&](const auto& body) -> std::string {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ledger::AccountOpened>) {
          if (state.accounts.contains(body.account.id))
            return "opens " + body.account.id + " twice";
          state.accounts.emplace(body.account.id, body.account);
          state.last_seq["account:" + body.account.id] = seq;
        } else if constexpr (std::is_same_v<T, ledger::AccountClosed>) {
          auto it = state.accounts.find(body.account);
          if (it == state.accounts.end()) return "closes unknown account " + body.account;
          it->second.closed = true;
          state.last_seq["account:" + body.account] = seq;
        } else if constexpr (std::is_same_v<T, ledger::PendingCreated>) {
          if (state.pendings.contains(body.pending.id))
            return "creates " + body.pending.id + " twice";
          state.pendings.emplace(body.pending.id, body.pending);
          state.last_seq["pending:" + body.pending.id] = seq;
        } else if constexpr (std::is_same_v<T, ledger::PendingPosted>) {
          return resolve(body.pending_id, ledger::PendingState::posted);
        } else if constexpr (std::is_same_v<T, ledger::PendingVoided>) {
          return resolve(body.pending_id, ledger::PendingState::voided);
        } else if constexpr (std::is_same_v<T, ledger::PendingExpired>) {
          return resolve(body.pending_id, ledger::PendingState::expired);
        }
        return {};
      },
      event.body);
  if (!problem.empty()) return problem;
  for (const ledger::Posting& p : event.postings) {
    auto it = state.accounts.find(p.account);
    if (it == state.accounts.end()) return "posts to unknown account " + p.account;
    if (it->second.asset != p.asset) return "posts " + p.asset + " to account " + p.account;
    if (!ledger::apply_posting(it->second.balances, p)) {
      return "posting to " + p.account + " underflows or overflows";
    }
    state.last_seq["account:" + p.account] = seq;
  }
  return {};
}

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
  ledger::Sequence expected = 1;
  Sha256 prev{};
  Status status = engine.for_each_raw_event(1, [&](ledger::Sequence key, std::string_view bytes) {
    if (key != expected) {
      fail(report, expected, fmt::format("event {} is missing", expected));
      return false;
    }
    Result<codec::OpenedEvent> opened = codec::open_event(bytes);
    if (!opened.is_ok()) {
      fail(report, key, fmt::format("event {}: {}", key, opened.status().message()));
      return false;
    }
    if (opened->event.seq != key) {
      fail(report, key, fmt::format("event stored at {} says seq {}", key, opened->event.seq));
      return false;
    }
    if (opened->prev_hash != prev) {
      fail(report, key,
           fmt::format("event {}: chain broken (prev_hash is not event {}'s hash)", key, key - 1));
      return false;
    }
    std::string problem = replay_event(opened->event, state);
    if (!problem.empty()) {
      fail(report, key, fmt::format("event {}: {}", key, problem));
      return false;
    }
    prev = opened->hash;
    ++expected;
    ++report.events_checked;
    return true;
  });
  if (status.code() == Status::Code::corruption) {
    fail(report, expected, fmt::format("event {}: {}", expected, status.message()));
    return Status::ok();
  }
  if (!status.is_ok()) return status;
  report.chain_head = prev;
  if (!report.ok) return Status::ok();
  const Head& head = engine.head();
  if (head.ledger.next_seq != expected) {
    fail(report, expected,
         fmt::format("log ends at event {} but the head says {}", expected - 1,
                     head.ledger.next_seq - 1));
  } else if (head.chain_head != prev) {
    fail(report, expected - 1, "head's chain hash differs from the last event's hash");
  }
  return Status::ok();
}

std::optional<ledger::Sequence> last_seq(const Rebuilt& state, const std::string& key) {
  auto it = state.last_seq.find(key);
  if (it == state.last_seq.end()) return std::nullopt;
  return it->second;
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
      fail(report, last_seq(state, "account:" + rebuilt->first),
           "account " + rebuilt->first + " is in the log but not stored");
      return false;
    }
    if (!(rebuilt->second == stored)) {
      const auto seq = last_seq(state, "account:" + stored.id);
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
    fail(report, last_seq(state, "account:" + rebuilt->first),
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
      const auto seq = last_seq(state, "pending:" + stored.id);
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
    fail(report, last_seq(state, "pending:" + rebuilt->first),
         "pending transfer " + rebuilt->first + " is in the log but not stored");
  }
  return Status::ok();
}

Status check_commands(Engine& engine, VerifyReport& report, const Rebuilt& state) {
  auto rebuilt = state.commands.begin();
  Status status = engine.for_each_command_record([&](const ledger::CommandRecord& stored) {
    const std::string& id = stored.outcome.command_id;
    if (rebuilt == state.commands.end() || rebuilt->first != id || !(rebuilt->second == stored)) {
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
  if (report.ok && rebuilt != state.commands.end()) {
    fail(report, rebuilt->second.outcome.first_seq,
         "command " + rebuilt->first + " is in the log but has no idempotency record");
  }
  return Status::ok();
}

// The expiry index must list exactly the open holds that have a timeout.
Status check_expiry(Engine& engine, VerifyReport& report, const Rebuilt& state) {
  std::set<ledger::ExpiryKey> expected;
  for (const auto& [id, p] : state.pendings) {
    if (p.state == ledger::PendingState::pending && p.expires_at_ms != 0) {
      expected.emplace(p.expires_at_ms, id);
    }
  }
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
    fail(report, last_seq(state, "pending:" + next->second),
         "expiry index misses pending transfer " + next->second);
  }
  return Status::ok();
}

}  // namespace

Result<VerifyReport> verify(Engine& engine) {
  VerifyReport report;
  Rebuilt state;
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
      break;
    }
  }
  return report;
}

}  // namespace lf::engine
