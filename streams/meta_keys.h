// Keys streams/ writes in a shard's meta column family (layouts in
// engine/keys.h and docs/storage.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "engine/keys.h"
#include "engine/snapshot.h"

namespace lf::streams {

inline constexpr std::string_view meta_dlq_prefix = "dlq/";
inline constexpr std::string_view meta_dlq_count_key = "dlq_count";
inline constexpr std::string_view meta_relay_events_key = "relay/events";
inline constexpr std::string_view meta_relay_dlq_key = "relay/dlq";

// The consumed offset of a partition (the layout snapshots also read).
inline std::string offset_key(std::string_view topic, std::int32_t partition) {
  return engine::offset_meta_key(topic, static_cast<std::uint32_t>(partition));
}

inline std::string dlq_key(std::uint64_t index) {
  std::string key(meta_dlq_prefix);
  engine::put_u64be(key, index);
  return key;
}

// A u64be meta value of a shard store, or `absent` when the key is not there.
inline Result<std::uint64_t> read_meta_u64(engine::Engine& engine, std::string_view key,
                                           std::uint64_t absent = 0) {
  Result<std::optional<std::string>> value = engine.meta(key);
  if (!value.is_ok()) return value.status();
  if (!value->has_value()) return absent;
  if ((*value)->size() != 8) {
    return Status::corruption("meta " + std::string(key) + " is not 8 bytes");
  }
  return engine::get_u64be(**value);
}

}  // namespace lf::streams
