#include "tests/support/books.h"

#include <type_traits>
#include <variant>

#include "tests/support/workload.h"

namespace lf::test {

namespace {

void prefix(std::string& id, std::string_view book) { id.insert(0, std::string(book) + ":"); }

void prefix_step(ledger::StepBody& body, std::string_view book) {
  std::visit(
      [&](auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, ledger::OpenAccount> ||
                      std::is_same_v<T, ledger::CloseAccount>) {
          prefix(c.account, book);
        } else if constexpr (std::is_same_v<T, ledger::Transfer>) {
          prefix(c.debit_account, book);
          prefix(c.credit_account, book);
        } else if constexpr (std::is_same_v<T, ledger::PostPending> ||
                             std::is_same_v<T, ledger::VoidPending>) {
          prefix(c.pending_id, book);
        } else {
          static_assert(std::is_same_v<T, ledger::Journal>);
          for (ledger::JournalLeg& leg : c.legs) prefix(leg.account, book);
        }
      },
      body);
}

}  // namespace

ledger::Command in_book(ledger::Command command, std::string_view book) {
  prefix(command.id, book);
  if (auto* linked = std::get_if<ledger::Linked>(&command.body)) {
    for (ledger::LinkedStep& step : linked->steps) {
      prefix(step.id, book);
      prefix_step(step.body, book);
    }
    return command;
  }
  ledger::StepBody step = std::visit(
      [](auto& c) -> ledger::StepBody {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, ledger::Linked>) {
          return {};
        } else {
          return c;
        }
      },
      command.body);
  prefix_step(step, book);
  command.body = std::visit([](auto& c) -> ledger::CommandBody { return c; }, step);
  return command;
}

std::vector<ledger::Command> book_workload(std::uint64_t seed, std::size_t books,
                                           std::size_t per_book) {
  std::vector<std::vector<ledger::Command>> streams;
  for (std::size_t b = 0; b < books; ++b) {
    streams.push_back(generate_workload(seed * 1000003 + b, per_book));
  }
  std::vector<ledger::Command> out;
  out.reserve(books * per_book);
  for (std::size_t i = 0; i < per_book; ++i) {
    for (std::size_t b = 0; b < books; ++b) {
      out.push_back(in_book(std::move(streams[b][i]), "b" + std::to_string(b)));
    }
  }
  return out;
}

}  // namespace lf::test
