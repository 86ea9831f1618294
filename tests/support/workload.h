// A seeded generator of long randomized command streams for the ledger.
//
// The stream mixes every command type the way a busy ledger sees them: a few
// hot accounts per asset take most of the traffic while cold ones trickle in;
// single-phase and pending transfers (with and without timeouts), posts (full,
// partial and over the hold), voids, journals (balanced, unbalanced,
// multi-asset), linked chains that succeed or fail, closes, exact retries,
// conflicting id reuse and malformed commands. Timestamps mostly creep forward,
// sometimes step back, and sometimes jump far enough to expire holds.
//
// Generation never looks at the ledger's outcomes, so the same (seed, count)
// always yields the same commands. Randomness comes only from
// std::mt19937_64, whose output the standard fixes; no std distributions (their
// output differs between standard libraries).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ledger/types.h"

namespace lf::test {

// The default seed of randomized tests; LF_SEED overrides it.
inline constexpr std::uint64_t default_seed = 20240521;

// `count` commands generated from `seed`.
std::vector<ledger::Command> generate_workload(std::uint64_t seed, std::size_t count);

// The seed from the LF_SEED environment variable (decimal), or `fallback`.
std::uint64_t seed_from_env(std::uint64_t fallback = default_seed);

}  // namespace lf::test
