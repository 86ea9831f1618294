// Fuzz targets for every decoder of untrusted bytes (docs: tests/fuzz/README.md).
//
// Each target has the libFuzzer signature: it takes arbitrary bytes, must never
// crash on them, and returns 0. When the bytes decode, it re-encodes the value
// and decodes it again, checking the round-trip properties with LF_ASSERT, so a
// property violation aborts like a crash does.
//
// The same functions serve two drivers: fuzz_driver.cc (lf_fuzz_smoke, a
// deterministic mutation loop run by ctest with any compiler) and
// libfuzzer_main.cc (coverage-guided fuzz_<target> executables, clang only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

extern "C" {
int lf_fuzz_decode_command(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_command_batch(const std::uint8_t* data, std::size_t size);
int lf_fuzz_open_event(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_outcome(const std::uint8_t* data, std::size_t size);
int lf_fuzz_parse_command_json(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_account(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_pending(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_command_record(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_head(const std::uint8_t* data, std::size_t size);
int lf_fuzz_split_event_block(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_kafka_message(const std::uint8_t* data, std::size_t size);
int lf_fuzz_decode_dead_letter(const std::uint8_t* data, std::size_t size);
int lf_fuzz_read_log_file(const std::uint8_t* data, std::size_t size);
int lf_fuzz_parse_manifest(const std::uint8_t* data, std::size_t size);
}

namespace lf::fuzz {

using TargetFn = int (*)(const std::uint8_t*, std::size_t);

struct Target {
  const char* name;  // "decode_command": the function is lf_fuzz_<name>.
  TargetFn fn;
  bool json;  // Text input: the driver mutates with JSON tokens as well.
  // The driver runs iterations / cost mutants: parse_command_json is ~20x
  // slower than the binary decoders (a failed parse re-parses the schema).
  unsigned cost;
};

// Every target, in a fixed order.
std::span<const Target> targets();

// What the targets saw since the last reset (for the driver's report).
struct Stats {
  std::uint64_t runs = 0;
  std::uint64_t decoded = 0;  // Inputs that decoded; the rest were rejected cleanly.
  // Decoded values on which a property was not checked because of a known,
  // reported bug (see KNOWN ISSUE in fuzz_targets.cc): decoded strings
  // outweigh the input.
  std::uint64_t amplification_skips = 0;
};
Stats& stats();

// When true, the checks guarded as KNOWN ISSUE run too, and abort on the known
// bugs. Off by default; lf_fuzz_smoke --known-issues turns it on in a child.
void set_check_known_issues(bool on);
bool check_known_issues();

// A valid input, built in code with the encoders, for the mutation corpus.
struct Seed {
  std::string bytes;
  // Set for a regression input that still triggers a known, reported bug. The
  // normal loop runs it (the triggering check is skipped); --known-issues
  // runs it in a child process with the check on and expects it to abort.
  const char* known_issue = nullptr;
};

// Seeds for the target `name` (see fuzz_corpus.cc).
std::vector<Seed> seeds(const std::string& name);
// Byte strings worth inserting into inputs of `name`: identifiers, JSON tokens.
std::vector<std::string> dictionary(const std::string& name);

}  // namespace lf::fuzz
