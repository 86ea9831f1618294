// Shared fixtures of the engine tests: a temporary store directory that is
// removed afterwards, and helpers to open engines and read their logs.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/digest.h"
#include "engine/engine.h"
#include "engine/verify.h"

namespace lf::test {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("lf-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& child = "store") const { return (path_ / child).string(); }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<engine::Engine> open_engine(const std::string& dir,
                                                   engine::EngineOptions options = {}) {
  options.sync_commits = false;  // Tests need atomicity, not fsync; crash tests sync.
  options.block_cache_bytes = 8u << 20;
  options.write_buffer_bytes = 4u << 20;
  auto engine = engine::Engine::open(dir, options);
  INFO(engine.status().to_string());
  REQUIRE(engine.is_ok());
  return std::move(engine).value();
}

// Applies commands in batches of `batch`, returning every outcome.
inline std::vector<ledger::Outcome> apply_all(engine::Engine& engine,
                                              const std::vector<ledger::Command>& commands,
                                              std::size_t batch = 1000) {
  std::vector<ledger::Outcome> outcomes;
  for (std::size_t at = 0; at < commands.size(); at += batch) {
    const std::size_t n = std::min(batch, commands.size() - at);
    auto result = engine.apply(std::span(commands).subspan(at, n));
    INFO(result.status().to_string());
    REQUIRE(result.is_ok());
    outcomes.insert(outcomes.end(), result->outcomes.begin(), result->outcomes.end());
  }
  return outcomes;
}

// Submits every batch, keeping the pipeline full, and completes them in order.
inline std::vector<ledger::Outcome> submit_all(engine::Engine& engine,
                                               const std::vector<ledger::Command>& commands,
                                               std::size_t batch) {
  std::vector<ledger::Outcome> outcomes;
  auto complete_one = [&] {
    auto result = engine.complete();
    INFO(result.status().to_string());
    REQUIRE(result.is_ok());
    outcomes.insert(outcomes.end(), result->outcomes.begin(), result->outcomes.end());
  };
  for (std::size_t at = 0; at < commands.size(); at += batch) {
    if (engine.in_flight() == engine::pipeline_batches_max) complete_one();
    const std::size_t n = std::min(batch, commands.size() - at);
    const Status submitted = engine.submit(std::span(commands).subspan(at, n));
    INFO(submitted.to_string());
    REQUIRE(submitted.is_ok());
  }
  while (engine.in_flight() > 0) complete_one();
  return outcomes;
}

inline Sha256 digest_of(engine::Engine& engine) {
  auto digest = engine::store_digest(engine);
  REQUIRE(digest.is_ok());
  return *digest;
}

// The sealed bytes of every event, in order.
inline std::vector<std::string> raw_events(engine::Engine& engine) {
  std::vector<std::string> events;
  Status s = engine.for_each_raw_event(1, [&](ledger::Sequence, std::string_view bytes) {
    events.emplace_back(bytes);
    return true;
  });
  REQUIRE(s.is_ok());
  return events;
}

inline std::vector<ledger::Account> all_accounts(engine::Engine& engine) {
  std::vector<ledger::Account> accounts;
  REQUIRE(engine
              .for_each_account([&](const ledger::Account& a) {
                accounts.push_back(a);
                return true;
              })
              .is_ok());
  return accounts;
}

inline engine::VerifyReport verify_store(engine::Engine& engine) {
  auto report = engine::verify(engine);
  INFO(report.status().to_string());
  REQUIRE(report.is_ok());
  return std::move(report).value();
}

}  // namespace lf::test
