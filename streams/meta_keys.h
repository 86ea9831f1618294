// Keys streams/ writes in a shard's meta column family (layouts in
// engine/keys.h and docs/storage.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

inline std::string u64_value(std::uint64_t v) {
  std::string out;
  engine::put_u64be(out, v);
  return out;
}

}  // namespace lf::streams
