#include "tests/support/printing.h"

#include <sstream>

namespace lf::test {

namespace {

const char* side_name(ledger::Side side) { return side == ledger::Side::debit ? "D" : "C"; }

struct BodyPrinter {
  std::ostringstream& out;

  void operator()(const ledger::OpenAccount& c) const {
    out << "open_account{" << c.account << " " << c.asset << "/" << int(c.scale)
        << (c.debits_must_not_exceed_credits ? " debit-limited" : "")
        << (c.credits_must_not_exceed_debits ? " credit-limited" : "")
        << " overdraft=" << c.overdraft_limit << " metadata=" << c.metadata.size() << "B}";
  }
  void operator()(const ledger::CloseAccount& c) const {
    out << "close_account{" << c.account << "}";
  }
  void operator()(const ledger::Transfer& c) const {
    out << "transfer{" << c.debit_account << " -> " << c.credit_account << " " << c.amount << " "
        << c.asset << (c.pending ? " pending" : "") << " timeout_s=" << c.timeout_s
        << " reference=" << c.reference.size() << "B}";
  }
  void operator()(const ledger::PostPending& c) const {
    out << "post_pending{" << c.pending_id << " " << c.amount << "}";
  }
  void operator()(const ledger::VoidPending& c) const {
    out << "void_pending{" << c.pending_id << "}";
  }
  void operator()(const ledger::Journal& c) const {
    out << "journal{";
    for (const ledger::JournalLeg& leg : c.legs) {
      out << side_name(leg.side) << ":" << leg.account << ":" << leg.amount << ":" << leg.asset
          << " ";
    }
    out << "reference=" << c.reference.size() << "B}";
  }
  void operator()(const ledger::Linked& c) const {
    out << "linked{";
    for (const ledger::LinkedStep& step : c.steps) {
      out << step.id << "=";
      std::visit(*this, step.body);
      out << " ";
    }
    out << "}";
  }
};

}  // namespace

const char* name(ledger::PendingState state) {
  switch (state) {
    case ledger::PendingState::pending:
      return "pending";
    case ledger::PendingState::posted:
      return "posted";
    case ledger::PendingState::voided:
      return "voided";
    case ledger::PendingState::expired:
      return "expired";
  }
  return "unknown";
}

std::string describe(const ledger::Outcome& o) {
  std::ostringstream out;
  out << "{" << o.command_id << " "
      << (o.status == ledger::OutcomeStatus::accepted ? "accepted" : "rejected");
  if (o.reason != ledger::RejectReason::none) out << " " << ledger::reject_reason_name(o.reason);
  if (!o.field.empty()) out << " field=" << o.field;
  if (o.failed_step >= 0) out << " failed_step=" << o.failed_step;
  out << " seq=" << o.first_seq << "+" << o.event_count;
  if (o.duplicate) out << " duplicate";
  out << "}";
  return out.str();
}

std::string describe(const ledger::Balances& b) {
  std::ostringstream out;
  out << "{dp=" << b.debits_pending << " dP=" << b.debits_posted << " cp=" << b.credits_pending
      << " cP=" << b.credits_posted << "}";
  return out.str();
}

std::string describe(const ledger::Account& a) {
  std::ostringstream out;
  out << "{" << a.id << " " << a.asset << "/" << int(a.scale)
      << (a.debits_must_not_exceed_credits ? " debit-limited" : "")
      << (a.credits_must_not_exceed_debits ? " credit-limited" : "")
      << " overdraft=" << a.overdraft_limit << (a.closed ? " closed " : " ") << describe(a.balances)
      << "}";
  return out.str();
}

std::string describe(const ledger::PendingTransfer& p) {
  std::ostringstream out;
  out << "{" << p.id << " " << p.debit_account << " -> " << p.credit_account << " " << p.amount
      << " " << p.asset << " expires_at=" << p.expires_at_ms << " " << name(p.state) << "}";
  return out.str();
}

std::string describe(const ledger::Command& c) {
  std::ostringstream out;
  out << "{" << c.id << " @" << c.timestamp_ms << " ";
  std::visit(BodyPrinter{out}, c.body);
  out << "}";
  return out.str();
}

std::string describe(const ledger::Event& e) {
  static constexpr const char* body_names[] = {
      "AccountOpened", "AccountClosed",  "TransferPosted", "PendingCreated", "PendingPosted",
      "PendingVoided", "PendingExpired", "JournalPosted",  "CommandRejected"};
  std::ostringstream out;
  out << "{seq=" << e.seq << " " << body_names[e.body.index()] << " command=" << e.command_id;
  if (!e.step_id.empty()) out << " step=" << e.step_id;
  out << " @" << e.timestamp_ms << " postings=" << e.postings.size() << "}";
  return out.str();
}

}  // namespace lf::test
