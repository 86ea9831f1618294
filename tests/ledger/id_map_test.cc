// IdMap against std::map over seeded random operations: the same entries,
// values and insertion order, by plain and by hashed (prefetched) lookups;
// entry addresses that never move; clear() that empties and then serves
// again.
#include "ledger/id_map.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/support/workload.h"

namespace lf::ledger {
namespace {

std::string random_id(std::mt19937_64& rng, std::size_t universe) {
  // Lengths 0..40: empty ids, ids within one 8-byte chunk and across several.
  const std::size_t n = rng() % universe;
  std::string id = "id:" + std::to_string(n);
  if (n % 7 == 0) id += std::string(n % 41, 'x');
  if (n % 11 == 0) id.clear();
  return id;
}

TEST_CASE("IdMap matches std::map over random inserts and lookups", "[id_map]") {
  const std::uint64_t seed = test::seed_from_env();
  INFO("LF_SEED=" << seed);
  std::mt19937_64 rng(seed);
  for (std::size_t universe : {5u, 300u, 40'000u}) {
    IdMap<std::uint64_t> map;
    std::map<std::string, std::uint64_t> model;
    std::vector<std::string> order;  // Model of insertion order.
    std::vector<const void*> addresses;
    for (int op = 0; op < 100'000; ++op) {
      const std::string id = random_id(rng, universe);
      if (rng() % 3 == 0) {
        const std::uint64_t hash = id_hash(id);
        map.prefetch_slot(hash);  // Hints: they change nothing.
        map.prefetch_entry(hash);
        const auto* entry = map.find_entry(id);
        const auto it = model.find(id);
        REQUIRE((entry == nullptr) == (it == model.end()));
        REQUIRE(map.contains(id) == (it != model.end()));
        REQUIRE(map.find_entry(id, hash) == entry);  // The hashed lookup finds the same.
        if (entry != nullptr) REQUIRE(entry->second == it->second);
        continue;
      }
      const std::uint64_t value = rng();
      auto [entry, inserted] = map.try_emplace(id, value);
      auto [it, model_inserted] = model.try_emplace(id, value);
      REQUIRE(inserted == model_inserted);
      REQUIRE(entry->first == id);
      REQUIRE(entry->second == it->second);  // Not overwritten when present.
      if (inserted) {
        order.push_back(id);
        addresses.push_back(entry);
      }
      if (rng() % 5 == 0) entry->second = it->second = rng();  // Writes through the entry.
    }
    REQUIRE(map.size() == model.size());
    std::size_t index = 0;
    for (const auto& [id, value] : map) {
      REQUIRE(id == order[index]);
      REQUIRE(value == model.at(id));
      REQUIRE(static_cast<const void*>(map.find_entry(id)) == addresses[index]);
      REQUIRE(map.find(id)->first == id);
      ++index;
    }
    REQUIRE(index == model.size());
    REQUIRE(map.find("absent, never inserted") == map.end());
  }
}

TEST_CASE("IdMap clear empties, keeps serving, and reserve does not change contents", "[id_map]") {
  IdMap<std::string> map;
  map.reserve(1000);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2000; ++i) {
      const std::string id = "r" + std::to_string(round) + ":" + std::to_string(i);
      REQUIRE(map.try_emplace(id, std::string(i % 50, 'v')).second);
    }
    map.reserve(10'000);  // Rehashes with entries in place.
    REQUIRE(map.size() == 2000);
    for (int i = 0; i < 2000; ++i) {
      const std::string id = "r" + std::to_string(round) + ":" + std::to_string(i);
      const auto* entry = map.find_entry(id);
      REQUIRE(entry != nullptr);
      REQUIRE(entry->second == std::string(i % 50, 'v'));
    }
    if (round > 0) REQUIRE_FALSE(map.contains("r" + std::to_string(round - 1) + ":0"));
    map.clear();
    REQUIRE(map.empty());
    REQUIRE(map.begin() == map.end());
  }
}

TEST_CASE("IdMap try_emplace with a key and a value from the map itself, as it grows", "[id_map]") {
  // Entries never move when the slot table grows, so a key or a value that
  // refers into the map stays valid through the insert that triggers it.
  IdMap<std::string> map;
  map.try_emplace("k0", std::string(40, 'x'));
  const auto* first = map.find_entry("k0");
  REQUIRE(first != nullptr);
  int growths = 0;
  for (int i = 1; i < 5000; ++i) {
    const std::size_t slots_before = map.slots();
    const bool grows = (map.size() + 1) * 2 > slots_before;
    if (grows) {
      // The existing key, viewed in place: found, nothing inserted.
      auto [same, inserted] = map.try_emplace(std::string_view(first->first), "unused");
      REQUIRE_FALSE(inserted);
      REQUIRE(same == first);
    }
    // A new key, its value copied by reference from an entry.
    auto [added, inserted] = map.try_emplace("k" + std::to_string(i), first->second);
    REQUIRE(inserted);
    REQUIRE(added->second == std::string(40, 'x'));
    if (grows) {
      REQUIRE(map.slots() > slots_before);
      ++growths;
    }
    REQUIRE(map.find_entry("k0") == first);  // Never moved.
  }
  CHECK(growths >= 8);
}

TEST_CASE("id_hash spreads ids that differ in one byte", "[id_map]") {
  // Sequential ids ("t1", "t2", ...) must not pile into neighbouring slots of
  // a small table: count the distinct low 10 bits over 1,024 of them.
  std::vector<bool> seen(1024);
  std::size_t distinct = 0;
  for (int i = 0; i < 1024; ++i) {
    const std::size_t slot = id_hash("t" + std::to_string(i)) & 1023;
    distinct += seen[slot] ? 0 : 1;
    seen[slot] = true;
  }
  // A random function fills about 1 - 1/e (63%) of the slots.
  REQUIRE(distinct > 600);
}

}  // namespace
}  // namespace lf::ledger
