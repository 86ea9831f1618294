// Reading an outcomes topic back: what a producer does to learn the fate of
// its commands, and what the main job and the tests use to check them.
// Messages are deduplicated by their (lf-shard, lf-seq) headers, since the
// relay publishes at least once.
//
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "ledger/status.h"
#include "ledger/types.h"
#include "streams/kafka.h"

namespace lf::streams {

struct OutcomesReadOptions {
  KafkaSettings kafka;
  std::string topic;
  int idle_ms = 2000;  // Stop once every partition is at its end this long.
  int timeout_ms = 300'000;
};

struct PublishedOutcome {
  ledger::Outcome outcome;
  std::string shard;      // lf-shard header.
  std::uint64_t seq = 0;  // lf-seq header.
};

struct OutcomesRead {
  std::uint64_t unique = 0;
  std::uint64_t duplicates_dropped = 0;
  // Two messages with one (lf-shard, lf-seq) but different values: a broken
  // relay. Must be 0.
  std::uint64_t conflicting = 0;
  std::uint64_t accepted = 0;
  std::map<std::string, std::uint64_t> rejected_by_reason;
  std::uint64_t undecodable = 0;  // Messages that are not outcomes.
  bool truncated = false;         // A partition no longer starts at offset 0.
};

// Reads every partition from the beginning until idle; calls fn once per
// unique outcome, in partition then offset order of arrival.
Result<OutcomesRead> read_outcomes(const OutcomesReadOptions& options,
                                   const std::function<void(const PublishedOutcome&)>& fn);

}  // namespace lf::streams
