// Event blocks: how a batch's sealed events are stored under one key of the
// events column family (grammar in engine/keys.h and docs/storage.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/keys.h"
#include "ledger/assert.h"
#include "ledger/sha256.h"
#include "ledger/status.h"
#include "schemas/codec.h"

namespace lf::engine {

// Largest block accepted when reading (a batch of batch_commands_max linked
// chains of big journals stays far below).
inline constexpr std::size_t event_block_bytes_max = 256u << 20;
inline constexpr std::size_t event_block_events_max = 1u << 20;

// Builds a batch's event block. Events are added sealed but not yet chained
// (both hashes zero, codec::EventEncoder::seal_unchained) and chained later,
// all at once, by chain(): the engine seals on its deciding thread and chains
// on its writer thread. Kept from batch to batch (Engine::keep_spare_block),
// so that its buffers are reused.
class EventBlockWriter {
 public:
  void clear() {
    bytes_.assign(4, '\0');
    count_ = 0;
    unchained_.clear();
  }
  // Appends a sealed, chained event.
  void add(std::string_view sealed) { append(sealed); }
  // Appends a sealed event whose hashes are still to be filled in, laid out
  // as `layout` (from seal_unchained).
  void add_unchained(std::string_view sealed, const codec::SealedLayout& layout) {
    LF_ASSERT(layout.sealed_size == sealed.size());
    unchained_.push_back({append(sealed), layout});
  }
  // Chains the events added since the last chain() after `prev_hash`, in
  // order, and returns the hash of the last one (`prev_hash` when none).
  Sha256 chain(const Sha256& prev_hash) {
    Sha256 chain = prev_hash;
    for (const Unchained& event : unchained_) {
      LF_ASSERT(event.at <= bytes_.size());
      LF_ASSERT(event.layout.sealed_size <= bytes_.size() - event.at);
      const std::span<char> sealed(bytes_.data() + event.at, event.layout.sealed_size);
      chain = codec::chain_sealed(sealed, event.layout, chain);
    }
    unchained_.clear();
    return chain;
  }
  bool chained() const { return unchained_.empty(); }
  std::uint32_t count() const { return count_; }
  // The block, its count patched in.
  // REQUIRES: every event chained.
  const std::string& finish() {
    LF_ASSERT(chained());
    for (int i = 0; i < 4; ++i) bytes_[i] = static_cast<char>((count_ >> (8 * (3 - i))) & 0xff);
    return bytes_;
  }

 private:
  // Frames `sealed` onto the block; returns where its bytes start.
  std::size_t append(std::string_view sealed) {
    put_u32be(bytes_, static_cast<std::uint32_t>(sealed.size()));
    const std::size_t at = bytes_.size();
    bytes_.append(sealed);
    ++count_;
    return at;
  }

  struct Unchained {
    std::size_t at;  // Where the sealed event starts in bytes_.
    codec::SealedLayout layout;
  };
  std::string bytes_ = std::string(4, '\0');
  std::uint32_t count_ = 0;
  std::vector<Unchained> unchained_;  // Added, not yet chained; in order.
};

// Splits a block into its entries (views into `block`). Corruption when the
// framing does not add up exactly.
inline Result<std::vector<std::string_view>> split_event_block(std::string_view block) {
  if (block.size() < 4 || block.size() > event_block_bytes_max) {
    return Status::corruption("event block has a bad size");
  }
  const std::uint32_t count = get_u32be(block);
  // Each entry needs at least its 4-byte length: check before reserving.
  if (count == 0 || count > event_block_events_max || count > (block.size() - 4) / 4) {
    return Status::corruption("event block has a bad count");
  }
  std::vector<std::string_view> entries;
  entries.reserve(count);
  std::size_t at = 4;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (block.size() - at < 4) return Status::corruption("event block is truncated");
    const std::uint32_t length = get_u32be(block.substr(at));
    at += 4;
    if (block.size() - at < length) return Status::corruption("event block is truncated");
    entries.push_back(block.substr(at, length));
    at += length;
  }
  if (at != block.size()) return Status::corruption("event block has trailing bytes");
  return entries;
}

}  // namespace lf::engine
