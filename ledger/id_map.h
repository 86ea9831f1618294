// IdMap: a hash map from string ids to values for the deciding thread's hot
// paths (the working set of a batch, the unflushed projections).
//
// Why not std::unordered_map: a profile of engine_bench put about half of the
// deciding thread in it. Each lookup hashed the id, divided by a prime bucket
// count, then chased a bucket pointer to a node; each insert allocated a
// node. Here entries live in insertion order in chunks of 64 (which never
// move, and are kept for reuse by clear()), and an open-addressing table of
// 8-byte slots, a power of two long and at most half full, maps a hash to an
// entry: a lookup is usually one slot read and one key compare.
//
// Contracts:
// - Entries are never erased one by one; clear() empties the map.
// - References and pointers to entries stay valid until clear() or
//   destruction: chunks never move.
// - Iteration is in insertion order, so it never depends on hashes: callers
//   may iterate on an output path without sorting for determinism (they
//   still sort where they need key order).
// - The hash is fixed (unseeded), like std::hash: ids chosen to collide can
//   make probes long, never wrong.
// - At most 2^31 entries (slot indexes are 32-bit); more is a broken
//   invariant (the engine's limits keep maps far below).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ledger/assert.h"

namespace lf::ledger {

// 64-bit hash of a short string: 8 bytes at a time, multiply-xorshift mixed,
// finished with MurmurHash3's fmix64 so that every input bit reaches the low
// bits the table indexes with.
inline std::uint64_t id_hash(std::string_view s) {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = s.size() * k;
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, p, 8);
    h = (h ^ chunk) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t chunk = 0;
    std::memcpy(&chunk, p, n);
    h = (h ^ chunk) * k;
    h ^= h >> 29;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

template <typename V>
class IdMap {
 public:
  using key_type = std::string;
  using mapped_type = V;
  using value_type = std::pair<const std::string, V>;

  template <bool is_const>
  class Iterator {
   public:
    using Map = std::conditional_t<is_const, const IdMap, IdMap>;
    using reference = std::conditional_t<is_const, const value_type&, value_type&>;
    using pointer = std::conditional_t<is_const, const value_type*, value_type*>;
    Iterator(Map* map, std::size_t index) : map_(map), index_(index) {}
    reference operator*() const { return map_->at(index_); }
    pointer operator->() const { return &map_->at(index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    Map* map_;
    std::size_t index_;
  };
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  IdMap() = default;
  IdMap(const IdMap&) = delete;
  IdMap& operator=(const IdMap&) = delete;
  ~IdMap() { destroy_entries(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slots in the hash table (a power of two, at least twice size()).
  std::size_t slots() const { return slots_.size(); }
  iterator begin() { return {this, 0}; }
  iterator end() { return {this, size_}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

  // Room for `n` entries without growing the table.
  void reserve(std::size_t n) {
    if (n * 2 > slots_.size()) rehash(n * 2);
  }

  // Empties the map; keeps its memory for the next entries.
  void clear() {
    destroy_entries();
    std::fill(slots_.begin(), slots_.end(), 0);
  }

  // The entry of `key`, or null.
  value_type* find_entry(std::string_view key) {
    const std::size_t index = find_index(key);
    return index == npos ? nullptr : &at(index);
  }
  const value_type* find_entry(std::string_view key) const {
    const std::size_t index = find_index(key);
    return index == npos ? nullptr : &at(index);
  }
  iterator find(std::string_view key) {
    const std::size_t index = find_index(key);
    return {this, index == npos ? size_ : index};
  }
  const_iterator find(std::string_view key) const {
    const std::size_t index = find_index(key);
    return {this, index == npos ? size_ : index};
  }
  bool contains(std::string_view key) const { return find_index(key) != npos; }

  // Lookups of many keys at once: a lookup in a map bigger than the CPU's
  // caches waits for one or two memory reads (the key's slot, then its
  // entry). Hashing the keys first (id_hash) and prefetching a few keys
  // ahead of the one looked up lets those reads overlap: prefetch_slot()
  // some keys ahead, prefetch_entry() (which reads the slot) fewer keys
  // ahead, then find_entry(key, hash). Hints only: they never change what a
  // lookup finds. REQUIRES: `hash` is id_hash(key).
  void prefetch_slot(std::uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask()]);
  }
  void prefetch_entry(std::uint64_t hash) const {
    if (slots_.empty()) return;
    const std::uint64_t slot = slots_[hash & mask()];
    if (slot != 0 && (slot >> 32) == (hash >> 32)) {
      const auto* entry = static_cast<const std::byte*>(chunk_slot((slot & 0xffffffffu) - 1));
      __builtin_prefetch(entry);
      __builtin_prefetch(entry + 64);
    }
  }
  value_type* find_entry(std::string_view key, std::uint64_t hash) {
    const std::size_t index = find_index(key, hash);
    return index == npos ? nullptr : &at(index);
  }
  const value_type* find_entry(std::string_view key, std::uint64_t hash) const {
    const std::size_t index = find_index(key, hash);
    return index == npos ? nullptr : &at(index);
  }

  // Inserts (key, V(args...)) unless `key` is present; the entry and whether
  // it was inserted. Arguments are left alone when it was not.
  template <typename... Args>
  std::pair<value_type*, bool> try_emplace(std::string_view key, Args&&... args) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(std::max(slots_min, slots_.size() * 2));
    const std::uint64_t hash = id_hash(key);
    const std::uint64_t tag = hash >> 32;
    std::size_t i = hash & mask();
    for (; slots_[i] != 0; i = (i + 1) & mask()) {
      if ((slots_[i] >> 32) != tag) continue;
      value_type& entry = at((slots_[i] & 0xffffffffu) - 1);
      if (entry.first == key) return {&entry, false};
    }
    LF_ASSERT(size_ < entries_max);
    if (size_ == chunks_.size() * chunk_entries) chunks_.push_back(std::make_unique<Chunk>());
    value_type* entry =
        new (chunk_slot(size_)) value_type(std::piecewise_construct, std::forward_as_tuple(key),
                                           std::forward_as_tuple(std::forward<Args>(args)...));
    ++size_;
    slots_[i] = (tag << 32) | size_;
    return {entry, true};
  }

 private:
  static constexpr std::size_t npos = SIZE_MAX;
  static constexpr std::size_t slots_min = 16;
  static constexpr std::size_t entries_max = 0x7fffffff;
  static constexpr std::size_t chunk_entries = 64;  // A power of two.
  struct Chunk {
    alignas(value_type) std::byte bytes[sizeof(value_type) * chunk_entries];
  };

  std::size_t mask() const { return slots_.size() - 1; }
  void* chunk_slot(std::size_t index) const {
    return chunks_[index / chunk_entries]->bytes + sizeof(value_type) * (index % chunk_entries);
  }
  value_type& at(std::size_t index) {
    return *std::launder(static_cast<value_type*>(chunk_slot(index)));
  }
  const value_type& at(std::size_t index) const {
    return *std::launder(static_cast<const value_type*>(chunk_slot(index)));
  }

  std::size_t find_index(std::string_view key) const { return find_index(key, id_hash(key)); }
  std::size_t find_index(std::string_view key, std::uint64_t hash) const {
    if (slots_.empty()) return npos;
    const std::uint64_t tag = hash >> 32;
    for (std::size_t i = hash & mask(); slots_[i] != 0; i = (i + 1) & mask()) {
      if ((slots_[i] >> 32) != tag) continue;
      const std::size_t index = (slots_[i] & 0xffffffffu) - 1;
      if (at(index).first == key) return index;
    }
    return npos;
  }

  void destroy_entries() {
    for (std::size_t index = 0; index < size_; ++index) at(index).~value_type();
    size_ = 0;
  }

  // Grows the table to at least `slots` slots (a power of two) and reinserts
  // every entry's slot; entries themselves do not move.
  void rehash(std::size_t slots) {
    std::size_t length = slots_min;
    while (length < slots) length *= 2;
    std::vector<std::uint64_t> fresh(length, 0);
    const std::size_t m = length - 1;
    for (std::size_t index = 0; index < size_; ++index) {
      const std::uint64_t hash = id_hash(at(index).first);
      std::size_t i = hash & m;
      while (fresh[i] != 0) i = (i + 1) & m;
      fresh[i] = ((hash >> 32) << 32) | (index + 1);
    }
    slots_ = std::move(fresh);
  }

  std::vector<std::unique_ptr<Chunk>> chunks_;  // Entries in insertion order, 64 a chunk.
  std::size_t size_ = 0;
  std::vector<std::uint64_t> slots_;  // 0 = empty; else hash tag << 32 | entry index + 1.
};

}  // namespace lf::ledger
