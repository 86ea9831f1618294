#include "tests/support/harness.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "ledger/assert.h"
#include "tests/support/printing.h"

namespace lf::test {

namespace {

// Appends "what: key: ledger=... model=..." lines for entries that differ.
template <typename T>
void diff_maps(const char* what, const std::map<std::string, T>& ledger,
               const std::map<std::string, T>& model, std::ostringstream& out) {
  constexpr int lines_max = 10;
  int lines = 0;
  auto report = [&](const std::string& key, const T* l, const T* m) {
    if (++lines > lines_max) return;
    out << what << " " << key << ": ledger=" << (l ? describe(*l) : "absent")
        << " model=" << (m ? describe(*m) : "absent") << "\n";
  };
  for (const auto& [key, value] : ledger) {
    auto it = model.find(key);
    if (it == model.end()) {
      report(key, &value, nullptr);
    } else if (!(it->second == value)) {
      report(key, &value, &it->second);
    }
  }
  for (const auto& [key, value] : model) {
    if (!ledger.contains(key)) report(key, nullptr, &value);
  }
}

}  // namespace

Verdict verdict(const ledger::Outcome& o) {
  return Verdict{o.status, o.reason, o.field, o.failed_step, o.duplicate};
}

Verdict accepted() { return Verdict{}; }

Verdict rejected(ledger::RejectReason reason, std::string field, std::int32_t failed_step) {
  return Verdict{ledger::OutcomeStatus::rejected, reason, std::move(field), failed_step, false};
}

Verdict duplicate(Verdict original) {
  original.duplicate = true;
  return original;
}

std::string describe(const Verdict& v) {
  ledger::Outcome o;
  o.status = v.status;
  o.reason = v.reason;
  o.field = v.field;
  o.failed_step = v.failed_step;
  o.duplicate = v.duplicate;
  std::string s = describe(o);
  return s.substr(0, s.find(" seq=")) + (v.duplicate ? " duplicate}" : "}");
}

std::string diff_state(const MemoryLedger& ledger, const ReferenceModel& model) {
  std::ostringstream out;
  diff_maps("account", ledger.accounts(), model.accounts(), out);
  diff_maps("pending", ledger.pendings(), model.pendings(), out);
  if (ledger.head().logical_time_ms != model.logical_time_ms()) {
    out << "logical time: ledger=" << ledger.head().logical_time_ms
        << " model=" << model.logical_time_ms() << "\n";
  }
  if (ledger.head().next_seq != model.next_seq()) {
    out << "next seq: ledger=" << ledger.head().next_seq << " model=" << model.next_seq() << "\n";
  }
  return out.str();
}

std::string audit_events(const MemoryLedger& ledger) {
  std::ostringstream out;
  ledger::Sequence expected_seq = 1;
  for (const ledger::Event& event : ledger.events()) {
    if (event.seq != expected_seq) {
      out << "event " << describe(event) << ": expected seq " << expected_seq << "\n";
      break;
    }
    ++expected_seq;
    if (!ledger::postings_balance(event.postings)) {
      out << "event " << describe(event) << ": postings do not balance\n";
    }
  }
  if (expected_seq != ledger.head().next_seq) {
    out << "head.next_seq " << ledger.head().next_seq << " but " << expected_seq - 1 << " events\n";
  }
  try {
    std::map<std::string, ledger::Balances> rebuilt = ledger.rebuild_balances_from_events();
    std::map<std::string, ledger::Balances> held = ledger.balances();
    if (rebuilt != held) {
      std::ostringstream diff;
      diff_maps("balances (rebuilt vs held)", rebuilt, held, diff);
      out << diff.str();
    }
  } catch (const std::exception& e) {
    out << "rebuilding balances: " << e.what() << "\n";
  }
  return out.str();
}

ledger::Outcome CheckedLedger::submit(ledger::CommandBody body) {
  return run(cmd("t" + std::to_string(next_id_++), std::move(body), now_ms_));
}

ledger::Outcome CheckedLedger::run(const ledger::Command& command) {
  return run_batch({command}).front();
}

std::vector<ledger::Outcome> CheckedLedger::run_batch(const std::vector<ledger::Command>& batch) {
  std::vector<ledger::Outcome> outcomes = ledger_.apply(batch);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const ledger::Outcome expected = model_.submit(batch[i]);
    INFO("command " << describe(batch[i]));
    CHECK(outcomes[i] == expected);
  }
  CHECK(diff_state(ledger_, model_) == "");
  return outcomes;
}

std::vector<ledger::Event> CheckedLedger::events_since(ledger::Sequence first_seq) const {
  const std::vector<ledger::Event>& all = ledger_.events();
  LF_ASSERT(first_seq >= 1);
  if (first_seq > all.size()) return {};
  return {all.begin() + static_cast<std::ptrdiff_t>(first_seq - 1), all.end()};
}

std::vector<ledger::Event> CheckedLedger::events_of(const ledger::Outcome& outcome) const {
  std::vector<ledger::Event> events = events_since(outcome.first_seq);
  LF_ASSERT(events.size() >= outcome.event_count);
  events.resize(outcome.event_count);
  return events;
}

const ledger::Account& CheckedLedger::account(const std::string& id) const {
  const ledger::Account* found = ledger_.find_account(id);
  LF_ASSERT(found != nullptr);
  return *found;
}

const ledger::Balances& CheckedLedger::balances(const std::string& id) const {
  return account(id).balances;
}

const ledger::PendingTransfer& CheckedLedger::pending(const std::string& id) const {
  const ledger::PendingTransfer* found = ledger_.find_pending(id);
  LF_ASSERT(found != nullptr);
  return *found;
}

}  // namespace lf::test
