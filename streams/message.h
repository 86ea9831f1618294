// Kafka messages of the commands topic: what a message may hold, how it is
// decoded into commands, and the dead-letter record of one that cannot be.
//
// A message's value is one FlatBuffers buffer (schemas/, docs/kafka.md):
//   message := Command (file identifier "LFC1")         one command
//            | CommandBatch (file identifier "LFB1")    1..message_commands_max commands
// Anything else is a *poison* message. The consumer never stops on one: it
// records a DeadLetterRecord in the same batch as the offset that consumed
// it, and the relay copies it to the dead-letter topic.
//
// Every command decoded gets its source position (topic, partition, offset)
// and, when its own timestamp_ms is 0, the Kafka record's timestamp: time
// comes from the input, never from the consumer's clock.
//
// Pure functions over bytes; decode_* verify everything (they are fuzzed).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/limits.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace lf::streams {

// Commands one message may carry (a producer batches to reach throughput).
inline constexpr std::size_t message_commands_max = 4096;
static_assert(message_commands_max <= ledger::batch_commands_max);

// DO NOT CHANGE the values: stored in DeadLetterRecord (schemas/storage.fbs).
enum class PoisonReason : std::uint8_t {
  none = 0,
  undecodable = 1,
  unknown_schema = 2,
  too_large = 3,
  too_many_commands = 4,
  empty = 5,
};
const char* poison_reason_name(PoisonReason reason);

struct DecodedMessage {
  std::vector<ledger::Command> commands;  // Empty when poison.
  PoisonReason poison = PoisonReason::none;
  std::string detail;  // Why, for a poison message.
};

// Decodes a message's value. `source.offset` and `record_timestamp_ms` are
// stamped on every command.
DecodedMessage decode_message(std::string_view payload, const ledger::SourcePosition& source,
                              std::int64_t record_timestamp_ms);

// The Kafka message for some commands: LFC1 for one, LFB1 for more.
// REQUIRES: 1..message_commands_max commands.
std::string encode_message(std::span<const ledger::Command> commands);

struct DeadLetter {
  ledger::SourcePosition source;
  std::int64_t timestamp_ms = -1;
  PoisonReason reason = PoisonReason::none;
  std::string detail;
  std::string key;
  std::string payload;
  bool operator==(const DeadLetter&) const = default;
};

// Limit of the decoder's message kept in a dead letter.
inline constexpr std::size_t dead_letter_detail_bytes_max = 512;

std::string encode_dead_letter(const DeadLetter& letter);
// Verifies first: the bytes come from disk.
Result<DeadLetter> decode_dead_letter(std::string_view bytes);

}  // namespace lf::streams
