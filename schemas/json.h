// JSON forms of commands, events and outcomes (docs/json.md), converted with
// FlatBuffers' own parser and generator driven by the compiled-in schema, so
// the JSON field names are exactly the schema's.
//
// A command in JSON, one per line:
//   {"id":"t1","timestamp_ms":1000,"body_type":"Transfer",
//    "body":{"debit_account":"a","credit_account":"b","amount":500,"asset":"USD"}}
// Amounts are integers in minor units; quote them ("18446744073709551615")
// beyond 2^53, where JSON numbers lose precision in many languages.
//
// Thread-safety: none; use one JsonCodec per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "ledger/types.h"
#include "schemas/codec.h"

namespace flatbuffers {
class Parser;
}

namespace lf::codec {

// Longest JSON line accepted as one command.
inline constexpr std::size_t json_line_bytes_max = 1u << 20;

class JsonCodec {
 public:
  JsonCodec();
  ~JsonCodec();
  JsonCodec(const JsonCodec&) = delete;
  JsonCodec& operator=(const JsonCodec&) = delete;

  // Parses one JSON command. Errors name the problem and, where the parser
  // knows it, the column.
  Result<ledger::Command> parse_command(std::string_view json);
  // Parses one JSON command into its FlatBuffers bytes ("LFC1").
  Result<std::string> command_json_to_buffer(std::string_view json);

  // One-line JSON renderings.
  std::string command_to_json(const ledger::Command& command);
  // {"seq":..,"hash":"<hex>","prev_hash":"<hex>","event":{...}}
  std::string event_to_json(const OpenedEvent& event);
  std::string outcome_to_json(const ledger::Outcome& outcome);

 private:
  void reset_parser();
  std::string table_to_json(const void* table, const char* table_name);

  std::unique_ptr<flatbuffers::Parser> parser_;
};

}  // namespace lf::codec
