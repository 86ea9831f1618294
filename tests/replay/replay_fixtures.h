// Helpers of the replay and snapshot tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/digest.h"
#include "tests/engine/fixtures.h"
#include "tests/support/workload.h"

namespace lf::test {

inline Sha256 store_digest_of(engine::Engine& engine) {
  auto digest = engine::store_digest(engine);
  INFO(digest.status().to_string());
  REQUIRE(digest.is_ok());
  return *digest;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline void flip_byte(const std::string& path, std::size_t at) {
  std::string bytes = read_file(path);
  REQUIRE(at < bytes.size());
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  write_file(path, bytes);
}

}  // namespace lf::test
