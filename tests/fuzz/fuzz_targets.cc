// The fuzz targets: one per decoder of untrusted bytes. See fuzz_targets.h.
//
// Properties checked on every input that decodes (x = decode(bytes)):
//   - the error of a rejected input has the documented code and a message;
//   - decode(encode(x)) == x, and encode is deterministic (encoding the
//     decoded copy gives the same bytes again);
//   - commands also survive a one-command batch and the JSON form
//     (parse_command(command_to_json(x)) == x);
//   - a sealed event's hash is the SHA-256 of its nested bytes, its postings
//     balance, and re-encoding and re-sealing it opens to the same event;
//   - JSON parsing does not depend on what the codec parsed before.
//
// Known-issue guard: a check for a bug that is reported but not yet fixed can
// be skipped unless set_check_known_issues(true) (lf_fuzz_smoke
// --known-issues). There are none at the moment: the amplification bug it was
// built for is fixed and checked on every run.
#include "tests/fuzz/fuzz_targets.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "engine/event_block.h"
#include "engine/keys.h"
#include "engine/log_file.h"
#include "engine/records.h"
#include "engine/snapshot.h"
#include "ledger/assert.h"
#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "schemas/codec.h"
#include "schemas/event_generated.h"
#include "schemas/json.h"
#include "streams/message.h"

namespace lf::fuzz {

namespace {

bool known_issues_on = false;

// The input, copied to its own heap block: aligned as FlatBuffers requires
// whatever the caller passes, and exactly sized so that AddressSanitizer
// catches a read one byte past the end.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : bytes_(new char[std::max<std::size_t>(size, 1)]), size_(size) {
    if (size > 0) std::memcpy(bytes_.get(), data, size);
  }
  std::string_view view() const { return {bytes_.get(), size_}; }
  char* data() { return bytes_.get(); }

 private:
  std::unique_ptr<char[]> bytes_;
  std::size_t size_;
};

template <typename T>
bool count(const Result<T>& result, Status::Code expected_error) {
  ++stats().runs;
  if (result.is_ok()) {
    ++stats().decoded;
    return true;
  }
  LF_ASSERT(result.status().code() == expected_error);
  LF_ASSERT(!result.status().message().empty());
  return false;
}

// ---------------------------------------------------------------- strings
// Every string a decoded value holds, to check two things about them below.

template <typename F, typename... Strings>
void each(F&& f, const Strings&... strings) {
  (f(strings), ...);
}

template <typename Body, typename F>
void for_each_body_string(const Body& body, F&& f) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ledger::OpenAccount>) {
          each(f, v.account, v.asset, v.metadata);
        } else if constexpr (std::is_same_v<T, ledger::CloseAccount>) {
          f(v.account);
        } else if constexpr (std::is_same_v<T, ledger::Transfer>) {
          each(f, v.debit_account, v.credit_account, v.asset, v.reference);
        } else if constexpr (std::is_same_v<T, ledger::PostPending> ||
                             std::is_same_v<T, ledger::VoidPending>) {
          f(v.pending_id);
        } else if constexpr (std::is_same_v<T, ledger::Journal>) {
          for (const ledger::JournalLeg& leg : v.legs) each(f, leg.account, leg.asset);
          f(v.reference);
        } else {
          static_assert(std::is_same_v<T, ledger::Linked>);
          for (const ledger::LinkedStep& step : v.steps) {
            f(step.id);
            for_each_body_string(step.body, f);
          }
        }
      },
      body);
}

template <typename F>
void for_each_string(const ledger::Command& c, F&& f) {
  f(c.id);
  for_each_body_string(c.body, f);
}

template <typename F>
void for_each_string(const ledger::Event& e, F&& f) {
  each(f, e.command_id, e.step_id, e.source.topic);
  if (e.command) for_each_string(*e.command, f);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ledger::AccountOpened>) {
          each(f, v.account.id, v.account.asset, v.account.metadata);
        } else if constexpr (std::is_same_v<T, ledger::AccountClosed>) {
          f(v.account);
        } else if constexpr (std::is_same_v<T, ledger::TransferPosted>) {
          each(f, v.transfer_id, v.debit_account, v.credit_account, v.asset, v.reference);
        } else if constexpr (std::is_same_v<T, ledger::PendingCreated>) {
          each(f, v.pending.id, v.pending.debit_account, v.pending.credit_account, v.pending.asset,
               v.reference);
        } else if constexpr (std::is_same_v<T, ledger::PendingPosted> ||
                             std::is_same_v<T, ledger::PendingVoided> ||
                             std::is_same_v<T, ledger::PendingExpired>) {
          f(v.pending_id);
        } else if constexpr (std::is_same_v<T, ledger::JournalPosted>) {
          each(f, v.journal_id, v.reference);
        } else {
          static_assert(std::is_same_v<T, ledger::CommandRejected>);
          f(v.field);
        }
      },
      e.body);
  for (const ledger::Posting& p : e.postings) each(f, p.account, p.asset);
}

// Total bytes of the strings a decoded value holds. Every string of a buffer
// made by a FlatBufferBuilder without shared strings occupies its own bytes,
// so this is at most the input size unless offsets are shared (as events in
// encoding 2 share them: storage.md#event-encodings).
template <typename T>
std::size_t string_bytes(const T& value) {
  std::size_t total = 0;
  for_each_string(value, [&](const std::string& s) { total += s.size(); });
  return total;
}

// Memory amplification (found by this fuzzer, fixed in schemas/codec.cc):
// the verifier bounds a buffer's bytes, not the size of what it decodes to;
// many vector elements may point at one table holding one long string. The
// decoders now charge every string byte and element against a budget of
// decode_amplification_max times the input; this check holds them to it.
void check_no_amplification(std::size_t decoded_string_bytes, std::size_t input_bytes,
                            std::size_t floor_bytes = 0) {
  LF_ASSERT(decoded_string_bytes <=
            std::max(codec::decode_amplification_max * input_bytes + 4096, floor_bytes));
}

// Both codecs live for the whole run: parser state carried from one input to
// the next is part of what is fuzzed. The first sees every input; the second
// only lines that parsed, as a reference that never saw a failed parse.
codec::JsonCodec& json_codec() {
  static codec::JsonCodec* codec = new codec::JsonCodec();
  return *codec;
}
codec::JsonCodec& clean_json_codec() {
  static codec::JsonCodec* codec = new codec::JsonCodec();
  return *codec;
}

// ---------------------------------------------------------------- commands

// The JSON form parses back to the same command, strings that are not UTF-8
// included (the binary formats carry any bytes; JsonCodec escapes them).
void check_command_json(const ledger::Command& c) {
  const std::string json = json_codec().command_to_json(c);
  LF_ASSERT(json.find('\n') == std::string::npos);  // One line.
  if (json.size() > codec::json_line_bytes_max) {
    // A binary command may be up to message_bytes_max (4 MiB); its JSON form
    // can exceed the 1 MiB line limit, and is then refused as too long.
    LF_ASSERT(json_codec().parse_command(json).status().code() == Status::Code::invalid_argument);
    return;
  }
  Result<ledger::Command> again = json_codec().parse_command(json);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == c);
  Result<ledger::Command> clean = clean_json_codec().parse_command(json);
  LF_ASSERT(clean.is_ok());
  LF_ASSERT(*clean == c);
}

void check_command(const ledger::Command& c, bool with_json) {
  LF_ASSERT(c.source == ledger::SourcePosition{});  // Not part of the wire format.
  const std::string bytes = codec::encode_command(c);
  Result<ledger::Command> again = codec::decode_command(bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == c);
  LF_ASSERT(codec::encode_command(*again) == bytes);

  const std::string batch = codec::encode_command_batch(std::span<const ledger::Command>(&c, 1));
  Result<std::vector<ledger::Command>> one = codec::decode_command_batch(batch);
  LF_ASSERT(one.is_ok());
  LF_ASSERT(one->size() == 1 && one->front() == c);

  if (with_json) check_command_json(c);
}

// ---------------------------------------------------------------- events

void check_event(const codec::OpenedEvent& opened, std::string_view sealed) {
  // What open_event promises.
  LF_ASSERT(lf::sha256(opened.event_bytes) == opened.hash);
  LF_ASSERT(ledger::postings_balance(opened.event.postings));
  // The event's bytes lie inside the input, or inside its aligned copy.
  const std::string_view within = opened.storage.empty() ? sealed : opened.storage;
  LF_ASSERT(opened.storage.empty() || opened.storage == sealed);
  LF_ASSERT(opened.event_bytes.data() >= within.data() &&
            opened.event_bytes.data() + opened.event_bytes.size() <= within.data() + within.size());
  if (opened.event.command) {
    LF_ASSERT(opened.event.command->source == opened.event.source);
    ledger::Command command = *opened.event.command;
    command.source = {};
    // An event's budget has a floor (codec::event_decode_bytes_min); its
    // command alone gets 4x its bytes, which a command of many shared or
    // default-sized parts may exceed: only those within it round-trip.
    const std::size_t alone_bytes = codec::encode_command(command).size();
    if (codec::command_decode_bytes(command) <=
        codec::decode_amplification_max * alone_bytes + 4096) {
      check_command(command, /*with_json=*/false);
    }
  }
  check_no_amplification(string_bytes(opened.event), sealed.size(), codec::event_decode_bytes_min);

  // Re-encode, re-seal, re-open.
  codec::EventEncoder encoder;
  const std::string event_bytes(
      encoder.encode(opened.event, opened.prev_hash, opened.schema_version));
  const Sha256 hash = sha256(event_bytes);
  const std::string resealed = encoder.seal(event_bytes, hash);
  Result<codec::OpenedEvent> again = codec::open_event(resealed);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(again->event == opened.event);
  LF_ASSERT(again->prev_hash == opened.prev_hash);
  LF_ASSERT(again->hash == hash);
  LF_ASSERT(again->event_bytes == event_bytes);
  LF_ASSERT(encoder.encode(again->event, again->prev_hash, again->schema_version) ==
            event_bytes);  // Deterministic.

  // Any event that opens can be printed (strings that are not UTF-8 included).
  const std::string json = json_codec().event_to_json(opened);
  LF_ASSERT(json.find('\n') == std::string::npos);
  LF_ASSERT(json.find(R"("event":{"error":"not representable as JSON"})") == std::string::npos);
}

// The nested Event bytes of a sealed event, when `bytes` verify as a
// SealedEvent (the nested buffer itself is not verified here: open_event
// does that).
const flatbuffers::Vector<std::uint8_t>* nested_event(std::string_view bytes) {
  if (bytes.size() < 8 ||
      !flatbuffers::BufferHasIdentifier(bytes.data(), codec::fb::SealedEventIdentifier())) {
    return nullptr;
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!codec::fb::VerifySealedEventBuffer(verifier)) return nullptr;
  const codec::fb::SealedEvent* sealed = codec::fb::GetSealedEvent(bytes.data());
  if (sealed->event() == nullptr || sealed->hash() == nullptr) return nullptr;
  return sealed->event();
}

void open_and_check(std::string_view sealed) {
  Result<codec::OpenedEvent> opened = codec::open_event(sealed);
  if (count(opened, Status::Code::corruption)) check_event(*opened, sealed);
}

// ---------------------------------------------------------------- records

constexpr std::string_view record_id = "fuzz:record-id";

}  // namespace

Stats& stats() {
  static Stats s;
  return s;
}

void set_check_known_issues(bool on) { known_issues_on = on; }
bool check_known_issues() { return known_issues_on; }

std::span<const Target> targets() {
  static constexpr Target all[] = {
      {"decode_command", lf_fuzz_decode_command, false, 1},
      {"decode_command_batch", lf_fuzz_decode_command_batch, false, 1},
      {"open_event", lf_fuzz_open_event, false, 1},
      {"decode_outcome", lf_fuzz_decode_outcome, false, 1},
      {"parse_command_json", lf_fuzz_parse_command_json, true, 10},
      {"decode_account", lf_fuzz_decode_account, false, 1},
      {"decode_pending", lf_fuzz_decode_pending, false, 1},
      {"decode_command_record", lf_fuzz_decode_command_record, false, 1},
      {"decode_head", lf_fuzz_decode_head, false, 1},
      {"split_event_block", lf_fuzz_split_event_block, false, 1},
      {"decode_kafka_message", lf_fuzz_decode_kafka_message, false, 1},
      {"decode_dead_letter", lf_fuzz_decode_dead_letter, false, 1},
      {"read_log_file", lf_fuzz_read_log_file, false, 1},
      {"parse_manifest", lf_fuzz_parse_manifest, true, 1},
  };
  return all;
}

}  // namespace lf::fuzz

using lf::Result;
using lf::Status;
using lf::fuzz::Input;
namespace codec = lf::codec;
namespace engine = lf::engine;
namespace ledger = lf::ledger;

extern "C" int lf_fuzz_decode_command(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<ledger::Command> command = codec::decode_command(input.view());
  if (!lf::fuzz::count(command, Status::Code::invalid_argument)) return 0;
  lf::fuzz::check_no_amplification(lf::fuzz::string_bytes(*command), size);
  lf::fuzz::check_command(*command, /*with_json=*/true);
  return 0;
}

extern "C" int lf_fuzz_decode_command_batch(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<std::vector<ledger::Command>> batch = codec::decode_command_batch(input.view());
  if (!lf::fuzz::count(batch, Status::Code::invalid_argument)) return 0;
  std::size_t total = 0;
  for (const ledger::Command& c : *batch) total += lf::fuzz::string_bytes(c);
  lf::fuzz::check_no_amplification(total, size);

  const std::string bytes = codec::encode_command_batch(*batch);
  Result<std::vector<ledger::Command>> again = codec::decode_command_batch(bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *batch);
  LF_ASSERT(codec::encode_command_batch(*again) == bytes);
  // Each command alone (a bounded number: the pairs above cover the rest).
  const std::size_t n = std::min<std::size_t>(batch->size(), 16);
  for (std::size_t i = 0; i < n; ++i) lf::fuzz::check_command((*batch)[i], /*with_json=*/false);
  return 0;
}

// Opens the input as it is; then, when it is a well-formed SealedEvent, opens
// a copy whose hash is fixed up to match the nested bytes. Without the second
// step nearly every mutation of the nested event would stop at the hash check
// and the event reader would never see mutated bytes.
extern "C" int lf_fuzz_open_event(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  lf::fuzz::open_and_check(input.view());

  const auto* nested = lf::fuzz::nested_event(input.view());
  if (nested == nullptr) return 0;
  const std::string_view nested_bytes(reinterpret_cast<const char*>(nested->data()),
                                      nested->size());
  const lf::Sha256 hash = lf::sha256(nested_bytes);
  const auto* sealed = codec::fb::GetSealedEvent(input.view().data());
  const std::size_t hash_at = reinterpret_cast<const char*>(sealed->hash()) - input.view().data();
  if (std::memcmp(input.view().data() + hash_at, hash.data(), hash.size()) == 0) return 0;
  Input fixed(data, size);  // Its own copy: `input` must stay as it was.
  std::memcpy(fixed.data() + hash_at, hash.data(), hash.size());
  lf::fuzz::open_and_check(fixed.view());
  return 0;
}

extern "C" int lf_fuzz_decode_outcome(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<ledger::Outcome> outcome = codec::decode_outcome(input.view());
  if (!lf::fuzz::count(outcome, Status::Code::invalid_argument)) return 0;
  for (const ledger::SourcePosition& source :
       {ledger::SourcePosition{}, ledger::SourcePosition{"commands", 3, 1234}}) {
    const std::string bytes = codec::encode_outcome(*outcome, source);
    Result<ledger::Outcome> again = codec::decode_outcome(bytes);
    LF_ASSERT(again.is_ok());
    LF_ASSERT(*again == *outcome);
    LF_ASSERT(codec::encode_outcome(*again, source) == bytes);
  }
  // The JSON rendering escapes any bytes and names unknown reasons "unknown".
  const std::string json = lf::fuzz::json_codec().outcome_to_json(*outcome);
  LF_ASSERT(!json.empty() && json.front() == '{' && json.back() == '}');
  LF_ASSERT(json.find('\n') == std::string::npos);
  return 0;
}

extern "C" int lf_fuzz_parse_command_json(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  codec::JsonCodec& codec = lf::fuzz::json_codec();
  Result<ledger::Command> command = codec.parse_command(json);
  if (!lf::fuzz::count(command, Status::Code::invalid_argument)) return 0;
  // The buffer the line becomes decodes to the same command.
  Result<std::string> bytes = codec.command_json_to_buffer(json);
  LF_ASSERT(bytes.is_ok());
  Result<ledger::Command> from_bytes = codec::decode_command(*bytes);
  LF_ASSERT(from_bytes.is_ok());
  LF_ASSERT(*from_bytes == *command);
  // A fresh parser agrees (no state carried over from earlier inputs) ...
  Result<ledger::Command> clean = lf::fuzz::clean_json_codec().parse_command(json);
  LF_ASSERT(clean.is_ok());
  LF_ASSERT(*clean == *command);
  // ... and the command survives binary, batch and JSON round trips.
  lf::fuzz::check_command(*command, /*with_json=*/true);
  return 0;
}

extern "C" int lf_fuzz_decode_account(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<ledger::Account> account = engine::decode_account(lf::fuzz::record_id, input.view());
  if (!lf::fuzz::count(account, Status::Code::corruption)) return 0;
  LF_ASSERT(account->id == lf::fuzz::record_id);
  const std::string bytes = engine::encode_account(*account);
  Result<ledger::Account> again = engine::decode_account(lf::fuzz::record_id, bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *account);
  LF_ASSERT(engine::encode_account(*again) == bytes);
  return 0;
}

extern "C" int lf_fuzz_decode_pending(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<ledger::PendingTransfer> pending =
      engine::decode_pending(lf::fuzz::record_id, input.view());
  if (!lf::fuzz::count(pending, Status::Code::corruption)) return 0;
  LF_ASSERT(pending->id == lf::fuzz::record_id);
  LF_ASSERT(static_cast<int>(pending->state) <= static_cast<int>(ledger::PendingState::expired));
  const std::string bytes = engine::encode_pending(*pending);
  Result<ledger::PendingTransfer> again = engine::decode_pending(lf::fuzz::record_id, bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *pending);
  LF_ASSERT(engine::encode_pending(*again) == bytes);
  return 0;
}

extern "C" int lf_fuzz_decode_command_record(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<ledger::CommandRecord> record =
      engine::decode_command_record(lf::fuzz::record_id, input.view());
  if (!lf::fuzz::count(record, Status::Code::corruption)) return 0;
  LF_ASSERT(record->outcome.command_id == lf::fuzz::record_id);
  LF_ASSERT(!record->outcome.duplicate);
  const std::string bytes = engine::encode_command_record(*record);
  Result<ledger::CommandRecord> again = engine::decode_command_record(lf::fuzz::record_id, bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *record);
  LF_ASSERT(engine::encode_command_record(*again) == bytes);
  return 0;
}

extern "C" int lf_fuzz_decode_head(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<engine::Head> head = engine::decode_head(input.view());
  if (!lf::fuzz::count(head, Status::Code::corruption)) return 0;
  const std::string bytes = engine::encode_head(*head);
  Result<engine::Head> again = engine::decode_head(bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *head);
  LF_ASSERT(engine::encode_head(*again) == bytes);
  return 0;
}

// An event block (engine/event_block.h): the framing of a batch's sealed
// events under one key. Its framing is canonical, so writing the entries out
// again must give the very same bytes; the first entries are opened as events.
extern "C" int lf_fuzz_split_event_block(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  const std::string_view block = input.view();
  Result<std::vector<std::string_view>> entries = engine::split_event_block(block);
  if (!lf::fuzz::count(entries, Status::Code::corruption)) return 0;
  LF_ASSERT(!entries->empty() && entries->size() <= engine::event_block_events_max);
  LF_ASSERT(entries->size() == engine::get_u32be(block));
  engine::EventBlockWriter writer;
  writer.clear();
  const char* expected = block.data() + 4;
  for (const std::string_view entry : *entries) {
    LF_ASSERT(entry.data() == expected + 4);  // Views into the block, in order.
    expected = entry.data() + entry.size();
    writer.add(entry);
  }
  LF_ASSERT(expected == block.data() + block.size());
  LF_ASSERT(writer.count() == entries->size());
  LF_ASSERT(writer.finish() == block);
  const std::size_t n = std::min<std::size_t>(entries->size(), 4);
  for (std::size_t i = 0; i < n; ++i) lf::fuzz::open_and_check((*entries)[i]);
  return 0;
}

// A Kafka message of the commands topic (streams/message.h): never throws or
// crashes; a poison verdict carries a reason and no command; a good one
// stamps the source on every command and re-encodes to an equal message.
extern "C" int lf_fuzz_decode_kafka_message(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  const ledger::SourcePosition source{"commands", 2, 99};
  lf::streams::DecodedMessage m = lf::streams::decode_message(input.view(), source, 5);
  ++lf::fuzz::stats().runs;
  if (m.poison != lf::streams::PoisonReason::none) {
    LF_ASSERT(m.commands.empty());
    LF_ASSERT(m.detail.size() <= lf::streams::dead_letter_detail_bytes_max);
    return 0;
  }
  ++lf::fuzz::stats().decoded;
  LF_ASSERT(!m.commands.empty() && m.commands.size() <= lf::streams::message_commands_max);
  for (const ledger::Command& c : m.commands) {
    LF_ASSERT(c.source == source);
    LF_ASSERT(c.timestamp_ms != 0);
  }
  const std::string again = lf::streams::encode_message(m.commands);
  lf::streams::DecodedMessage m2 = lf::streams::decode_message(again, source, 5);
  LF_ASSERT(m2.poison == lf::streams::PoisonReason::none);
  LF_ASSERT(m2.commands == m.commands);
  return 0;
}

// A stored DeadLetterRecord (read back by the outbox relay).
extern "C" int lf_fuzz_decode_dead_letter(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<lf::streams::DeadLetter> letter = lf::streams::decode_dead_letter(input.view());
  if (!lf::fuzz::count(letter, Status::Code::corruption)) return 0;
  const std::string bytes = lf::streams::encode_dead_letter(*letter);
  Result<lf::streams::DeadLetter> again = lf::streams::decode_dead_letter(bytes);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *letter);
  return 0;
}

namespace {

// Recomputes the digests and links of a (mutated) exported log file wherever
// its framing allows, so that mutations inside records reach the event checks
// behind the link check.
std::string fix_log_file_digests(std::string bytes) {
  namespace e = lf::engine;
  auto put_hash = [&](std::size_t at, const lf::Sha256& h) {
    std::memcpy(bytes.data() + at, h.data(), h.size());
  };
  constexpr std::size_t prefix = 8 + 4 + 4 + 4 + 4;
  if (bytes.size() < prefix) return bytes;
  const std::size_t shard = e::get_u32be(std::string_view(bytes).substr(20));
  if (shard > e::log_file_shard_bytes_max || bytes.size() < prefix + shard + 48 + 32) return bytes;
  std::size_t at = prefix + shard + 48;
  lf::Sha256 link = lf::sha256(std::string_view(bytes).substr(0, at));
  put_hash(at, link);
  at += 32;
  while (bytes.size() - at >= 4) {
    const std::uint32_t length = e::get_u32be(std::string_view(bytes).substr(at));
    if (length == e::log_file_end_marker) {
      if (bytes.size() - at < e::log_file_trailer_bytes) return bytes;
      put_hash(at + 44, link);
      put_hash(at + 76, lf::sha256(std::string_view(bytes).substr(at, 76)));
      return bytes;
    }
    if (bytes.size() - at < 4ull + length + 32) return bytes;
    lf::Sha256Hasher hasher;
    hasher.update(std::string_view(reinterpret_cast<const char*>(link.data()), link.size()));
    hasher.update(std::string_view(bytes).substr(at, 4 + length));
    link = hasher.finish();
    put_hash(at + 4 + length, link);
    at += 4 + length + 32;
  }
  return bytes;
}

void read_and_check_log_file(std::string_view bytes) {
  std::istringstream in{std::string(bytes)};
  std::vector<std::string> records;
  lf::Sha256 last_hash{};
  Result<engine::LogFileReport> report = engine::read_log_file(
      in, [&](ledger::Sequence seq, std::string_view sealed, const codec::OpenedEvent& opened) {
        LF_ASSERT(opened.event.seq == seq);
        LF_ASSERT(lf::sha256(opened.event_bytes) == opened.hash);
        records.emplace_back(sealed);
        last_hash = opened.hash;
        return std::optional<std::string>();
      });
  LF_ASSERT(report.is_ok());  // A string stream has no I/O errors.
  ++lf::fuzz::stats().runs;
  if (!report->ok) {
    LF_ASSERT(!report->problem.empty());
    LF_ASSERT(report->byte_offset <= bytes.size());
    LF_ASSERT(!report->record.has_value() || *report->record == records.size());
    return;
  }
  ++lf::fuzz::stats().decoded;
  const engine::LogFileHeader& h = report->header;
  LF_ASSERT(report->count == records.size());
  LF_ASSERT(records.size() == h.last_seq + 1 - h.first_seq);
  LF_ASSERT(report->chain_head == (records.empty() ? h.prev_hash : last_hash));
  // Canonical: the file is exactly what the writer makes of what was read.
  LF_ASSERT(engine::encode_log_file(h, records, report->chain_head) == bytes);
}

}  // namespace

extern "C" int lf_fuzz_read_log_file(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  read_and_check_log_file(input.view());
  const std::string fixed = fix_log_file_digests(std::string(input.view()));
  if (fixed != input.view()) read_and_check_log_file(fixed);
  return 0;
}

extern "C" int lf_fuzz_parse_manifest(const std::uint8_t* data, std::size_t size) {
  const Input input(data, size);
  Result<engine::SnapshotManifest> manifest = engine::parse_manifest(input.view());
  if (!lf::fuzz::count(manifest, Status::Code::invalid_argument)) return 0;
  LF_ASSERT(!manifest->files.empty());
  // Canonical: one text per manifest, and it round-trips.
  const std::string text = engine::encode_manifest(*manifest);
  LF_ASSERT(text == input.view());
  Result<engine::SnapshotManifest> again = engine::parse_manifest(text);
  LF_ASSERT(again.is_ok());
  LF_ASSERT(*again == *manifest);
  return 0;
}
