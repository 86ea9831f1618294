#include "engine/projection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>

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
    state.open_command_slot.reset();
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
    state.open_command_slot = state.commands.add(
        event.command_id,
        ledger::CommandRecord{
            command_digest != nullptr ? *command_digest : ledger::content_digest(*event.command),
            outcome});
    state.open_command = event.command_id;
    if (std::holds_alternative<ledger::Linked>(event.command->body))
      state.open_linked = event.command;
  } else if (event.command_id == state.open_command) {
    // A later event of the open command. Without a record (only in a log the
    // state machine did not write: a command-less event with an empty id
    // while no command is open) it counts on the empty id's record, made
    // empty the first time, as a map's operator[] did.
    if (!state.open_command_slot) {
      LF_ASSERT(event.command_id.empty());  // Any other open command has its record.
      if (!state.empty_id_slot) {
        state.empty_id_slot = state.commands.add(event.command_id, ledger::CommandRecord{});
      }
      state.open_command_slot = state.empty_id_slot;
    }
    state.commands.add_event(*state.open_command_slot);
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
      const std::size_t slot = state.commands.add(
          step.id, ledger::CommandRecord{ledger::content_digest(as_command), outcome});
      // A step reusing the chain's own id replaces its record: later events
      // count towards the step's, as a map's operator[] would have.
      if (step.id == state.open_command) state.open_command_slot = slot;
    }
  }
}

}  // namespace

std::string_view FoldedCommands::copy(std::string_view bytes) {
  if (bytes.empty()) return {};
  char* out = static_cast<char*>(memory_->allocate(bytes.size(), 1));
  std::memcpy(out, bytes.data(), bytes.size());
  return {out, bytes.size()};
}

std::size_t FoldedCommands::add(std::string_view id, const ledger::CommandRecord& record) {
  LF_ASSERT(!sort_ran_);
  LF_ASSERT(count_ < slots_max);
  if (count_ == chunks_.size() * chunk_entries) {
    void* chunk = memory_->allocate(chunk_entries * sizeof(Entry), alignof(Entry));
    chunks_.push_back(static_cast<Entry*>(chunk));
  }
  const std::size_t slot = count_++;
  Entry* e = new (&entry(slot)) Entry();
  e->id = copy(id);
  e->field = copy(record.outcome.field);
  e->digest = record.content_digest;
  e->first_seq = record.outcome.first_seq;
  e->event_count = record.outcome.event_count;
  e->failed_step = record.outcome.failed_step;
  e->status = record.outcome.status;
  e->reason = record.outcome.reason;
  return slot;
}

void FoldedCommands::add_event(std::size_t slot) {
  LF_ASSERT(slot < count_);
  ++entry(slot).event_count;
}

void FoldedCommands::sort() {
  LF_ASSERT(!sort_ran_);
  sort_ran_ = true;
  order_.resize(count_);
  for (std::size_t i = 0; i < count_; ++i) order_[i] = static_cast<std::uint32_t>(i);
  // By id, then by slot: of the records for one id the last added sorts last.
  auto before = [this](std::uint32_t a, std::uint32_t b) {
    const int c = entry(a).id.compare(entry(b).id);
    return c < 0 || (c == 0 && a < b);
  };
  // Two halves sorted side by side, then merged: the fold's thread would
  // otherwise sort alone while the other core has little left to do.
  const auto middle = order_.begin() + static_cast<std::ptrdiff_t>(count_ / 2);
  std::thread first;
  if (count_ >= parallel_sort_records_min) {
    try {
      first = std::thread([&] { std::sort(order_.begin(), middle, before); });
    } catch (const std::system_error&) {
      // No thread to be had: the same order, on this one.
    }
  }
  if (first.joinable()) {
    std::sort(middle, order_.end(), before);
    first.join();
    std::inplace_merge(order_.begin(), middle, order_.end(), before);
  } else {
    std::sort(order_.begin(), order_.end(), before);
  }
  // Keep the last of each run of equal ids.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < order_.size(); ++i) {
    if (i + 1 < order_.size() && entry(order_[i]).id == entry(order_[i + 1]).id) continue;
    order_[kept++] = order_[i];
  }
  order_.resize(kept);
  order_.shrink_to_fit();
}

std::size_t FoldedCommands::size() const {
  LF_ASSERT(listable());
  return order_.size();
}

std::string_view FoldedCommands::id(std::size_t i) const {
  LF_ASSERT(listable() && i < order_.size());
  return entry(order_[i]).id;
}

ledger::CommandRecord FoldedCommands::record(std::size_t i) const {
  LF_ASSERT(listable() && i < order_.size());
  const Entry& e = entry(order_[i]);
  ledger::CommandRecord r;
  r.content_digest = e.digest;
  r.outcome.command_id = e.id;
  r.outcome.status = e.status;
  r.outcome.reason = e.reason;
  r.outcome.field = e.field;
  r.outcome.failed_step = e.failed_step;
  r.outcome.first_seq = e.first_seq;
  r.outcome.event_count = e.event_count;
  return r;
}

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
