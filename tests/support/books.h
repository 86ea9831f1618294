// Multi-shard workloads: the randomized workload of workload.h, once per
// book, with every id moved into its book ("b3:" + id), so that each
// command stays inside one book and routes to that book's shard
// (ledger/shard.h). The books' streams are interleaved round robin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/types.h"

namespace lf::test {

// The command with every id it names (its own, step, account and hold ids)
// prefixed with book + ":".
ledger::Command in_book(ledger::Command command, std::string_view book);

// `books` workloads of `per_book` commands (seeds derived from `seed`), books
// named "b0", "b1", ..., interleaved one command of each book at a time.
std::vector<ledger::Command> book_workload(std::uint64_t seed, std::size_t books,
                                           std::size_t per_book);

}  // namespace lf::test
