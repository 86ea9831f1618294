// postings_balance: the double-entry check every event passes before it is
// written, against a reference that nets with a std::map, over seeded random
// postings of few and of many (asset, bucket) keys.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ledger/types.h"
#include "tests/support/workload.h"

namespace lf::test {
namespace {

using ledger::Bucket;
using ledger::Posting;
using ledger::Side;

bool reference_balance(const std::vector<Posting>& postings) {
  std::map<std::pair<std::string, Bucket>, __int128> net;
  for (const Posting& p : postings) {
    const __int128 amount = p.increase ? __int128(p.amount) : -__int128(p.amount);
    net[{p.asset, p.bucket}] += p.side == Side::debit ? amount : -amount;
  }
  for (const auto& [key, total] : net) {
    if (total != 0) return false;
  }
  return true;
}

Posting posting(std::string asset, Bucket bucket, Side side, bool increase, ledger::Amount amount) {
  return Posting{"a", std::move(asset), side, bucket, increase, amount};
}

TEST_CASE("postings balance per asset and bucket", "[ledger][postings]") {
  CHECK(ledger::postings_balance({}));
  CHECK(ledger::postings_balance({posting("USD", Bucket::posted, Side::debit, true, 5),
                                  posting("USD", Bucket::posted, Side::credit, true, 5)}));
  // Same totals, different buckets or assets: not balanced.
  CHECK_FALSE(ledger::postings_balance({posting("USD", Bucket::posted, Side::debit, true, 5),
                                        posting("USD", Bucket::pending, Side::credit, true, 5)}));
  CHECK_FALSE(ledger::postings_balance({posting("USD", Bucket::posted, Side::debit, true, 5),
                                        posting("EUR", Bucket::posted, Side::credit, true, 5)}));
  // A decrease of a debit balances an increase of a debit.
  CHECK(ledger::postings_balance({posting("USD", Bucket::pending, Side::debit, true, 7),
                                  posting("USD", Bucket::pending, Side::debit, false, 7)}));
  // Totals beyond 64 bits are netted exactly (128-bit accumulators).
  const ledger::Amount big = std::numeric_limits<ledger::Amount>::max();
  CHECK(ledger::postings_balance({posting("USD", Bucket::posted, Side::debit, true, big),
                                  posting("USD", Bucket::posted, Side::debit, true, big),
                                  posting("USD", Bucket::posted, Side::credit, true, big),
                                  posting("USD", Bucket::posted, Side::credit, true, big)}));
  CHECK_FALSE(ledger::postings_balance({posting("USD", Bucket::posted, Side::debit, true, big),
                                        posting("USD", Bucket::posted, Side::debit, true, big),
                                        posting("USD", Bucket::posted, Side::credit, true, big)}));
}

TEST_CASE("postings_balance agrees with a map-netting reference on random postings",
          "[ledger][postings]") {
  const std::uint64_t seed = seed_from_env(20261125);
  INFO("seed " << seed << " (LF_SEED=" << seed << " repeats this run)");
  std::mt19937_64 rng(seed);
  std::size_t balanced = 0;
  for (int round = 0; round < 4000; ++round) {
    // Up to 24 assets x 2 buckets: past the check's inline room for keys.
    const std::size_t assets = 1 + rng() % 24;
    const std::size_t legs = rng() % 70;
    std::vector<Posting> postings;
    for (std::size_t i = 0; i < legs; ++i) {
      const std::string asset = "A" + std::to_string(rng() % assets);
      const Bucket bucket = rng() % 2 == 0 ? Bucket::posted : Bucket::pending;
      const ledger::Amount amount = 1 + rng() % 100;
      postings.push_back(posting(asset, bucket, Side::debit, rng() % 4 != 0, amount));
      // Usually the matching credit, so that many sets balance.
      if (rng() % 8 != 0) {
        postings.push_back(posting(asset, bucket, Side::credit, postings.back().increase, amount));
      }
    }
    std::shuffle(postings.begin(), postings.end(), rng);
    const bool expected = reference_balance(postings);
    INFO("round " << round << ", " << postings.size() << " postings");
    REQUIRE(ledger::postings_balance(postings) == expected);
    balanced += expected ? 1 : 0;
  }
  // Both answers were exercised (about 450 balance with any seed).
  CHECK(balanced > 100);
  CHECK(balanced < 3900);
}

}  // namespace
}  // namespace lf::test
