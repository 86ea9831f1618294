// What every ledgerflow subcommand shares: exit codes and error printing.
//
// Exit codes: 0 success; 1 operating error (I/O, corrupt store, Kafka);
// 2 usage error; 3 some input could not be decoded (the valid rest was
// applied or published); 4 verify found a problem, or the trial balance does
// not net to zero.
#pragma once

#include <fmt/format.h>

#include <cstdio>

#include "ledger/status.h"

namespace lf::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_error = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_bad_input = 3;
inline constexpr int exit_verify_failed = 4;

inline int fail(const Status& status) {
  fmt::print(stderr, "ledgerflow: {}\n", status.to_string());
  return exit_error;
}

}  // namespace lf::cli
