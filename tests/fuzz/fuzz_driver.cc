// lf_fuzz_smoke: a deterministic mutation fuzzer over the targets of
// fuzz_targets.h, for CI and for compilers without libFuzzer.
//
// For each target, in a child process of its own: run every seed once, then
// LF_FUZZ_ITERATIONS (default 20000) mutants of the seeds, drawn from a
// std::mt19937_64 with a fixed seed (LF_FUZZ_SEED overrides it); a costly
// target runs fewer (Target::cost). Mutations:
// bit flips, byte sets, truncation, insertion, erasure, splicing with another
// input, overwrites of 32- and 16-bit little-endian fields (FlatBuffers
// offsets, lengths and vtable entries) with boundary values or small shifts,
// and dictionary tokens. Mutants that decode join the pool, so that mutations
// stack. A crash or a property violation (LF_ASSERT) kills the child after the
// input has been printed in hex; the parent counts targets and ends with
// "N passed, M failed".
//
// Usage:
//   lf_fuzz_smoke [--target NAME]... [--iterations N] [--seed S] [--no-fork]
//   lf_fuzz_smoke --replay NAME FILE...       run the files' bytes once each
//   lf_fuzz_smoke --replay-hex NAME HEX...    the same with inputs in hex
//   lf_fuzz_smoke --write-corpus DIR          seeds as DIR/NAME/seed-NNN, and
//                                             libFuzzer dictionaries DIR/NAME.dict
//   lf_fuzz_smoke --known-issues              does each known-issue regression
//                                             input still trigger its bug?
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/assert.h"
#include "tests/fuzz/fuzz_targets.h"

// Sanitizer runtimes call this back before they end the process on an error.
// Weak: null when the program runs without a sanitizer.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace lf::fuzz {
namespace {

constexpr std::uint64_t default_iterations = 20000;
constexpr std::uint64_t default_seed = 0x1edf10c0ffee2024;
constexpr std::size_t pool_extra_max = 512;  // Decoding mutants kept beside the seeds.
constexpr std::size_t input_bytes_max = 64 * 1024;

// ---------------------------------------------------------------- crash report

// The input being run, for the crash report (read from a signal handler).
const char* volatile current_target = nullptr;
const std::string* volatile current_input = nullptr;

void write_all(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}
void write_str(const char* s) { write_all(s, std::strlen(s)); }

// Async-signal-safe: only write(2).
void report_current_input() {
  const char* target = current_target;
  const std::string* input = current_input;
  if (target == nullptr || input == nullptr) return;
  char size[24];
  int at = sizeof(size);
  std::size_t n = input->size();
  size[--at] = '\0';
  do {
    size[--at] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  write_str("\nlf_fuzz_smoke: crashing input for ");
  write_str(target);
  write_str(" (");
  write_str(size + at);
  write_str(" bytes); reproduce with: lf_fuzz_smoke --replay-hex ");
  write_str(target);
  write_str(" ");
  static constexpr char digits[] = "0123456789abcdef";
  char chunk[256];
  std::size_t used = 0;
  for (const char c : *input) {
    chunk[used++] = digits[static_cast<unsigned char>(c) >> 4];
    chunk[used++] = digits[static_cast<unsigned char>(c) & 15];
    if (used == sizeof(chunk)) write_all(chunk, std::exchange(used, 0));
  }
  write_all(chunk, used);
  write_str(input->empty() ? "''\n" : "\n");
}

void on_fatal_signal(int signal) {
  report_current_input();
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void install_crash_reporting() {
  if (__sanitizer_set_death_callback != nullptr) {
    __sanitizer_set_death_callback(report_current_input);  // Sanitizer reports.
  } else {
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(s, on_fatal_signal);
  }
  ::signal(SIGABRT, on_fatal_signal);  // LF_ASSERT, std::terminate.
}

// Runs one input through a target, remembering it for the crash report.
void run(const Target& target, const std::string& input) {
  current_target = target.name;
  current_input = &input;
  target.fn(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  current_input = nullptr;
}

// ---------------------------------------------------------------- mutations

class Mutator {
 public:
  Mutator(std::uint64_t seed, std::vector<std::string> dictionary)
      : rng_(seed), dictionary_(std::move(dictionary)) {}

  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string mutate(std::string s, const std::vector<std::string>& pool, bool text) {
    const int count = 1 + static_cast<int>(below(4));
    for (int i = 0; i < count; ++i) mutate_once(s, pool, text);
    if (s.size() > input_bytes_max) s.resize(input_bytes_max);
    return s;
  }

 private:
  std::size_t pos(const std::string& s) { return below(s.size()); }
  std::size_t pos_or_end(const std::string& s) { return below(s.size() + 1); }

  void mutate_once(std::string& s, const std::vector<std::string>& pool, bool text) {
    static constexpr std::uint8_t bytes8[] = {0, 1, 2, 4, 8, 0x10, 0x20, 0x7f, 0x80, 0xfe, 0xff};
    static constexpr std::uint32_t values32[] = {
        0,       1,          2,          3,          4,          7,          8,         12,
        16,      0x7f,       0x80,       0xff,       0x100,      0x7fff,     0x8000,    0xffff,
        0x10000, 0x7fffffff, 0x80000000, 0xfffffff8, 0xfffffffc, 0xfffffffe, 0xffffffff};
    static constexpr std::uint16_t values16[] = {0, 1, 2, 4, 6, 8, 0x7fff, 0x8000, 0xfffc, 0xffff};
    switch (below(text ? 11 : 10)) {
      case 0:  // Bit flip.
        if (!s.empty()) s[pos(s)] ^= static_cast<char>(1u << below(8));
        break;
      case 1:  // Byte set: a boundary value or any byte.
        if (!s.empty()) {
          s[pos(s)] =
              static_cast<char>(below(2) == 0 ? bytes8[below(std::size(bytes8))] : below(256));
        }
        break;
      case 2:  // Truncation.
        s.resize(pos_or_end(s));
        break;
      case 3: {  // Insertion of random bytes.
        std::string bytes(1 + below(8), '\0');
        for (char& c : bytes) c = static_cast<char>(below(256));
        s.insert(pos_or_end(s), bytes);
        break;
      }
      case 4:  // Erasure of a short range.
        if (!s.empty()) s.erase(pos(s), 1 + below(8));
        break;
      case 5: {  // Splice: a prefix of this input, a suffix of another.
        const std::string& other = pool[below(pool.size())];
        s = s.substr(0, pos_or_end(s)) + other.substr(pos_or_end(other));
        break;
      }
      case 6:    // A 32-bit field: offsets, vector and string lengths.
      case 7: {  // The same, shifted a little: an offset pointing next door.
        if (s.size() < 4) break;
        const std::size_t at = below(s.size() / 4) * 4;
        std::uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(s[at + i]);
        if (below(2) == 0) {
          v = values32[below(std::size(values32))];
          if (below(4) == 0) v = static_cast<std::uint32_t>(s.size() - below(16));
        } else {
          v += static_cast<std::uint32_t>(below(33)) - 16;
        }
        for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
        break;
      }
      case 8: {  // A 16-bit field: vtable sizes and field offsets.
        if (s.size() < 2) break;
        const std::size_t at = below(s.size() / 2) * 2;
        const std::uint16_t v = values16[below(std::size(values16))];
        s[at] = static_cast<char>(v & 0xff);
        s[at + 1] = static_cast<char>(v >> 8);
        break;
      }
      case 9:
      case 10: {  // A dictionary token, inserted or written over (twice as likely for text).
        if (dictionary_.empty()) break;
        const std::string& token = dictionary_[below(dictionary_.size())];
        const std::size_t at = pos_or_end(s);
        if (below(2) == 0) {
          s.insert(at, token);
        } else {
          s.replace(at, token.size(), token);
        }
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::string> dictionary_;
};

// ---------------------------------------------------------------- modes

struct Options {
  std::vector<std::string> only;
  std::uint64_t iterations = default_iterations;
  std::uint64_t seed = default_seed;
  bool fork = true;
};

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325;
  for (const char c : s) h = (h ^ static_cast<std::uint8_t>(c)) * 0x100000001b3;
  return h;
}

// The mutation loop for one target. Returns normally only if nothing failed.
void fuzz_target(const Target& target, const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  stats() = {};
  std::vector<std::string> pool;
  std::size_t regression_inputs = 0;
  for (const Seed& seed : seeds(target.name)) {
    run(target, seed.bytes);  // Every seed once, known-issue regressions included.
    if (seed.known_issue != nullptr) {
      ++regression_inputs;
    } else {
      pool.push_back(seed.bytes);
    }
  }
  LF_ASSERT(!pool.empty());
  const std::size_t seed_count = pool.size();
  Mutator mutator(options.seed ^ fnv1a(target.name), dictionary(target.name));
  const std::uint64_t iterations = options.iterations / target.cost;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    const std::string& base = pool[mutator.below(pool.size())];
    const std::string input = mutator.mutate(base, pool, target.json);
    const std::uint64_t decoded = stats().decoded;
    run(target, input);
    if (stats().decoded == decoded || input == base) continue;
    if (pool.size() < seed_count + pool_extra_max) {
      pool.push_back(input);
    } else {
      pool[seed_count + mutator.below(pool_extra_max)] = input;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  using ull = unsigned long long;
  std::printf(
      "fuzz_smoke: %-21s %2zu+%zu seeds %6llu mutants %6llu decoder calls %6llu decoded, "
      "%3llu known-issue skips (amplification)  %5.2f s\n",
      target.name, seed_count, regression_inputs, static_cast<ull>(iterations),
      static_cast<ull>(stats().runs), static_cast<ull>(stats().decoded),
      static_cast<ull>(stats().amplification_skips), seconds);
  std::fflush(stdout);
}

// Runs `body` in a child process; true when it exits with status 0.
template <typename F>
bool in_child(F&& body, bool quiet) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("lf_fuzz_smoke: fork");
    return false;
  }
  if (pid == 0) {
    if (quiet) {
      std::FILE* null = std::freopen("/dev/null", "w", stderr);
      (void)null;
    }
    body();
    std::exit(0);  // Not _Exit: LeakSanitizer checks at exit.
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int fuzz_all(const Options& options) {
  int passed = 0;
  int failed = 0;
  for (const Target& target : targets()) {
    if (!options.only.empty() &&
        std::find(options.only.begin(), options.only.end(), target.name) == options.only.end()) {
      continue;
    }
    bool ok = true;
    if (options.fork) {
      ok = in_child([&] { fuzz_target(target, options); }, /*quiet=*/false);
    } else {
      fuzz_target(target, options);
    }
    if (ok) {
      ++passed;
    } else {
      ++failed;
      std::printf("fuzz_smoke: %s FAILED (see the report above)\n", target.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

// Each known-issue input, run in a child with the guarded checks on.
int known_issues() {
  int still = 0;
  int gone = 0;
  for (const Target& target : targets()) {
    int index = 0;
    for (const Seed& seed : seeds(target.name)) {
      ++index;
      if (seed.known_issue == nullptr) continue;
      const bool survived = in_child(
          [&] {
            set_check_known_issues(true);
            run(target, seed.bytes);
          },
          /*quiet=*/true);
      (survived ? gone : still)++;
      std::printf("%s: %s seed %d (%zu bytes): %s\n", survived ? "FIXED" : "still fails",
                  target.name, index, seed.bytes.size(), seed.known_issue);
    }
  }
  std::printf("%d known issues still reproduce, %d no longer do\n", still, gone);
  return 0;
}

const Target* find_target(std::string_view name) {
  for (const Target& target : targets()) {
    if (name == target.name) return &target;
  }
  std::fprintf(stderr, "lf_fuzz_smoke: no target %.*s; targets:", static_cast<int>(name.size()),
               name.data());
  for (const Target& target : targets()) std::fprintf(stderr, " %s", target.name);
  std::fprintf(stderr, "\n");
  return nullptr;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex == "''") return std::string();
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (const char c : hex.substr(i, 2)) {
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

int replay(const Target& target, const std::vector<std::string>& args, bool hex) {
  for (const std::string& arg : args) {
    std::optional<std::string> input;
    if (hex) {
      input = from_hex(arg);
    } else {
      std::ifstream file(arg, std::ios::binary);
      if (file) {
        input.emplace(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
      }
    }
    if (!input) {
      std::fprintf(stderr, "lf_fuzz_smoke: cannot read %s\n", arg.c_str());
      return 1;
    }
    run(target, *input);
    std::printf("%s: %zu bytes: ok (%s)\n", target.name, input->size(),
                stats().decoded > 0 ? "decoded" : "rejected");
    stats() = {};
  }
  return 0;
}

// A libFuzzer dictionary line: the token in quotes, escaped as \xNN.
std::string dict_line(std::string_view token) {
  std::string line = "\"";
  for (const char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      line.push_back(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      line += buf;
    }
  }
  return line + "\"\n";
}

int write_corpus(const std::filesystem::path& dir) {
  for (const Target& target : targets()) {
    const std::filesystem::path sub = dir / target.name;
    std::filesystem::create_directories(sub);
    int index = 0;
    for (const Seed& seed : seeds(target.name)) {
      char name[32];
      std::snprintf(name, sizeof(name), "%s-%03d", seed.known_issue ? "known-issue" : "seed",
                    ++index);
      std::ofstream(sub / name, std::ios::binary) << seed.bytes;
    }
    std::ofstream dict(dir / (std::string(target.name) + ".dict"), std::ios::binary);
    for (const std::string& token : dictionary(target.name)) dict << dict_line(token);
    std::printf("%s: %d seeds in %s\n", target.name, index, sub.c_str());
  }
  return 0;
}

std::optional<std::uint64_t> number(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (end == s || *end != '\0') return std::nullopt;
  return v;
}

int usage() {
  std::fprintf(stderr,
               "usage: lf_fuzz_smoke [--target NAME]... [--iterations N] [--seed S] [--no-fork]\n"
               "       lf_fuzz_smoke --replay NAME FILE... | --replay-hex NAME HEX...\n"
               "       lf_fuzz_smoke --write-corpus DIR | --known-issues\n"
               "environment: LF_FUZZ_ITERATIONS (per target, default %llu), LF_FUZZ_SEED\n",
               static_cast<unsigned long long>(default_iterations));
  return 2;
}

int main(int argc, char** argv) {
  install_crash_reporting();
  Options options;
  for (const char* name : {"LF_FUZZ_ITERATIONS", "LF_FUZZ_SEED"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    const std::optional<std::uint64_t> v = number(value);
    if (!v) {
      std::fprintf(stderr, "lf_fuzz_smoke: %s=%s is not a number\n", name, value);
      return 2;
    }
    (std::string_view(name) == "LF_FUZZ_SEED" ? options.seed : options.iterations) = *v;
  }
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if ((arg == "--replay" || arg == "--replay-hex") && has_value) {
      const Target* target = find_target(args[i + 1]);
      if (target == nullptr) return 2;
      return replay(*target, {args.begin() + static_cast<std::ptrdiff_t>(i) + 2, args.end()},
                    arg == "--replay-hex");
    } else if (arg == "--write-corpus" && has_value) {
      return write_corpus(args[i + 1]);
    } else if (arg == "--known-issues") {
      return known_issues();
    } else if (arg == "--target" && has_value) {
      if (find_target(args[++i]) == nullptr) return 2;
      options.only.push_back(args[i]);
    } else if ((arg == "--iterations" || arg == "--seed") && has_value) {
      const std::optional<std::uint64_t> v = number(args[++i].c_str());
      if (!v) return usage();
      (arg == "--seed" ? options.seed : options.iterations) = *v;
    } else if (arg == "--no-fork") {
      options.fork = false;
    } else {
      return usage();
    }
  }
  std::printf("fuzz_smoke: %llu iterations per target, seed %#llx\n",
              static_cast<unsigned long long>(options.iterations),
              static_cast<unsigned long long>(options.seed));
  return fuzz_all(options);
}

}  // namespace
}  // namespace lf::fuzz

int main(int argc, char** argv) { return lf::fuzz::main(argc, argv); }
