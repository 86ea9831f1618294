// huge_page_resource(): whole blocks on huge-page boundaries, usable as the
// upstream of a monotonic buffer for maps that only grow.
#include "engine/huge_pages.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory_resource>
#include <new>
#include <string>

namespace lf {
namespace {

TEST_CASE("huge_page_resource hands out writable blocks on 2 MiB boundaries") {
  std::pmr::memory_resource* resource = engine::huge_page_resource();
  for (const std::size_t bytes : {std::size_t{1}, engine::huge_page_bytes,
                                  engine::huge_page_bytes + 1, 5 * engine::huge_page_bytes}) {
    void* block = resource->allocate(bytes, alignof(std::max_align_t));
    REQUIRE(block != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(block) % engine::huge_page_bytes == 0);
    std::memset(block, 0xab, bytes);  // Every byte asked for is mapped.
    CHECK(static_cast<unsigned char*>(block)[bytes - 1] == 0xab);
    resource->deallocate(block, bytes, alignof(std::max_align_t));
  }
  void* empty = resource->allocate(0, 1);  // A block all the same.
  REQUIRE(empty != nullptr);
  resource->deallocate(empty, 0, 1);
  CHECK_THROWS_AS(resource->allocate(1, 2 * engine::huge_page_bytes), std::bad_alloc);
  CHECK_THROWS_AS(resource->allocate(SIZE_MAX - 1, 1), std::bad_alloc);
  CHECK(resource->is_equal(*engine::huge_page_resource()));
  CHECK_FALSE(resource->is_equal(*std::pmr::new_delete_resource()));
}

TEST_CASE("a map over a monotonic buffer of huge pages keeps every entry") {
  std::pmr::monotonic_buffer_resource nodes(engine::huge_page_bytes, engine::huge_page_resource());
  std::pmr::map<std::string, std::uint64_t> map(&nodes);
  constexpr std::uint64_t entries = 200'000;  // Several blocks' worth of nodes.
  for (std::uint64_t i = 0; i < entries; ++i) map.emplace("id-" + std::to_string(i), i);
  REQUIRE(map.size() == entries);
  std::uint64_t sum = 0;
  std::uint64_t misplaced = 0;
  for (const auto& [id, value] : map) {
    if (id != "id-" + std::to_string(value)) ++misplaced;
    sum += value;
  }
  CHECK(misplaced == 0);
  CHECK(sum == entries * (entries - 1) / 2);
}

}  // namespace
}  // namespace lf
