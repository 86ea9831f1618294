// Human-readable renderings of domain values for test failure messages, and
// the Catch2 StringMaker specialisations that make REQUIRE(a == b) print them.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "ledger/types.h"

namespace lf::test {

const char* name(ledger::PendingState state);
std::string describe(const ledger::Outcome& outcome);
std::string describe(const ledger::Balances& balances);
std::string describe(const ledger::Account& account);
std::string describe(const ledger::PendingTransfer& pending);
std::string describe(const ledger::Command& command);
std::string describe(const ledger::Event& event);

struct Verdict;
std::string describe(const Verdict& verdict);

}  // namespace lf::test

namespace Catch {

template <>
struct StringMaker<lf::ledger::RejectReason> {
  static std::string convert(lf::ledger::RejectReason r) {
    return lf::ledger::reject_reason_name(r);
  }
};
template <>
struct StringMaker<lf::ledger::OutcomeStatus> {
  static std::string convert(lf::ledger::OutcomeStatus s) {
    return s == lf::ledger::OutcomeStatus::accepted ? "accepted" : "rejected";
  }
};
template <>
struct StringMaker<lf::ledger::PendingState> {
  static std::string convert(lf::ledger::PendingState s) { return lf::test::name(s); }
};
template <>
struct StringMaker<lf::ledger::Outcome> {
  static std::string convert(const lf::ledger::Outcome& v) { return lf::test::describe(v); }
};
template <>
struct StringMaker<lf::ledger::Balances> {
  static std::string convert(const lf::ledger::Balances& v) { return lf::test::describe(v); }
};
template <>
struct StringMaker<lf::ledger::Account> {
  static std::string convert(const lf::ledger::Account& v) { return lf::test::describe(v); }
};
template <>
struct StringMaker<lf::ledger::PendingTransfer> {
  static std::string convert(const lf::ledger::PendingTransfer& v) { return lf::test::describe(v); }
};
template <>
struct StringMaker<lf::test::Verdict> {
  static std::string convert(const lf::test::Verdict& v) { return lf::test::describe(v); }
};
template <>
struct StringMaker<lf::ledger::Event> {
  static std::string convert(const lf::ledger::Event& v) { return lf::test::describe(v); }
};

}  // namespace Catch
