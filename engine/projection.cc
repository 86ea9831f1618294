#include "engine/projection.h"

#include <fmt/format.h>

#include "ledger/state_machine.h"

namespace lf::engine {

namespace {

void touch(ProjectedState& state, std::string_view kind, const std::string& id,
           ledger::Sequence seq) {
  if (!state.track_last_seq) return;
  std::string key(kind);
  key += id;
  state.last_seq[key] = seq;
}

// Rebuilds the idempotency records: a command's first event carries the
// command; an accepted linked chain has one event per step, each step id
// remembered as a command of its own. Malformed ids and reuses of a taken id
// are logged but not remembered.
void remember_command(const ledger::Event& event, ProjectedState& state,
                      const ledger::ContentDigest* command_digest) {
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
    state.commands[event.command_id] = ledger::CommandRecord{
        command_digest != nullptr ? *command_digest : ledger::content_digest(*event.command),
        outcome};
    state.open_command = event.command_id;
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

}  // namespace

std::optional<ledger::Sequence> ProjectedState::last_seq_of(const std::string& key) const {
  auto it = last_seq.find(key);
  if (it == last_seq.end()) return std::nullopt;
  return it->second;
}

std::set<ledger::ExpiryKey> ProjectedState::expiry_index() const {
  std::set<ledger::ExpiryKey> index;
  for (const auto& [id, p] : pendings) {
    if (p.state == ledger::PendingState::pending && p.expires_at_ms != 0) {
      index.emplace(p.expires_at_ms, id);
    }
  }
  return index;
}

std::string apply_event(const ledger::Event& event, ProjectedState& state,
                        const ledger::ContentDigest* command_digest) {
  const ledger::Sequence seq = event.seq;
  remember_command(event, state, command_digest);
  auto resolve = [&](const std::string& id, ledger::PendingState to) -> std::string {
    auto it = state.pendings.find(id);
    if (it == state.pendings.end()) return "resolves unknown pending transfer " + id;
    if (it->second.state != ledger::PendingState::pending) return "resolves " + id + " twice";
    it->second.state = to;
    touch(state, "pending:", id, seq);
    return {};
  };
  std::string problem = std::visit(
      [&](const auto& body) -> std::string {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ledger::AccountOpened>) {
          auto [it, inserted] = state.accounts.emplace(body.account.id, body.account);
          if (!inserted) return "opens " + body.account.id + " twice";
          state.account_index.emplace(it->first, &it->second);
          touch(state, "account:", body.account.id, seq);
        } else if constexpr (std::is_same_v<T, ledger::AccountClosed>) {
          auto it = state.account_index.find(body.account);
          if (it == state.account_index.end()) return "closes unknown account " + body.account;
          it->second->closed = true;
          touch(state, "account:", body.account, seq);
        } else if constexpr (std::is_same_v<T, ledger::PendingCreated>) {
          if (state.pendings.contains(body.pending.id))
            return "creates " + body.pending.id + " twice";
          state.pendings.emplace(body.pending.id, body.pending);
          touch(state, "pending:", body.pending.id, seq);
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
    auto it = state.account_index.find(p.account);
    if (it == state.account_index.end()) return "posts to unknown account " + p.account;
    if (it->second->asset != p.asset) return "posts " + p.asset + " to account " + p.account;
    if (!ledger::apply_posting(it->second->balances, p)) {
      return "posting to " + p.account + " underflows or overflows";
    }
    touch(state, "account:", p.account, seq);
  }
  return {};
}

std::optional<EventProblem> apply_opened(ledger::Sequence position,
                                         const codec::OpenedEvent& opened, ProjectedState& state) {
  if (position != state.next_seq) {
    return EventProblem{state.next_seq, fmt::format("event {} is missing", state.next_seq)};
  }
  if (opened.event.seq != position) {
    return EventProblem{position,
                        fmt::format("event stored at {} says seq {}", position, opened.event.seq)};
  }
  if (opened.prev_hash != state.chain_head) {
    return EventProblem{position, fmt::format("event {}: chain broken (prev_hash is not event {}'s "
                                              "hash)",
                                              position, position - 1)};
  }
  if (opened.event.timestamp_ms < state.logical_time_ms) {
    return EventProblem{position,
                        fmt::format("event {}: logical time goes back from {} to {}", position,
                                    state.logical_time_ms, opened.event.timestamp_ms)};
  }
  std::string problem =
      apply_event(opened.event, state, opened.command_digest ? &*opened.command_digest : nullptr);
  if (!problem.empty())
    return EventProblem{position, fmt::format("event {}: {}", position, problem)};
  state.next_seq = position + 1;
  state.logical_time_ms = opened.event.timestamp_ms;
  state.chain_head = opened.hash;
  return std::nullopt;
}

std::optional<EventProblem> apply_sealed(ledger::Sequence position, std::string_view sealed,
                                         ProjectedState& state) {
  const ledger::Sequence expected = state.next_seq;
  if (position != expected) {
    return EventProblem{expected, fmt::format("event {} is missing", expected)};
  }
  Result<codec::OpenedEvent> opened = codec::open_event(sealed);
  if (!opened.is_ok()) {
    return EventProblem{position, fmt::format("event {}: {}", position, opened.status().message())};
  }
  return apply_opened(position, *opened, state);
}

}  // namespace lf::engine
