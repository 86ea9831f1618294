#include "streams/message.h"

#include <fmt/format.h>

#include "ledger/assert.h"
#include "schemas/codec.h"
#include "schemas/storage_generated.h"

namespace lf::streams {

namespace fbs = ledgerflow::storage;

const char* poison_reason_name(PoisonReason reason) {
  switch (reason) {
    case PoisonReason::none:
      return "none";
    case PoisonReason::undecodable:
      return "undecodable";
    case PoisonReason::unknown_schema:
      return "unknown_schema";
    case PoisonReason::too_large:
      return "too_large";
    case PoisonReason::too_many_commands:
      return "too_many_commands";
    case PoisonReason::empty:
      return "empty";
  }
  return "unknown";
}

namespace {

bool has_identifier(std::string_view bytes, std::string_view identifier) {
  return bytes.size() >= 8 && bytes.substr(4, 4) == identifier;
}

DecodedMessage poison(PoisonReason reason, std::string detail) {
  DecodedMessage out;
  out.poison = reason;
  if (detail.size() > dead_letter_detail_bytes_max) detail.resize(dead_letter_detail_bytes_max);
  out.detail = std::move(detail);
  return out;
}

}  // namespace

DecodedMessage decode_message(std::string_view payload, const ledger::SourcePosition& source,
                              std::int64_t record_timestamp_ms) {
  if (payload.empty()) return poison(PoisonReason::empty, "no payload");
  if (payload.size() > codec::message_bytes_max) {
    return poison(PoisonReason::too_large,
                  fmt::format("{} bytes exceed {}", payload.size(), codec::message_bytes_max));
  }
  DecodedMessage out;
  if (has_identifier(payload, "LFC1")) {
    Result<ledger::Command> command = codec::decode_command(payload);
    if (!command.is_ok()) return poison(PoisonReason::undecodable, command.status().message());
    out.commands.push_back(std::move(command).value());
  } else if (has_identifier(payload, "LFB1")) {
    Result<std::vector<ledger::Command>> batch = codec::decode_command_batch(payload);
    if (!batch.is_ok()) return poison(PoisonReason::undecodable, batch.status().message());
    if (batch->empty()) return poison(PoisonReason::empty, "a batch of zero commands");
    if (batch->size() > message_commands_max) {
      return poison(PoisonReason::too_many_commands,
                    fmt::format("{} commands exceed {}", batch->size(), message_commands_max));
    }
    out.commands = std::move(batch).value();
  } else {
    return poison(PoisonReason::unknown_schema,
                  "no LFC1 or LFB1 file identifier: not a ledgerflow command message");
  }
  const ledger::TimestampMs record_ms =
      record_timestamp_ms > 0 ? static_cast<ledger::TimestampMs>(record_timestamp_ms) : 0;
  for (ledger::Command& command : out.commands) {
    command.source = source;
    if (command.timestamp_ms == 0) command.timestamp_ms = record_ms;
  }
  return out;
}

std::string encode_message(std::span<const ledger::Command> commands) {
  LF_ASSERT(!commands.empty() && commands.size() <= message_commands_max);
  if (commands.size() == 1) return codec::encode_command(commands.front());
  return codec::encode_command_batch(commands);
}

std::string encode_dead_letter(const DeadLetter& letter) {
  flatbuffers::FlatBufferBuilder b(256 + letter.payload.size() + letter.key.size());
  auto topic = b.CreateString(letter.source.topic);
  auto detail = b.CreateString(letter.detail);
  auto key =
      b.CreateVector(reinterpret_cast<const std::uint8_t*>(letter.key.data()), letter.key.size());
  auto payload = b.CreateVector(reinterpret_cast<const std::uint8_t*>(letter.payload.data()),
                                letter.payload.size());
  b.Finish(fbs::CreateDeadLetterRecord(
      b, topic, letter.source.partition, letter.source.offset, letter.timestamp_ms,
      static_cast<fbs::PoisonReason>(letter.reason), detail, key, payload));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

Result<DeadLetter> decode_dead_letter(std::string_view input) {
  std::string storage;
  const std::string_view bytes = codec::aligned(input, storage);
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!verifier.VerifyBuffer<fbs::DeadLetterRecord>(nullptr)) {
    return Status::corruption("not a valid DeadLetterRecord");
  }
  const auto* r = flatbuffers::GetRoot<fbs::DeadLetterRecord>(bytes.data());
  if (r->reason() > fbs::PoisonReason::MAX) return Status::corruption("unknown poison reason");
  auto text = [](const flatbuffers::String* s) {
    return s == nullptr ? std::string() : std::string(s->data(), s->size());
  };
  auto blob = [](const flatbuffers::Vector<std::uint8_t>* v) {
    return v == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(v->data()), v->size());
  };
  DeadLetter out;
  out.source = ledger::SourcePosition{text(r->topic()), r->partition(), r->offset()};
  out.timestamp_ms = r->timestamp_ms();
  out.reason = static_cast<PoisonReason>(r->reason());
  out.detail = text(r->detail());
  out.key = blob(r->key());
  out.payload = blob(r->payload());
  return out;
}

}  // namespace lf::streams
