// lf_sample_workload: prints a deterministic, realistic JSON-lines workload
// for the main job and demos: customers and merchants open accounts, cards
// are topped up, purchases are authorised (pending) then captured in full or
// in part, voided or left to expire, merchants are paid out with a fee
// journal, and some commands are wrong on purpose (insufficient funds,
// unknown accounts, retries with the same id).
//
// With --books N it prints N independent marketplaces ("books"), every id
// prefixed with the book ("mkt3:customer:00012"), interleaved: the workload
// of a sharded deployment, where each book routes to one shard
// (ledger/shard.h).
//
//   lf_sample_workload [--commands N] [--seed S] [--books N]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "schemas/json.h"

namespace {

using namespace lf::ledger;

struct Generator {
  Generator(std::uint64_t seed, std::string prefix) : rng(seed), prefix(std::move(prefix)) {}

  std::mt19937_64 rng;
  std::string prefix;  // The book, "mkt3:", or empty.
  lf::codec::JsonCodec codec;
  std::uint64_t next_id = 0;
  std::uint64_t time_ms = 1'700'000'000'000;
  std::vector<std::string> customers;
  std::vector<std::string> merchants;
  std::vector<std::string> open_holds;
  std::string settlement;
  std::string fees;
  std::vector<Command> recent;

  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng);
  }

  void emit(CommandBody body, std::string id = {}) {
    Command c;
    c.id = id.empty() ? fmt::format("{}cmd-{:08}", prefix, next_id++) : std::move(id);
    time_ms += 1 + below(50);
    c.timestamp_ms = time_ms;
    c.body = std::move(body);
    fmt::print("{}\n", codec.command_to_json(c));
    if (recent.size() < 64)
      recent.push_back(c);
    else
      recent[below(64)] = c;
  }

  void open(const std::string& account, bool limited) {
    emit(OpenAccount{account, "USD", 2, limited, false, 0, {}});
  }

  void setup(std::size_t customer_count, std::size_t merchant_count) {
    settlement = prefix + "bank:usd:settlement";
    fees = prefix + "revenue:fees";
    open(settlement, false);
    open(fees, false);
    for (std::size_t i = 0; i < customer_count; ++i) {
      customers.push_back(fmt::format("{}customer:{:05}", prefix, i));
      open(customers.back(), true);
    }
    for (std::size_t i = 0; i < merchant_count; ++i) {
      merchants.push_back(fmt::format("{}merchant:{:03}:available", prefix, i));
      open(merchants.back(), true);
    }
  }

  const std::string& customer() { return customers[below(customers.size())]; }
  const std::string& merchant() {
    // A few merchants get most of the traffic.
    return merchants[below(4) == 0 ? below(merchants.size()) : below(3)];
  }

  void step() {
    const std::uint64_t dice = below(100);
    if (dice < 15) {  // Card top-up.
      emit(Transfer{settlement, customer(), 1000 + below(50000), "USD", false, 0, {}});
    } else if (dice < 45) {  // Authorisation hold, sometimes with a timeout.
      const std::string id = fmt::format("{}auth-{:08}", prefix, next_id++);
      const std::uint32_t timeout_s = below(3) == 0 ? 30 : 0;
      emit(Transfer{customer(), merchant(), 100 + below(20000), "USD", true, timeout_s, {}}, id);
      open_holds.push_back(id);
    } else if (dice < 65 && !open_holds.empty()) {  // Capture, full or partial.
      const std::size_t at = below(open_holds.size());
      emit(PostPending{open_holds[at], below(2) == 0 ? Amount{0} : Amount{50}});
      open_holds.erase(open_holds.begin() + static_cast<std::ptrdiff_t>(at));
    } else if (dice < 70 && !open_holds.empty()) {  // Void.
      const std::size_t at = below(open_holds.size());
      emit(VoidPending{open_holds[at]});
      open_holds.erase(open_holds.begin() + static_cast<std::ptrdiff_t>(at));
    } else if (dice < 90) {  // Direct purchase.
      emit(Transfer{customer(), merchant(), 100 + below(5000), "USD", false, 0, {}});
    } else if (dice < 95) {  // Payout with a 2% fee.
      const std::uint64_t amount = 100 + below(2000);
      const std::uint64_t fee = amount / 50;
      emit(Journal{{{merchant(), "USD", Side::debit, amount},
                    {fees, "USD", Side::credit, fee},
                    {settlement, "USD", Side::credit, amount - fee}},
                   "payout"});
    } else if (dice < 97 && !recent.empty()) {  // A producer's retry.
      const Command& again = recent[below(recent.size())];
      fmt::print("{}\n", codec.command_to_json(again));
    } else {  // Wrong on purpose: an unknown account.
      emit(Transfer{customer(), prefix + "merchant:unknown", 100, "USD", false, 0, {}});
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Print a deterministic sample workload as JSON lines"};
  std::size_t commands = 10000;
  std::uint64_t seed = 1;
  std::size_t books = 0;
  app.add_option("--commands", commands, "Commands after the accounts are opened");
  app.add_option("--seed", seed, "Random seed (the same seed prints the same workload)");
  app.add_option("--books", books,
                 "Independent books, ids prefixed mkt<N>: (default: one, no prefix)")
      ->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);
  if (books == 0) {
    Generator g(seed, "");
    g.setup(1000, 50);
    for (std::size_t i = 0; i < commands; ++i) g.step();
    return 0;
  }
  std::vector<std::unique_ptr<Generator>> generators;
  for (std::size_t b = 0; b < books; ++b) {
    generators.push_back(std::make_unique<Generator>(seed * 1000 + b, fmt::format("mkt{}:", b)));
    generators.back()->setup(250, 12);
  }
  for (std::size_t i = 0; i < commands; ++i) generators[i % books]->step();
  return 0;
}
