// Encoding of the projection records (schemas/storage.fbs) that the engine
// stores beside the event log. Decoding verifies the buffer first: a record
// that fails is Status::corruption, never trusted.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <string>
#include <string_view>

#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "ledger/working_set.h"

namespace lf::engine {

// The store's head: where the log and the hash chain stand.
struct Head {
  ledger::LedgerHead ledger;  // next_seq, logical time.
  Sha256 chain_head{};        // Hash of event next_seq - 1; zeros for an empty log.
  bool operator==(const Head&) const = default;
};

// Encodes records into one reused buffer: no allocation per record once it
// has grown. Each view stays valid until the next call; one thread at a time.
class RecordEncoder {
 public:
  std::string_view account(const ledger::Account& account);
  std::string_view pending(const ledger::PendingTransfer& pending);
  std::string_view command_record(const ledger::CommandRecord& record);

 private:
  flatbuffers::FlatBufferBuilder builder_{256};
};

std::string encode_account(const ledger::Account& account);
// `id` is the key the record was stored under.
Result<ledger::Account> decode_account(std::string_view id, std::string_view bytes);

std::string encode_pending(const ledger::PendingTransfer& pending);
Result<ledger::PendingTransfer> decode_pending(std::string_view id, std::string_view bytes);

std::string encode_command_record(const ledger::CommandRecord& record);
Result<ledger::CommandRecord> decode_command_record(std::string_view id, std::string_view bytes);

std::string encode_head(const Head& head);
Result<Head> decode_head(std::string_view bytes);

}  // namespace lf::engine
