// LF_ASSERT: an invariant check that stays on in release builds.
//
// A broken invariant means the process can no longer be trusted with money, so
// it stops at once, loudly, naming the condition and where it failed. Use it
// for programming errors and corrupted state, never for bad input (that is a
// rejection) or an I/O failure (that is a Status).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace lf {

[[noreturn]] inline void assertion_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "ledgerflow: assertion failed: %s at %s:%d\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace lf

#define LF_ASSERT(condition)                                  \
  do {                                                        \
    if (!(condition)) [[unlikely]]                            \
      ::lf::assertion_failed(#condition, __FILE__, __LINE__); \
  } while (false)
