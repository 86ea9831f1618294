// RocksDB key layouts of a shard store. docs/storage.md is the reference;
// keep the two in step. Numbers are fixed-width big-endian so that RocksDB's
// default bytewise comparator orders them numerically.
//
//   events    key := first_seq: u64be                    value := event_block
//   accounts  key := account_id                          value := AccountRecord
//   pending   key := pending_id                          value := PendingRecord
//   commands  key := command_id                          value := CommandRecord
//   expiry    key := expires_at_ms: u64be pending_id     value := (empty)
//   history   key := account_id 0x00 first_seq: u64be    value := seq: u64be ...
//
//   event_block := count: u32be entry[count]      (one block per committed batch)
//   entry       := length: u32be sealed: SealedEvent[length]   (seq = first_seq + i)
//
// A block per batch (not a key per event) keeps RocksDB's work per transfer
// small: one memtable insert for all of a batch's events. Likewise a history
// value lists every seq of one batch that touched the account.
//   meta      key := "head"                              value := HeadRecord
//             key := "history_indexed_seq"               value := u64be
//             key := "shard"                             value := index: u32be count: u32be
//   Written by streams/ (the Kafka consumer and outbox relay, docs/kafka.md):
//             key := "offset/" topic "/" partition: u32be value := next offset: u64be
//             key := "dlq/" index: u64be                 value := DeadLetterRecord
//             key := "dlq_count"                         value := u64be
//             key := "relay/events"                      value := last published seq: u64be
//             key := "relay/dlq"                         value := dead letters published: u64be
//
// Ids never contain 0x00 (ledger::valid_id), so "a" 0x00 ... sorts before
// "a:b" 0x00 ... and a prefix scan of account_id 0x00 sees only that account.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lf::engine {

inline void put_u64be(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A u64 as its 8 big-endian bytes (meta values: offsets, counters, seqs).
inline std::string u64be_value(std::uint64_t v) {
  std::string out;
  put_u64be(out, v);
  return out;
}

inline std::uint64_t get_u64be(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return v;
}

inline std::string event_key(std::uint64_t seq) {
  std::string key;
  key.reserve(8);
  put_u64be(key, seq);
  return key;
}

inline void put_u32be(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline std::uint32_t get_u32be(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return v;
}

inline std::string expiry_key(std::uint64_t expires_at_ms, std::string_view pending_id) {
  std::string key;
  key.reserve(8 + pending_id.size());
  put_u64be(key, expires_at_ms);
  key.append(pending_id);
  return key;
}

inline std::string history_prefix(std::string_view account_id) {
  std::string key(account_id);
  key.push_back('\0');
  return key;
}

inline std::string history_key(std::string_view account_id, std::uint64_t seq) {
  std::string key = history_prefix(account_id);
  put_u64be(key, seq);
  return key;
}

inline constexpr std::string_view meta_head_key = "head";
inline constexpr std::string_view meta_history_indexed_key = "history_indexed_seq";
inline constexpr std::string_view meta_shard_key = "shard";
// The head as of the last projection flush (encode_head): the accounts,
// pending, commands and expiry families hold the state after event
// next_seq - 1 of it. Absent: they hold the state at "head".
inline constexpr std::string_view meta_projected_key = "projected";

}  // namespace lf::engine
