// The libFuzzer entry point of one fuzz_<target> executable: LF_FUZZ_TARGET
// names the target (tests/fuzz/CMakeLists.txt defines it per executable).
//
//   fuzz_decode_command -dict=corpus/decode_command.dict corpus/decode_command
//
// where corpus/ comes from `lf_fuzz_smoke --write-corpus corpus`. Set
// LF_FUZZ_KNOWN_ISSUES=1 to run the checks guarded as KNOWN ISSUE too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tests/fuzz/fuzz_targets.h"

#ifndef LF_FUZZ_TARGET
#error "define LF_FUZZ_TARGET to one of the lf_fuzz_* functions of fuzz_targets.h"
#endif

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* known_issues = std::getenv("LF_FUZZ_KNOWN_ISSUES");
  lf::fuzz::set_check_known_issues(known_issues != nullptr && std::strcmp(known_issues, "1") == 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return LF_FUZZ_TARGET(data, size);
}
