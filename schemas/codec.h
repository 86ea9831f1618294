// Codec between the FlatBuffers formats (schemas/*.fbs) and the domain types
// (ledger/types.h).
//
// Every decode of bytes from outside or from disk runs the FlatBuffers
// verifier first and returns Status::corruption (disk) or invalid_argument
// (input) when it fails; nothing here trusts its input. Encoding is
// deterministic: the same value always gives the same bytes, which the hash
// chain and replay comparisons depend on.
//
// Thread-safety: free functions are thread-safe; an encoder object is not.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "ledger/working_set.h"
#include "schemas/command_batch_generated.h"
#include "schemas/command_generated.h"
#include "schemas/event_generated.h"
#include "schemas/outcome_generated.h"

namespace lf::codec {

namespace fb = ::ledgerflow::schema;

// Largest message accepted from outside: one command or one batch of commands.
inline constexpr std::size_t message_bytes_max = 4u << 20;
// A decode may produce at most this many times its input's size in strings
// and elements (shared offsets could otherwise amplify a message enormously).
inline constexpr std::size_t decode_amplification_max = 4;
// Verifier limits for untrusted buffers.
inline constexpr unsigned verifier_depth_max = 16;
inline constexpr unsigned verifier_tables_max = 1u << 20;

// ---------------------------------------------------------------- commands

flatbuffers::Offset<fb::Command> write_command(flatbuffers::FlatBufferBuilder& builder,
                                               const ledger::Command& command);
// Converts a verified command table. Fails on a missing or unknown body type.
Result<ledger::Command> read_command(const fb::Command& command);
// The same into `command`, overwriting every field and keeping the buffers of
// a command read before. On failure `command` holds a partial decode.
[[nodiscard]] Status read_command_into(const fb::Command& command_table, ledger::Command& command);

// A finished buffer with the "LFC1" identifier.
std::string encode_command(const ledger::Command& command);
// Verifies and decodes one command buffer ("LFC1").
Result<ledger::Command> decode_command(std::string_view bytes);

// A finished buffer with the "LFB1" identifier.
std::string encode_command_batch(std::span<const ledger::Command> commands);
// Verifies and decodes a batch buffer ("LFB1"). Either the whole batch decodes
// or the error names the first bad command by index.
Result<std::vector<ledger::Command>> decode_command_batch(std::string_view bytes);

// ---------------------------------------------------------------- events

// Versions of the Event encoding (Envelope.schema_version). The tables are
// the same in every version; what differs is how their bytes are laid out,
// which the hash chain covers, so re-execution (open's unflushed tail,
// `replay reexecute`) encodes each event again with the version it was
// logged with (docs/storage.md#events):
//   1: every string is written where it is used;
//   2: within one event, a string equal to one written before it is not
//      written again: the field points at the first copy (FlatBuffers
//      offsets may share a string). A transfer's event names each account
//      three times, its command id three times and its asset four times:
//      about 120 bytes fewer (of 584 sealed, in engine_bench).
inline constexpr std::uint16_t event_schema_version_min = 1;
inline constexpr std::uint16_t event_schema_version = 2;  // What new events are written with.
constexpr bool known_event_schema_version(std::uint64_t version) {
  return version >= event_schema_version_min && version <= event_schema_version;
}

// What decoding `command` charges against a decode budget: every string byte
// and 64 bytes per leg and step, as the decoders count them.
std::size_t command_decode_bytes(const ledger::Command& command);
// The most a command may charge: what a message_bytes_max input may decode
// to. Every command from a decoder is within it; Engine::apply and submit
// refuse a batch holding one that is not.
inline constexpr std::size_t command_decode_bytes_max =
    decode_amplification_max * message_bytes_max + 4096;
// Longest source topic a command may carry: Kafka's own limit on topic names.
inline constexpr std::size_t source_topic_bytes_max = 249;
// The budget every event gets at least, whatever its size. Decoding copies a
// shared string at every use (encoding 2 stores it once) and charges each
// copy, and a rejected command is logged whole, so an event's bytes do not
// bound its decode. What does: its command (at most command_decode_bytes_max),
// its id again in the envelope (at most as much), the source topic (at most
// source_topic_bytes_max), and a step id, body and postings of an accepted
// command (bounded by the ledger's limits on ids, legs and steps: well under
// 1 MiB). Three times the command leaves a command's worth of margin.
inline constexpr std::size_t event_decode_bytes_min = 3 * command_decode_bytes_max + (1u << 20);

// The strings written so far into one event in encoding 2, and where: a list
// while they are few, then a hash index as well (lookups only; what is
// written never depends on the index's order).
struct WrittenStrings {
  static constexpr std::size_t list_entries_max = 32;
  std::vector<std::pair<std::string_view, flatbuffers::Offset<flatbuffers::String>>> list;
  ledger::IdMap<flatbuffers::uoffset_t> index;  // Every string, once the list is full.
  void clear() {
    list.clear();
    index.clear();
  }
};

// Where the two hashes of a sealed event go, as offsets into its bytes
// (EventEncoder::seal_unchained).
struct SealedLayout {
  std::uint32_t sealed_size = 0;  // The whole sealed event.
  std::uint32_t event_at = 0;     // The nested Event's bytes: what the chain hashes.
  std::uint32_t event_size = 0;
  std::uint32_t prev_hash_at = 0;  // Envelope.prev_hash, inside the Event.
  std::uint32_t hash_at = 0;       // SealedEvent.hash, outside it.
};

// Chains a sealed event laid out as `layout` (from seal_unchained) after
// `prev_hash`: writes prev_hash into its envelope, then the SHA-256 of its
// event bytes into its seal, and returns that hash (the next event's prev).
// REQUIRES: `sealed` holds exactly the bytes seal_unchained returned, not
// chained yet (both hashes zero).
Sha256 chain_sealed(std::span<char> sealed, const SealedLayout& layout, const Sha256& prev_hash);

// Encodes events and seals them into the chain. Reuses its two builders.
class EventEncoder {
 public:
  // The Event table's bytes for `event` chained to `prev_hash`, in encoding
  // `schema_version`.
  // REQUIRES: schema_version in event_schema_version_min..event_schema_version.
  std::string_view encode(const ledger::Event& event, const Sha256& prev_hash,
                          std::uint16_t schema_version = event_schema_version);
  // A SealedEvent buffer ("LFE1") holding `event_bytes` and their hash.
  std::string seal(std::string_view event_bytes, const Sha256& hash);
  // The same bytes as seal(), left in the encoder: valid until the next
  // seal. Saves the writer an allocation and a copy per event.
  std::string_view seal_view(std::string_view event_bytes, const Sha256& hash);
  // encode() and seal_view() in one, with both hashes left zero and their
  // places in `layout`, for chain_sealed() to fill in later, possibly on
  // another thread (the caller then need not know the chain head yet).
  // Once chained, the bytes equal seal_view(encode(event, prev), hash): a
  // FlatBuffers struct is written whatever its value, so the zero hashes
  // take exactly the room of the real ones. Valid until the next encode or
  // seal (it is both).
  std::string_view seal_unchained(const ledger::Event& event, std::uint16_t schema_version,
                                  SealedLayout& layout);

 private:
  flatbuffers::FlatBufferBuilder builder_{1024};
  flatbuffers::FlatBufferBuilder seal_builder_{1024};
  WrittenStrings written_;  // Encoding 2.
};

// A stored event, opened and checked.
struct OpenedEvent {
  ledger::Event event;
  Sha256 prev_hash{};
  Sha256 hash{};                     // As stored in the SealedEvent.
  std::string_view event_bytes;      // The nested Event, inside the input or `storage`.
  std::uint16_t schema_version = 0;  // Its encoding (Envelope.schema_version).
  std::string storage;               // An aligned copy of the input, when it was not aligned.
  // The embedded command's content digest, when a caller computed it ahead
  // (a replay's reader thread does, to take the work off the folding thread).
  // Empty from open_event(); consumers compute it when absent.
  std::optional<ledger::ContentDigest> command_digest;
};

// FlatBuffers reads scalars in place, so a buffer must be 8-byte aligned;
// RocksDB values and Kafka payloads need not be. Returns `bytes` when aligned,
// else an aligned copy held in `storage`.
std::string_view aligned(std::string_view bytes, std::string& storage);

// Verifies a SealedEvent, its nested Event, that `hash` is the SHA-256 of the
// nested bytes and that the postings balance. Status::corruption otherwise.
Result<OpenedEvent> open_event(std::string_view sealed_bytes);
// The same into `opened`, overwriting every field: a reader that opens many
// events recycles one OpenedEvent (and its strings' and postings' buffers)
// instead of building and moving a new one each time. On failure `opened`
// holds a partial decode and must not be used.
[[nodiscard]] Status open_event_into(std::string_view sealed_bytes, OpenedEvent& opened);

// ---------------------------------------------------------------- outcomes

// A finished Outcome buffer ("LFO1").
std::string encode_outcome(const ledger::Outcome& outcome, const ledger::SourcePosition& source);
Result<ledger::Outcome> decode_outcome(std::string_view bytes);

}  // namespace lf::codec
